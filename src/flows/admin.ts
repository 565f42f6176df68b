import type { Db, Sql } from "../db/client.ts";
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import type { Outbox } from "../delivery/outbox.ts";
import { disableUser, enableUser, findUserByEmail, maskPhone, removeStrongFactors, setUserRole, type MfaMethod, type Role, type User } from "../auth/users.ts";
import { deleteRecoveryCodes } from "../auth/recovery-codes.ts";
import { appendAudit, type AuditEvent } from "../auth/audit.ts";
import { invalidateUserSessions } from "../auth/sessions.ts";
import { endApplicationSessions } from "../apps/application-sessions.ts";
import { forgetRememberTokens } from "../auth/remember-me.ts";
import { createLinkToken, LINK_PURPOSES, revokeLinkTokens } from "../auth/links.ts";
import { unlockUser } from "../auth/lockout.ts";
import { describeDuration, mfaResetLink } from "../delivery/messages.ts";
import { inviteUser, resendRegistrationLink } from "./invitation.ts";
import { deleteUserFlows, type FlowKind } from "./flow-store.ts";
import { auditInScope, membershipInScope, PORTAL_SCOPE, userInScope, findManagedOrganization, grantableRoles, type Scope } from "../orgs/scope.ts";
import { organizationsLastAdministeredBy, putMembership, ROLE_RANK, type MembershipRole } from "../orgs/memberships.ts";

/**
 * Administration: the users list and what an administrator may do to an account. Reset MFA,
 * unlock, disable, enable and role changes each run in one transaction that also writes their
 * admin.* audit event. Create and resend go through invitation.ts, whose own transaction writes
 * `registration.invited` with the acting admin; their admin.* event follows it after the commit.
 * Knows nothing of Hono or HTML; the route turns each result into a row, a page or a redirect.
 *
 * Every query takes a Scope (src/orgs/scope.ts) and puts it in its SQL: an organization
 * administrator's list, search, pages, user pages and actions reach only their organizations'
 * users, and anyone else's id is "not_found", exactly like an id that does not exist. Actions
 * read the actor's scope inside their own transaction from the actor's id, so a caller cannot
 * hand in a wider one. Read-only queries default to the whole portal (the operator's command
 * line and tests); the admin routes always pass the signed-in administrator's scope.
 */

/**
 * Where an account stands, as the list shows and filters it: a disabled or locked account says so
 * whatever its registration reached. Not registration.ts's flow state (a step of one flow row);
 * the steps of progress shown here are read from that row.
 */
export type AccountState = "invited" | "email_verified" | "password_set" | "phone_verified" | "active" | "locked" | "disabled";
export const ACCOUNT_STATES: readonly AccountState[] = [
  "invited",
  "email_verified",
  "password_set",
  "phone_verified",
  "active",
  "locked",
  "disabled",
];

export interface AdminUser {
  id: string;
  email: string;
  name: string;
  role: Role;
  status: User["status"];
  mfaMethod: MfaMethod | null;
  /** (•••) •••-1234, or "" without a phone: the full number is never shown on the admin page. */
  phone: string;
  state: AccountState;
  lockedUntil: Date | null;
  lastSignInAt: Date | null;
  createdAt: Date;
  /** A staff account's issuer (it signs in there, with no password or factor here); null for everyone else. */
  staffIssuer: string | null;
  /** Their organizations, as far as the viewer's scope reaches. */
  memberships: AdminMembership[];
}

export interface AdminMembership {
  organizationId: string;
  organizationName: string;
  topLevel: boolean;
  role: MembershipRole;
}

export interface AdminDeps {
  sql: Sql;
  clock: Clock;
  config: Config;
  outbox: Outbox;
}

