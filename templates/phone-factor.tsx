import type { Child } from "hono/jsx";
import { Button, CodeForm, ErrorSummary, Form, Heading, Status } from "./components.tsx";

/**
 * The phone factor's three screens (choose Send Code or Call Me, type the SMS code, wait for the
 * call), shared by sign-in and the password reset; each caller passes its own URLs. Every
 * screen works without JavaScript; with htmx the call screen checks by itself every 2 seconds.
 * Registration's phone step builds its own screens (it asks for the number) from the parts below
 * them: SmsCodeForm, KeypadCode and CallCheck.
 */
export interface PhoneActions {
  /** POST: send an SMS code. */
  send: string;
  /** POST: place a verification call. */
  call: string;
  /** POST: check the typed SMS code. */
  verify: string;
  /** POST: has the call confirmed the keypad code? (the poll and the Continue button) */
  check: string;
}

export interface StepError {
  message: string;
  /** The input the message belongs to; else it is about the whole form. */
  field?: string;
}

/** Confirm the number on file, then Send Code (SMS) or Call Me (voice). */
export function PhoneChoice(props: { heading: string; maskedPhone: string; actions: PhoneActions; error?: StepError; intro?: Child }) {
  return (
    <section>
      <Heading>{props.heading}</Heading>
      <ErrorSummary message={props.error?.message} field={props.error?.field} />
      {props.intro}
      <p>
        The phone number on file is <strong>{props.maskedPhone}</strong>. Select <strong>Send Code</strong> for a
        verification code by text message, or <strong>Call Me</strong> for a voice call to that number.
      </p>
      <div class="actions">
        <Form action={props.actions.send} label="Send a code by text message">
          <Button>Send Code</Button>
        </Form>
        <Form action={props.actions.call} label="Verify by a voice call">
          <Button variant="secondary">Call Me</Button>
        </Form>
      </div>
    </section>
  );
}

/** SMS: Verification Code → Verify Code, with a new code or a call when the text does not arrive. */
export function SmsCodeEntry(props: { heading: string; maskedPhone: string; actions: PhoneActions; error?: StepError; sent?: boolean }) {
  const fieldError = props.error?.field === "code" ? props.error.message : undefined;
  return (
    <section>
      <Heading>{props.heading}</Heading>
      <ErrorSummary message={props.error?.message} field={props.error?.field} />
      <Status message={props.sent && !props.error ? `We sent a verification code by text message to ${props.maskedPhone}.` : null} />
      <SmsCodeForm action={props.actions.verify} maskedPhone={props.maskedPhone} error={fieldError} autofocus={fieldError !== undefined} />
      <h2>No text message?</h2>
      <div class="actions">
        <Form action={props.actions.send} label="Send a new code by text message">
          <Button variant="secondary">Send New Code</Button>
        </Form>
        <Form action={props.actions.call} label="Verify by a voice call instead">
          <Button variant="secondary">Call Me</Button>
        </Form>
      </div>
    </section>
  );
}

/**
 * Call Me: the code to key in and its check; Call Me again or Send Code when no call comes.
 * `error`: a wrong code keyed on the call (`wrongTries` so far), or another problem with the call.
 */
export function CallWaiting(props: { heading: string; maskedPhone: string; keypadCode: string; actions: PhoneActions; notYet?: boolean; error?: StepError; wrongTries?: number }) {
  return (
    <section>
      <Heading>{props.heading}</Heading>
      <ErrorSummary message={props.error?.message} />
      <KeypadCode maskedPhone={props.maskedPhone} keypadCode={props.keypadCode} outputLabel="Code to key in" />
      <CallCheck
        action={props.actions.check}
        notYet={props.notYet && !props.error ? "The call has not confirmed the code yet. Answer the call, key in the code and press #, then select Continue." : null}
        wrongTries={props.wrongTries}
      />
      <h2>No call?</h2>
      <div class="actions">
        <Form action={props.actions.call} label="Call again">
          <Button variant="secondary">Call Me</Button>
        </Form>
        <Form action={props.actions.send} label="Send a code by text message instead">
          <Button variant="secondary">Send Code</Button>
        </Form>
      </div>
    </section>
  );
}

/** Verification Code → Verify Code, for the code a text message brought. */
export function SmsCodeForm(props: { action: string; maskedPhone: string; error?: string; autofocus: boolean; label?: string }) {
  return (
    <CodeForm
      action={props.action}
      formLabel={props.label}
      hint={`Enter the 6-digit code from the text message sent to ${props.maskedPhone}.`}
      error={props.error}
      autofocus={props.autofocus}
    />
  );
}

/** "We are calling …" and the code to key in on the call's keypad, in <output name="keypad-code">. */
export function KeypadCode(props: { maskedPhone: string; keypadCode: string; outputLabel?: string }) {
  return (
    <>
      <p>
        We are calling <strong>{props.maskedPhone}</strong>. Answer the call; when it asks, key in this code on the phone's
        keypad, then press <strong>#</strong>:
      </p>
      <p>
        <output name="keypad-code" class="keypad-code" aria-label={props.outputLabel}>
          {props.keypadCode}
        </output>
      </p>
    </>
  );
}

/**
 * Has the call confirmed the code yet? With htmx a hidden poller posts to `action` every 2 seconds
 * with poll=1 (a pending answer is 204, so nothing on screen moves; the next step replaces the
 * page); without JavaScript the Continue button posts the same form. `children` (hidden fields)
 * go into that form; `notYet` is the status line after a Continue that found the call pending.
 * The poll carries `wrongTries`, the wrong keyed codes the page already says, so the answer is a
 * new page only when another one was keyed.
 */
export function CallCheck(props: { action: string; notYet: string | null; label?: string; wrongTries?: number; children?: Child }) {
  const vals = JSON.stringify({ poll: "1", wrong: String(props.wrongTries ?? 0) });
  return (
    <>
      <div hx-post={props.action} hx-trigger="every 2s" hx-target="#main" hx-swap="innerHTML" hx-vals={vals} hidden></div>
      <Form action={props.action} label={props.label}>
        {props.children}
        <Status message={props.notYet} />
        <p>
          After you key in the code and press #, select Continue.
          {/* Only true with JavaScript (the poller above); app.css shows it under html.js. */}
          <span class="js-only"> This page also moves on by itself once the call confirms the code.</span>
        </p>
        <Button>Continue</Button>
      </Form>
    </>
  );
}
