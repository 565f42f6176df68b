import type { Clock } from "../clock.ts";
import { SECOND, MINUTE, HOUR } from "../clock.ts";
import type { Config } from "../config.ts";
import type { Db, Sql } from "../db/client.ts";
import type { Logger } from "../log.ts";
import { countDelivery } from "../metrics.ts";
import { createDevTransport } from "./dev.ts";
import { createSendgridTransport } from "./sendgrid.ts";
import { createTwilioTransport } from "./twilio.ts";
import type { OutgoingMessage, Transport, Transports } from "./transport.ts";

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
  /**
   * The enqueue's statement with the same values, inserting nothing: where a message must not
   * be sent but the answer must cost what a sent one costs (ASVS 6.3.8: an unknown address).
   */
  rehearse(db: Db, message: OutboxMessage): Promise<void>;
  /** Dispatch due messages now (call after the enqueuing transaction committed). Never throws. */
  kick(): void;
  /** Resolves when the dispatches started so far have finished (tests, shutdown). */
  drain(): Promise<void>;
  /** Stops the retry timer and waits for in-flight sends. */
  stop(): Promise<void>;
}

/** A claimed row belongs to its sender this long; past it, another instance may take it over. */
export const CLAIM_MS = 60 * SECOND;
export const CLAIM_BATCH = 20;
/** Wait before attempt n+1 after attempt n failed; the last entry repeats. */
export const RETRY_DELAYS_MS = [5 * SECOND, 30 * SECOND, 2 * MINUTE, 10 * MINUTE, 30 * MINUTE, HOUR];
/** After this many failed attempts a message is given up (status 'failed'). */
export const MAX_SEND_ATTEMPTS = 8;
/** How often a live instance looks for due retries and rows abandoned by a dead instance. */
const POLL_MS = 15 * SECOND;

export interface OutboxOptions {
  sql: Sql;
  clock: Clock;
  config: Config;
  log: Logger;
  /** Where the dev transport prints (default console.log). */
  print?: (line: string) => void;
  /** Per-channel overrides (tests point real provider packages at stub servers this way). */
  transports?: Partial<Transports>;
  /** Background polling for retries; default on except under NODE_ENV=test, where tests drain(). */
  poll?: boolean;
}

interface ClaimedRow {
  id: string;
  channel: Channel;
  recipient: string;
  subject: string | null;
  body: string | null;
  code_id: string | null;
  attempts: number;
  /** Voice: whether the call's code can still be confirmed (not expired, used or confirmed). */
  code_live: boolean | null;
}

export function retryDelay(attempts: number): number {
  return RETRY_DELAYS_MS[Math.min(Math.max(attempts, 1), RETRY_DELAYS_MS.length) - 1]!;
}

export function defaultTransports(config: Config, print?: (line: string) => void): Transports {
  const dev = createDevTransport(print);
  const email = config.mail.kind === "sendgrid" ? createSendgridTransport(config.mail) : dev;
  const phone = config.phone.kind === "twilio" ? createTwilioTransport(config.phone, config.publicUrl) : dev;
  return { email, sms: phone, voice: phone };
}