/** Who acts, and from where: every action's audit event carries it. */
export interface Actor {
  actorId: string;
  ip: string;
  userAgent: string;
  /**
   * What they may reach, as the admin guard found it for this request. Absent: the whole portal
   * (the operator's own calls). An organization scope is re-read in each action's SQL, so a
   * membership lost meanwhile narrows it at once.
   */
  scope?: Scope;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

export interface UserQuery {
  /** Start of a name or an email address, any case. */
  q?: string;
  state?: AccountState;
  /** Id of the last user of the previous page (going forward) … */
  after?: string;
  /** … or of the first user of the next page (going back). */
  before?: string;
  pageSize?: number;
}

export interface UserPage {
  users: AdminUser[];
  /** Cursor for the next (older) page, or null on the last page. */
  next: string | null;
  /** Cursor for the previous (newer) page, or null on the first page. */
  previous: string | null;
}

interface UserRow {
  id: string;
  email: string;
  name: string;
  role: Role;
  status: User["status"];
  mfaMethod: MfaMethod | null;
  phoneE164: string | null;
  lockedUntil: Date | null;
  lastSignInAt: Date | null;
  createdAt: Date;
  memberships: AdminMembership[];
  /** State of the user's newest registration flow (registration.ts keeps progress there until the last step). */
  progress: string | null;
  staffIssuer: string | null;
}

/** Registration flow states that name a step of progress the list shows; anything else reads "invited". */
const PROGRESS_STATES = ["email_verified", "password_set", "phone_verified"] as const;

/** `%`, `_` and `\` typed into the search box are matched literally, not as LIKE wildcards. */
export function likePrefix(text: string): string {
  return text.replace(/[\\%_]/g, (ch) => `\\${ch}`) + "%";
}

function stateOf(row: UserRow, now: Date): AccountState {
  if (row.status === "disabled") return "disabled";
  if (row.lockedUntil && row.lockedUntil.getTime() > now.getTime()) return "locked";
  if (row.status === "active") return "active";
  return (PROGRESS_STATES as readonly string[]).includes(row.progress ?? "") ? (row.progress as AccountState) : "invited";
}

function toAdminUser(row: UserRow, now: Date): AdminUser {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    status: row.status,
    mfaMethod: row.mfaMethod,
    phone: maskPhone(row.phoneE164),
    state: stateOf(row, now),
    lockedUntil: row.lockedUntil,
    lastSignInAt: row.lastSignInAt,
    createdAt: row.createdAt,
    staffIssuer: row.staffIssuer,
    memberships: row.memberships,
  };
}

/**
 * The state of an invited user's newest registration flow, the way registration.ts finds the
 * progress to resume from. An index probe on flows_user_idx per invited row of the page.
 */
function progressOf(db: Db) {
  return db`(select f.state from flows f
    where f.user_id = u.id and f.kind = 'registration' and f.state <> 'failed'
    order by f.updated_at desc limit 1)`;
}

function rowColumns(db: Db, scope: Scope) {
  return db`u.id, u.email, u.name, u.role, u.status, u.mfa_method as "mfaMethod", u.phone_e164 as "phoneE164",
    u.locked_until as "lockedUntil", u.last_sign_in_at as "lastSignInAt", u.created_at as "createdAt",
    case when u.status = 'invited' then ${progressOf(db)} end as progress, u.staff_issuer as "staffIssuer",
    coalesce((select json_agg(json_build_object('organizationId', m.organization_id, 'organizationName', o.name,
        'topLevel', o.top_level, 'role', m.role) order by o.name_normalized)
      from memberships m join organizations o on o.id = m.organization_id
      where m.user_id = u.id and ${membershipInScope(db, scope)}), '[]'::json) as memberships`;
}

/** The filter of a state, written so each can use an index on users rather than classify every row. */
function stateCondition(db: Db, state: AccountState, now: Date) {
  const unlocked = db`(u.locked_until is null or u.locked_until <= ${now})`;
  switch (state) {
    case "disabled":
      return db`u.status = 'disabled'`;
    case "locked":
      return db`u.locked_until > ${now} and u.status <> 'disabled'`;
    case "active":
      return db`u.status = 'active' and ${unlocked}`;
    case "email_verified":
    case "password_set":
    case "phone_verified":
      return db`u.status = 'invited' and ${unlocked} and ${progressOf(db)} = ${state}`;
    case "invited":
      return db`u.status = 'invited' and ${unlocked} and coalesce(${progressOf(db)}, 'invited') not in ${db(PROGRESS_STATES as unknown as string[])}`;
  }
}

