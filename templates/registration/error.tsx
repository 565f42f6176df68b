import { Button, Form, Heading } from "../components.tsx";

export type RegistrationErrorReason = "expired" | "used" | "invalid" | "unavailable" | "completed" | "session";

const MESSAGES: Record<RegistrationErrorReason, string> = {
  expired: "This registration link has expired.",
  used: "This registration link has already been used, or a newer link replaced it.",
  invalid: "This registration link is not valid. Check that you opened the whole link from the email.",
  unavailable: "This registration cannot continue.",
  completed: "This registration cannot continue.",
  session: "Your registration could not continue in this browser: it timed out, or it was started in another browser.",
};

/**
 * Registration error: what happened in a sentence, and Reset, which emails the registered address
 * a link that continues the registration. The page never says whose account it is.
 */
export function RegistrationError(props: { reason: RegistrationErrorReason; resetTtl: string }) {
  return (
    <section>
      <Heading>Registration error</Heading>
      <p>{MESSAGES[props.reason]}</p>
      <p>
        Select <strong>Reset</strong> to have an email sent to the registered email address with a link that continues your
        registration. The link expires in {props.resetTtl}, so make sure you can open your email now.
      </p>
      <Form action="/register/reset" label="Reset the registration">
        <Button>Reset</Button>
      </Form>
      <p>
        If you already finished registering, <a href="/login">sign in</a>. If Reset does not help, ask your portal
        administrator to send you a new registration link.
      </p>
    </section>
  );
}

/** After Reset: the same words whatever happened, so the page tells nothing about the account. */
export function ResetSent(props: { resetTtl: string }) {
  return (
    <section>
      <Heading>Check your email</Heading>
      <p>
        If this registration can continue, an email with a link has been sent to the registered email address. Open the
        link in this browser to complete the registration. The link expires in {props.resetTtl}.
      </p>
      <p>If no email arrives within a few minutes, ask your portal administrator to send you a new registration link.</p>
    </section>
  );
}
