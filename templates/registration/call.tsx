import { ErrorSummary, Heading } from "../components.tsx";
import { CallCheck, KeypadCode } from "../phone-factor.tsx";

/**
 * Call Me: the code to key in on the call, then the check (a 2-second poll with htmx, Continue
 * without JavaScript). The code is carried in a hidden field so a Continue that finds the call
 * pending can show it again: only its HMAC is stored.
 */
export function CallStep(props: { keypadCode: string; maskedPhone: string; notYet?: boolean; problem?: string }) {
  return (
    <section>
      <Heading>Answer the call</Heading>
      <ErrorSummary message={props.problem} />
      <KeypadCode maskedPhone={props.maskedPhone} keypadCode={props.keypadCode} />
      <CallCheck
        action="/register/phone/call/check"
        label="Continue after the call"
        notYet={props.notYet ? "The call has not confirmed the code yet. Key in the code on the call and press #, then select Continue." : null}
      >
        <input type="hidden" name="keypad" value={props.keypadCode} />
      </CallCheck>
      <p>
        <a href="/register/phone">No call? Go back to the phone step</a> to call again or to get a code by text message.
      </p>
    </section>
  );
}
