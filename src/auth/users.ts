import type { Db } from "../db/client.ts";

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
