import type { AccountOverview, AccountView } from "../../src/flows/account.ts";
import { Button, CodeForm, ErrorSummary, Field, Form, PhoneNumberField, Heading, Status } from "../components.tsx";
import { NewPasswordFields } from "../new-password-fields.tsx";
import { CallWaiting, PhoneChoice, SmsCodeEntry, type PhoneActions, type StepError } from "../phone-factor.tsx";
import { portalTime } from "../format.ts";
import { describeActivity } from "./activity.ts";
import { SignInMethods } from "./sign-in-methods.tsx";
import { RecoveryCodeEntry, UseRecoveryCodeLink } from "../recovery-codes.tsx";

/**
 * The account page (product.md §8) and its steps: Change password, Change phone number, Sign-in
 * methods, Sessions, Recent activity, and Confirm it's you before a change. Every form is a real
 * POST (303 back here) that htmx upgrades.
 */

/** What a finished change says at the top of the account page (the ?done= of its redirect). */
export const DONE_MESSAGES = {
  password: "Your password was changed. Every other session was signed out, and we emailed you a notice.",
  phone: "Your phone number was changed. Codes and calls now go to the new number, and we emailed you a notice.",
  sessions: "Signed out. We emailed you a notice.",
  no_sessions: "There were no other sessions to sign out.",
  factor_added: "The sign-in method was added. We emailed you a notice.",
  factor_removed: "The sign-in method was removed. We emailed you a notice.",
  codes_saved: "Your new recovery codes are saved.",
} as const;

export type DoneMessage = keyof typeof DONE_MESSAGES;

function When(props: { at: Date | null }) {
  if (!props.at) return <>never</>;
  return <time datetime={props.at.toISOString()}>{portalTime(props.at)}</time>;
}

export function AccountPage(props: { overview: AccountOverview; done?: DoneMessage; error?: string }) {
  const { user, factors, recoveryLeft, sessions, activity, hasPassword } = props.overview;
  const others = sessions.filter((s) => !s.current);
  return (
    <section class="account">
      <Heading>Account</Heading>
      <ErrorSummary message={props.error} />
      <Status message={props.done ? DONE_MESSAGES[props.done] : null} />
      <p>
        Signed in as <strong>{user.name || user.email}</strong>
        {user.name ? ` (${user.email})` : ""}. Each change asks you to confirm it's you first, and we email you a notice after it.
      </p>

      {hasPassword ? (
        <>
          <h2>Change password</h2>
          <p>Changing your password signs out every other session and forgets Remember Me.</p>
          <p>
            <a href="/account/password">Change password</a>
          </p>
        </>
      ) : null}

      {user.phoneE164 ? (
        <>
          <h2>Change phone number</h2>
          <p>Codes and calls go to the number ending {user.phoneE164.slice(-4)}. It keeps working until you prove the new one.</p>
          <p>
            <a href="/account/phone">Change phone number</a>
          </p>
        </>
      ) : null}

      <h2 id="sign-in-methods" tabindex={-1}>
        Sign-in methods
      </h2>
      <SignInMethods factors={factors} recoveryLeft={recoveryLeft} email={user.email} />

      <h2 id="sessions" tabindex={-1}>
        Sessions
      </h2>
      <p>Where your account is signed in now.</p>
      <ul class="session-list">
        {sessions.map((session) => (
          <li>
            <p id={`session-${session.id}`}>
              <strong>{session.browser}</strong>
              {session.current ? <span class="tag"> (this session)</span> : null}
            </p>
            <dl>
              <dt>Address</dt>
              <dd>{session.ip ?? "unknown"}</dd>
              <dt>Started</dt>
              <dd>
                <When at={session.createdAt} />
              </dd>
              <dt>Last active</dt>
              <dd>
                <When at={session.lastActiveAt} />
              </dd>
            </dl>
            {session.current ? null : (
              <form method="post" action="/account/sessions/end" hx-post="/account/sessions/end" hx-target="#main" hx-swap="innerHTML" novalidate>
                <input type="hidden" name="session" value={session.id} />
                <button type="submit" class="button secondary" aria-describedby={`session-${session.id}`}>
                  Sign out
                </button>
              </form>
            )}
          </li>
        ))}
      </ul>
      {others.length > 0 ? (
        <Form action="/account/sessions/end-others">
          <Button variant="secondary">Sign out of all other sessions</Button>
        </Form>
      ) : (
        <p>No other session is signed in.</p>
      )}

      <h2>Recent activity</h2>
      {activity.length === 0 ? (
        <p>Nothing recorded yet.</p>
      ) : (
        <ul class="activity-list">
          {activity.map((event) => (
            <li>
              <When at={event.at} />: {describeActivity(event.event, event.detail)}
              {event.ip ? `, from ${event.ip}` : ""}
            </li>
          ))}
        </ul>
      )}
      <p>If you do not recognise something here, change your password now and tell your portal administrator.</p>
    </section>
  );
}

