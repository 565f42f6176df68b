import type { Db } from "../db/client.ts";
import type { Clock } from "../clock.ts";

export type Role = "provider" | "admin";
export type LoginOption = "phone" | "email";
export type MfaMethod = LoginOption;

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  status: "invited" | "active" | "disabled";
  mfaMethod: MfaMethod | null;
  phoneE164: string | null;
  termsVersion: string | null;
  lockedUntil: Date | null;
  lastSignInAt: Date | null;
  createdAt: Date;
}

/** The columns a User is read from, as a fragment, so every query returns the same shape. */
export function userColumns(db: Db, table = "users") {
  const t = db(table);
  return db`${t}.id, ${t}.email, ${t}.name, ${t}.role, ${t}.status, ${t}.mfa_method as "mfaMethod",
    ${t}.phone_e164 as "phoneE164", ${t}.terms_version as "termsVersion", ${t}.locked_until as "lockedUntil",
    ${t}.last_sign_in_at as "lastSignInAt", ${t}.created_at as "createdAt"`;
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export async function findUserById(db: Db, id: string): Promise<User | null> {
  const [user] = await db<User[]>`select ${userColumns(db)} from users where id = ${id}`;
  return user ?? null;
}

export async function findUserByEmail(db: Db, email: string): Promise<User | null> {
  const [user] = await db<User[]>`select ${userColumns(db)} from users where email_normalized = ${normalizeEmail(email)}`;
  return user ?? null;
}

/** Masks a phone number for display: (•••) •••-1234. */
export function maskPhone(e164: string | null): string {
  if (!e164) return "";
  return `(•••) •••-${e164.slice(-4)}`;
}

// ---------------------------------------------------------------------------------------------
// Writes of the admin actions (src/flows/admin.ts). Each takes `db` first so it runs inside the
// caller's transaction, after the caller locked the row and checked the last-administrator rule.

/** Disabled, keeping what the account was (still registering, or registered) so enabling puts it back. */
export async function disableUser(db: Db, now: Date, userId: string, previousStatus: "invited" | "active"): Promise<void> {
  await db`update users set status = 'disabled', status_before_disable = ${previousStatus}, updated_at = ${now}
    where id = ${userId}`;
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
