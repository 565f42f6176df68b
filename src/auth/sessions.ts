import type { Db } from "../db/client.ts";
import type { Clock } from "../clock.ts";
import { generateTokenPair, secretMatches, splitToken } from "./tokens.ts";
import { userColumns, type LoginOption, type User } from "./users.ts";

/** Lucia's session design (lucia-auth.com, the implementation guide that replaced the lucia package). */
export interface Session {
  id: string;
  userId: string;
  createdAt: Date;
  lastActiveAt: Date;
  loginOption: LoginOption | null;
  /** What the sign-in proved (RFC 8176 amr values: pwd, mfa, sms, tel, email). */
  amr: string[];
  /** When the last of those proofs was made (a Remember Me sign-in keeps the remembered one's). */
  authenticatedAt: Date | null;
}

/** What a sign-in proved, and when. */
export interface Proof {
  amr: string[];
  authenticatedAt: Date | null;
}

export const NO_PROOF: Proof = { amr: [], authenticatedAt: null };

export interface SessionTtl {
  sessionIdle: number;
  sessionMax: number;
}

export type SessionValidation = { session: Session; user: User } | { session: null; user: null };

// Writing last_active_at on every request would turn each page view into a write; a minute is fine-grained enough.
const TOUCH_INTERVAL = 60_000;

export async function createSession(
  db: Db,
  clock: Clock,
  userId: string,
  loginOption: LoginOption | null,
  proof: Proof = NO_PROOF,
): Promise<{ token: string; session: Session }> {
  const pair = generateTokenPair();
  const now = clock.now();
  await db`insert into sessions (id, secret_hash, user_id, created_at, last_active_at, login_option, amr, authenticated_at)
    values (${pair.id}, ${pair.secretHash}, ${userId}, ${now}, ${now}, ${loginOption}, ${proof.amr}, ${proof.authenticatedAt})`;
  return { token: pair.token, session: { id: pair.id, userId, createdAt: now, lastActiveAt: now, loginOption, ...proof } };
}

export async function validateSessionToken(db: Db, clock: Clock, ttl: SessionTtl, token: string | undefined): Promise<SessionValidation> {
  const parts = splitToken(token);
  if (!parts) return { session: null, user: null };
  const [row] = await db<
    (User & { secretHash: Uint8Array; sCreatedAt: Date; sLastActiveAt: Date; sLoginOption: LoginOption | null; sAmr: string[]; sAuthenticatedAt: Date | null })[]
  >`
    select ${userColumns(db, "u")}, s.secret_hash as "secretHash", s.created_at as "sCreatedAt",
      s.last_active_at as "sLastActiveAt", s.login_option as "sLoginOption", s.amr as "sAmr", s.authenticated_at as "sAuthenticatedAt"
    from sessions s join users u on u.id = s.user_id
    where s.id = ${parts.id}`;
  if (!row || !secretMatches(parts.secret, row.secretHash)) return { session: null, user: null };
  const now = clock.now().getTime();
  const idle = now - row.sLastActiveAt.getTime() >= ttl.sessionIdle;
  const tooOld = now - row.sCreatedAt.getTime() >= ttl.sessionMax;
  if (idle || tooOld || row.status !== "active") {
    await invalidateSession(db, parts.id);
    return { session: null, user: null };
  }
  let lastActiveAt = row.sLastActiveAt;
  if (now - lastActiveAt.getTime() >= TOUCH_INTERVAL) {
    lastActiveAt = new Date(now);
    await db`update sessions set last_active_at = ${lastActiveAt} where id = ${parts.id}`;
  }
  const { secretHash: _h, sCreatedAt, sLastActiveAt: _l, sLoginOption, sAmr, sAuthenticatedAt, ...user } = row;
  return {
    session: { id: parts.id, userId: user.id, createdAt: sCreatedAt, lastActiveAt, loginOption: sLoginOption, amr: sAmr, authenticatedAt: sAuthenticatedAt },
    user,
  };
}

export async function invalidateSession(db: Db, sessionId: string): Promise<void> {
  await db`delete from sessions where id = ${sessionId}`;
}

/** Ends every session of a user (password reset, MFA reset, disable), optionally keeping one. */
export async function invalidateUserSessions(db: Db, userId: string, exceptSessionId: string | null = null): Promise<void> {
  await db`delete from sessions where user_id = ${userId} and id is distinct from ${exceptSessionId}`;
}
