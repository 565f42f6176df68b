import { Button, ErrorSummary, Form, Heading, Status } from "../components.tsx";

/**
 * Call Me: the code to key in on the call, in <output name="keypad-code">. With htmx a hidden
 * element posts to the check every 2 seconds (a pending answer is 204, so nothing moves) and the
 * next step replaces the page once the call confirmed; without JavaScript, Continue checks.
 * The code is carried in a hidden field so a Continue that finds the call pending can show it again:
 * only its HMAC is stored.
 */
export function CallStep(props: { keypadCode: string; maskedPhone: string; notYet?: boolean; problem?: string }) {
  return (
    <section>
      <Heading>Answer the call</Heading>
      <ErrorSummary message={props.problem} />
      <p>
        We are calling <strong>{props.maskedPhone}</strong>. Answer the call; when it asks, key in this code on the
        phone's keypad, then press <strong>#</strong>:
      </p>
      <p>
        <output name="keypad-code" class="keypad-code">
          {props.keypadCode}
        </output>
      </p>
      <div hx-post="/register/phone/call/check" hx-trigger="every 2s" hx-target="#main" hx-swap="innerHTML" hx-vals='{"poll": "1"}' hidden></div>
      <Form action="/register/phone/call/check" label="Continue after the call">
        <input type="hidden" name="keypad" value={props.keypadCode} />
        <Status
          message={props.notYet ? "The call has not confirmed the code yet. Key in the code on the call and press #, then select Continue." : null}
        />
        <p>This page moves on by itself once the call confirms the code. If it does not, select Continue after the call.</p>
        <Button>Continue</Button>
      </Form>
      <p>
        <a href="/register/phone">No call? Go back to the phone step</a> to call again or to get a code by text message.
      </p>
    </section>
  );
}
