import type { MiddlewareHandler } from "hono";
import { resolveScope } from "../orgs/scope.ts";
import type { AppDeps, AppEnv } from "./env.ts";
import { validateSessionToken } from "../auth/sessions.ts";
import { clearCookie, readCookie } from "./cookies.ts";
import { isProviderServerPath } from "../apps/oidc-paths.ts";

type Mw = MiddlewareHandler<AppEnv>;

/** Headers on every response, fragments and errors included (they are set before the handler runs). */
export function securityHeaders(deps: AppDeps): Mw {
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    // Home realm discovery answers the sign-in form with redirects on to the staff issuer, and
    // browsers hold those redirects to form-action too.
    `form-action 'self'${deps.config.staffOidc ? ` ${new URL(deps.config.staffOidc.issuer).origin}` : ""}`,
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join("; ");
  return async (c, next) => {
    await next();
    const h = c.res.headers;
    h.set("Content-Security-Policy", csp);
    h.set("X-Content-Type-Options", "nosniff");
    h.set("X-Frame-Options", "DENY");
    h.set("Cross-Origin-Opener-Policy", "same-origin");
    h.set("Cross-Origin-Resource-Policy", "same-origin");
    h.set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()");
    if (!h.has("Referrer-Policy")) h.set("Referrer-Policy", "same-origin");
    if (deps.config.secure) h.set("Strict-Transport-Security", "max-age=63072000; includeSubDomains");
    // Only content-hashed static files may be cached; every page may hold personal or flow data.
    if (!h.has("Cache-Control")) h.set("Cache-Control", "no-store");
  };
}

/** Paths that are POSTed by something other than our pages: Twilio (signed instead), the dev outbox's stand-in for a phone, OIDC clients. */
function exemptFromOriginCheck(path: string): boolean {
  return path.startsWith("/webhooks/twilio/") || /^\/dev\/outbox\/\d+\/answer$/.test(path) || isProviderServerPath(path);
}

/**
 * Every state-changing request must come from our own origin: Origin equal to PUBLIC_URL's, or,
 * when a browser sends no Origin, Sec-Fetch-Site: same-origin. A request with neither is refused
 * (Hono's csrf() lets those through for non-form content types, hence our own check).
 */
export function originCheck(deps: AppDeps): Mw {
  const allowed = new URL(deps.config.publicUrl).origin;
  return async (c, next) => {
    const method = c.req.method;
    if (method === "GET" || method === "HEAD" || method === "OPTIONS" || exemptFromOriginCheck(c.req.path)) return next();
    const origin = c.req.header("origin");
    const site = c.req.header("sec-fetch-site");
    const ok = origin ? origin === allowed : site === "same-origin";
    if (!ok) {
      return c.text("This request did not come from the portal's own pages, so it was refused.", 403);
    }
    return next();
  };
}

/**
 * A request still unanswered after `ms` fails as the database being unreachable (the app's 503
 * page), instead of hanging: a query on a connection the database dropped can be lost inside
 * postgres.js (porsager/postgres#1208) and would otherwise never settle.
 */
export function requestDeadline(ms: number): Mw {
  return async (_c, next) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${ms} ms`), { code: "ETIMEDOUT" })), ms);
    });
    try {
      await Promise.race([next(), late]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** Client address from the socket; with TRUST_PROXY=n, the n-th address from the right of X-Forwarded-For. */
export function clientInfo(deps: AppDeps): Mw {
  return async (c, next) => {
    let ip = deps.remoteAddress?.(c.req.raw, c.env) ?? "127.0.0.1";
    const hops = deps.config.trustProxy;
    if (hops > 0) {
      const chain = (c.req.header("x-forwarded-for") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
      ip = chain[chain.length - hops] ?? ip;
    }
    c.set("ip", ip.slice(0, 64));
    c.set("userAgent", (c.req.header("user-agent") ?? "").slice(0, 300));
    return next();
  };
}

/** Puts `user` and `session` on the context from the session cookie; a dead cookie is cleared. */
export function sessionMiddleware(deps: AppDeps): Mw {
  return async (c, next) => {
    const token = readCookie(c, deps.config, "session");
    c.set("user", null);
    c.set("session", null);
    if (token) {
      const result = await validateSessionToken(deps.sql, deps.clock, deps.config.ttl, token);
      if (result.session) {
        c.set("user", result.user);
        c.set("session", result.session);
        // One index probe on memberships, for the Administration link of an organization's administrator.
        if (result.user.role !== "admin") c.set("administers", (await resolveScope(deps.sql, result.user)) !== null);
      } else {
        clearCookie(c, deps.config, "session");
      }
    }
    return next();
  };
}

/** Request log: method, route with tokens cut out, status, time. Never a query string or a body. */
export function requestLog(deps: AppDeps): Mw {
  return async (c, next) => {
    const started = performance.now();
    await next();
    if (!deps.config.logRequests) return;
    // Probes hit these every few seconds; only their failures are worth a line.
    if ((c.req.path === "/healthz" || c.req.path === "/readyz") && c.res.status < 400) return;
    deps.log.info("request", {
      method: c.req.method,
      path: redactPath(c.req.path),
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
  };
}

/** Replaces path segments that look like tokens (long random strings) so links never reach the log. */
export function redactPath(path: string): string {
  return path
    .split("/")
    .map((segment) => (segment.length >= 20 && !/^[a-z]+(-[a-z]+)*$/.test(segment) ? ":token" : segment))
    .join("/");
}