function usersPageQuery(db: Db, now: Date, query: UserQuery, scope: Scope) {
  const size = Math.max(1, Math.min(MAX_PAGE_SIZE, Math.floor(query.pageSize ?? DEFAULT_PAGE_SIZE)));
  const conditions = [userInScope(db, scope)];
  const q = query.q?.trim().toLowerCase();
  if (q) {
    const pattern = likePrefix(q);
    conditions.push(db`(lower(u.name) like ${pattern} or u.email_normalized like ${pattern})`);
  }
  if (query.state) conditions.push(stateCondition(db, query.state, now));
  const backward = !query.after && !!query.before;
  const cursor = query.after ?? query.before;
  if (cursor) {
    // Scalar subqueries become plan parameters, so the row comparison is an index condition on users_created_idx.
    const key = db`((select c.created_at from users c where c.id = ${cursor}), ${cursor}::uuid)`;
    conditions.push(backward ? db`(u.created_at, u.id) > ${key}` : db`(u.created_at, u.id) < ${key}`);
  }
  const where = conditions.reduce((all, next) => db`${all} and ${next}`);
  const order = backward ? db`u.created_at asc, u.id asc` : db`u.created_at desc, u.id desc`;
  const sql = db`
    select ${rowColumns(db, scope)}
    from users u
    where ${where}
    order by ${order}
    limit ${size + 1}`;
  return { sql, size, backward, cursor };
}

/**
 * One page of users, newest first, with keyset paging on (created_at, id): a page costs the
 * same whether it is the first or the two-hundredth, and rows added meanwhile do not shift it.
 */
export async function listUsers(db: Db, clock: Clock, query: UserQuery = {}, scope: Scope = PORTAL_SCOPE): Promise<UserPage> {
  const now = clock.now();
  const { sql, size, backward, cursor } = usersPageQuery(db, now, query, scope);
  const rows = (await sql) as unknown as UserRow[];
  if (!rows.length && cursor && !(await findAdminUser(db, clock, cursor, scope))) {
    // The cursor's user is gone (or never was): start from the first page rather than show nothing.
    return listUsers(db, clock, { ...query, after: undefined, before: undefined }, scope);
  }
  const more = rows.length > size;
  const page = rows.slice(0, size);
  if (backward) page.reverse();
  const users = page.map((row) => toAdminUser(row, now));
  const first = users[0]?.id ?? null;
  const last = users[users.length - 1]?.id ?? null;
  return backward
    ? { users, next: last, previous: more ? first : null }
    : { users, next: more ? last : null, previous: cursor ? first : null };
}

/** The plan of listUsers' query (tests and the report check it reads users through an index). */
export async function explainListUsers(db: Db, clock: Clock, query: UserQuery = {}, scope: Scope = PORTAL_SCOPE): Promise<string> {
  const { sql } = usersPageQuery(db, clock.now(), query, scope);
  const rows = await db<{ "QUERY PLAN": string }[]>`explain (costs off) ${sql}`;
  return rows.map((row) => row["QUERY PLAN"]).join("\n");
}

/** One user as the list shows them (the row an action re-renders), or null. */
export async function findAdminUser(db: Db, clock: Clock, userId: string, scope: Scope = PORTAL_SCOPE): Promise<AdminUser | null> {
  if (!isUserId(userId)) return null;
  const [row] = await db<UserRow[]>`
    select ${rowColumns(db, scope)} from users u where u.id = ${userId} and ${userInScope(db, scope)}`;
  return row ? toAdminUser(row, clock.now()) : null;
}

// ---------------------------------------------------------------------------------------------
// Actions

export type ActionRefusal =
  /** No user with that id, or none the actor may see (another organization's user). */
  | "not_found"
  /** Disabling or demoting them would leave no active administrator. */
  | "last_admin"
  /** Disabling or demoting them would leave one of their organizations without an active administrator. */
  | "last_org_admin"
  /** The role asked for is above the actor's own (nobody grants a role above their own). */
  | "not_allowed"
  /** Resend: the account finished registering (or is disabled); a registration link is for invited users. */
  | "not_invited"
  /** Reset MFA: only a registered, enabled account has a method to reset. */
  | "not_active"
  /** Reset MFA: a staff account's MFA is its issuer's, not the portal's. */
  | "staff";

