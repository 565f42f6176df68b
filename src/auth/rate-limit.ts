import type { Db } from "../db/client.ts";
import type { Clock } from "../clock.ts";
import { HOUR, MINUTE } from "../clock.ts";

/**
 * Token buckets in Postgres so every app instance shares them (ASVS 2.4.1, 6.6.3). A bucket holds up
 * to `capacity` tokens and refills continuously at capacity per `perMs`.
 */
export type RateLimitResult = { ok: true } | { ok: false; retryAfterSeconds: number };

export interface RateLimitRule {
  capacity: number;
  perMs: number;
}

/** Takes one token from the bucket `key` (consumeRateLimits with one bucket). */
export async function consumeRateLimit(db: Db, clock: Clock, key: string, rule: RateLimitRule): Promise<RateLimitResult> {
  return consumeRateLimits(db, clock, [[key, rule]]);
}

/**
 * Gives back the token a check took, for an attempt that turned out to be no failure (a right
 * password, a right code): the bucket then counts failures only, so hundreds of people behind one
 * address can sign in while guessing is still held to the rule. Taking first and refunding after
 * (rather than counting failures afterwards) keeps the bound exact under concurrent guesses.
 */
export async function refundRateLimit(db: Db, clock: Clock, key: string, rule: RateLimitRule): Promise<void> {
  const now = clock.now();
  await db`
    update rate_limits as r set
      tokens = least(${rule.capacity}::double precision,
        r.tokens + greatest(0, extract(epoch from (${now}::timestamptz - r.updated_at)) * 1000)
          * ${rule.capacity}::double precision / ${rule.perMs}::double precision + 1),
      updated_at = greatest(r.updated_at, ${now}::timestamptz)
    where key = ${key}`;
}

/** Only informs the Retry-After; the decision was made atomically above. */
async function secondsUntilToken(db: Db, now: Date, key: string, rule: RateLimitRule): Promise<number> {
  if (rule.capacity < 1) return Math.ceil(rule.perMs / 1000);
  const [row] = await db<{ tokens: number; updatedAt: Date }[]>`
    select tokens, updated_at as "updatedAt" from rate_limits where key = ${key}`;
  if (!row) return 1;
  const perToken = rule.perMs / rule.capacity;
  const elapsed = Math.max(0, now.getTime() - row.updatedAt.getTime());
  const tokens = Math.min(rule.capacity, row.tokens + elapsed / perToken);
  return Math.max(1, Math.ceil(((1 - tokens) * perToken) / 1000));
}

export const SEND_LIMITS = {
  /** SMS and voice calls together, per account and per phone number. */
  phone: { capacity: 5, perMs: HOUR },
  email: { capacity: 10, perMs: HOUR },
  ip: { capacity: 30, perMs: HOUR },
} as const satisfies Record<string, RateLimitRule>;

export const ATTEMPT_LIMIT: RateLimitRule = { capacity: 30, perMs: MINUTE };

/**
 * Takes one token from each bucket, all or none, in one statement: a multi-row upsert whose guard
 * takes from a bucket only if it holds a token. The refill (from the stored updated_at to the
 * caller's clock) and the take happen under the row's lock, so two instances never grant more
 * than a bucket holds; a short bucket's DO UPDATE leaves its row as it was and returns nothing. And,
 * only when some bucket was short, a second statement that gives back what the first took. So a
 * refused send costs no other bucket anything: someone who used up their own account's codes does
 * not also spend their clinic's shared address's. The keys must differ; every caller passes them
 * in the same order (account, destination, address), so two of these never wait on each other.
 */
export async function consumeRateLimits(db: Db, clock: Clock, buckets: Array<[string, RateLimitRule]>): Promise<RateLimitResult> {
  const now = clock.now();
  const closed = buckets.find(([, rule]) => rule.capacity < 1);
  if (closed) return { ok: false, retryAfterSeconds: await secondsUntilToken(db, now, closed[0], closed[1]) };
  const keys = buckets.map(([key]) => key);
  const capacities = buckets.map(([, rule]) => rule.capacity);
  const periods = buckets.map(([, rule]) => rule.perMs);
  const granted = await db<{ key: string }[]>`
    with wanted as (
      select * from unnest(${keys}::text[], ${capacities}::double precision[], ${periods}::double precision[]) as w(key, capacity, per_ms)
    )
    insert into rate_limits as r (key, tokens, updated_at)
    select key, capacity - 1, ${now} from wanted
    on conflict (key) do update set
      tokens = (select least(w.capacity, r.tokens + greatest(0, extract(epoch from (${now}::timestamptz - r.updated_at)) * 1000) * w.capacity / w.per_ms)
                from wanted w where w.key = excluded.key) - 1,
      updated_at = greatest(r.updated_at, ${now}::timestamptz)
    where (select least(w.capacity, r.tokens + greatest(0, extract(epoch from (${now}::timestamptz - r.updated_at)) * 1000) * w.capacity / w.per_ms)
           from wanted w where w.key = excluded.key) >= 1
    returning r.key`;
  if (granted.length === buckets.length) return { ok: true };
  const taken = new Set(granted.map((row) => row.key));
  for (const [key, rule] of buckets) if (taken.has(key)) await refundRateLimit(db, clock, key, rule);
  const [shortKey, shortRule] = buckets.find(([key]) => !taken.has(key))!;
  return { ok: false, retryAfterSeconds: await secondsUntilToken(db, now, shortKey, shortRule) };
}

/** Before a code, call or link goes out: per account, per destination and per client address, all or none. */
export async function checkSendLimits(
  db: Db,
  clock: Clock,
  input: {
    userId: string | null;
    channel: "email" | "sms" | "voice";
    destination: string;
    ip: string | null | undefined;
    /** The per-address rule, when the caller has a setting for it (sign-in: config.limits.signInSends). */
    perAddress?: RateLimitRule;
  },
): Promise<RateLimitResult> {
  const kind = input.channel === "email" ? "email" : "phone";
  const rule = SEND_LIMITS[kind];
  const destination = kind === "email" ? input.destination.trim().toLowerCase() : input.destination.trim();
  const buckets: [string, RateLimitRule][] = [];
  if (input.userId) buckets.push([`send:${kind}:account:${input.userId}`, rule]);
  buckets.push([`send:${kind}:to:${destination}`, rule]);
  buckets.push([`send:ip:${input.ip || "unknown"}`, input.perAddress ?? SEND_LIMITS.ip]);
  return consumeRateLimits(db, clock, buckets);
}

const attemptKey = (input: { ip: string | null | undefined; action: string }) => `attempt:${input.action}:${input.ip || "unknown"}`;

/**
 * Per client address and action ("password" | "code" | "start" | …): takes one attempt from the
 * address's bucket, by default 30 a minute; sign-in passes its settings (config.limits) as `rule`.
 */
export async function checkAttemptLimit(
  db: Db,
  clock: Clock,
  input: { ip: string | null | undefined; action: string; rule?: RateLimitRule },
): Promise<RateLimitResult> {
  return consumeRateLimit(db, clock, attemptKey(input), input.rule ?? ATTEMPT_LIMIT);
}

/** The attempt checkAttemptLimit took succeeded: it does not count (see refundRateLimit). */
export async function refundAttempt(
  db: Db,
  clock: Clock,
  input: { ip: string | null | undefined; action: string; rule?: RateLimitRule },
): Promise<void> {
  await refundRateLimit(db, clock, attemptKey(input), input.rule ?? ATTEMPT_LIMIT);
}
