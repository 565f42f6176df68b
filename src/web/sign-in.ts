import type { Context } from "hono";
import type { AppDeps, AppEnv } from "./env.ts";
import { createSession, invalidateSession } from "../auth/sessions.ts";
import type { LoginOption, User } from "../auth/users.ts";
import { clearCookie, writeCookie } from "./cookies.ts";
import { endApplicationSessions } from "../apps/application-sessions.ts";

/**
 * The last step of registration and of every sign-in: a brand-new session (never a cookie the
 * browser brought along), its cookie, and the user's last sign-in time. The caller writes the
 * audit event, since only it knows how the person got here.
 */
export async function startSession(c: Context<AppEnv>, deps: AppDeps, user: User, loginOption: LoginOption | null): Promise<void> {
  const previous = c.get("session");
  if (previous) await invalidateSession(deps.sql, previous.id);
  const { token, session } = await createSession(deps.sql, deps.clock, user.id, loginOption);
  await deps.sql`update users set last_sign_in_at = ${deps.clock.now()} where id = ${user.id}`;
  writeCookie(c, deps.config, "session", token);
  clearCookie(c, deps.config, "flow");
  c.set("session", session);
  c.set("user", user);
}

/** Sign out at the server and in the browser. */
export async function endSession(c: Context<AppEnv>, deps: AppDeps): Promise<void> {
  const session = c.get("session");
  if (session) await invalidateSession(deps.sql, session.id);
  // Signing out at the portal signs the person out of applications too (product.md §5).
  if (session) await endApplicationSessions(deps.sql, session.userId);
  clearCookie(c, deps.config, "session");
  c.set("session", null);
  c.set("user", null);
}