function BackToAccount() {
  return (
    <p>
      <a href="/account">Back to Account</a>
    </p>
  );
}

/** Current Password, New Password, Confirm New Password → Change password. */
export function ChangePasswordPage(props: { error?: StepError }) {
  const field = props.error?.field;
  const currentError = field === "current" ? props.error!.message : undefined;
  const passwordError = field === "password" ? props.error!.message : undefined;
  const confirmError = field === "confirm" ? props.error!.message : undefined;
  const other = props.error && !field ? props.error.message : undefined;
  return (
    <section>
      <Heading>Change password</Heading>
      <ErrorSummary message={other ?? (field ? "Check the highlighted fields." : undefined)} />
      <p>Every other session of your account is signed out and Remember Me is forgotten once the password is changed.</p>
      <Form action="/account/password">
        <Field name="current" label="Current Password" type="password" autocomplete="current-password" error={currentError} autofocus={currentError !== undefined} />
        <NewPasswordFields passwordError={passwordError} confirmError={confirmError} />
        <Button>Change password</Button>
      </Form>
      <BackToAccount />
    </section>
  );
}

/** Phone Number → Send Code or Call Me, to the new number. */
export function ChangePhonePage(props: { phone: string; error?: StepError }) {
  const fieldError = props.error?.field === "phone" ? props.error.message : undefined;
  const other = props.error && !fieldError ? props.error.message : undefined;
  return (
    <section>
      <Heading>Change phone number</Heading>
      <ErrorSummary message={other ?? (fieldError ? "Check the highlighted field." : undefined)} />
      <p>Your current number keeps working until the new one is proved with a code.</p>
      <Form action="/account/phone" label="New phone number">
        <PhoneNumberField value={props.phone} error={fieldError} />
        <p>
          Select <strong>Send Code</strong> for a code by text message, or <strong>Call Me</strong> for a call that asks you to key in a code shown on
          this page, then press #.
        </p>
        <div class="actions">
          <Button name="channel" value="sms">
            Send Code
          </Button>
          <Button name="channel" value="voice" variant="secondary">
            Call Me
          </Button>
        </div>
      </Form>
      <BackToAccount />
    </section>
  );
}

export const PHONE_CHANGE_ACTIONS: PhoneActions = {
  send: "/account/phone/send",
  call: "/account/phone/call",
  verify: "/account/phone/code",
  check: "/account/phone/call/check",
};

/** Confirm it's you's buttons; the change rides along (?for=), so the first POST can start the confirmation. */
function confirmActions(change: string): PhoneActions {
  return {
    send: `/account/confirm/phone/send?for=${change}`,
    call: `/account/confirm/phone/call?for=${change}`,
    verify: "/account/confirm/code",
    check: "/account/confirm/call/check",
  };
}

const CHANGE_WORDS = { password: "change your password", phone: "change your phone number", sessions: "sign out a session", factors: "change your sign-in methods" } as const;

type ConfirmView = Extract<AccountView, { page: "confirm" }>;

/**
 * The stronger ways beside the account's own factor (product.md §8): the authenticator app's code
 * (on the first page only, so the page holds one code field) and Use a recovery code.
 */
