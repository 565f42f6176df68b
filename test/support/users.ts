/**
 * Registered test users, inserted straight into the database (no invitation, no wizard), for the
 * tests of everything that comes after registration. Each call makes a new unique address.
 */
import type { Sql } from "../../src/db/client.ts";
import { hashPassword } from "../../src/auth/passwords.ts";
import { addFactor, findUserById, normalizeEmail, type MfaMethod, type Role, type User } from "../../src/auth/users.ts";
import { systemClock } from "../../src/clock.ts";
import { TERMS_VERSION } from "../../src/terms.ts";
import { uniqueEmail } from "./harness.ts";

/** A password that passes the policy and is never a test's guess. */
export const TEST_PASSWORD = "amber-kettle-orbit-7-violin";

let phones = 0;
/** A distinct, valid US direct line per call (area code 415, exchanges 220..899 without N11 ones). */
export function uniquePhone(): string {
  phones += 1;
  let exchange = 220 + (phones % 680);
  if (exchange % 100 === 11) exchange += 1;
  const line = String((process.pid * 37 + phones) % 10000).padStart(4, "0");
  return `+1415${exchange}${line}`;
}

export interface ActiveUserInput {
  email?: string;
  password?: string;
  method: MfaMethod;
  /** E.164; defaults to a fresh number for the phone method, none for email. */
  phone?: string | null;
  role?: Role;
  name?: string;
  /** Defaults to the current TERMS_VERSION (accepted); pass another value to make sign-in ask again. */
  termsVersion?: string | null;
}

export interface ActiveUser {
  id: string;
  email: string;
  password: string;
  phone: string | null;
  user: User;
}

export async function createActiveUser(sql: Sql, input: ActiveUserInput): Promise<ActiveUser> {
  const email = input.email ?? uniqueEmail();
  const password = input.password ?? TEST_PASSWORD;
  const phone = input.phone === undefined ? (input.method === "phone" ? uniquePhone() : null) : input.phone;
  const termsVersion = input.termsVersion === undefined ? TERMS_VERSION : input.termsVersion;
  const passwordHash = await hashPassword(password);
  const [row] = await sql<{ id: string }[]>`
    insert into users (email, email_normalized, name, role, status, mfa_method, phone_e164, password_hash,
      terms_version, terms_accepted_at)
    values (${email}, ${normalizeEmail(email)}, ${input.name ?? "Test Provider"}, ${input.role ?? "provider"}, 'active',
      ${input.method}, ${phone}, ${passwordHash}, ${termsVersion}, ${termsVersion ? new Date() : null})
    returning id`;
  // A phone account without a number holds no phone factor (the sign-in then offers the email code).
  if (input.method === "email" || phone) await addFactor(sql, systemClock, row!.id, { kind: input.method, destination: phone ?? email });
  const user = await findUserById(sql, row!.id);
  return { id: row!.id, email, password, phone, user: user! };
}
