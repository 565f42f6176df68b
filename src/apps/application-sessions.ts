import type { Db, Sql } from "../db/client.ts";
import type { Clock } from "../clock.ts";
import { purgeExpiredOidcModels } from "./adapter.ts";
import { RETIRED_KEY_KEEP_MS } from "./keys.ts";

/**
 * Ends what a person holds at applications: their OIDC sessions (so the next authorization
 * request asks for a sign-in), grants, authorization codes, access and refresh tokens (so a
 * relying party's refresh fails at once). Called on portal sign-out, password reset, an
 * administrator's Disable or Reset MFA.
 *
 * In the same statement, each client of an ended session that registered a back-channel logout
 * URI is owed a logout token (OpenID Connect Back-Channel Logout 1.0) with that session's sid:
 * written with the deletion, so a rolled-back sign-out owes nothing, and sent after the commit
 * by backchannel.ts (never inside the person's request, which a slow client must not hold up).
 */
export async function endApplicationSessions(db: Db, userId: string): Promise<number> {
  const [row] = await db<{ ended: number; owed: number }[]>`
    with ended as (
      delete from oidc_models where account_id = ${userId} returning model, payload
    ), owed as (
      insert into backchannel_logouts (client_id, account_id, sid)
      select authorization_.key, ${userId}, authorization_.value->>'sid'
      from ended
      cross join lateral jsonb_each(
        case when jsonb_typeof(ended.payload->'authorizations') = 'object' then ended.payload->'authorizations' else '{}'::jsonb end
      ) as authorization_
      join applications on applications.client_id = authorization_.key and applications.backchannel_logout_uri is not null
      where ended.model = 'Session'
      returning 1
    )
    select (select count(*) from ended)::int as ended, (select count(*) from owed)::int as owed`;
  if (row?.owed) owedLogoutWrites++;
  return row?.ended ?? 0;
}

/**
 * How many times this process has written owed logout tokens. The web layer compares it before
 * and after each request and asks backchannel.ts to send only when the request wrote some (then
 * after its own commit, as the answer is sent after it), so the other requests cost no query.
 */
let owedLogoutWrites = 0;
export function countOwedLogoutWrites(): number {
  return owedLogoutWrites;
}

export interface OwedLogout {
  id: string;
  clientId: string;
  accountId: string;
  sid: string | null;
}

/** A logout token owed to one client (the provider's own end-session endpoint asks through this). */
export async function oweLogoutToken(db: Db, logout: Omit<OwedLogout, "id">): Promise<void> {
  await db`insert into backchannel_logouts (client_id, account_id, sid) values (${logout.clientId}, ${logout.accountId}, ${logout.sid})`;
  owedLogoutWrites++;
}

/**
 * Takes up to `batch` owed logout tokens off the table: each is claimed once, by one instance
 * (SKIP LOCKED), and sent at most once; a client that missed it still finds its refresh token dead.
 */
export async function claimOwedLogouts(sql: Sql, batch = 50): Promise<OwedLogout[]> {
  return sql<OwedLogout[]>`
    delete from backchannel_logouts where id in (
      select id from backchannel_logouts order by id limit ${batch} for update skip locked)
    returning id::text as id, client_id as "clientId", account_id as "accountId", sid`;
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
