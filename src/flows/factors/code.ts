import type { Db } from "../../db/client.ts";
import type { OutboxMessage } from "../../delivery/outbox.ts";
import { createCode, prepareCode, verifyCode, type CodeChannel, type CodeFailure } from "../../auth/codes.ts";
import { countsTowardLockout, isLocked, recordFailure, recordSuccess } from "../../auth/lockout.ts";
import { checkAttemptLimit, checkSendLimits, refundAttempt, type RateLimitRule } from "../../auth/rate-limit.ts";
import type { User } from "../../auth/users.ts";
import type { Flow } from "../flow-store.ts";
import { audit, ROLLBACK, unlessRolledBack, type FlowDeps, type RequestMeta } from "../steps.ts";

/**
 * What the code factors (the emailed code, the phone's SMS and call) share: sending a code with
 * its message in the step's transaction, and checking a typed one. Each factor module
 * (email-code.ts, phone.ts) gives the channel, the destination and the words; the flows give the
 * purpose and the move. Knows nothing of pages: outcomes are values, and the one message table
 * below is what every flow shows for them.
 */

/** Where a start ended: sent (the flow as the move left it; for a call, the code to key in), moved by another request, or over a send limit. */
export type StartOutcome =
  | { kind: "sent"; flow: Flow; keypadCode?: string; options?: unknown }
  | { kind: "moved" }
  | { kind: "rate_limited"; retryAfterSeconds: number };

/**
 * Where a check ended. `locked`: the account is locked (nothing was tried), or this wrong code
 * locked it (`reason` is then "wrong"). A flow chooses what to say; it never decides what counts.
 */
export type CheckOutcome =
  /** `step`: the authenticator app's time step the code belonged to (kept, so it is accepted once). */
  | { kind: "passed"; destination: string; step?: number }
  /** A call not confirmed yet; `wrongTries`: the wrong codes keyed on it so far (the page says so). */
  | { kind: "pending"; wrongTries?: number }
  | { kind: "failed"; reason: CodeFailure; locked: boolean }
  | { kind: "locked" }
  | { kind: "rate_limited"; retryAfterSeconds: number };

/** What a factor module says of itself for a page and the audit; `amr` is what passing it proves (RFC 8176). */
export interface FactorDescription {
  kind: string;
  label: string;
  /** How the page names where the code went (the address, or the masked number). */
  shown: string;
  amr: string;
}

/**
 * The shape of every second-factor module (email-code.ts, phone.ts; the authenticator app and
 * passkeys to come): start it for a flow, check what came back, describe it. Each module
 * exports one object that `satisfies` this, so a module of another shape does not compile.
 */
export interface FactorModule<StartInput, CheckArgs extends CheckInput, DescribeArgs extends unknown[]> {
  start(deps: FlowDeps, meta: RequestMeta, input: StartInput): Promise<StartOutcome>;
  check(deps: FlowDeps, meta: RequestMeta, input: CheckArgs, db?: Db): Promise<CheckOutcome>;
  describe(...args: DescribeArgs): FactorDescription;
}

/** The one table of what a failed code says; each step adds what to do next (its own buttons). */
export const CODE_MESSAGES: Record<CodeFailure, string> = {
  wrong: "That code is not right. Check it and try again.",
  expired: "That code has expired.",
  exhausted: "Too many wrong tries: that code was tried too many times.",
  none: "That code can no longer be used.",
};

/** The message for a failed code, with the step's way on ("Select Send New Code for a new one."). A wrong code needs none. */
export function codeMessage(reason: CodeFailure, next: string): string {
  return reason === "wrong" ? CODE_MESSAGES.wrong : `${CODE_MESSAGES[reason]} ${next}`;
}

export interface SendInput {
  flow: Flow;
  userId: string;
  purpose: string;
  channel: CodeChannel;
  destination: string;
  ttlMs: number;
  /** The message around the code (a call's refers to the code row instead of holding it). */
  message(code: { id: string; code: string }): OutboxMessage;
  /** The flow's guarded move, in the same transaction: a flow that moved on meanwhile sends nothing. */
  move(tx: Db): Promise<Flow | null>;
  /** A second move that needs the code itself (the call's keypad code shown on screen), in the same transaction. */
  withCode?(tx: Db, code: string, moved: Flow): Promise<Flow | null>;
  /** The audit event of the send (the generic "code.sent" unless the flow names its own step). */
  event?: string;
  detail?: Record<string, unknown>;
  /** The client address's send rule, when the flow has a setting for it (sign-in: SIGNIN_SEND_LIMIT). */
  perAddress?: RateLimitRule;
}

/**
 * A new code for the flow (the earlier one of the purpose dies), its message in the outbox and
 * the flow's move, in one transaction, within the send limits (per account, destination and
 * client address); the outbox is kicked after the commit.
 */
export type SendOutcome = Exclude<StartOutcome, { kind: "sent" }> | { kind: "sent"; flow: Flow; code: string };

