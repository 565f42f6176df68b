import { Button, ErrorSummary, Form, Heading } from "../components.tsx";
import { CallCheck, KeypadCode } from "../phone-factor.tsx";

/**
 * Call Me: the code to key in on the call, then the check (a 2-second poll with htmx, Continue
 * without JavaScript; the flow keeps the code, so the page is a GET of its own). `problem`: a
 * wrong code keyed on the call (`wrongTries` so far) or another problem with the call. Call Me
 * places a new call to the same number.
 */
export function CallStep(props: { keypadCode: string; phone: string; maskedPhone: string; notYet?: boolean; problem?: string; wrongTries?: number }) {
  return (
    <section>
      <Heading>Answer the call</Heading>
      <ErrorSummary message={props.problem} />
      <KeypadCode maskedPhone={props.maskedPhone} keypadCode={props.keypadCode} />
      <CallCheck
        action="/register/phone/call/check"
        label="Continue after the call"
        notYet={props.notYet && !props.problem ? "The call has not confirmed the code yet. Key in the code on the call and press #, then select Continue." : null}
        wrongTries={props.wrongTries}
      />
      <h2>No call?</h2>
      <Form action="/register/phone/send" label="Call again">
        <input type="hidden" name="phone" value={props.phone} />
        <Button name="channel" value="voice" variant="secondary">
          Call Me
        </Button>
      </Form>
      <p>
        <a href="/register/phone">Go back to the phone step</a> to change the number or to get a code by text message.
      </p>
    </section>
  );
}
