import type { FieldErrors } from "../components.tsx";
import { Button, CodeForm, ErrorSummary, Field, Form, Heading, Status } from "../components.tsx";
import { PasswordForm } from "./password.tsx";

export interface EmailStepProps {
  email: string;
  /** send: no code yet; verify: a code was sent; verified: the address is proved, password next. */
  stage: "send" | "verify" | "verified";
  errors?: FieldErrors;
  /** A message about the whole step (rate limit, lock). */
  problem?: string;
  status?: string;
}

/**
 * Step 2: the email address. Codes go only to the invited address, so the field is read-only.
 * The password fields appear only after the address is verified.
 */
export function EmailStep(props: EmailStepProps) {
  const errors = props.errors ?? {};
  return (
    <section>
      <Heading>{props.stage === "verified" ? "Create a password" : "Verify your email address"}</Heading>
      <ErrorSummary message={props.problem} errors={errors} />
      <Status message={props.status} />
      {props.stage === "verified" ? (
        <>
          <p>
            Your email address <strong>{props.email}</strong> is verified.
          </p>
          <PasswordForm errors={errors} />
        </>
      ) : (
        <>
          <Form action="/register/email/send" label="Send a verification code">
            <Field
              name="email"
              label="Email Address"
              type="email"
              value={props.email}
              readonly
              autocomplete="email"
              hint="The code goes to the address your portal administrator registered for you."
            />
            {props.stage === "send" ? <Button>Send Verification Code</Button> : null}
          </Form>
          {props.stage === "verify" ? (
            <>
              <CodeForm
                action="/register/email/verify"
                formLabel="Verify the code"
                hint="Enter the 6-digit code from the email we sent you."
                error={errors.code}
                autofocus={!!errors.code}
              />
              <Form action="/register/email/send" label="Send a new code">
                <p>No email? A new code replaces the one sent before.</p>
                <Button variant="secondary">Send New Code</Button>
              </Form>
            </>
          ) : null}
        </>
      )}
    </section>
  );
}