export function createOutbox(options: OutboxOptions): Outbox {
  const { sql, clock, log } = options;
  const transports: Transports = { ...defaultTransports(options.config, options.print), ...options.transports };
  const poll = options.poll ?? options.config.env !== "test";

  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  let timer: ReturnType<typeof setInterval> | null = null;

  async function claim(): Promise<ClaimedRow[]> {
    const now = clock.now();
    const until = new Date(now.getTime() + CLAIM_MS);
    // Rows abandoned mid-send by an instance that died come back once their claim expired.
    return sql<ClaimedRow[]>`
      update outbox
         set status = 'sending', locked_until = ${until}, attempts = attempts + 1
       where id in (
         select id from outbox
          where (status = 'pending' and next_attempt_at <= ${now})
             or (status = 'sending' and locked_until <= ${now})
          order by next_attempt_at, id
          for update skip locked
          limit ${CLAIM_BATCH})
      returning id::text as id, channel, recipient, subject, body, code_id::text as code_id, attempts,
        (select c.expires_at > ${now} and c.consumed_at is null and c.confirmed_at is null
           from codes c where c.id = outbox.code_id) as code_live`;
  }

  async function deliver(row: ClaimedRow): Promise<void> {
    const transport: Transport = transports[row.channel];
    const id = Number(row.id);
    try {
      if (row.body === null) throw new OutboxGiveUp("message text missing");
      // A retry must not ring someone's phone for a code that can no longer be keyed in.
      if (row.channel === "voice" && row.code_id === null) throw new OutboxGiveUp("the call's code no longer exists");
      if (row.channel === "voice" && row.code_live === false) throw new OutboxGiveUp("the call's code expired or was used before the call");
      const message: OutgoingMessage = { id, channel: row.channel, to: row.recipient, subject: row.subject, text: row.body, codeId: row.code_id };
      const { providerId } = await transport.send(message);
      const now = clock.now();
      // Guarded on the claim: a sender whose claim expired and was taken over records nothing.
      await sql`
        update outbox
           set status = 'sent', provider = ${transport.provider}, provider_id = ${providerId},
               sent_at = ${now}, locked_until = null, last_error = null,
               body = case when ${transport.keepsText} then body else null end
         where id = ${id} and status = 'sending' and attempts = ${row.attempts}`;
      countDelivery(transport.provider, row.channel, "sent");
      log.info("outbox_sent", { id, channel: row.channel, provider: transport.provider, attempts: row.attempts });
    } catch (error) {
      const reason = describeError(error, [row.body, row.recipient]);
      const giveUp = error instanceof OutboxGiveUp || row.attempts >= MAX_SEND_ATTEMPTS;
      const now = clock.now();
      if (giveUp) {
        await sql`
          update outbox set status = 'failed', locked_until = null, last_error = ${reason}
           where id = ${id} and status = 'sending' and attempts = ${row.attempts}`;
        countDelivery(transport.provider, row.channel, "failed");
        log.error("outbox_failed", { id, channel: row.channel, provider: transport.provider, attempts: row.attempts, error: reason });
      } else {
        const next = new Date(now.getTime() + retryDelay(row.attempts));
        await sql`
          update outbox set status = 'pending', locked_until = null, next_attempt_at = ${next}, last_error = ${reason}
           where id = ${id} and status = 'sending' and attempts = ${row.attempts}`;
        countDelivery(transport.provider, row.channel, "retry");
        log.error("outbox_retry", { id, channel: row.channel, provider: transport.provider, attempts: row.attempts, retryAt: next.toISOString(), error: reason });
      }
    }
  }

  async function pass(): Promise<void> {
    for (;;) {
      const rows = await claim();
      if (rows.length === 0) return;
      await Promise.all(rows.map((row) => deliver(row).catch((error) => log.error("outbox_record_failed", { id: Number(row.id), error: describeError(error) }))));
      if (rows.length < CLAIM_BATCH) return;
    }
  }

  function run(): void {
    if (stopped) return;
    if (running) {
      again = true; // a message enqueued during this pass may have been missed by its claim
      return;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await pass();
        } catch (error) {
          log.error("outbox_pass_failed", { error: describeError(error) });
        }
      } while (again && !stopped);
    })().finally(() => {
      running = null;
    });
  }

  if (poll) {
    timer = setInterval(run, POLL_MS);
    timer.unref?.();
  }

  /**
   * The one statement that writes a message: `send` false inserts nothing, so enqueue and
   * rehearse are the same statement with the same values (the answer must not tell them apart).
   */
  const insertMessage = async (db: Db, message: OutboxMessage, send: boolean) => {
    const now = clock.now();
    const rows = await db<{ id: string }[]>`
      insert into outbox (channel, recipient, subject, body, code_id, status, attempts, next_attempt_at, created_at)
      select ${message.channel}, ${message.to}, ${message.subject ?? null}, ${message.text}, ${message.codeId ?? null},
             'pending', 0, ${now}::timestamptz, ${now}::timestamptz
      where ${send}
      returning id::text as id`;
    return rows[0];
  };

  return {
    async enqueue(db, message) {
      if (message.channel === "voice" && !message.codeId) throw new Error("a voice message needs the codeId its call confirms");
      const row = await insertMessage(db, message, true);
      return Number(row!.id);
    },
    async rehearse(db, message) {
      await insertMessage(db, message, false);
    },
    kick: run,
    async drain() {
      while (running) await running;
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = null;
      while (running) await running;
    },
  };
}

/** A send that retrying cannot fix. */
class OutboxGiveUp extends Error {}

/**
 * What is kept of a failure in the log and in last_error: the provider's status and error code
 * and the first words of its explanation, with the message's own text, digits (codes, numbers),
 * URLs (links) and long token-like strings masked, since providers sometimes echo what they got.
 */
export function describeError(error: unknown, secrets: (string | null)[] = []): string {
  if (!(error instanceof Error)) return "unknown error";
  const e = error as Error & {
    code?: unknown;
    status?: unknown;
    statusCode?: unknown;
    response?: { status?: unknown; body?: { errors?: { message?: unknown }[] } };
  };
  const status = e.status ?? e.statusCode ?? e.response?.status;
  const parts = [e.name];
  if (typeof status === "number") parts.push(String(status));
  if ((typeof e.code === "string" || typeof e.code === "number") && e.code !== status) parts.push(String(e.code));
  const detail = e.response?.body?.errors?.[0]?.message;
  let message = [e.message, typeof detail === "string" ? detail : ""].filter(Boolean).join(": ");
  for (const secret of secrets) if (secret) message = message.split(secret).join("…");
  message = message
    .replace(/https?:\/\/\S+/g, "<url>")
    .replace(/[A-Za-z0-9_.~+\/=-]{24,}/g, "…")
    .replace(/\d{4,}/g, "…")
    .slice(0, 200);
  if (message) parts.push(message);
  return parts.join(" ");
}
