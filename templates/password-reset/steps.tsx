import { Button, CodeForm, ErrorSummary, Field, Form, Heading, Status, type FieldErrors } from "../components.tsx";
import type { StepError } from "../phone-factor.tsx";
import { NewPasswordFields } from "../new-password-fields.tsx";

/** Forgot your password?: Email Address → Send verification code. */
export function ResetStart(props: { email: string; error?: StepError; notice?: string }) {
  const fieldError = props.error?.field === "email" ? props.error.message : undefined;
  return (
    <section>
      <Heading>Forgot your password?</Heading>
      <ErrorSummary message={props.notice ?? props.error?.message} field={props.notice ? undefined : props.error?.field} />
      <p>Enter the email address of your account and select Send verification code. We will email you a 6-digit code.</p>
      <Form action="/forgot-password">
        <Field
          name="email"
          label="Email Address"
          type="email"
          inputmode="email"
          autocomplete="username"
          value={props.email}
          error={fieldError}
          autofocus={fieldError !== undefined}
        />
        <Button>Send verification code</Button>
      </Form>
      <p>
        <a href="/login">Back to the sign-in page</a>
      </p>
    </section>
  );
}

/**
 * The emailed 6-digit code → Verify code. The words are the same whether or not the address has
 * an account (nothing on this page may tell the two apart).
 */
export function ResetCodeStep(props: { email: string; codeLifetime: string; error?: StepError }) {
  const fieldError = props.error?.field === "code" ? props.error.message : undefined;
  return (
    <section>
      <Heading>Enter the verification code</Heading>
      <ErrorSummary message={props.error?.message} field={props.error?.field} />
      <Status message={props.error ? null : `If ${props.email} belongs to an account, we sent a 6-digit code to it.`} />
      <p>The code works once, for {props.codeLifetime}. Check your email, including the junk or spam folder.</p>
      <CodeForm
        action="/forgot-password/code"
        fieldLabel="Verification code"
        button="Verify code"
        hint="Enter the 6-digit code from the email."
        error={fieldError}
        autofocus={fieldError !== undefined}
      />
      <p>
        No email? <a href="/forgot-password">Start again</a> and check the address.
      </p>
    </section>
  );
}

/** New Password + Confirm New Password → Continue. */
export function NewPasswordStep(props: { error?: StepError; fieldErrors?: FieldErrors }) {
  const passwordError = props.fieldErrors?.password ?? (props.error?.field === "password" ? props.error.message : undefined);
  const confirmError = props.fieldErrors?.confirm ?? (props.error?.field === "confirm" ? props.error.message : undefined);
  const other = props.error && !passwordError && !confirmError ? props.error.message : undefined;
  return (
    <section>
      <Heading>Choose a new password</Heading>
      <ErrorSummary message={other} errors={{ password: passwordError, confirm: confirmError }} />
      <Form action="/forgot-password/new-password">
        <NewPasswordFields passwordError={passwordError} confirmError={confirmError} />
        <Button>Continue</Button>
      </Form>
    </section>
  );
}
