import type { Db } from "../db/client.ts";
import type { Clock } from "../clock.ts";
import { codeHmac } from "./codes.ts";

/**
 * Recovery codes (NIST 800-63B-4 look-up secrets): RECOVERY_CODE_COUNT per account, each 80
 * random bits from the CSPRNG written as 16 base32 characters in four groups, kept only as
 * HMAC-SHA-256(SECRET_KEY, code), each used once (a guarded UPDATE on used_at). This module is
 * the one that writes `recovery_codes`.
 */
export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

/** 16 base32 characters (80 bits), shown as xxxx-xxxx-xxxx-xxxx. */
export function generateRecoveryCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  // 32 symbols divide 256 evenly, so each character is uniform (5 bits of each byte).
  const chars = Array.from(bytes, (b) => ALPHABET[b & 31]!).join("");
  return chars.match(/.{4}/g)!.join("-");
}

/** What a typed code is compared as: lower case, without spaces or dashes. */
export function normalizeRecoveryCode(typed: string): string {
  return typed.toLowerCase().replace(/[\s-]/g, "");
}

/** A fresh set of codes replaces every earlier one; the codes come back once, for the page. */
export async function replaceRecoveryCodes(db: Db, clock: Clock, secretKey: string, userId: string): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, generateRecoveryCode);
  await db`delete from recovery_codes where user_id = ${userId}`;
  const now = clock.now();
  for (const code of codes) {
    await db`insert into recovery_codes (user_id, code_hash, created_at) values (${userId}, ${codeHmac(secretKey, normalizeRecoveryCode(code))}, ${now})`;
  }
  return codes;
}

/** Uses up the typed code if it is one of the account's unused codes (of two racing requests, one wins). */
export async function useRecoveryCode(db: Db, clock: Clock, secretKey: string, userId: string, typed: string): Promise<boolean> {
  const normalized = normalizeRecoveryCode(typed);
  if (!/^[a-z2-7]{16}$/.test(normalized)) return false;
  const [row] = await db`
    update recovery_codes set used_at = ${clock.now()}
    where user_id = ${userId} and code_hash = ${codeHmac(secretKey, normalized)} and used_at is null
    returning id`;
  return !!row;
}

export async function countRecoveryCodesLeft(db: Db, userId: string): Promise<number> {
  const [row] = await db<{ n: number }[]>`select count(*)::int as n from recovery_codes where user_id = ${userId} and used_at is null`;
  return row?.n ?? 0;
}

/** An administrator's Reset MFA: no code of the old factors survives. */
export async function deleteRecoveryCodes(db: Db, userId: string): Promise<void> {
  await db`delete from recovery_codes where user_id = ${userId}`;
}
