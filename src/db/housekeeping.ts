import type { Clock } from "../clock.ts";
import { DAY, HOUR, MINUTE } from "../clock.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { isDatabaseUnavailable, type Sql } from "./client.ts";
import { purgeRetained } from "./retention.ts";

/** AUDIT_RETENTION's default, for a caller whose config predates it. */
const DEFAULT_AUDIT_RETENTION_MS = 2190 * DAY;

/**
 * Deletes rows nothing can use any more, so tables stop growing with traffic. Every rule is
 * "older than a cut-off computed from the caller's clock", never "not needed by anyone", so a
 * clock set in the past deletes nothing newer than it, and a row only ever moves towards its
 * cut-off (an expired session, flow or token is never revived).
 *
 * Several instances may run this at the same time: harmless. Each batch locks the rows it picks
 * with FOR UPDATE SKIP LOCKED, so two instances split the work instead of waiting on each other,
 * and a delete of a row that is already gone deletes nothing.
 */

/** Rows per DELETE: a big backlog is cleared in many short statements, each holding its locks briefly. */
export const PURGE_BATCH = 5000;

/**
 * How long a spent link token (expired, used or revoked) is kept: opening it meanwhile still
 * answers "expired"/"used" with its user, so the Registration error page can offer Reset.
 */
export const LINK_TOKEN_KEEP_MS = 7 * DAY;

/**
 * How long an expired registration flow is kept: the browser's flow cookie (a browser-session
 * cookie, possibly days old) still names its user for Reset on the Registration error page.
 * The newest unfinished registration of an invited user is kept beyond that, for as long as the
 * user stays invited: a registration_reset or resume link and "Having trouble logging in?"
 * resume from it (registration.ts latestProgress), and the admin list shows it.
 */
export const REGISTRATION_FLOW_KEEP_MS = 7 * DAY;

/**
 * A bucket untouched this long is full again (every rule in auth/rate-limit.ts refills within an
 * hour), and a missing bucket is read as a full one, so deleting it changes no decision.
 */
export const RATE_LIMIT_IDLE_MS = DAY;

/** Sent or given-up messages (their text already erased for real providers) stay this long for support questions. */
export const OUTBOX_KEEP_MS = 30 * DAY;

export const HOUSEKEEPING_FIRST_RUN_MS = MINUTE;
export const HOUSEKEEPING_INTERVAL_MS = HOUR;

export type PurgeCounts = Record<"sessions" | "remember_tokens" | "codes" | "flows" | "link_tokens" | "rate_limits" | "outbox", number>;

export interface PurgeOptions {
  batchSize?: number;
  /** Checked between batches: a stopping process does not wait for a whole backlog. */
  shouldStop?: () => boolean;
}

/**
 * One pass over every table, in bounded batches; returns the rows deleted per table. Codes go
 * before flows so the codes of expired flows are counted as codes rather than vanishing by cascade.
 */
export async function purgeExpired(
  sql: Sql,
  clock: Clock,
  ttl: Pick<Config["ttl"], "sessionIdle" | "sessionMax">,
  options: PurgeOptions = {},
): Promise<PurgeCounts> {
  const batch = options.batchSize ?? PURGE_BATCH;
  const now = clock.now();
  const before = (ms: number) => new Date(now.getTime() - ms);

  const idleCutoff = before(ttl.sessionIdle);
  const maxCutoff = before(ttl.sessionMax);
  const registrationCutoff = before(REGISTRATION_FLOW_KEEP_MS);
  const linkCutoff = before(LINK_TOKEN_KEEP_MS);
  const bucketCutoff = before(RATE_LIMIT_IDLE_MS);
  const outboxCutoff = before(OUTBOX_KEEP_MS);

  const statements: [keyof PurgeCounts, () => Promise<{ count: number }>][] = [
    // Expired exactly when validateSessionToken says so: idle for sessionIdle, or older than sessionMax.
    [
      "sessions",
      () => sql`delete from sessions where id in (
        select id from sessions
        where last_active_at <= ${idleCutoff} or created_at <= ${maxCutoff}
        limit ${batch} for update skip locked)`,
    ],
    // validateRememberToken refuses (and deletes) a token at its expires_at.
    [
      "remember_tokens",
      () => sql`delete from remember_tokens where id in (
        select id from remember_tokens where expires_at <= ${now}
        limit ${batch} for update skip locked)`,
    ],
    // Expired or consumed, and only once the flow itself expired: while the flow lives, an expired
    // code still answers "expired" (not "none"), a confirmed voice code may be taken after its own
    // expiry, and a just-consumed code is read again for the number it proved.
    [
      "codes",
      () => sql`delete from codes where id in (
        select c.id from codes c
        where (c.expires_at <= ${now} or c.consumed_at <= ${now})
          and not exists (select 1 from flows f where f.id = c.flow_id and f.expires_at > ${now})
        limit ${batch} for update skip locked)`,
    ],
    // Sign-in and password-reset flows at their expiry (loadFlow refuses them from then on);
    // registration flows later, see REGISTRATION_FLOW_KEEP_MS.
    [
      "flows",
      () => sql`delete from flows where id in (
        select f.id from flows f
        where f.expires_at <= ${now}
          and (f.kind <> 'registration' or (
            f.expires_at <= ${registrationCutoff}
            and not (
              f.state <> 'failed'
              and exists (select 1 from users u where u.id = f.user_id and u.status = 'invited')
              and not exists (
                select 1 from flows newer
                where newer.user_id = f.user_id and newer.kind = 'registration' and newer.state <> 'failed'
                  and newer.updated_at > f.updated_at))))
        limit ${batch} for update skip locked)`,
    ],
    // Spent since the first of expiry, use or revocation (least() skips the nulls).
    [
      "link_tokens",
      () => sql`delete from link_tokens where id in (
        select id from link_tokens where least(expires_at, used_at, revoked_at) <= ${linkCutoff}
        limit ${batch} for update skip locked)`,
    ],
    [
      "rate_limits",
      () => sql`delete from rate_limits where key in (
        select key from rate_limits where updated_at <= ${bucketCutoff}
        limit ${batch} for update skip locked)`,
    ],
    // Pending and sending rows are never touched. A failed row's next_attempt_at is its last try.
    [
      "outbox",
      () => sql`delete from outbox where id in (
        select id from outbox
        where status in ('sent', 'failed') and coalesce(sent_at, next_attempt_at) <= ${outboxCutoff}
        limit ${batch} for update skip locked)`,
    ],
  ];

  return deleteInBatches(statements, batch, options.shouldStop);
}