export type ActionResult = { ok: true; user: AdminUser } | { ok: false; reason: ActionRefusal };

export type CreateRefusal = "duplicate" | "invalid_email" | "staff_email" | "organization_required" | "organization_not_found" | "not_allowed";
export type CreateResult = { ok: true; user: AdminUser } | { ok: false; reason: CreateRefusal };

/** Every kind of flow: a record, so a new kind fails the type check until Disable ends it too. */
const FLOW_KINDS: Record<FlowKind, true> = { registration: true, login: true, password_reset: true, account: true, factor_setup: true };

/** Every change of role, membership or status takes this lock first, so the last-admin checks and the change are one step. */
const ADMIN_GUARD_LOCK = 5_113_270;

interface LockedUser {
  id: string;
  email: string;
  role: Role;
  status: User["status"];
  statusBeforeDisable: "invited" | "active" | null;
  staffIssuer: string | null;
}

/** The user, locked, when the actor's scope reaches them; null otherwise (not there, or not theirs). */
async function lockUser(db: Db, scope: Scope, userId: string): Promise<LockedUser | null> {
  const [user] = await db<LockedUser[]>`
    select u.id, u.email, u.role, u.status, u.status_before_disable as "statusBeforeDisable", u.staff_issuer as "staffIssuer"
    from users u where u.id = ${userId} and ${userInScope(db, scope)} for update of u`;
  return user ?? null;
}

/** The target in the actor's scope, locked, inside the action's transaction; null is a 404 either way. */
async function scopedTarget(db: Db, actor: Actor, userId: string): Promise<{ scope: Scope; user: LockedUser } | null> {
  const scope = actor.scope ?? PORTAL_SCOPE;
  const user = await lockUser(db, scope, userId);
  return user ? { scope, user } : null;
}

/** True when `userId` is an active administrator and no other active administrator exists. */
async function isLastActiveAdmin(db: Db, user: LockedUser): Promise<boolean> {
  if (user.role !== "admin" || user.status !== "active") return false;
  const [other] = await db`select 1 from users where role = 'admin' and status = 'active' and id <> ${user.id} limit 1`;
  return !other;
}

function audit(db: Db, clock: Clock, actor: Actor, event: string, userId: string, detail: Record<string, unknown> = {}) {
  return appendAudit(db, clock, { event, userId, actorId: actor.actorId, ip: actor.ip, userAgent: actor.userAgent, detail });
}

async function result(deps: AdminDeps, userId: string, scope: Scope): Promise<ActionResult> {
  const user = await findAdminUser(deps.sql, deps.clock, userId, scope);
  return user ? { ok: true, user } : { ok: false, reason: "not_found" };
}

/** The actor's scope (create, resend: their writes run in invitation.ts). */
async function actorScope(_deps: AdminDeps, actor: Actor): Promise<Scope | null> {
  return actor.scope ?? PORTAL_SCOPE;
}

/** A valid-looking id, so a mangled URL answers "not found" instead of a database type error. */
export function isUserId(id: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
}

export interface CreateUserInput {
  email: string;
  name: string;
  /** The portal-wide role: "admin" (portal Administrator) only from a portal Administrator. */
  role: Role;
  /** The organization to put them in, and their role there; required of an organization administrator. */
  organizationId?: string;
  organizationRole?: MembershipRole;
}

/**
 * Where a new user may go: the portal Administrator anywhere (an organization optional), an
 * organization administrator only into an organization they administer, with a role no higher
 * than their own there.
 */
async function checkPlacement(deps: AdminDeps, scope: Scope, input: CreateUserInput): Promise<CreateRefusal | null> {
  if (scope.kind !== "portal" && input.role !== "provider") return "not_allowed";
  if (!input.organizationId) return scope.kind === "portal" ? null : "organization_required";
  if (input.role === "admin") return "not_allowed";
  const org = await findManagedOrganization(deps.sql, scope, input.organizationId);
  if (!org) return "organization_not_found";
  if (!input.organizationRole || !grantableRoles(org).includes(input.organizationRole)) return "not_allowed";
  return null;
}

