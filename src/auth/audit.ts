import type { Db } from "../db/client.ts";
import type { Clock } from "../clock.ts";
import { countAuditEvent } from "../metrics.ts";

/**
 * The audit log (ASVS 16.3.1): who, when, from where, what. Event names are dotted
 * (`signin.success`, `code.failed`, `admin.user_created`, …). Codes, tokens and passwords never
 * belong in `detail`; keys that name one are replaced by "[redacted]" as a last line of defence.
 */
export interface AuditInput {
  event: string;
  userId?: string | null;
  actorId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  detail?: Record<string, unknown>;
}

export interface AuditEvent {
  id: string;
  at: Date;
  event: string;
  userId: string | null;
  userEmail: string | null;
  actorId: string | null;
  actorEmail: string | null;
  ip: string | null;
  userAgent: string | null;
  detail: Record<string, unknown>;
}

const SECRET_KEY_NAME = /^(code|codes|otp|pin|token|tokens|password|passwords|secret|secrets|new_?password|current_?password)$/i;
const MAX_USER_AGENT = 512;

function redact(value: unknown, depth = 0): unknown {
  if (depth > 4 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = SECRET_KEY_NAME.test(key) ? "[redacted]" : redact(v, depth + 1);
  return out;
}

export async function appendAudit(db: Db, clock: Clock, input: AuditInput): Promise<void> {
  const detail = redact(input.detail ?? {}) as Record<string, unknown>;
  await db`
    insert into audit_events (at, event, user_id, actor_id, ip, user_agent, detail)
    values (${clock.now()}, ${input.event}, ${input.userId ?? null}, ${input.actorId ?? null}, ${input.ip ?? null},
      ${input.userAgent ? input.userAgent.slice(0, MAX_USER_AGENT) : null}, ${db.json(detail as never)})`;
  countAuditEvent(input.event, detail); // the metrics of sign-ins, registrations, codes and lockouts
}

/**
 * Newest first. `event` matches exactly, or by prefix when it ends in ".*" ("signin.*").
 * `from` is inclusive, `to` exclusive. `before` is the id of the last event of the previous page.
 */
export async function listAudit(
  db: Db,
  filter: { userId?: string; event?: string; from?: Date; to?: Date; limit: number; before?: string | number },
): Promise<AuditEvent[]> {
  const limit = Math.max(1, Math.min(500, Math.floor(filter.limit)));
  const conditions = [db`true`];
  if (filter.userId) conditions.push(db`a.user_id = ${filter.userId}`);
  if (filter.event) {
    conditions.push(
      filter.event.endsWith(".*")
        ? db`starts_with(a.event, ${filter.event.slice(0, -1)})`
        : db`a.event = ${filter.event}`,
    );
  }
  if (filter.from) conditions.push(db`a.at >= ${filter.from}`);
  if (filter.to) conditions.push(db`a.at < ${filter.to}`);
  if (filter.before !== undefined && filter.before !== "") {
    const before = String(filter.before);
    if (!/^\d{1,18}$/.test(before)) return [];
    conditions.push(db`(a.at, a.id) < (select b.at, b.id from audit_events b where b.id = ${before})`);
  }
  const where = conditions.reduce((all, next) => db`${all} and ${next}`);
  return db<AuditEvent[]>`
    select a.id::text as id, a.at, a.event, a.user_id as "userId", u.email as "userEmail",
      a.actor_id as "actorId", actor.email as "actorEmail", a.ip, a.user_agent as "userAgent", a.detail
    from audit_events a
      left join users u on u.id = a.user_id
      left join users actor on actor.id = a.actor_id
    where ${where}
    order by a.at desc, a.id desc
    limit ${limit}`;
}

export interface SignInRecord {
  at: Date;
  option: "phone" | "email" | null;
  ip: string | null;
  how: "credentials" | "remembered" | "password_reset";
}

/** The person's last sign-ins (completed ones only), newest first, for the home page. */
export async function recentSignIns(db: Db, userId: string, limit = 10): Promise<SignInRecord[]> {
  const [success, remembered] = await Promise.all([
    listAudit(db, { userId, event: "signin.success", limit }),
    listAudit(db, { userId, event: "signin.remembered", limit }),
  ]);
  return [...success, ...remembered]
    .sort((a, b) => b.at.getTime() - a.at.getTime() || Number(b.id) - Number(a.id))
    .slice(0, limit)
    .map((event) => {
      const option = event.detail.option;
      return {
        at: event.at,
        option: option === "phone" || option === "email" ? option : null,
        ip: event.ip,
        how: event.event === "signin.remembered" ? "remembered" : event.detail.via === "password_reset" ? "password_reset" : "credentials",
      };
    });
}