/**
 * Runs each table's DELETE (one batch of at most `batch` rows) until a batch deletes fewer, table
 * after table, and counts what each deleted; `shouldStop` is asked before every batch, and a
 * stop returns the counts so far. Used by purgeExpired and purgeRetained.
 */
export async function deleteInBatches<T extends string>(
  statements: [T, () => Promise<{ count: number }>][],
  batch: number,
  shouldStop?: () => boolean,
): Promise<Record<T, number>> {
  const counts = Object.fromEntries(statements.map(([table]) => [table, 0])) as Record<T, number>;
  for (const [table, statement] of statements) {
    for (;;) {
      if (shouldStop?.()) return counts;
      const { count } = await statement();
      counts[table] += count;
      // Fewer than a batch: nothing left, or the rest is locked by another instance doing the same.
      if (count < batch) break;
    }
  }
  return counts;
}

export interface Housekeeping {
  /** Cancels the next run and waits for a running one, which stops after its current batch. */
  stop(): Promise<void>;
}

/**
 * purgeExpired shortly after start, then every hour, on an unref'd timer (it never keeps the
 * process alive). The next run is scheduled only when the previous one ended, so runs never
 * overlap. Failures (a database outage) are logged and the next run tries again.
 */
export function startHousekeeping(options: {
  sql: Sql;
  clock: Clock;
  config: { ttl: Omit<Config["ttl"], "auditRetention"> & Partial<Pick<Config["ttl"], "auditRetention">> };
  log: Logger;
  firstRunMs?: number;
  intervalMs?: number;
  /**
   * Purges of the layers above (the OIDC provider's expired records), handed in by main.ts since
   * src/db imports no higher layer; each logs its counts as housekeeping_<name>_purged.
   */
  purges?: Record<string, (sql: Sql, clock: Clock) => Promise<object>>;
}): Housekeeping {
  const { sql, clock, config, log } = options;
  const intervalMs = options.intervalMs ?? HOUSEKEEPING_INTERVAL_MS;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let running: Promise<void> | null = null;

  async function run(): Promise<void> {
    const started = performance.now();
    try {
      const deleted = await purgeExpired(sql, clock, config.ttl, { shouldStop: () => stopped });
      // Counts only: never a row's contents.
      log.info("housekeeping_purged", { deleted, ms: Math.round(performance.now() - started) });
      if (stopped) return;
      const retainedStarted = performance.now();
      const retained = await purgeRetained(sql, clock, { auditRetention: config.ttl.auditRetention ?? DEFAULT_AUDIT_RETENTION_MS }, { shouldStop: () => stopped });
      log.info("housekeeping_retention_purged", { deleted: retained, ms: Math.round(performance.now() - retainedStarted) });
      for (const [name, purge] of Object.entries(options.purges ?? {})) {
        if (stopped) return;
        const purgeStarted = performance.now();
        const counts = await purge(sql, clock);
        log.info(`housekeeping_${name}_purged`, { deleted: counts, ms: Math.round(performance.now() - purgeStarted) });
      }
    } catch (error) {
      // Postgres keeps row values in an error's detail, never in its message; the message is cut short anyway.
      const e = error as { code?: unknown; message?: unknown };
      log.error("housekeeping_failed", {
        code: typeof e?.code === "string" ? e.code : null,
        error: typeof e?.message === "string" ? e.message.slice(0, 200) : "unknown error",
        databaseUnavailable: isDatabaseUnavailable(error),
      });
    }
  }

  function schedule(ms: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = null;
      running = run().finally(() => {
        running = null;
        schedule(intervalMs);
      });
    }, ms);
    (timer as { unref?: () => void }).unref?.();
  }

  schedule(options.firstRunMs ?? HOUSEKEEPING_FIRST_RUN_MS);

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      while (running) await running;
    },
  };
}
