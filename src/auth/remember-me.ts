import type { Db } from "../db/client.ts";
import type { Clock } from "../clock.ts";
import { generateTokenPair, secretMatches, splitToken } from "./tokens.ts";
import type { LoginOption } from "./users.ts";
import { NO_PROOF, type Proof } from "./sessions.ts";

/**
 * Remember Me (a deviation kept on purpose, see security.md): for REMEMBER_ME_TTL the browser may
 * skip credentials and MFA, but only on the login option it was remembered for, only while the
 * account is active, and revocably (the row is the authority; the cookie only names it).
 */
/** `proof` is what the remembered sign-in proved: a sign-in through the token proves nothing new, so its session copies it. */
export async function createRememberToken(db: Db, clock: Clock, userId: string, loginOption: LoginOption, ttlMs: number, proof: Proof = NO_PROOF): Promise<string> {
  const pair = generateTokenPair();
  const now = clock.now();
  await db`
    insert into remember_tokens (id, secret_hash, user_id, login_option, created_at, expires_at, amr, authenticated_at)
    values (${pair.id}, ${pair.secretHash}, ${userId}, ${loginOption}, ${now}, ${new Date(now.getTime() + ttlMs)}, ${proof.amr}, ${proof.authenticatedAt})`;
  return pair.token;
}

/** What the sign-in a token remembers proved (read once validateRememberToken accepted the token). */
export async function rememberedProof(db: Db, token: string): Promise<Proof> {
  const parts = splitToken(token);
  if (!parts) return NO_PROOF;
  const [row] = await db<Proof[]>`select amr, authenticated_at as "authenticatedAt" from remember_tokens where id = ${parts.id}`;
  return row ?? NO_PROOF;
}

/** The remembered user, or null for another option, an expired, forgotten, forged or unknown token, or an inactive account. */
export async function validateRememberToken(
  db: Db,
  clock: Clock,
  token: string | undefined | null,
  loginOption: LoginOption,
): Promise<{ userId: string } | null> {
  const parts = splitToken(token);
  if (!parts) return null;
  const [row] = await db<{ userId: string; secretHash: Uint8Array; loginOption: LoginOption; expiresAt: Date; status: string }[]>`
    select r.user_id as "userId", r.secret_hash as "secretHash", r.login_option as "loginOption",
      r.expires_at as "expiresAt", u.status
    from remember_tokens r join users u on u.id = r.user_id
    where r.id = ${parts.id}`;
  if (!row || !secretMatches(parts.secret, row.secretHash)) return null;
  if (row.expiresAt.getTime() <= clock.now().getTime()) {
    await db`delete from remember_tokens where id = ${parts.id}`;
    return null;
  }
  if (row.loginOption !== loginOption || row.status !== "active") return null;
  return { userId: row.userId };
}

/**
 * Whether the browser's token is live for any login option (known, its secret right, not expired,
 * the account active): the sign-in page then shows the box checked (product.md §9), so pressing
 * the same Login button as it stands is all it takes. Reads only; an expired row is left for
 * validateRememberToken or the purge.
 */
export async function isRememberTokenLive(db: Db, clock: Clock, token: string | undefined | null): Promise<boolean> {
  const parts = splitToken(token);
  if (!parts) return false;
  const [row] = await db<{ secretHash: Uint8Array; expiresAt: Date; status: string }[]>`
    select r.secret_hash as "secretHash", r.expires_at as "expiresAt", u.status
    from remember_tokens r join users u on u.id = r.user_id
    where r.id = ${parts.id}`;
  if (!row || !secretMatches(parts.secret, row.secretHash)) return false;
  return row.expiresAt.getTime() > clock.now().getTime() && row.status === "active";
}

/** Every Remember Me of a user ends (password or MFA reset, disable, "forget this browser"). */
export async function forgetRememberTokens(db: Db, userId: string): Promise<void> {
  await db`delete from remember_tokens where user_id = ${userId}`;
}

/** The Remember Me tokens of one login option end (a phone change ends Login with Phone's). */
export async function forgetRememberTokensFor(db: Db, userId: string, loginOption: LoginOption): Promise<void> {
  await db`delete from remember_tokens where user_id = ${userId} and login_option = ${loginOption}`;
}

/** Every Remember Me of a user ends but the one this browser holds (Sign out of all other sessions). */
export async function forgetOtherRememberTokens(db: Db, userId: string, keepToken: string | undefined | null): Promise<void> {
  const keep = splitToken(keepToken)?.id ?? null;
  await db`delete from remember_tokens where user_id = ${userId} and id is distinct from ${keep}`;
}

/** Ends the one token a browser holds. Only the id part is needed to find it. */
export async function deleteRememberToken(db: Db, token: string | undefined | null): Promise<void> {
  const parts = splitToken(token);
  if (!parts) return;
  await db`delete from remember_tokens where id = ${parts.id}`;
}