/**
 * Creates an invited user and emails the registration link (the invitation does both in one
 * transaction, with the membership when an organization is given). Any existing account with the
 * address is refused, even one still registering: the administrator resends its link from its
 * row instead.
 */
export async function createUser(deps: AdminDeps, actor: Actor, input: CreateUserInput): Promise<CreateResult> {
  // Control characters (a NUL above all) are no address, and Postgres refuses a NUL in any query.
  if (/\p{Cc}/u.test(input.email)) return { ok: false, reason: "invalid_email" };
  const scope = await actorScope(deps, actor);
  if (!scope) return { ok: false, reason: "not_allowed" };
  const refusal = await checkPlacement(deps, scope, input);
  if (refusal) return { ok: false, reason: refusal };
  if (await findUserByEmail(deps.sql, input.email)) return { ok: false, reason: "duplicate" };
  const membership = input.organizationId && input.organizationRole ? { organizationId: input.organizationId, role: input.organizationRole } : undefined;
  const invited = await inviteUser(deps, { email: input.email, name: input.name, role: input.role, membership, actorId: actor.actorId, ip: actor.ip, userAgent: actor.userAgent });
  if (!invited.ok) return invited;
  // Lost a race with another invitation of the same address: that one created it, this one only resent.
  if (!invited.created) return { ok: false, reason: "duplicate" };
  await audit(deps.sql, deps.clock, actor, "admin.user_created", invited.user.id, { role: invited.user.role, ...(membership ?? {}) });
  const user = await findAdminUser(deps.sql, deps.clock, invited.user.id, scope);
  return { ok: true, user: user! };
}

/** A new registration link for an invited user; every earlier one dies. */
export async function resendLink(deps: AdminDeps, actor: Actor, userId: string): Promise<ActionResult> {
  if (!isUserId(userId)) return { ok: false, reason: "not_found" };
  const scope = await actorScope(deps, actor);
  if (!scope || !(await findAdminUser(deps.sql, deps.clock, userId, scope))) return { ok: false, reason: "not_found" };
  const resent = await resendRegistrationLink(deps, { userId, actorId: actor.actorId, ip: actor.ip, userAgent: actor.userAgent });
  if (!resent.ok) return { ok: false, reason: resent.reason === "duplicate" ? "not_invited" : "not_found" };
  await audit(deps.sql, deps.clock, actor, "admin.registration_link_resent", userId);
  return result(deps, userId, scope);
}

/**
 * The user sets up multi-factor authentication again through an emailed link (purpose mfa_reset,
 * handled by the registration pages). Their sessions, Remember Me tokens and half-done sign-ins
 * end now, and so do the authenticator app, every passkey and the recovery codes (a lost phone or
 * laptop must stop signing in at once: security.md, "Admins can remove a user's factors"). The
 * phone or email method on file keeps working until the new one is verified, so a user who asked
 * for the reset is not shut out meanwhile; an administrator who wants them out disables them.
 */
export async function resetMfa(deps: AdminDeps, actor: Actor, userId: string): Promise<ActionResult> {
  if (!isUserId(userId)) return { ok: false, reason: "not_found" };
  const outcome = await deps.sql.begin(async (tx) => {
    const target = await scopedTarget(tx, actor, userId);
    if (!target) return { reason: "not_found" as const };
    const { user, scope } = target;
    if (user.status !== "active") return { reason: "not_active" as const };
    if (user.staffIssuer) return { reason: "staff" as const };
    await invalidateUserSessions(tx, userId);
    await endApplicationSessions(tx, userId);
    await forgetRememberTokens(tx, userId);
    await deleteUserFlows(tx, userId, "login");
    await deleteUserFlows(tx, userId, "password_reset");
    await deleteUserFlows(tx, userId, "factor_setup");
    const strong = await removeStrongFactors(tx, userId);
    await deleteRecoveryCodes(tx, userId);
    const ttl = deps.config.ttl.registrationLink;
    const token = await createLinkToken(tx, deps.clock, { userId, purpose: "mfa_reset", ttlMs: ttl });
    const link = `${deps.config.publicUrl}/register/link/${token}`;
    await deps.outbox.enqueue(tx, { channel: "email", to: user.email, ...mfaResetLink(deps.config.portalName, link, describeDuration(ttl)) });
    await audit(tx, deps.clock, actor, "admin.mfa_reset", userId, { strongFactorsRemoved: strong });
    return { reason: "ok" as const, scope };
  });
  if (outcome.reason !== "ok") return { ok: false, reason: outcome.reason };
  deps.outbox.kick();
  return result(deps, userId, outcome.scope);
}

