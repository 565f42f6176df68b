import type { Adapter, AdapterPayload } from "oidc-provider";
import type { Sql } from "../db/client.ts";
import type { Clock } from "../clock.ts";
import { findClientMetadata } from "./registry.ts";

/**
 * oidc-provider's storage in Postgres: every model in `oidc_models` (one table, as Logto's
 * oidc_model_instances), keyed by (model, id), with the lookups the provider asks for indexed.
 * Clients are not stored here: the Client model reads the application registry, so only clients
 * an administrator registered exist (no dynamic registration).
 */
export function createAdapterFactory(sql: Sql, clock: Clock): (model: string) => Adapter {
  return (model) => (model === "Client" ? clientAdapter(sql) : new PostgresAdapter(sql, clock, model));
}

function clientAdapter(sql: Sql): Adapter {
  const none = async () => undefined;
  return {
    upsert: none,
    find: (id: string) => findClientMetadata(sql, id) as Promise<AdapterPayload | undefined>,
    findByUserCode: none,
    findByUid: none,
    consume: none,
    destroy: none,
    revokeByGrantId: none,
  };
}

class PostgresAdapter implements Adapter {
  constructor(
    private sql: Sql,
    private clock: Clock,
    private model: string,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    const expiresAt = expiresIn ? new Date(this.clock.now().getTime() + expiresIn * 1000) : null;
    const accountId = typeof payload.accountId === "string" ? payload.accountId : null;
    await this.sql`
      insert into oidc_models (model, id, payload, grant_id, uid, user_code, account_id, expires_at)
      values (${this.model}, ${id}, ${this.sql.json(payload as never)}, ${payload.grantId ?? null}, ${payload.uid ?? null},
        ${payload.userCode ?? null}, ${accountId}, ${expiresAt})
      on conflict (model, id) do update set payload = excluded.payload, grant_id = excluded.grant_id, uid = excluded.uid,
        user_code = excluded.user_code, account_id = excluded.account_id, expires_at = excluded.expires_at`;
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.findWhere(this.sql`id = ${id}`);
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.findWhere(this.sql`uid = ${uid}`);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.findWhere(this.sql`user_code = ${userCode}`);
  }

  private async findWhere(condition: ReturnType<Sql>): Promise<AdapterPayload | undefined> {
    const [row] = await this.sql<{ payload: AdapterPayload; consumedAt: Date | null }[]>`
      select payload, consumed_at as "consumedAt" from oidc_models
      where model = ${this.model} and ${condition} and (expires_at is null or expires_at > ${this.clock.now()})`;
    if (!row) return undefined;
    return row.consumedAt ? { ...row.payload, consumed: Math.floor(row.consumedAt.getTime() / 1000) } : row.payload;
  }

  /** Marks a code or refresh token used; the provider refuses (and revokes the grant on) a second use. */
  async consume(id: string): Promise<void> {
    await this.sql`update oidc_models set consumed_at = ${this.clock.now()} where model = ${this.model} and id = ${id}`;
  }

  async destroy(id: string): Promise<void> {
    await this.sql`delete from oidc_models where model = ${this.model} and id = ${id}`;
  }

  /** Everything issued under the grant (codes, access and refresh tokens) and the grant itself. */
  async revokeByGrantId(grantId: string): Promise<void> {
    await this.sql`delete from oidc_models where grant_id = ${grantId}`;
    await this.sql`delete from oidc_models where model = 'Grant' and id = ${grantId}`;
  }
}

/** Rows whose time is up; oidc-provider already ignores them, this keeps the table small. */
export async function purgeExpiredOidcModels(sql: Sql, clock: Clock, batch = 5000): Promise<number> {
  let total = 0;
  for (;;) {
    const rows = await sql`
      delete from oidc_models where (model, id) in (
        select model, id from oidc_models where expires_at <= ${clock.now()} limit ${batch} for update skip locked)
      returning 1`;
    total += rows.length;
    if (rows.length < batch) return total;
  }
}
