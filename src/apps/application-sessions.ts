import type { Db, Sql } from "../db/client.ts";
import type { Clock } from "../clock.ts";
import { purgeExpiredOidcModels } from "./adapter.ts";
import { RETIRED_KEY_KEEP_MS } from "./keys.ts";

/**
 * Ends what a person holds at applications: their OIDC sessions (so the next authorization
 * request asks for a sign-in), grants, authorization codes, access and refresh tokens (so a
 * relying party's refresh fails at once). Called on portal sign-out, password reset, an
 * administrator's Disable or Reset MFA.
 */
export async function endApplicationSessions(db: Db, userId: string): Promise<number> {
  const rows = await db`delete from oidc_models where account_id = ${userId} returning 1`;
  return rows.length;
}

export interface ApplicationPurgeCounts {
  oidc_models: number;
  oidc_signing_keys: number;
}

/** Housekeeping for src/db/housekeeping.ts: expired provider rows, and keys retired long enough ago. */
export async function purgeApplicationRecords(sql: Sql, clock: Clock): Promise<ApplicationPurgeCounts> {
  const oidcModels = await purgeExpiredOidcModels(sql, clock);
  const cutoff = new Date(clock.now().getTime() - RETIRED_KEY_KEEP_MS);
  const keys = await sql`delete from oidc_signing_keys where retired_at is not null and retired_at <= ${cutoff} returning 1`;
  return { oidc_models: oidcModels, oidc_signing_keys: keys.length };
}
