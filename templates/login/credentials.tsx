import type { LoginOption } from "../../src/auth/users.ts";
import { Button, ErrorSummary, Field, Form, Heading } from "../components.tsx";
import type { StepError } from "../phone-factor.tsx";

export const OPTION_NAMES: Record<LoginOption, string> = { phone: "Login with Phone", email: "Login with Email", totp: "Login with Authenticator App", passkey: "Sign in with a passkey" };

/** Email Address + Password → Sign in, with the way to Forgot your password?. */
export function CredentialsStep(props: { option: LoginOption; email: string; error?: StepError; fieldErrors?: Partial<Record<"email" | "password", string>> }) {
  const errors = props.fieldErrors ?? {};
  const emailError = errors.email ?? (props.error?.field === "email" ? props.error.message : undefined);
  const passwordError = errors.password;
  const summary = props.error && props.error.field !== "email" ? props.error.message : undefined;
  return (
    <section>
      <Heading>{OPTION_NAMES[props.option]}</Heading>
      <ErrorSummary message={summary} errors={{ email: emailError, password: passwordError }} />
      <p>Enter the email address and password you created during registration, then select Sign in.</p>
      <Form action="/login/credentials">
        <Field
          name="email"
          label="Email Address"
          type="email"
          value={props.email}
          autocomplete="username"
          inputmode="email"
          error={emailError}
          autofocus={emailError !== undefined}
        />
        <Field
          name="password"
          label="Password"
          type="password"
          autocomplete="current-password"
          error={passwordError}
          autofocus={emailError === undefined && passwordError !== undefined}
        />
        <Button>Sign in</Button>
      </Form>
      <p>
        <a href="/forgot-password">Forgot your password?</a>
      </p>
      <p>
        <a href="/login">Back to the sign-in page</a>
      </p>
    </section>
  );
}

/** An account registered for email codes pressed Login with Phone (shown only after the password was right). */
export function UseEmailStep() {
  return (
    <section>
      <Heading>Use Login with Email</Heading>
      <p>
        Your account is registered to confirm sign-ins with a code sent to your email address, not by phone. Use{" "}
        <strong>Login with Email</strong> to sign in.
      </p>
      <Form action="/login/use-email">
        <Button>Login with Email</Button>
      </Form>
      <p>
        <a href="/login">Back to the sign-in page</a>
      </p>
    </section>
  );
}
