import { CodeForm, ErrorSummary, Heading } from "../components.tsx";
import type { StepError } from "../phone-factor.tsx";

/** Login with Authenticator App after the password (and a password reset's second step): the app's code. */
export function AppCodeStep(props: { error?: StepError; action?: string }) {
  const fieldError = props.error?.field === "code" ? props.error.message : undefined;
  return (
    <section>
      <Heading>Enter the code from your authenticator app</Heading>
      <ErrorSummary message={props.error?.message} />
      <p>Open the authenticator app you set up for this portal and enter the 6-digit code it shows now.</p>
      <CodeForm action={props.action ?? "/login/app"} formLabel="Verify the code from your authenticator app" hint="The code changes every 30 seconds." error={fieldError} autofocus />
    </section>
  );
}

/** An account without an authenticator app pressed Login with Authenticator App (shown only after the password was right). */
export function NoAppStep() {
  return (
    <section>
      <Heading>No authenticator app on this account</Heading>
      <p>
        Your account does not have an authenticator app set up. Go back and use <strong>Login with Phone</strong> or{" "}
        <strong>Login with Email</strong>, whichever you registered. You can add an authenticator app on your Account page once you are
        signed in.
      </p>
      <p>
        <a href="/login">Back to the sign-in page</a>
      </p>
    </section>
  );
}

/** A passkey sign-in that did not finish (its answer was refused): the way back. */
export function PasskeyRefusedStep(props: { message?: string }) {
  return (
    <section>
      <Heading>Sign in with a passkey</Heading>
      <ErrorSummary message={props.message ?? "That passkey could not sign you in."} />
      <p>
        <a href="/login">Back to the sign-in page</a>
      </p>
    </section>
  );
}