function StrongerWays(props: { view: ConfirmView; fieldError?: string }) {
  const { view } = props;
  const only = view.factor === "none";
  return (
    <>
      {view.app && view.state === "confirm" ? (
        <>
          {only ? null : <h2>Or use your authenticator app</h2>}
          <CodeForm
            action={`/account/confirm/app?for=${view.change}`}
            formLabel="Confirm with your authenticator app"
            hint="Enter the 6-digit code your authenticator app shows now."
            error={props.fieldError}
            autofocus={props.fieldError !== undefined}
          />
        </>
      ) : null}
      {view.passkey && view.state !== "confirm_call" ? (
        // Confirm with a passkey needs JavaScript: static/passkey.js adds the button and shows the slot.
        <div data-passkey-confirm="" data-for={view.change} hidden>
          {only && !view.app ? null : <h2>Or use a passkey</h2>}
        </div>
      ) : null}
      {view.recovery && view.state !== "confirm_call" ? <UseRecoveryCodeLink href={`/account/confirm/recovery?for=${view.change}`} /> : null}
    </>
  );
}

/** Confirm it's you: a factor of the person's, before the change they asked for. */
export function ConfirmPage(props: { view: ConfirmView; error?: StepError; notYet?: boolean; wrongTries?: number }) {
  const { view } = props;
  const intro = <p>Before you {CHANGE_WORDS[view.change]}, confirm it's you with your second factor.</p>;
  const CONFIRM_PHONE_ACTIONS = confirmActions(view.change);
  const fieldError = props.error?.field === "code" ? props.error.message : undefined;
  if (view.using === "recovery") {
    return (
      <RecoveryCodeEntry action={`/account/confirm/recovery?for=${view.change}`} back={`/account/confirm?for=${view.change}`} error={fieldError} problem={props.error?.message} />
    );
  }
  if (view.factor === "phone") {
    const stronger = <StrongerWays view={view} fieldError={fieldError} />;
    if (view.state === "confirm_code")
      return (
        <>
          <SmsCodeEntry heading="Confirm it's you" maskedPhone={view.shown} actions={CONFIRM_PHONE_ACTIONS} error={props.error} sent />
          {stronger}
        </>
      );
    if (view.state === "confirm_call")
      return <CallWaiting heading="Confirm it's you" maskedPhone={view.shown} keypadCode={view.keypadCode ?? ""} actions={CONFIRM_PHONE_ACTIONS} notYet={props.notYet} error={props.error} wrongTries={props.wrongTries} />;
    return (
      <>
        <PhoneChoice heading="Confirm it's you" maskedPhone={view.shown} actions={CONFIRM_PHONE_ACTIONS} error={props.error} intro={intro} />
        {stronger}
        <BackToAccount />
      </>
    );
  }
  return (
    <section>
      <Heading>Confirm it's you</Heading>
      <ErrorSummary message={props.error && !fieldError ? props.error.message : undefined} />
      {view.factor === "none" ? (
        intro
      ) : view.state === "confirm_code" ? (
        <>
          <Status message={props.error ? null : `We sent a 6-digit code to ${view.shown}.`} />
          <CodeForm
            action="/account/confirm/code"
            hint={`Enter the 6-digit code from the email. It works once, for ${view.codeLifetime}.`}
            error={fieldError}
            autofocus={fieldError !== undefined}
          />
          <h2>No email?</h2>
          <Form action={`/account/confirm/email/send?for=${view.change}`} label="Send a new code">
            <Button variant="secondary">Send New Code</Button>
          </Form>
        </>
      ) : (
        <>
          {intro}
          <p>
            We will email a 6-digit code to <strong>{view.shown}</strong>.
          </p>
          <Form action={`/account/confirm/email/send?for=${view.change}`}>
            <Button>Send Verification Code</Button>
          </Form>
        </>
      )}
      <StrongerWays view={view} fieldError={view.state === "confirm" ? fieldError : undefined} />
      <BackToAccount />
    </section>
  );
}

type PhoneProofView = Extract<AccountView, { page: "phone_proof" }>;

/** The new number's code or call. */
export function PhoneProofPage(props: { view: PhoneProofView; error?: StepError; notYet?: boolean; wrongTries?: number }) {
  const { view } = props;
  if (view.state === "phone_call")
    return (
      <CallWaiting heading="Answer the call" maskedPhone={view.maskedPhone} keypadCode={view.keypadCode ?? ""} actions={PHONE_CHANGE_ACTIONS} notYet={props.notYet} error={props.error} wrongTries={props.wrongTries} />
    );
  return <SmsCodeEntry heading="Enter the verification code" maskedPhone={view.maskedPhone} actions={PHONE_CHANGE_ACTIONS} error={props.error} sent />;
}
