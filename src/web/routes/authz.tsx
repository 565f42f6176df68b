import { Hono, type Context } from "hono";
import type { AppDeps, AppEnv } from "../env.ts";
import { decideForwardAuth, urlFromForwarded, urlFromOriginal, type ForwardAuthDecision } from "../../apps/forward-auth.ts";

type C = Context<AppEnv>;

/**
 * Forward-auth endpoints for reverse proxies (Authelia's paths and answers). Cheap on purpose:
 * the session middleware's lookup and one indexed query, plain-text answers, no page rendering.
 */
export function authzRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();

  // nginx auth_request: not signed in is 401 with Location (the snippet turns it into a redirect).
  app.get("/api/authz/auth-request", async (c) => {
    const url = urlFromOriginal(c.req.header("x-original-url"));
    const decision = await decideForwardAuth(deps.sql, deps.config.publicUrl, url, c.get("user"));
    return answer(c, decision, "401");
  });

  // Traefik ForwardAuth and Caddy forward_auth: not signed in is a 302 for GET and HEAD, 401 otherwise.
  app.get("/api/authz/forward-auth", async (c) => {
    const url = urlFromForwarded(c.req.header("x-forwarded-proto"), c.req.header("x-forwarded-host"), c.req.header("x-forwarded-uri"));
    const decision = await decideForwardAuth(deps.sql, deps.config.publicUrl, url, c.get("user"));
    const method = (c.req.header("x-forwarded-method") ?? "GET").toUpperCase();
    return answer(c, decision, method === "GET" || method === "HEAD" ? "302" : "401");
  });

  return app;
}

function answer(c: C, decision: ForwardAuthDecision, signIn: "401" | "302"): Response {
  switch (decision.kind) {
    case "allow":
      for (const [name, value] of Object.entries(decision.headers)) c.header(name, encodeHeader(value));
      return c.text("Allowed.", 200);
    case "sign-in":
      c.header("Location", decision.location);
      return c.text("Sign in first.", signIn === "302" ? 302 : 401);
    case "forbidden":
      return c.text(decision.why === "group" ? "You are not allowed to use this application." : "This address belongs to no registered application.", 403);
    case "bad-request":
      return c.text(decision.message, 400);
  }
}

/** Header values are Latin-1: a name outside it (say Ngọc) goes percent-encoded rather than breaking the response. */
function encodeHeader(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}
