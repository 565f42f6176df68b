import { Button, CodeForm, ErrorSummary, Field, Form, Heading, Status } from "../components.tsx";
import type { StepError } from "../phone-factor.tsx";

/** The address from the sign-in, prefilled → Send Verification Code. */
export function EmailSendStep(props: { email: string; codeLifetime: string; error?: StepError }) {
  return (
    <section>
      <Heading>Login with Email</Heading>
      <ErrorSummary message={props.error?.message} field={props.error?.field} />
      <p>
        We will send a verification code to your email address. The code expires {props.codeLifetime} after it is sent, so
        have your email open before you select Send Verification Code.
      </p>
      <Form action="/login/email/send">
        <Field name="email" label="Email Address" type="email" value={props.email} readonly autocomplete="username" />
        <Button>Send Verification Code</Button>
      </Form>
    </section>
  );
}

/** The time left, in words, rendered by the server; static/app.js may refresh it every 10 seconds. */
export function expiryText(secondsLeft: number): string {
  if (secondsLeft <= 0) return "This code has expired. Select Send New Code to get a new one.";
  return `This code expires in ${secondsLeft} second${secondsLeft === 1 ? "" : "s"}.`;
}

/** Verification Code → Verify Code, the time left (announced politely, not every second) and Send New Code. */
export function EmailCodeStep(props: { email: string; secondsLeft: number; codeLifetime: string; error?: StepError; sent?: boolean }) {
  const fieldError = props.error?.field === "code" ? props.error.message : undefined;
  return (
    <section>
      <Heading>Enter the verification code</Heading>
      <ErrorSummary message={props.error?.message} field={props.error?.field} />
      <Status message={props.sent && !props.error ? `We sent a verification code to ${props.email}.` : null} />
      <p>The code was sent to {props.email}. It works once, for {props.codeLifetime}.</p>
      <p class="countdown" id="code-expiry" aria-live="polite" data-countdown={String(props.secondsLeft)}>
        {expiryText(props.secondsLeft)}
      </p>
      {/* Without JavaScript nothing counts down, so the words above say the time when the page was shown. */}
      {props.secondsLeft > 0 ? <p class="nojs-only hint">Counted from when this page was shown; reload the page to see the time left now.</p> : null}
      <CodeForm action="/login/email/code" hint="Enter the 6-digit code from the email." error={fieldError} autofocus={fieldError !== undefined} />
      <Form action="/login/email/send" label="Send a new code">
        <p>Code expired, or no email?</p>
        <Button variant="secondary">Send New Code</Button>
      </Form>
    </section>
  );
}

/** A message confirming verification → Continue (sign-in and the password reset, each with its own URL). */
export function EmailVerifiedStep(props: { action: string }) {
  return (
    <section>
      <Heading>Email verified</Heading>
      <p class="status" role="status">
        Your email address has been verified.
      </p>
      <Form action={props.action}>
        <Button>Continue</Button>
      </Form>
    </section>
  );
}
