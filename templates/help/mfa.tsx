import { Button, ErrorSummary, Heading, SupportContact } from "../components.tsx";

/** What can go wrong, in the person's words; each leads to the action that fixes it. */
export const PROBLEMS = [
  ["link_expired", "My registration link expired, was already used, or shows a registration error"],
  ["unfinished", "I started registering but did not finish"],
  ["forgot_password", "I forgot my password"],
  ["lost_phone", "I lost my phone, or my phone number changed"],
  ["locked", "My password is right but I still cannot sign in"],
  ["email_code_expired", "My email code expired before I could enter it"],
  ["no_code", "The text message or call did not come"],
] as const;

export type Problem = (typeof PROBLEMS)[number][0];

export interface HelpSettings {
  registrationLink: string;
  registrationResetLink: string;
  resumeLink: string;
  emailLoginCode: string;
  lockoutThreshold: number;
  lockoutDuration: string;
  /** PORTAL_SUPPORT_CONTACT, or null. */
  supportContact: string | null;
}

function Answer(props: { problem: Problem; settings: HelpSettings }) {
  const s = props.settings;
  switch (props.problem) {
    case "link_expired":
      return (
        <>
          <p>
            A registration link works once and expires {s.registrationLink} after it was sent. Contact your portal administrator
            and ask for a new link; the new link replaces every earlier one.
          </p>
          <p>
            If you opened the link and saw a registration error message with a <strong>Reset</strong> button, select{" "}
            <strong>Reset</strong>: an email is sent to your registered address with a link that completes the registration.
            That link expires within {s.registrationResetLink}, so have your email open.
          </p>
        </>
      );
    case "unfinished":
      return (
        <>
          <p>
            If you verified your email and created a password but did not finish, use{" "}
            <a href="/trouble">Having trouble logging in?</a> to send a link to your registered email address. You will need
            the email address and password you used. The link expires within {s.resumeLink} and takes you to the first step you
            have not finished.
          </p>
        </>
      );
    case "forgot_password":
      return (
        <p>
          <a href="/forgot-password">Reset your password</a>: enter your email address, then the 6-digit code we email
          you. Phone users also confirm a code by text message or a call. Then choose a new password.
        </p>
      );
    case "lost_phone":
      return (
        <>
          <p>
            Contact your portal administrator and ask them to reset your multi-factor authentication. You will get an email
            with a link to register your phone (or email) again.
          </p>
          <p>
            Until then you can still sign in with <strong>Login with Email</strong>: the code goes to your email address.
          </p>
        </>
      );
    case "locked":
      return (
        <>
          <p>
            After {s.lockoutThreshold} failed tries in a row (passwords and codes together), sign-in is blocked for{" "}
            {s.lockoutDuration}. For your safety the sign-in page then looks the same as for a wrong password.
          </p>
          <p>
            Wait {s.lockoutDuration} and try again, or <a href="/forgot-password">reset your password</a> now: a reset works
            even while sign-in is blocked, and it lifts the block.
          </p>
        </>
      );
    case "email_code_expired":
      return (
        <p>
          The Login with Email code expires within {s.emailLoginCode}. Have your email open, then select{" "}
          <strong>Send New Code</strong> on the code page and enter the new code at once. Each new code replaces the one before
          it. If you have to start over, go to the <a href="/login">sign-in page</a> and select Login with Email.
        </p>
      );
    case "no_code":
      return (
        <>
          <p>
            Check that the last four digits shown are those of your phone. Wait a minute, then select{" "}
            <strong>Send New Code</strong> or <strong>Call Me</strong>. A few codes per hour can be sent; after that, wait
            before trying again.
          </p>
          <p>If your number changed, contact your portal administrator to reset your multi-factor authentication.</p>
        </>
      );
  }
}

/**
 * Multi-Factor Authentication Help: a radio group and Continue (a GET form, so it works without
 * JavaScript and the answer has its own address), then the answer under it.
 */
export function MfaHelp(props: { problem: Problem | null; invalid?: boolean; settings: HelpSettings }) {
  const chosen = PROBLEMS.find(([value]) => value === props.problem);
  return (
    <section class="help-text">
      <Heading>Multi-Factor Authentication Help</Heading>
      <ErrorSummary message={props.invalid ? "Select what went wrong, then select Continue." : undefined} field={`#problem-${PROBLEMS[0]![0]}`} />
      <form method="get" action="/help/mfa">
        <input type="hidden" name="asked" value="1" />
        <fieldset>
          <legend>What went wrong?</legend>
          {PROBLEMS.map(([value, label]) => (
            <div class="field checkbox">
              <input type="radio" id={`problem-${value}`} name="problem" value={value} checked={props.problem === value || undefined} />
              <label for={`problem-${value}`}>{label}</label>
            </div>
          ))}
        </fieldset>
        <Button>Continue</Button>
      </form>
      {chosen ? (
        <section class="panel" aria-labelledby="answer-heading">
          <h2 id="answer-heading">{chosen[1]}</h2>
          <Answer problem={chosen[0]} settings={props.settings} />
        </section>
      ) : null}
      <p>
        <SupportContact contact={props.settings.supportContact} lead="Still stuck? Contact your portal administrator" />{" "}
        <a href="/help">All help pages</a>
      </p>
    </section>
  );
}
