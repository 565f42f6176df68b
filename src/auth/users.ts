import type { Db } from "../db/client.ts";
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";

/**
 * Accounts and the factors they hold. This module is the one that writes `users` and
 * `user_factors` (lockout.ts keeps the failure count and the lock, the admin area's writes follow
 * at the end). The User read model takes the account's factor from `user_factors`; the old
 * users.mfa_method / phone_e164 columns are a mirror written here for the admin pages' own query.
 */
export type Role = "provider" | "admin";

/** The sign-in button a person pressed (Login with Phone / Email / Authenticator App, Sign in with a passkey). */
export type LoginOption = "phone" | "email" | "totp" | "passkey";

/** A kind of second factor a person holds (rows of user_factors): totp is the authenticator app. */
export type FactorKind = "phone" | "email" | "totp" | "passkey";

/** The factor chosen at registration, as the admin pages show it. */
export type MfaMethod = FactorKind;

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  status: "invited" | "active" | "disabled";
  /** The kind of the account's first factor (null before registration finished). */
  mfaMethod: MfaMethod | null;
  /** The number of the account's phone factor, if it holds one. */
  phoneE164: string | null;
  termsVersion: string | null;
  lockedUntil: Date | null;
  lastSignInAt: Date | null;
  createdAt: Date;
}

