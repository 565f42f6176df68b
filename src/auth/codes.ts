import { hmac } from "@oslojs/crypto/hmac";
import { SHA256 } from "@oslojs/crypto/sha2";
import { constantTimeEqual } from "@oslojs/crypto/subtle";
import type { Db } from "../db/client.ts";
import type { Clock } from "../clock.ts";

/**
 * One-time codes: 6 digits from the CSPRNG, kept only as HMAC-SHA-256(SECRET_KEY, code), bound to
 * the flow and purpose that asked for them, single use, at most MAX_CODE_ATTEMPTS tries.
 * ASVS 6.5.1, 6.5.3, 6.5.4, 6.6.2.
 */
export const MAX_CODE_ATTEMPTS = 5;
export const CODE_DIGITS = 6;

export type CodeChannel = "email" | "sms" | "voice";

const encoder = new TextEncoder();
const RANGE = 10 ** CODE_DIGITS;
// The largest multiple of RANGE below 2^32: draws at or above it are thrown away so every code is equally likely.
const LIMIT = Math.floor(0x1_0000_0000 / RANGE) * RANGE;

export function generateCode(): string {
  const draw = new Uint32Array(1);
  for (;;) {
    crypto.getRandomValues(draw);
    if (draw[0]! < LIMIT) return String(draw[0]! % RANGE).padStart(CODE_DIGITS, "0");
  }
}

export function codeHmac(secretKey: string, code: string): Uint8Array {
  return hmac(SHA256, encoder.encode(secretKey), encoder.encode(code));
}

function matches(secretKey: string, code: string, stored: Uint8Array): boolean {
  return constantTimeEqual(codeHmac(secretKey, code), new Uint8Array(stored));
}

/** Creates a code and kills the earlier live codes of the same flow and purpose (a resend replaces them). */
/**
 * A new code and the id its row will have, made before the row is written: a caller can then
 * send the row's insert and the statements that name it (the outbox row, a call's code id) to
 * Postgres together, in one round trip.
 */
export function prepareCode(): { id: string; code: string } {
  return { id: crypto.randomUUID(), code: generateCode() };
}

export async function createCode(
  db: Db,
  clock: Clock,
  secretKey: string,
  input: { flowId: string; userId: string | null; purpose: string; channel: CodeChannel; destination: string; ttlMs: number },
  prepared: { id: string; code: string } = prepareCode(),
): Promise<{ id: string; code: string }> {
  const now = clock.now();
  const expiresAt = new Date(now.getTime() + input.ttlMs);
  await db`
    with killed as (
      update codes set consumed_at = ${now}
      where flow_id = ${input.flowId} and purpose = ${input.purpose} and consumed_at is null
    )
    insert into codes (id, flow_id, user_id, purpose, channel, destination, code_hmac, created_at, expires_at)
    values (${prepared.id}, ${input.flowId}, ${input.userId}, ${input.purpose}, ${input.channel}, ${input.destination},
      ${codeHmac(secretKey, prepared.code)}, ${now}, ${expiresAt})`;
  return prepared;
}

/** Why a code did not pass: not the code, past its life, out of tries, or no live code at all. */
export type CodeFailure = "wrong" | "expired" | "exhausted" | "none";

/** `repeated`: the very wrong code tried last for this code, sent again (a reload): it took no try. */
export type VerifyCodeResult = { ok: true; codeId: string; destination: string } | { ok: false; reason: CodeFailure; repeated?: true };

interface CodeState {
  id: string;
  attempts: number;
  lastWrongHmac?: Uint8Array | null;
  expiresAt: Date;
  consumedAt: Date | null;
  confirmedAt: Date | null;
}

/**
 * The live (unconsumed) code of a flow and purpose, to explain why nothing could be tried or taken.
 * Codes are looked up among the unconsumed ones because a resend within the same millisecond
 * gives two rows the same created_at; the killed one is consumed, so it can never be picked.
 */
async function latestCode(db: Db, flowId: string, purpose: string): Promise<CodeState | null> {
  const [row] = await db<CodeState[]>`
    select id, attempts, last_wrong_hmac as "lastWrongHmac", expires_at as "expiresAt", consumed_at as "consumedAt", confirmed_at as "confirmedAt"
    from codes where flow_id = ${flowId} and purpose = ${purpose} and consumed_at is null
    order by created_at desc, id desc limit 1`;
  return row ?? null;
}

function refusal(code: CodeState | null, now: Date): "expired" | "exhausted" | "none" {
  if (!code || code.consumedAt) return "none";
  if (code.attempts >= MAX_CODE_ATTEMPTS) return "exhausted";
  if (code.expiresAt.getTime() <= now.getTime()) return "expired";
  return "none";
}

/**
 * Checks a typed code. Every try takes one of the code's attempts BEFORE the comparison, in one
 * guarded UPDATE, so parallel guesses cannot get more than MAX_CODE_ATTEMPTS comparisons; the right
 * code is then consumed by a second guarded UPDATE, so exactly one of parallel right answers wins.
 * After MAX_CODE_ATTEMPTS tries even the right code answers "exhausted".
 *
 * The same wrong code twice in a row for one code counts once: a browser reload of the failed
 * submit posts it again, and it tells a guesser nothing new. Its HMAC is kept (last_wrong_hmac)
 * and a repeat answers "wrong" with `repeated`, taking no try (the caller counts no failure).
 */
