import type { Db } from "../db/client.ts";

export type Channel = "email" | "sms" | "voice";

export interface OutboxMessage {
  channel: Channel;
  /** Email address or E.164 phone number. */
  to: string;
  subject?: string;
  /** Email or SMS text; for a call, what the voice says before it asks for the keypad code. */
  text: string;
  /** Voice calls: the code row whose keypad digits the call's <Gather> collects. */
  codeId?: string;
}

/**
 * Transactional outbox. enqueue() writes the message with the same `db` (transaction) that
 * writes the code or link it carries, so neither exists without the other; kick() dispatches
 * after the commit; failed sends are retried with backoff by a timer; a row is claimed with
 * FOR UPDATE SKIP LOCKED so two instances never send it twice.
 */
export interface Outbox {
  enqueue(db: Db, message: OutboxMessage): Promise<number>;
  /** Dispatch due messages now (call after the enqueuing transaction committed). Never throws. */
  kick(): void;
  /** Resolves when the dispatches started so far have finished (tests, shutdown). */
  drain(): Promise<void>;
  /** Stops the retry timer and waits for in-flight sends. */
  stop(): Promise<void>;
}
