import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Config } from "../config.ts";

/** The portal's cookies. All are HttpOnly, SameSite=Lax, Path=/ and have no Expires: they end with the browser. */
export type CookieKind = "session" | "flow" | "remember" | "staff";

export function cookieName(config: Config, kind: CookieKind): string {
  // __Host- binds the cookie to this exact origin (no Domain, Secure, Path=/), which needs https.
  // With COOKIE_DOMAIN the session cookie has a Domain, which __Host- forbids: __Secure- still demands https.
  if (config.secure && kind === "session" && config.cookieDomain) return `__Secure-${kind}`;
  return config.secure ? `__Host-${kind}` : kind;
}

/** Only the session cookie goes to sibling hosts (forward-auth applications); flows and Remember Me stay on the portal's. */
function domainOf(config: Config, kind: CookieKind): string | undefined {
  return kind === "session" ? config.cookieDomain : undefined;
}

export function readCookie(c: Context, config: Config, kind: CookieKind): string | undefined {
  return getCookie(c, cookieName(config, kind));
}

export function writeCookie(c: Context, config: Config, kind: CookieKind, value: string): void {
  setCookie(c, cookieName(config, kind), value, { httpOnly: true, sameSite: "Lax", path: "/", secure: config.secure, domain: domainOf(config, kind) });
}

export function clearCookie(c: Context, config: Config, kind: CookieKind): void {
  deleteCookie(c, cookieName(config, kind), { path: "/", secure: config.secure, domain: domainOf(config, kind) });
}
