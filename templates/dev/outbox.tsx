import type { DevOutboxEntry } from "../../src/delivery/dev-outbox.ts";
import type { KeyedOutcome } from "../../src/delivery/voice.ts";
import { Heading, Status } from "../components.tsx";

const CHANNEL_NAMES = { email: "Email", sms: "SMS", voice: "Call" } as const;

/** Development only: what the portal would have sent, newest first; calls can be answered here. */
export function DevOutboxPage(props: { entries: DevOutboxEntry[] }) {
  return (
    <section>
      <Heading>Dev outbox</Heading>
      <p>
        No email or phone provider is configured, so messages are listed here instead of being sent. Newest first; also as{" "}
        <a href="/dev/outbox.json">JSON</a>.
      </p>
      {props.entries.length === 0 ? (
        <p>Nothing has been sent yet.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption>Messages, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Sent</th>
                <th scope="col">Channel</th>
                <th scope="col">To</th>
                <th scope="col">Subject</th>
                <th scope="col">Text</th>
              </tr>
            </thead>
            <tbody>
              {props.entries.map((entry) => (
                <tr>
                  <td>
                    <time datetime={entry.createdAt}>{entry.createdAt.replace("T", " ").slice(0, 19)} UTC</time>
                  </td>
                  <td>{CHANNEL_NAMES[entry.channel]}</td>
                  <td>{entry.to}</td>
                  <td>{entry.subject ?? ""}</td>
                  <td>
                    <pre class="message-text">{withLinks(entry.text)}</pre>
                    {entry.channel === "voice" ? <AnswerForm id={entry.id} /> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** The message's text with each http(s) address a link, so a registration link can be opened from here. */
function withLinks(text: string) {
  return text.split(/(https?:\/\/[^\s<>"]+)/).map((part, index) => (index % 2 === 1 ? <a href={part}>{part}</a> : part));
}

/** A plain form (no htmx): the answer endpoint is what a phone would reach, not a wizard step. */
function AnswerForm(props: { id: number }) {
  const field = `digits-${props.id}`;
  return (
    <form method="post" action={`/dev/outbox/${props.id}/answer`} class="dev-answer">
      <label for={field}>Keypad digits for call {props.id}</label>
      <input id={field} name="digits" type="text" inputmode="numeric" autocomplete="off" maxlength={32} />
      <button type="submit" class="button secondary">
        Answer call
      </button>
    </form>
  );
}

const OUTCOMES: Record<KeyedOutcome, string> = {
  confirmed: "The call confirmed the code. Return to the portal's page; it continues by itself.",
  wrong: "That code was not right. The call asks again.",
  wrong_last: "That code was not right, and no tries are left. The call ended.",
  expired: "The code has expired. The call ended.",
  exhausted: "Too many wrong codes were keyed in. The call ended.",
  none: "This call can no longer confirm anything. The call ended.",
};

export function DevAnswerPage(props: { id: number; result: KeyedOutcome }) {
  return (
    <section>
      <Heading>Call {props.id} answered</Heading>
      <Status message={OUTCOMES[props.result]} />
      <p>
        <a href="/dev/outbox">Back to the dev outbox</a>
      </p>
    </section>
  );
}