/** Lifts a lockout at once and restarts the failure count. */
export async function unlock(deps: AdminDeps, actor: Actor, userId: string): Promise<ActionResult> {
  if (!isUserId(userId)) return { ok: false, reason: "not_found" };
  const scope = await deps.sql.begin(async (tx) => {
    const target = await scopedTarget(tx, actor, userId);
    if (!target) return null;
    await unlockUser(tx, userId);
    await audit(tx, deps.clock, actor, "admin.user_unlocked", userId);
    return target.scope;
  });
  return scope ? result(deps, userId, scope) : { ok: false, reason: "not_found" };
}

type Outcome = { reason: "ok"; scope: Scope } | { reason: ActionRefusal };

/**
 * Disabled: sign-in is refused with the generic answer (the sign-in flow only lets active
 * accounts through), and everything that could still get the user in ends now: sessions,
 * Remember Me tokens, emailed links and flows (a registration finished later would make the
 * account active again). Neither the portal nor any organization of theirs may be left without
 * an active administrator by it.
 */
export async function disable(deps: AdminDeps, actor: Actor, userId: string): Promise<ActionResult> {
  if (!isUserId(userId)) return { ok: false, reason: "not_found" };
  const outcome = await deps.sql.begin(async (tx): Promise<Outcome> => {
    await tx`select pg_advisory_xact_lock(${ADMIN_GUARD_LOCK})`;
    const target = await scopedTarget(tx, actor, userId);
    if (!target) return { reason: "not_found" };
    const { user, scope } = target;
    if (user.status === "disabled") return { reason: "ok", scope };
    if (await isLastActiveAdmin(tx, user)) return { reason: "last_admin" };
    if ((await organizationsLastAdministeredBy(tx, userId)).length) return { reason: "last_org_admin" };
    await disableUser(tx, deps.clock.now(), userId, user.status);
    await invalidateUserSessions(tx, userId);
    await endApplicationSessions(tx, userId);
    await forgetRememberTokens(tx, userId);
    await revokeLinkTokens(tx, userId, [...LINK_PURPOSES]);
    for (const kind of Object.keys(FLOW_KINDS) as FlowKind[]) await deleteUserFlows(tx, userId, kind);
    await audit(tx, deps.clock, actor, "admin.user_disabled", userId, { previousStatus: user.status });
    return { reason: "ok", scope };
  });
  return outcome.reason === "ok" ? result(deps, userId, outcome.scope) : { ok: false, reason: outcome.reason };
}

/**
 * Back to what the account was before it was disabled. A user who was still registering comes
 * back invited, with no live link (disable killed them): the administrator resends one.
 */
export async function enable(deps: AdminDeps, actor: Actor, userId: string): Promise<ActionResult> {
  if (!isUserId(userId)) return { ok: false, reason: "not_found" };
  const outcome = await deps.sql.begin(async (tx): Promise<Outcome> => {
    await tx`select pg_advisory_xact_lock(${ADMIN_GUARD_LOCK})`;
    const target = await scopedTarget(tx, actor, userId);
    if (!target) return { reason: "not_found" };
    const { user, scope } = target;
    if (user.status !== "disabled") return { reason: "ok", scope };
    const status = user.statusBeforeDisable ?? "active";
    await enableUser(tx, deps.clock.now(), userId, status);
    await audit(tx, deps.clock, actor, "admin.user_enabled", userId, { status });
    return { reason: "ok", scope };
  });
  return outcome.reason === "ok" ? result(deps, userId, outcome.scope) : { ok: false, reason: outcome.reason };
}

