import { Button, Form, Heading, SupportContact } from "../components.tsx";

export type RegistrationErrorReason = "expired" | "used" | "invalid" | "unavailable" | "completed" | "session";

const MESSAGES: Record<RegistrationErrorReason, string> = {
  expired: "This registration link has expired.",
  used: "This registration link has already been used, or a newer link replaced it.",
  invalid: "This registration link is not valid. Check that you opened the whole link from the email.",
  unavailable: "This registration cannot continue.",
  completed: "This registration cannot continue.",
  session: "Your registration could not continue in this browser: it timed out, or it was started in another browser.",
};

/** Reset can continue only a registration this browser was on whose link expired, was used or timed out. */
export const RESET_REASONS: readonly RegistrationErrorReason[] = ["expired", "used", "session"];

/**
 * Registration error: what happened in a sentence, and, where it can help (`resetOffered`),
 * Reset, which emails the registered address a link that continues the registration. A
 * finished, unavailable or garbled registration gets the ways that do help instead. The page
 * never says whose account it is.
 */
export function RegistrationError(props: { reason: RegistrationErrorReason; resetTtl: string; resetOffered: boolean; supportContact: string | null }) {
  return (
    <section>
      <Heading>Registration error</Heading>
      <p>{MESSAGES[props.reason]}</p>
      {props.resetOffered ? (
        <>
          <p>
            Select <strong>Reset</strong> to have an email sent to the registered email address with a link that continues
            your registration. The link expires in {props.resetTtl}, so make sure you can open your email now.
          </p>
          <Form action="/register/reset" label="Reset the registration">
            <Button>Reset</Button>
          </Form>
        </>
      ) : null}
      <p>
        If you already finished registering, <a href="/login">sign in</a>.{" "}
        <SupportContact contact={props.supportContact} lead={props.resetOffered ? "If Reset does not help, ask your portal administrator for a new registration link" : "To get a new registration link, ask your portal administrator"} />
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