export interface UserFactor {
  id: string;
  kind: FactorKind;
  label: string;
  destination: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** The columns a User is read from, as a fragment, so every query returns the same shape. */
export function userColumns(db: Db, table = "users") {
  const t = db(table);
  return db`${t}.id, ${t}.email, ${t}.name, ${t}.role, ${t}.status,
    (select f.kind from user_factors f where f.user_id = ${t}.id order by f.created_at, f.id limit 1) as "mfaMethod",
    (select f.destination from user_factors f where f.user_id = ${t}.id and f.kind = 'phone' order by f.created_at, f.id limit 1) as "phoneE164",
    ${t}.terms_version as "termsVersion", ${t}.locked_until as "lockedUntil",
    ${t}.last_sign_in_at as "lastSignInAt", ${t}.created_at as "createdAt"`;
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** True when the address's domain (or a subdomain of it) is in STAFF_EMAIL_DOMAINS: staff do not sign in here. */
export function isStaffEmail(config: Pick<Config, "staffEmailDomains">, email: string): boolean {
  const domain = normalizeEmail(email).split("@").pop() ?? "";
  return config.staffEmailDomains.some((staff) => domain === staff || domain.endsWith(`.${staff}`));
}

export async function findUserById(db: Db, id: string): Promise<User | null> {
  const [user] = await db<User[]>`select ${userColumns(db)} from users where id = ${id}`;
  return user ?? null;
}

export async function findUserByEmail(db: Db, email: string): Promise<User | null> {
  const [user] = await db<User[]>`select ${userColumns(db)} from users where email_normalized = ${normalizeEmail(email)}`;
  return user ?? null;
}

/** The account and its password hash, for the one check of a password. */
export async function findUserWithPassword(db: Db, email: string): Promise<{ user: User; passwordHash: string | null } | null> {
  const [found] = await db<(User & { passwordHash: string | null })[]>`
    select ${userColumns(db)}, password_hash as "passwordHash" from users where email_normalized = ${normalizeEmail(email)}`;
  if (!found) return null;
  const { passwordHash, ...user } = found;
  return { user, passwordHash };
}

/** The user, row-locked for the caller's transaction. */
export async function lockUser(db: Db, id: string): Promise<User | null> {
  const [user] = await db<User[]>`select ${userColumns(db)} from users where id = ${id} for update`;
  return user ?? null;
}

/** Masks a phone number for display: (•••) •••-1234. */
export function maskPhone(e164: string | null): string {
  if (!e164) return "";
  return `(•••) •••-${e164.slice(-4)}`;
}

export async function listFactors(db: Db, userId: string): Promise<UserFactor[]> {
  return db<UserFactor[]>`
    select id, kind, label, destination, created_at as "createdAt", last_used_at as "lastUsedAt"
    from user_factors where user_id = ${userId} order by created_at, id`;
}

/** What a factor is called on the account page (a passkey is named by the person). */
function factorLabel(kind: FactorKind, destination: string | null): string {
  if (kind === "totp") return "Authenticator app";
  if (kind === "passkey") return "Passkey";
  return kind === "phone" && destination ? `Phone ending ${destination.slice(-4)}` : "Email";
}

/** What a factor row holds beyond its kind: the authenticator app's sealed key and last step; a passkey's credential. */
export interface FactorMaterial {
  secret?: Uint8Array | null;
  lastUsedStep?: number | null;
  label?: string;
  credentialId?: string | null;
  signCount?: number | null;
  transports?: string[] | null;
}

/** The account's authenticator app: its sealed key and the last time step a code was accepted for. */
export async function findTotpFactor(db: Db, userId: string): Promise<{ id: string; secret: Uint8Array; lastUsedStep: number | null } | null> {
  const [row] = await db<{ id: string; secret: Uint8Array; lastUsedStep: string | null }[]>`
    select id, secret, last_used_step as "lastUsedStep" from user_factors
    where user_id = ${userId} and kind = 'totp' and secret is not null order by created_at desc, id limit 1`;
  return row ? { id: row.id, secret: row.secret, lastUsedStep: row.lastUsedStep === null ? null : Number(row.lastUsedStep) } : null;
}

/**
 * Takes time step `step` of the authenticator app: true once per step and only forward (the
 * guarded UPDATE makes a replayed code, or one of an earlier step, find no row), with its last use.
 */
export async function takeTotpStep(db: Db, clock: Clock, factorId: string, step: number): Promise<boolean> {
  const [row] = await db`
    update user_factors set last_used_step = ${step}, last_used_at = ${clock.now()}
    where id = ${factorId} and kind = 'totp' and (last_used_step is null or last_used_step < ${step})
    returning id`;
  return !!row;
}

export interface PasskeyFactor {
  id: string;
  userId: string;
  label: string;
  credentialId: string;
  publicKey: Uint8Array;
  signCount: number;
  transports: string[];
}

const PASSKEY_COLUMNS = (db: Db) =>
  db`id, user_id as "userId", label, credential_id as "credentialId", secret as "publicKey", coalesce(sign_count, 0)::int as "signCount", coalesce(transports, '{}') as transports`;

export async function listPasskeys(db: Db, userId: string): Promise<PasskeyFactor[]> {
  return db<PasskeyFactor[]>`select ${PASSKEY_COLUMNS(db)} from user_factors where user_id = ${userId} and kind = 'passkey' order by created_at, id`;
}

export async function findPasskeyByCredentialId(db: Db, credentialId: string): Promise<PasskeyFactor | null> {
  const [row] = await db<PasskeyFactor[]>`select ${PASSKEY_COLUMNS(db)} from user_factors where credential_id = ${credentialId} and kind = 'passkey'`;
  return row ?? null;
}

/**
 * A passkey was used: its new signature counter, guarded so a counter that did not move forward
 * (a cloned authenticator) finds no row. Authenticators that keep no counter (0, synced passkeys) pass.
 */
export async function recordPasskeyUse(db: Db, clock: Clock, factorId: string, newCount: number): Promise<boolean> {
  const [row] = await db`
    update user_factors set sign_count = ${newCount}, last_used_at = ${clock.now()}
    where id = ${factorId} and kind = 'passkey' and (${newCount} = 0 and coalesce(sign_count, 0) = 0 or ${newCount} > coalesce(sign_count, 0))
    returning id`;
  return !!row;
}

/* ── writes ── */

/**
 * An invitation's account: created (status invited) unless the address has one; either way the
 * row comes back locked for the caller's transaction, with whether this call created it.
 */
export async function insertInvitedUser(
  db: Db,
  clock: Clock,
  input: { email: string; name: string; role: Role },
): Promise<{ user: User; created: boolean }> {
  const now = clock.now();
  const normalized = normalizeEmail(input.email);
  // Two invitations for one address at once: the unique index lets one insert win; the other
  // then finds the row and, holding its lock, sends a fresh invitation instead.
  const [inserted] = await db<{ id: string }[]>`
    insert into users (email, email_normalized, name, role, created_at, updated_at)
    values (${input.email}, ${normalized}, ${input.name}, ${input.role}, ${now}, ${now})
    on conflict (email_normalized) do nothing
    returning id`;
  const [existing] = await db<User[]>`select ${userColumns(db)} from users where email_normalized = ${normalized} for update`;
  if (!existing) throw new Error("invited user vanished inside its own transaction");
  return { user: existing, created: !!inserted };
}

export async function renameUser(db: Db, clock: Clock, userId: string, name: string): Promise<void> {
  await db`update users set name = ${name}, updated_at = ${clock.now()} where id = ${userId}`;
}

/**
 * The last step of registration (or of an MFA reset): the account becomes active with its
 * factor (replacing any it held), its password (kept when none is given) and the Terms of Use.
 * Null when the account was disabled meanwhile, or would be left without a password.
 */
export async function activateUser(
  db: Db,
  clock: Clock,
  input: { userId: string; factor: { kind: FactorKind; destination: string | null } & FactorMaterial; passwordHash: string | null; termsVersion: string },
): Promise<User | null> {
  const now = clock.now();
  const { kind, destination } = input.factor;
  const [row] = await db<{ id: string }[]>`
    update users set
      status = 'active',
      mfa_method = ${kind},
      phone_e164 = ${kind === "phone" ? destination : null},
      password_hash = coalesce(${input.passwordHash}, password_hash),
      terms_version = ${input.termsVersion},
      terms_accepted_at = ${now},
      updated_at = ${now}
    where id = ${input.userId} and status <> 'disabled' and (password_hash is not null or ${input.passwordHash}::text is not null)
    returning id`;
  if (!row) return null;
  await db`delete from user_factors where user_id = ${input.userId}`;
  await addFactor(db, clock, input.userId, input.factor);
  return findUserById(db, input.userId);
}

/** A factor the account now holds (its label from its kind and destination unless the person named it). */
export async function addFactor(db: Db, clock: Clock, userId: string, factor: { kind: FactorKind; destination: string | null } & FactorMaterial): Promise<void> {
  await db`
    insert into user_factors (user_id, kind, label, destination, secret, last_used_step, credential_id, sign_count, transports, created_at)
    values (${userId}, ${factor.kind}, ${factor.label ?? factorLabel(factor.kind, factor.destination)}, ${factor.destination},
      ${factor.secret ?? null}, ${factor.lastUsedStep ?? null}, ${factor.credentialId ?? null}, ${factor.signCount ?? null},
      ${factor.transports ?? null}, ${clock.now()})`;
}

/** The account's factors of a kind end (an authenticator app replaced by a new one). */
export async function removeFactorsOfKind(db: Db, userId: string, kind: FactorKind): Promise<void> {
  await db`delete from user_factors where user_id = ${userId} and kind = ${kind}`;
}

/**
 * The person's Remove on the account page: the factor goes, if it is theirs and of a kind that
 * can be removed (the authenticator app, a passkey). What it was comes back, or null.
 */
export async function removeFactorById(db: Db, userId: string, factorId: string): Promise<{ kind: FactorKind; label: string } | null> {
  const [row] = await db<{ kind: FactorKind; label: string }[]>`
    delete from user_factors where id = ${factorId} and user_id = ${userId} and kind in ('totp', 'passkey')
    returning kind, label`;
  return row ?? null;
}

/** True when the account holds a factor of this kind. */
export async function hasFactor(db: Db, userId: string, kind: FactorKind): Promise<boolean> {
  const [row] = await db`select 1 from user_factors where user_id = ${userId} and kind = ${kind} limit 1`;
  return !!row;
}

/** A factor passed a sign-in or a reset: its last use, for the account page. */
export async function touchFactor(db: Db, clock: Clock, userId: string, kind: FactorKind): Promise<void> {
  await db`update user_factors set last_used_at = ${clock.now()} where user_id = ${userId} and kind = ${kind}`;
}

export async function recordTermsAccepted(db: Db, clock: Clock, userId: string, version: string): Promise<void> {
  const now = clock.now();
  await db`update users set terms_version = ${version}, terms_accepted_at = ${now}, updated_at = ${now} where id = ${userId}`;
}

/** A new password hash (a reset, or a rehash at sign-in when the parameters rose). */
export async function setPasswordHash(db: Db, clock: Clock, userId: string, passwordHash: string): Promise<void> {
  await db`update users set password_hash = ${passwordHash}, updated_at = ${clock.now()} where id = ${userId}`;
}

export async function recordSignIn(db: Db, clock: Clock, userId: string): Promise<void> {
  await db`update users set last_sign_in_at = ${clock.now()} where id = ${userId}`;
}

// ── Account changes ──────────────────────────────────────────────────────────────────────────
// The person's own changes from the account page (src/flows/account.ts), each after a
// "Confirm it's you" and inside the caller's transaction.

/** The account's password hash, for checking its Current Password (null: no local password, a staff account). */
export async function findPasswordHash(db: Db, userId: string): Promise<string | null> {
  const [row] = await db<{ passwordHash: string | null }[]>`select password_hash as "passwordHash" from users where id = ${userId}`;
  return row?.passwordHash ?? null;
}

/**
 * The new, proved number replaces the phone factor's (its label follows), and the users mirror
 * with it. False when the account holds no phone factor (nothing is changed then).
 */
export async function replacePhoneFactor(db: Db, clock: Clock, userId: string, e164: string): Promise<boolean> {
  const now = clock.now();
  const changed = await db`
    update user_factors set destination = ${e164}, label = ${factorLabel("phone", e164)}
    where user_id = ${userId} and kind = 'phone'
    returning id`;
  if (changed.length === 0) return false;
  await db`update users set phone_e164 = ${e164}, updated_at = ${now} where id = ${userId} and mfa_method = 'phone'`;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Writes of the admin actions (src/flows/admin.ts). Each takes `db` first so it runs inside the
// caller's transaction, after the caller locked the row and checked the last-administrator rule.

/** Disabled, keeping what the account was (still registering, or registered) so enabling puts it back. */
export async function disableUser(db: Db, now: Date, userId: string, previousStatus: "invited" | "active"): Promise<void> {
  await db`update users set status = 'disabled', status_before_disable = ${previousStatus}, updated_at = ${now}
    where id = ${userId}`;
}

/**
 * An administrator's Reset MFA: the authenticator app and every passkey end at once (a lost
 * phone or laptop stops signing in now); the phone or email factor stays until the new one is set up.
 */
export async function removeStrongFactors(db: Db, userId: string): Promise<number> {
  const removed = await db`delete from user_factors where user_id = ${userId} and kind in ('totp', 'passkey') returning id`;
  return removed.length;
}

/** Back to `status` (the one kept by disableUser), forgetting it. */
export async function enableUser(db: Db, now: Date, userId: string, status: "invited" | "active"): Promise<void> {
  await db`update users set status = ${status}, status_before_disable = null, updated_at = ${now} where id = ${userId}`;
}

export async function setUserRole(db: Db, now: Date, userId: string, role: Role): Promise<void> {
  await db`update users set role = ${role}, updated_at = ${now} where id = ${userId}`;
}

// ── Staff accounts ───────────────────────────────────────────────────────────────────────────
// Made just in time by staff sign-in (src/flows/staff-sign-in.ts), keyed on the issuer and the
// token's `sub`, never on the email. They hold no password, phone or MFA method (0007 checks it).

export interface StaffIdentity {
  issuer: string;
  subject: string;
}

export interface StaffProfile {
  email: string;
  name: string;
  /** Undefined: the role stays as it is (no admin group is configured, so the admin page decides). */
  role: Role | undefined;
}

/** The staff account of this issuer and subject, locked for the caller's transaction. */
export async function findStaffUserForUpdate(db: Db, identity: StaffIdentity): Promise<User | null> {
  const [user] = await db<User[]>`
    select ${userColumns(db)} from users
    where staff_issuer = ${identity.issuer} and staff_subject = ${identity.subject}
    for update`;
  return user ?? null;
}

/**
 * A new, active staff account. Null when the address already belongs to another account (an
 * account is never taken over through its email) or a racing first sign-in made it first.
 */
export async function createStaffUser(db: Db, clock: Clock, identity: StaffIdentity, profile: StaffProfile): Promise<User | null> {
  const now = clock.now();
  const [user] = await db<User[]>`
    insert into users (email, email_normalized, name, role, status, staff_issuer, staff_subject, created_at, updated_at)
    values (${profile.email.trim()}, ${normalizeEmail(profile.email)}, ${profile.name}, ${profile.role ?? "provider"}, 'active',
      ${identity.issuer}, ${identity.subject}, ${now}, ${now})
    on conflict do nothing
    returning ${userColumns(db)}`;
  return user ?? null;
}

/**
 * Brings a staff account up to date with its latest token. The email changes only when no other
 * account holds the new address (else the old one stays and `emailKept` says so).
 */
export async function updateStaffUser(db: Db, clock: Clock, userId: string, profile: StaffProfile): Promise<{ user: User; emailKept: boolean }> {
  const normalized = normalizeEmail(profile.email);
  const [taken] = await db`select 1 from users where email_normalized = ${normalized} and id <> ${userId}`;
  const [user] = await db<User[]>`
    update users set
      name = ${profile.name},
      role = ${profile.role ?? db`role`},
      email = ${taken ? db`email` : profile.email.trim()},
      email_normalized = ${taken ? db`email_normalized` : normalized},
      updated_at = ${clock.now()}
    where id = ${userId}
    returning ${userColumns(db)}`;
  return { user: user!, emailKept: !!taken };
}

/**
 * An account that signs in with a password here, by address. Staff accounts (no password) are
 * not found: the password reset answers them as it answers an unknown address.
 */
export async function findPasswordUserByEmail(db: Db, email: string): Promise<User | null> {
  const [user] = await db<User[]>`
    select ${userColumns(db)} from users where email_normalized = ${normalizeEmail(email)} and password_hash is not null`;
  return user ?? null;
}