/**
 * Makes a user a portal Administrator or a provider (the portal-wide role, a portal
 * Administrator's decision only); demoting the last active administrator is refused.
 */
export async function changeRole(deps: AdminDeps, actor: Actor, userId: string, role: Role): Promise<ActionResult> {
  if (!isUserId(userId)) return { ok: false, reason: "not_found" };
  const outcome = await deps.sql.begin(async (tx): Promise<Outcome> => {
    await tx`select pg_advisory_xact_lock(${ADMIN_GUARD_LOCK})`;
    const target = await scopedTarget(tx, actor, userId);
    if (!target) return { reason: "not_found" };
    const { user, scope } = target;
    if (scope.kind !== "portal") return { reason: "not_allowed" };
    if (user.role === role) return { reason: "ok", scope };
    if (role !== "admin" && (await isLastActiveAdmin(tx, user))) return { reason: "last_admin" };
    await setUserRole(tx, deps.clock.now(), userId, role);
    await audit(tx, deps.clock, actor, "admin.role_changed", userId, { from: user.role, to: role });
    return { reason: "ok", scope };
  });
  return outcome.reason === "ok" ? result(deps, userId, outcome.scope) : { ok: false, reason: outcome.reason };
}

/**
 * A member's role in one organization. Nobody grants a role above their own, nor changes the
 * role of someone above them there; the organization's last active administrator stays one.
 */
export async function changeMembershipRole(
  deps: AdminDeps,
  actor: Actor,
  userId: string,
  organizationId: string,
  role: MembershipRole,
): Promise<ActionResult> {
  if (!isUserId(userId) || !isUserId(organizationId)) return { ok: false, reason: "not_found" };
  const outcome = await deps.sql.begin(async (tx): Promise<Outcome> => {
    await tx`select pg_advisory_xact_lock(${ADMIN_GUARD_LOCK})`;
    const target = await scopedTarget(tx, actor, userId);
    if (!target) return { reason: "not_found" };
    const { scope } = target;
    const org = await findManagedOrganization(tx, scope, organizationId);
    if (!org) return { reason: "not_found" };
    const [current] = await tx<{ role: MembershipRole }[]>`
      select role from memberships where organization_id = ${organizationId} and user_id = ${userId} for update`;
    if (!current) return { reason: "not_found" };
    if (current.role === role) return { reason: "ok", scope };
    if (!grantableRoles(org).includes(role) || ROLE_RANK[current.role] > org.rank) return { reason: "not_allowed" };
    if (role === "provider_staff" && (await organizationsLastAdministeredBy(tx, userId, organizationId)).length) return { reason: "last_org_admin" };
    await putMembership(tx, deps.clock, { organizationId, userId, role });
    await audit(tx, deps.clock, actor, "admin.membership_changed", userId, { organizationId, from: current.role, to: role });
    return { reason: "ok", scope };
  });
  return outcome.reason === "ok" ? result(deps, userId, outcome.scope) : { ok: false, reason: outcome.reason };
}

// ---------------------------------------------------------------------------------------------
// Audit log

/**
 * The event names that occur in the log, for the filter's list. A skip scan over
 * audit_events_event_idx: one index probe per distinct name, however long the log grows.
 */
export async function listAuditEventTypes(db: Db): Promise<string[]> {
  const rows = await db<{ event: string }[]>`
    with recursive names as (
      (select event from audit_events order by event limit 1)
      union all
      select (select a.event from audit_events a where a.event > names.event order by a.event limit 1)
      from names where names.event is not null
    )
    select event from names where event is not null`;
  return rows.map((row) => row.event);
}

export interface AdminAuditFilter {
  userId?: string;
  /** Exactly, or by prefix when it ends in ".*" ("signin.*"). */
  event?: string;
  /** Inclusive. */
  from?: Date;
  /** Exclusive. */
  to?: Date;
}

