import type { Context } from "hono";
import type { AppEnv } from "../env.ts";
import type { Scope } from "../../orgs/scope.ts";

/**
 * The scope the admin guard found for the signed-in administrator, kept per request. A WeakMap
 * on the request rather than a context variable: the app's shared helpers (render, goToPage)
 * take Context<AppEnv>, which a context with one more variable is not assignable to.
 */
const scopes = new WeakMap<Request, Scope>();

export function setScope(c: Context<AppEnv>, scope: Scope): void {
  scopes.set(c.req.raw, scope);
}

/** Every handler under /admin runs after the guard; a missing scope is a bug, never "everyone". */
export function scopeOf(c: Context<AppEnv>): Scope {
  const scope = scopes.get(c.req.raw);
  if (!scope) throw new Error("admin handler ran without the admin guard's scope");
  return scope;
}