export async function verifyCode(
  db: Db,
  clock: Clock,
  secretKey: string,
  input: { flowId: string; purpose: string; code: string },
): Promise<VerifyCodeResult> {
  const now = clock.now();
  const typed = input.code.trim();
  // A malformed answer is wrong without a comparison; its empty HMAC never equals a stored one.
  const typedHmac = /^\d{6}$/.test(typed) ? codeHmac(secretKey, typed) : new Uint8Array(0);
  const [tried] = await db<{ id: string; codeHmac: Uint8Array }[]>`
    update codes set attempts = attempts + 1
    where id = (
        select id from codes where flow_id = ${input.flowId} and purpose = ${input.purpose} and consumed_at is null
        order by created_at desc, id desc limit 1)
      and consumed_at is null and attempts < ${MAX_CODE_ATTEMPTS} and expires_at > ${now}
      and last_wrong_hmac is distinct from ${typedHmac}
    returning id, code_hmac as "codeHmac"`;
  if (!tried) {
    const code = await latestCode(db, input.flowId, input.purpose);
    if (typedHmac.length && code && code.lastWrongHmac && code.expiresAt.getTime() > now.getTime() && constantTimeEqual(new Uint8Array(code.lastWrongHmac), typedHmac)) {
      return { ok: false, reason: "wrong", repeated: true };
    }
    return { ok: false, reason: refusal(code, now) };
  }
  if (!typedHmac.length || !constantTimeEqual(typedHmac, new Uint8Array(tried.codeHmac))) {
    if (typedHmac.length) await db`update codes set last_wrong_hmac = ${typedHmac} where id = ${tried.id}`;
    return { ok: false, reason: "wrong" };
  }
  const [used] = await db<{ id: string; destination: string }[]>`
    update codes set consumed_at = ${now} where id = ${tried.id} and consumed_at is null returning id, destination`;
  return used ? { ok: true, codeId: used.id, destination: used.destination } : { ok: false, reason: "none" };
}

/**
 * The digits keyed during a voice call. Right: the code is marked confirmed (not consumed: the
 * browser's poll consumes it through takeConfirmedVoiceCode). A repeated webhook for a code already
 * confirmed answers "confirmed" again without taking an attempt.
 */
export async function confirmVoiceCode(
  db: Db,
  clock: Clock,
  secretKey: string,
  codeId: string,
  digits: string,
): Promise<"confirmed" | "wrong" | "expired" | "exhausted" | "none"> {
  if (!/^[0-9a-f-]{36}$/i.test(codeId)) return "none";
  const now = clock.now();
  const [tried] = await db<{ id: string; codeHmac: Uint8Array }[]>`
    update codes set attempts = attempts + 1
    where id = ${codeId} and channel = 'voice' and consumed_at is null and confirmed_at is null
      and attempts < ${MAX_CODE_ATTEMPTS} and expires_at > ${now}
    returning id, code_hmac as "codeHmac"`;
  if (!tried) {
    const [code] = await db<CodeState[]>`
      select id, attempts, expires_at as "expiresAt", consumed_at as "consumedAt", confirmed_at as "confirmedAt"
      from codes where id = ${codeId} and channel = 'voice'`;
    if (code && code.confirmedAt && !code.consumedAt) return "confirmed";
    return refusal(code ?? null, now);
  }
  // Twilio's <Gather> may hand over the finishing "#" or stray spaces.
  const keyed = digits.replace(/[#\s]/g, "");
  if (!/^\d{6}$/.test(keyed) || !matches(secretKey, keyed, tried.codeHmac)) return "wrong";
  await db`update codes set confirmed_at = ${now} where id = ${tried.id} and confirmed_at is null`;
  return "confirmed";
}

/** The address or number a code went to: what a passed code proved. */
export async function codeDestination(db: Db, codeId: string): Promise<string> {
  const [row] = await db<{ destination: string }[]>`select destination from codes where id = ${codeId}`;
  if (!row) throw new Error("a code that just passed is gone");
  return row.destination;
}

/** Whether a code can still be tried (tries and time left): after a wrong keyed code, whether asking again can help. */
export async function codeHasTriesLeft(db: Db, clock: Clock, codeId: string): Promise<boolean> {
  const [code] = await db<{ attempts: number; expiresAt: Date }[]>`
    select attempts, expires_at as "expiresAt" from codes where id = ${codeId}`;
  return !!code && code.attempts < MAX_CODE_ATTEMPTS && code.expiresAt.getTime() > clock.now().getTime();
}

/**
 * The browser's poll after a call: consumes the newest code of the flow and purpose once, if the
 * call confirmed it. A confirmed code can be taken after its expiry (the person answered in time;
 * the poll may lag), but only once, and the flow's own expiry still bounds it. Pending, it says
 * how many wrong codes were keyed on the call, so the page can say so.
 */
export async function takeConfirmedVoiceCode(
  db: Db,
  clock: Clock,
  input: { flowId: string; purpose: string },
): Promise<{ ok: true; codeId: string } | { ok: false; reason: "pending"; wrongTries: number } | { ok: false; reason: "expired" | "exhausted" | "none" }> {
  const now = clock.now();
  const [taken] = await db<{ id: string }[]>`
    update codes set consumed_at = ${now}
    where id = (
        select id from codes where flow_id = ${input.flowId} and purpose = ${input.purpose} and consumed_at is null
        order by created_at desc, id desc limit 1)
      and channel = 'voice' and confirmed_at is not null and consumed_at is null
    returning id`;
  if (taken) return { ok: true, codeId: taken.id };
  const code = await latestCode(db, input.flowId, input.purpose);
  const reason = refusal(code, now);
  // A voice code's attempts are taken only by keyed digits, and the right ones confirm it: so
  // while it is pending, its attempts are the wrong codes keyed on the call so far.
  if (reason === "none" && code && !code.consumedAt) return { ok: false, reason: "pending", wrongTries: code.attempts };
  return { ok: false, reason };
}