function auditWhere(db: Db, scope: Scope, filter: AdminAuditFilter & { before?: string }) {
  const conditions = [auditInScope(db, scope)];
  if (filter.userId) conditions.push(db`a.user_id = ${filter.userId}`);
  if (filter.event) {
    conditions.push(filter.event.endsWith(".*") ? db`starts_with(a.event, ${filter.event.slice(0, -1)})` : db`a.event = ${filter.event}`);
  }
  if (filter.from) conditions.push(db`a.at >= ${filter.from}`);
  if (filter.to) conditions.push(db`a.at < ${filter.to}`);
  if (filter.before) conditions.push(db`(a.at, a.id) < (select b.at, b.id from audit_events b where b.id = ${filter.before})`);
  return conditions.reduce((all, next) => db`${all} and ${next}`);
}

function auditSelect(db: Db, scope: Scope, filter: AdminAuditFilter & { before?: string }) {
  return db`
    select a.id::text as id, a.at, a.event, a.user_id as "userId", u.email as "userEmail",
      a.actor_id as "actorId", actor.email as "actorEmail", a.ip, a.user_agent as "userAgent", a.detail
    from audit_events a
      left join users u on u.id = a.user_id
      left join users actor on actor.id = a.actor_id
    where ${auditWhere(db, scope, filter)}
    order by a.at desc, a.id desc`;
}

/**
 * The audit log as the viewer's scope reaches it, newest first: for an organization
 * administrator, the events about their organizations' users (the condition is in the SQL).
 * `before` is the id of the last event of the previous page.
 */
export async function listAdminAudit(db: Db, scope: Scope, filter: AdminAuditFilter & { limit: number; before?: string }): Promise<AuditEvent[]> {
  const limit = Math.max(1, Math.min(500, Math.floor(filter.limit)));
  if (filter.before !== undefined && !/^\d{1,18}$/.test(filter.before)) return [];
  return db<AuditEvent[]>`${auditSelect(db, scope, filter)} limit ${limit}`;
}

/** Rows fetched per round trip by the download: a bounded amount in memory whatever the range holds. */
export const AUDIT_EXPORT_BATCH = 500;

/**
 * The same events for the download, through a cursor (postgres.js `.cursor()`), a batch at a
 * time, so a six-year log is never held in memory. The caller's loop decides the pace: the next
 * batch is fetched when it asks for it. Runs in a read-only transaction, which a cursor needs on
 * Postgres anyway, so the export is one consistent snapshot.
 */
export async function* streamAdminAudit(sql: Sql, scope: Scope, filter: AdminAuditFilter): AsyncGenerator<AuditEvent[]> {
  const queue: (AuditEvent[] | null)[] = [];
  let wake: (() => void) | null = null;
  let resume: (() => void) | null = null;
  let failure: unknown = null;
  const push = (item: AuditEvent[] | null) => {
    queue.push(item);
    wake?.();
    wake = null;
  };
  let cancelled = false;
  // postgres.js runs a cursor inside a callback; the generator hands each batch out and waits
  // for the consumer before asking Postgres for the next one.
  const done = sql
    .begin("read only", async (tx) => {
      await tx<AuditEvent[]>`${auditSelect(tx, scope, filter)}`.cursor(AUDIT_EXPORT_BATCH, async (rows) => {
        if (cancelled) return sql.CLOSE;
        push(rows as unknown as AuditEvent[]);
        await new Promise<void>((resolve) => (resume = resolve));
        return cancelled ? sql.CLOSE : undefined;
      });
    })
    .catch((error) => {
      failure = error;
    })
    .finally(() => push(null));
  try {
    for (;;) {
      if (!queue.length) await new Promise<void>((resolve) => (wake = resolve));
      const batch = queue.shift()!;
      if (batch === null) break;
      yield batch;
      const next = resume as (() => void) | null;
      resume = null;
      next?.();
    }
    if (failure) throw failure;
  } finally {
    cancelled = true;
    const next = resume as (() => void) | null;
    next?.();
    await done;
  }
}
