/**
 * Organizations for tests: organizations by unique name, and members in a chosen state inserted
 * straight into the database (no password hashing: these members never sign in themselves).
 */
import type { Sql } from "../../src/db/client.ts";
import type { Clock } from "../../src/clock.ts";
import { createOrganization, type Organization } from "../../src/orgs/organizations.ts";
import { putMembership, type MembershipRole } from "../../src/orgs/memberships.ts";
import { normalizeEmail } from "../../src/auth/users.ts";
import { uniqueEmail } from "./harness.ts";

let orgs = 0;
export async function makeOrganization(sql: Sql, clock: Clock, label: string, parent?: Organization): Promise<Organization> {
  orgs += 1;
  const created = await createOrganization(sql, clock, { name: `${label} ${Date.now().toString(36)}-${process.pid}-${orgs}`, parentId: parent?.id });
  if (!created.ok) throw new Error(`organization not created: ${created.reason}`);
  return created.organization;
}

export type MemberState = "active" | "invited" | "locked" | "disabled";

/** A user of `organization` with `role` there, in `state`. */
export async function makeMember(
  sql: Sql,
  clock: Clock,
  organization: Organization | null,
  role: MembershipRole,
  state: MemberState = "active",
  prefix = "member",
): Promise<{ id: string; email: string }> {
  const email = uniqueEmail(prefix);
  const now = clock.now();
  const status = state === "locked" ? "active" : state;
  const [row] = await sql<{ id: string }[]>`
    insert into users (email, email_normalized, name, role, status, mfa_method, password_hash, locked_until,
      status_before_disable, created_at, updated_at)
    values (${email}, ${normalizeEmail(email)}, ${"Member " + prefix}, 'provider', ${status},
      ${status === "invited" ? null : "email"}, ${status === "invited" ? null : "not-a-real-hash"},
      ${state === "locked" ? new Date(now.getTime() + 10 * 60_000) : null},
      ${state === "disabled" ? "active" : null}, ${now}, ${now})
    returning id`;
  if (organization) await putMembership(sql, clock, { organizationId: organization.id, userId: row!.id, role });
  return { id: row!.id, email };
}

/** A digest of every table the portal writes: equal digests, nothing changed. */
export async function snapshot(sql: Sql): Promise<Record<string, string>> {
  const tables = ["users", "memberships", "organizations", "audit_events", "outbox", "link_tokens", "sessions", "flows", "remember_tokens", "codes", "rate_limits", "user_imports"];
  const digest: Record<string, string> = {};
  for (const table of tables) {
    const [row] = await sql<{ md5: string | null }[]>`select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as md5 from ${sql(table)} t`;
    digest[table] = row!.md5 ?? "";
  }
  return digest;
}
