import type { Db } from "../db/client.ts";
import { MEMBERSHIP_ROLES, ROLE_RANK, type MembershipRole } from "./memberships.ts";

/**
 * The scope every administration query takes (security.md, Organizations): which users an
 * administrator may see and act on, as SQL, so another organization's users never leave the
 * database instead of being filtered out of a result.
 *
 *   portal         the portal's Administrator (users.role = 'admin'): every user.
 *   organizations  a Provider Group Administrator or Provider Administrator: the members of the
 *                  organizations they administer, and of the providers of the groups they
 *                  administer; never a portal Administrator.
 *
 * The scope names the actor, not a list of organizations: the organizations are read in the
 * same statement as the users, so a membership removed a moment ago counts at once.
 */
export type Scope = { kind: "portal" } | { kind: "organizations"; actorId: string };

export const PORTAL_SCOPE: Scope = { kind: "portal" };

/** The scope of an administrator, or null for someone who administers nothing (403 at /admin). */
export async function resolveScope(db: Db, actor: { id: string; role: string; status?: string }): Promise<Scope | null> {
  if (actor.status !== undefined && actor.status !== "active") return null;
  if (actor.role === "admin") return PORTAL_SCOPE;
  const [row] = await db`
    select 1 from memberships m join users u on u.id = m.user_id
    where m.user_id = ${actor.id} and m.role in ('group_admin', 'provider_admin') and u.status = 'active' limit 1`;
  return row ? { kind: "organizations", actorId: actor.id } : null;
}

/** The scope of the actor by id alone, read inside the caller's transaction (every action starts here). */
export async function resolveActorScope(db: Db, actorId: string): Promise<Scope | null> {
  if (!/^[0-9a-f-]{36}$/i.test(actorId)) return null;
  const [actor] = await db<{ id: string; role: string; status: string }[]>`select id, role, status from users where id = ${actorId}`;
  return actor ? resolveScope(db, actor) : null;
}

/** The ids of the organizations the actor administers, as a subquery. */
function managedOrganizationIds(db: Db, actorId: string) {
  return db`(
    select m.organization_id from memberships m
    where m.user_id = ${actorId} and m.role in ('group_admin', 'provider_admin')
    union all
    select c.id from memberships m join organizations c on c.parent_id = m.organization_id
    where m.user_id = ${actorId} and m.role = 'group_admin')`;
}

/** A condition on the users row `alias` (default `u`): true when the scope reaches it. */
export function userInScope(db: Db, scope: Scope, alias = "u") {
  if (scope.kind === "portal") return db`true`;
  const u = db(alias);
  return db`(${u}.role <> 'admin' and exists (
    select 1 from memberships t
    where t.user_id = ${u}.id and t.organization_id in ${managedOrganizationIds(db, scope.actorId)}))`;
}

/** A condition on an audit_events row `a`: an event about a user in scope (an event about nobody is the portal's). */
export function auditInScope(db: Db, scope: Scope) {
  if (scope.kind === "portal") return db`true`;
  return db`(exists (select 1 from users su where su.id = a.user_id and ${userInScope(db, scope, "su")}))`;
}

/** A condition on a memberships row `alias`: one of an organization the scope reaches. */
export function membershipInScope(db: Db, scope: Scope, alias = "m") {
  if (scope.kind === "portal") return db`true`;
  return db`${db(alias)}.organization_id in ${managedOrganizationIds(db, scope.actorId)}`;
}

export interface ManagedOrganization {
  id: string;
  name: string;
  topLevel: boolean;
  /** The highest rank the actor holds over it (3: as its group's or its own group administrator). */
  rank: number;
}

/** The organizations the actor may put users in, with the roles they may grant there. */
export async function listManagedOrganizations(db: Db, scope: Scope): Promise<ManagedOrganization[]> {
  if (scope.kind === "portal") {
    return db<ManagedOrganization[]>`
      select id, name, top_level as "topLevel", 4 as rank from organizations order by name_normalized`;
  }
  return db<ManagedOrganization[]>`
    select o.id, o.name, o.top_level as "topLevel", max(x.rank)::int as rank
    from (
      select m.organization_id as id, case m.role when 'group_admin' then 3 else 2 end as rank
      from memberships m where m.user_id = ${scope.actorId} and m.role in ('group_admin', 'provider_admin')
      union all
      select c.id, 3 from memberships m join organizations c on c.parent_id = m.organization_id
      where m.user_id = ${scope.actorId} and m.role = 'group_admin'
    ) x join organizations o on o.id = x.id
    group by o.id, o.name, o.top_level, o.name_normalized
    order by o.name_normalized`;
}

/**
 * The roles an actor of `rank` may grant in an organization: none above their own, and a
 * Provider Group Administrator only at the top level (a group's provider is no group).
 */
export function grantableRoles(org: { topLevel: boolean; rank: number }): MembershipRole[] {
  return MEMBERSHIP_ROLES.filter((role) => ROLE_RANK[role] <= org.rank && (role !== "group_admin" || org.topLevel));
}

/** The organization as the actor manages it, or null when they do not (a 404 to them). */
export async function findManagedOrganization(db: Db, scope: Scope, organizationId: string): Promise<ManagedOrganization | null> {
  if (!/^[0-9a-f-]{36}$/i.test(organizationId)) return null;
  return (await listManagedOrganizations(db, scope)).find((org) => org.id === organizationId) ?? null;
}
