import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import type { Sql } from "./client.ts";
import { deleteInBatches, PURGE_BATCH, type PurgeOptions } from "./housekeeping.ts";

/**
 * What is kept for a set time rather than until it is spent (product.md §7): audit events for
 * AUDIT_RETENTION (default 2190d, the HIPAA documentation period of six years), then deleted;
 * and Import users previews, deleted once expired (a day). Run by housekeeping after
 * purgeExpired, in the same bounded batches with SKIP LOCKED, oldest events first through
 * audit_events_at_idx.
 */
export type RetentionCounts = Record<"audit_events" | "user_imports", number>;

export async function purgeRetained(
  sql: Sql,
  clock: Clock,
  ttl: Pick<Config["ttl"], "auditRetention">,
  options: PurgeOptions = {},
): Promise<RetentionCounts> {
  const batch = options.batchSize ?? PURGE_BATCH;
  const now = clock.now();
  const auditCutoff = new Date(now.getTime() - ttl.auditRetention);
  const statements: [keyof RetentionCounts, () => Promise<{ count: number }>][] = [
    [
      "audit_events",
      () => sql`delete from audit_events where id in (
        select id from audit_events where at < ${auditCutoff}
        order by at limit ${batch} for update skip locked)`,
    ],
    [
      "user_imports",
      () => sql`delete from user_imports where id in (
        select id from user_imports where expires_at <= ${now}
        limit ${batch} for update skip locked)`,
    ],
  ];
  return deleteInBatches(statements, batch, options.shouldStop);
}
