import type { Db, Sql } from "../db/client.ts";
import type { Clock } from "../clock.ts";

/**
 * Memberships: a person's role in an organization. This module is the one writer of
 * `memberships`. The portal Administrator (users.role = 'admin') needs none.
 */
export type MembershipRole = "group_admin" | "provider_admin" | "provider_staff";
export const MEMBERSHIP_ROLES: readonly MembershipRole[] = ["group_admin", "provider_admin", "provider_staff"];

/** As the command line and the CSV import spell them. */
export const ROLE_ARGUMENTS: Record<string, MembershipRole> = {
  "group-admin": "group_admin",
  "provider-admin": "provider_admin",
  "provider-staff": "provider_staff",
};

/** Higher manages lower. Staff manage nobody. */
export const ROLE_RANK: Record<MembershipRole, number> = { group_admin: 3, provider_admin: 2, provider_staff: 1 };

export function isOrganizationAdminRole(role: MembershipRole): boolean {
  return role !== "provider_staff";
}

export interface Membership {
  organizationId: string;
  organizationName: string;
  /** Top-level organizations may have a Provider Group Administrator; providers of a group may not. */
  topLevel: boolean;
  role: MembershipRole;
}

export interface Member {
  userId: string;
  email: string;
  name: string;
  status: "invited" | "active" | "disabled";
  role: MembershipRole;
}

/** Adds the person to the organization, or changes their role there. */
export async function putMembership(db: Db, clock: Clock, input: { organizationId: string; userId: string; role: MembershipRole }): Promise<void> {
  await db`
    insert into memberships (organization_id, user_id, role, created_at)
    values (${input.organizationId}, ${input.userId}, ${input.role}, ${clock.now()})
    on conflict (organization_id, user_id) do update set role = excluded.role`;
}

export async function listUserMemberships(db: Db, userId: string): Promise<Membership[]> {
  return db<Membership[]>`
    select m.organization_id as "organizationId", o.name as "organizationName", o.top_level as "topLevel", m.role
    from memberships m join organizations o on o.id = m.organization_id
    where m.user_id = ${userId}
    order by o.name_normalized`;
}

export async function listOrganizationMembers(db: Db, organizationId: string): Promise<Member[]> {
  return db<Member[]>`
    select u.id as "userId", u.email, u.name, u.status, m.role
    from memberships m join users u on u.id = m.user_id
    where m.organization_id = ${organizationId}
    order by m.role, u.email_normalized`;
}

/**
 * The names of the organizations a person belongs to (their groups' names included, since a
 * provider's staff are people of its group too), for Remote-Groups and the OIDC groups claim.
 */
export async function listUserOrganizationNames(sql: Sql | Db, userId: string): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    select o.name from memberships m join organizations o on o.id = m.organization_id where m.user_id = ${userId}
    union
    select p.name from memberships m join organizations o on o.id = m.organization_id join organizations p on p.id = o.parent_id
    where m.user_id = ${userId}
    order by 1`;
  return rows.map((row) => row.name);
}

/**
 * The organizations that would be left without an active administrator if `userId` stopped being
 * one there (disabled: every organization; demoted: `organizationId` only). Callers hold the
 * admin guard lock (flows/admin.ts), so the count and the change are one step.
 */
export async function organizationsLastAdministeredBy(db: Db, userId: string, organizationId?: string): Promise<string[]> {
  const only = organizationId ? db`and m.organization_id = ${organizationId}` : db``;
  const rows = await db<{ name: string }[]>`
    select o.name from memberships m
      join organizations o on o.id = m.organization_id
      join users u on u.id = m.user_id
    where m.user_id = ${userId} and m.role in ('group_admin', 'provider_admin') and u.status = 'active' ${only}
      and not exists (
        select 1 from memberships other join users ou on ou.id = other.user_id
        where other.organization_id = m.organization_id and other.user_id <> ${userId}
          and other.role in ('group_admin', 'provider_admin') and ou.status = 'active')
    order by o.name_normalized`;
  return rows.map((row) => row.name);
}
