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
  /** Where the session was started from (the account page lists them); null before migration 0009. */
  ip: string | null;
  userAgent: string | null;
  /** The last "Confirm it's you" of this session, and the change it was asked for (account page). */
  reauthenticatedAt: Date | null;
  reauthFor: string | null;
}

/** Where a request came from, as clientInfo read it. */
export interface SessionClient {
  ip: string;
  userAgent: string;
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

/** A session just written, and the token for its cookie. */
export interface StartedSession {
  token: string;
  session: Session;
}

export async function createSession(
  db: Db,
  clock: Clock,
  userId: string,
  loginOption: LoginOption | null,
  proof: Proof = NO_PROOF,
  client: SessionClient | null = null,
): Promise<StartedSession> {
  const pair = generateTokenPair();
  const now = clock.now();
  const ip = client?.ip || null;
  const userAgent = client?.userAgent || null;
  await db`insert into sessions (id, secret_hash, user_id, created_at, last_active_at, login_option, amr, authenticated_at, ip, user_agent)
    values (${pair.id}, ${pair.secretHash}, ${userId}, ${now}, ${now}, ${loginOption}, ${proof.amr}, ${proof.authenticatedAt}, ${ip}, ${userAgent})`;
  return {
    token: pair.token,
    session: { id: pair.id, userId, createdAt: now, lastActiveAt: now, loginOption, ...proof, ip, userAgent, reauthenticatedAt: null, reauthFor: null },
  };
}

export async function validateSessionToken(db: Db, clock: Clock, ttl: SessionTtl, token: string | undefined): Promise<SessionValidation> {
  const parts = splitToken(token);
  if (!parts) return { session: null, user: null };
  const [row] = await db<
    (User & { secretHash: Uint8Array; sCreatedAt: Date; sLastActiveAt: Date; sLoginOption: LoginOption | null; sAmr: string[]; sAuthenticatedAt: Date | null;
      sIp: string | null; sUserAgent: string | null; sReauthenticatedAt: Date | null; sReauthFor: string | null })[]
  >`
    select ${userColumns(db, "u")}, s.secret_hash as "secretHash", s.created_at as "sCreatedAt",
      s.last_active_at as "sLastActiveAt", s.login_option as "sLoginOption", s.amr as "sAmr", s.authenticated_at as "sAuthenticatedAt",
      s.ip as "sIp", s.user_agent as "sUserAgent", s.reauthenticated_at as "sReauthenticatedAt", s.reauth_for as "sReauthFor"
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
  const { secretHash: _h, sCreatedAt, sLastActiveAt: _l, sLoginOption, sAmr, sAuthenticatedAt, sIp, sUserAgent, sReauthenticatedAt, sReauthFor, ...user } = row;
  return {
    session: {
      id: parts.id,
      userId: user.id,
      createdAt: sCreatedAt,
      lastActiveAt,
      loginOption: sLoginOption,
      amr: sAmr,
      authenticatedAt: sAuthenticatedAt,
      ip: sIp,
      userAgent: sUserAgent,
      reauthenticatedAt: sReauthenticatedAt,
      reauthFor: sReauthFor,
    },
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

/* ── the account page (src/flows/account.ts) ── */

/** A live session as the account page lists it (never its secret). */
export interface SessionSummary {
  id: string;
  createdAt: Date;
  lastActiveAt: Date;
  ip: string | null;
  userAgent: string | null;
}

/** The user's sessions that still work (not idle or too old by `ttl`), the most recently active first. */
export async function listUserSessions(db: Db, clock: Clock, ttl: SessionTtl, userId: string): Promise<SessionSummary[]> {
  const now = clock.now().getTime();
  const idleSince = new Date(now - ttl.sessionIdle);
  const startedSince = new Date(now - ttl.sessionMax);
  return db<SessionSummary[]>`
    select id, created_at as "createdAt", last_active_at as "lastActiveAt", ip, user_agent as "userAgent"
    from sessions
    where user_id = ${userId} and last_active_at > ${idleSince} and created_at > ${startedSince}
    order by last_active_at desc, created_at desc, id`;
}

/**
 * Ends one session of this user, never the caller's own (that is Sign out) and never another
 * user's: an id that is not theirs matches nothing. True when a session ended.
 */
export async function invalidateOtherSession(db: Db, userId: string, sessionId: string, currentSessionId: string): Promise<boolean> {
  const ended = await db`delete from sessions where id = ${sessionId} and user_id = ${userId} and id <> ${currentSessionId} returning id`;
  return ended.length === 1;
}

/** Ends every other session of the user; how many ended. */
export async function invalidateOtherSessions(db: Db, userId: string, currentSessionId: string): Promise<number> {
  const ended = await db`delete from sessions where user_id = ${userId} and id <> ${currentSessionId} returning id`;
  return ended.length;
}

/** The session passed "Confirm it's you" now, for the change `forChange`. */
export async function recordReauthentication(db: Db, clock: Clock, sessionId: string, forChange: string | null): Promise<void> {
  await db`update sessions set reauthenticated_at = ${clock.now()}, reauth_for = ${forChange} where id = ${sessionId}`;
}

/** The change a confirmation was asked for is done: its leeway ends (REAUTH_TTL still counts). */
export async function clearReauthGrant(db: Db, sessionId: string): Promise<void> {
  await db`update sessions set reauth_for = null where id = ${sessionId} and reauth_for is not null`;
}