export async function sendCode(deps: FlowDeps, meta: RequestMeta, input: SendInput): Promise<SendOutcome> {
  const what = { purpose: input.purpose, channel: input.channel };
  const code = prepareCode();
  let refusedForSeconds: number | null = null;
  const sent = await unlessRolledBack(
    deps.sql.begin(async (tx) => {
      // Everything at once, in one round trip and one commit: the send limits, the guarded move
      // (a second tab or a double submit finds the row moved), the code, its message and the
      // audit row. A limit that refuses or a move that finds the flow gone rolls all of it back,
      // so nothing is sent and no bucket loses a token.
      const [limit, moved] = await Promise.all([
        checkSendLimits(tx, deps.clock, { userId: input.userId, channel: input.channel, destination: input.destination, ip: meta.ip, perAddress: input.perAddress }),
        input.move(tx),
        createCode(tx, deps.clock, deps.config.secretKey, {
          flowId: input.flow.id,
          userId: input.userId,
          purpose: input.purpose,
          channel: input.channel,
          destination: input.destination,
          ttlMs: input.ttlMs,
        }, code),
        deps.outbox.enqueue(tx, input.message(code)),
        audit(deps, meta, input.event ?? "code.sent", input.userId, { ...what, ...input.detail }, tx),
      ]);
      if (!limit.ok) {
        refusedForSeconds = limit.retryAfterSeconds;
        throw ROLLBACK;
      }
      if (!moved) throw ROLLBACK;
      const flow = input.withCode ? await input.withCode(tx, code.code, moved) : moved;
      return { flow: flow ?? moved, code: code.code };
    }),
  ).catch((error: unknown) => {
    // A flow deleted meanwhile (ended in another tab, or expired and swept): the code row has
    // no flow to belong to. The move would have found nothing; it is the same outcome.
    if ((error as { code?: string }).code === FOREIGN_KEY_VIOLATION) return null;
    throw error;
  });
  if (refusedForSeconds !== null) {
    await audit(deps, meta, "code.send_limited", input.userId, what);
    return { kind: "rate_limited", retryAfterSeconds: refusedForSeconds };
  }
  if (!sent) return { kind: "moved" };
  deps.outbox.kick();
  return { kind: "sent", flow: sent.flow, code: sent.code };
}

const FOREIGN_KEY_VIOLATION = "23503";

export interface CheckInput {
  flow: Flow;
  user: User;
  purpose: string;
  /** What was typed; for a call, nothing (the call's keyed digits were checked by the webhook). */
  code?: string;
  /** Refuse while the account is locked (sign-in, registration); a password reset works on a locked account. */
  respectLock: boolean;
  /**
   * The client address's attempt bucket. Default: "code" under ATTEMPT_LIMIT, every check counted.
   * Sign-in passes its own (SIGNIN_FAILURE_LIMIT), and a right code gives its token back, so
   * staff behind one address are not held back by each other's sign-ins.
   */
  attempt?: { action: string; rule: RateLimitRule; refundOnPass: true };
}

function attemptOf(meta: RequestMeta, input: Pick<CheckInput, "attempt">) {
  return { ip: meta.ip, action: input.attempt?.action ?? "code", rule: input.attempt?.rule };
}

/**
 * What every typed answer (a code, an app's code, a recovery code) meets before it is compared:
 * the client address's attempt bucket, then the lock (which answers like a wrong code). Null: go on.
 */
export async function refuseBeforeCompare(deps: FlowDeps, meta: RequestMeta, input: CheckInput, channel: string, db: Db): Promise<CheckOutcome | null> {
  const what = { purpose: input.purpose, channel };
  const limit = await checkAttemptLimit(db, deps.clock, attemptOf(meta, input));
  if (!limit.ok) {
    await audit(deps, meta, "code.rate_limited", input.user.id, what, db);
    return { kind: "rate_limited", retryAfterSeconds: limit.retryAfterSeconds };
  }
  if (input.respectLock && isLocked(input.user, deps.clock)) {
    await audit(deps, meta, "code.failed", input.user.id, { ...what, reason: "locked" }, db);
    return { kind: "locked" };
  }
  return null;
}

/**
 * Checks a typed code for the flow: the client address's attempt limit, the lock, the code
 * (one of its tries taken before the comparison), then the lockout count by the one rule of
 * lockout.ts. A passed code restarts the count; the same wrong code again in a row counts nothing.
 */
export async function checkTypedCode(deps: FlowDeps, meta: RequestMeta, input: CheckInput & { channel: CodeChannel; code: string }, db: Db = deps.sql): Promise<CheckOutcome> {
  const { user, purpose, channel } = input;
  const attempt = attemptOf(meta, input);
  const refused = await refuseBeforeCompare(deps, meta, input, channel, db);
  if (refused) return refused;
  const result = await verifyCode(db, deps.clock, deps.config.secretKey, { flowId: input.flow.id, purpose, code: input.code });
  if (result.ok) {
    // Independent writes: sent to Postgres together, one round trip.
    await Promise.all([input.attempt?.refundOnPass ? refundAttempt(db, deps.clock, attempt) : null, recordSuccess(db, user.id)]);
    return { kind: "passed", destination: result.destination };
  }
  if (result.repeated) {
    // The wrong code tried last, sent again (a reload of the failed submit): it was counted once
    // already, in the code's tries, the lockout and the client address's bucket.
    await refundAttempt(db, deps.clock, attempt);
    await audit(deps, meta, "code.failed", user.id, { purpose, channel, reason: result.reason, repeated: true }, db);
    return { kind: "failed", reason: result.reason, locked: false };
  }
  await audit(deps, meta, "code.failed", user.id, { purpose, channel, reason: result.reason }, db);
  let locked = false;
  if (countsTowardLockout(result.reason)) locked = (await recordFailure(db, deps.clock, user.id)).locked;
  if (locked) await audit(deps, meta, "signin.locked", user.id, { purpose }, db);
  return { kind: "failed", reason: result.reason, locked };
}
