import type { Db } from "../db/client.ts";
import type { Clock } from "../clock.ts";
import { hashSecret, randomString } from "./tokens.ts";

/**
 * Emailed link tokens: 160 random bits (32 base32 characters), only SHA-256(token) stored, single
 * use, expiring; a new token kills the unused older ones of the same purpose. ASVS 6.4.1.
 */
export type LinkPurpose = "registration" | "registration_reset" | "resume" | "mfa_reset";
export const LINK_PURPOSES: readonly LinkPurpose[] = ["registration", "registration_reset", "resume", "mfa_reset"];

const TOKEN_BYTES = 20;
const TOKEN_PATTERN = /^[a-z2-7]{32}$/;

export type ConsumeLinkResult =
  | { ok: true; userId: string; purpose: LinkPurpose }
  | { ok: false; reason: "invalid" | "expired" | "used"; userId?: string };

export async function createLinkToken(
  db: Db,
  clock: Clock,
  input: { userId: string; purpose: LinkPurpose; ttlMs: number; revoke?: LinkPurpose[] },
): Promise<string> {
  const token = randomString(TOKEN_BYTES);
  const now = clock.now();
  const expiresAt = new Date(now.getTime() + input.ttlMs);
  const purposes = [...new Set([input.purpose, ...(input.revoke ?? [])])];
  await db`
    with revoked as (
      update link_tokens set revoked_at = ${now}
      where user_id = ${input.userId} and purpose in ${db(purposes)} and used_at is null and revoked_at is null
    )
    insert into link_tokens (token_hash, user_id, purpose, created_at, expires_at)
    values (${hashSecret(token)}, ${input.userId}, ${input.purpose}, ${now}, ${expiresAt})`;
  return token;
}

/**
 * Uses a token once, if it is one of `purposes`. A token superseded by a newer link answers "used"
 * (it was spent by the newer one); "expired" and "used" carry the user so the page can offer Reset.
 * A token of another purpose answers "invalid" and tells nothing about its user.
 */
export async function consumeLinkToken(db: Db, clock: Clock, token: string, purposes: LinkPurpose[]): Promise<ConsumeLinkResult> {
  if (typeof token !== "string" || !TOKEN_PATTERN.test(token) || purposes.length === 0) return { ok: false, reason: "invalid" };
  const now = clock.now();
  const tokenHash = hashSecret(token);
  const [used] = await db<{ userId: string; purpose: LinkPurpose }[]>`
    update link_tokens set used_at = ${now}
    where token_hash = ${tokenHash} and purpose in ${db(purposes)}
      and used_at is null and revoked_at is null and expires_at > ${now}
    returning user_id as "userId", purpose`;
  if (used) return { ok: true, userId: used.userId, purpose: used.purpose };
  const [row] = await db<{ userId: string; expiresAt: Date; usedAt: Date | null; revokedAt: Date | null }[]>`
    select user_id as "userId", expires_at as "expiresAt", used_at as "usedAt", revoked_at as "revokedAt"
    from link_tokens where token_hash = ${tokenHash} and purpose in ${db(purposes)}`;
  if (!row) return { ok: false, reason: "invalid" };
  if (row.usedAt || row.revokedAt) return { ok: false, reason: "used", userId: row.userId };
  return { ok: false, reason: "expired", userId: row.userId };
}

/** Kills a user's unused tokens of the given purposes (a new invitation, an MFA reset, a disable). */
export async function revokeLinkTokens(db: Db, userId: string, purposes: LinkPurpose[]): Promise<void> {
  if (purposes.length === 0) return;
  // No clock in this signature: the database's time only marks the row; nothing compares it.
  await db`
    update link_tokens set revoked_at = now()
    where user_id = ${userId} and purpose in ${db(purposes)} and used_at is null and revoked_at is null`;
}
