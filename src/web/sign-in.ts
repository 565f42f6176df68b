import type { Context } from "hono";
import type { AppDeps, AppEnv } from "./env.ts";
import { createSession, invalidateSession, type Proof, type StartedSession } from "../auth/sessions.ts";
import { recordSignIn, type LoginOption, type User } from "../auth/users.ts";
import { clearCookie, writeCookie } from "./cookies.ts";
import { goToPage } from "./render.tsx";
import { endApplicationSessions } from "../apps/application-sessions.ts";

/**
 * The last step of registration and of every sign-in: a brand-new session (never a cookie the
 * browser brought along) holding what the sign-in proved, its cookie, and the user's last
 * sign-in time. The caller writes the audit event, since only it knows how the person got here.
 */
export async function startSession(c: Context<AppEnv>, deps: AppDeps, user: User, loginOption: LoginOption | null, proof: Proof, started?: StartedSession): Promise<void> {
  const previous = c.get("session");
  if (previous) await invalidateSession(deps.sql, previous.id);
  // Written already when the flow's last transaction did it (sign-in, with the flow's end); else
  // independent writes, sent together (one round trip).
  const { token, session } =
    started ??
    (
      await Promise.all([
        createSession(deps.sql, deps.clock, user.id, loginOption, proof, { ip: c.get("ip"), userAgent: c.get("userAgent") }),
        recordSignIn(deps.sql, deps.clock, user.id),
      ])
    )[0];
  writeCookie(c, deps.config, "session", token);
  clearCookie(c, deps.config, "flow");
  c.set("session", session);
  c.set("user", user);
}

/**
 * A flow's end: the session starts, the Remember Me cookie is kept (or forgotten), and the
 * browser goes where the flow was to end (its checked returnTo), else /home.
 */
export async function completeSignIn(
  c: Context<AppEnv>,
  deps: AppDeps,
  result: { user: User; option: LoginOption | null; amr: string[]; authenticatedAt: Date | null; rememberToken: string | null; clearRemember?: boolean; returnTo: string | null; started?: StartedSession },
): Promise<Response> {
  await startSession(c, deps, result.user, result.option, { amr: result.amr, authenticatedAt: result.authenticatedAt }, result.started);
  if (result.rememberToken) writeCookie(c, deps.config, "remember", result.rememberToken);
  else if (result.clearRemember) clearCookie(c, deps.config, "remember");
  return goToPage(c, result.returnTo ?? "/home");
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
