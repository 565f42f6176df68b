/**
 * COOKIE_DOMAIN (product.md §5): the session cookie carries the Domain (with __Secure- on https
 * instead of __Host-), so forward-auth applications on sibling hosts receive it; other cookies
 * stay on the portal's host; a domain that does not cover PUBLIC_URL stops the start.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Hono } from "hono";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { cookieName, writeCookie } from "../../src/web/cookies.ts";
import { createTestContext } from "../support/harness.ts";
import { createActiveUser } from "../support/users.ts";
import { createSession } from "../../src/auth/sessions.ts";
import { createForwardAuthApplication } from "../../src/apps/registry.ts";

const test = suite("apps-cookie-domain");
const base = { NODE_ENV: "test", SECRET_KEY: "x".repeat(40), DATA_DIR: "/tmp/mfa-portal-cookie-domain" };

test("COOKIE_DOMAIN must cover PUBLIC_URL's host and be a domain name; unset by default", () => {
  assert.is(loadConfig({ ...base, PUBLIC_URL: "https://portal.example.org" }).cookieDomain, undefined);
  assert.is(loadConfig({ ...base, PUBLIC_URL: "https://portal.example.org", COOKIE_DOMAIN: ".Example.org" }).cookieDomain, "example.org");
  assert.is(loadConfig({ ...base, PUBLIC_URL: "https://example.org", COOKIE_DOMAIN: "example.org" }).cookieDomain, "example.org");
  assert.throws(() => loadConfig({ ...base, PUBLIC_URL: "https://portal.example.org", COOKIE_DOMAIN: "other.org" }), (e: Error) => e instanceof ConfigError && /^COOKIE_DOMAIN:/.test(e.message));
  assert.throws(() => loadConfig({ ...base, PUBLIC_URL: "https://portal.example.org", COOKIE_DOMAIN: "https://example.org" }), (e: Error) => /COOKIE_DOMAIN/.test(e.message));
  assert.throws(() => loadConfig({ ...base, PUBLIC_URL: "https://badexample.org", COOKIE_DOMAIN: "example.org" }), (e: Error) => /COOKIE_DOMAIN/.test(e.message));
});

test("on https the session cookie becomes __Secure-session with Domain; flow and remember keep __Host- without it", async () => {
  const config = loadConfig({ ...base, PUBLIC_URL: "https://portal.example.org", COOKIE_DOMAIN: "example.org" });
  const app = new Hono();
  app.get("/", (c) => {
    writeCookie(c, config, "session", "a");
    writeCookie(c, config, "flow", "b");
    return c.text("ok");
  });
  const cookies = (await app.request("/")).headers.getSetCookie();
  const session = cookies.find((line) => line.startsWith("__Secure-session="))!;
  assert.ok(session, cookies.join(" | "));
  assert.match(session, /Domain=example\.org/i);
  assert.match(session, /Secure/);
  assert.match(session, /HttpOnly/);
  const flow = cookies.find((line) => line.startsWith("__Host-flow="))!;
  assert.ok(flow);
  assert.not.match(flow, /Domain=/i);
  const without = loadConfig({ ...base, PUBLIC_URL: "https://portal.example.org" });
  assert.is(cookieName(without, "session"), "__Host-session");
});

test("a sibling host's proxy sends the Domain cookie and forward-auth recognizes it", async () => {
  const ctx = await createTestContext({ env: { PUBLIC_URL: "https://portal.example.org", COOKIE_DOMAIN: "example.org" } });
  const host = `ehr-${process.pid}-${Date.now().toString(36)}.example.org`;
  await createForwardAuthApplication(ctx.sql, { name: "EHR", url: `https://${host}/` });
  const person = await createActiveUser(ctx.sql, { method: "email" });
  const { token } = await createSession(ctx.sql, ctx.clock, person.id, "email");
  const res = await ctx.app.request("/api/authz/auth-request", { headers: { "x-original-url": `https://${host}/x`, cookie: `__Secure-session=${token}` } });
  assert.is(res.status, 200);
  assert.is(res.headers.get("remote-user"), person.email);
  const out = await ctx.app.request("/logout", { method: "POST", headers: { origin: "https://portal.example.org", cookie: `__Secure-session=${token}`, "content-type": "application/x-www-form-urlencoded" }, body: "" });
  const cleared = out.headers.getSetCookie().find((line) => line.startsWith("__Secure-session="));
  assert.ok(cleared && /Domain=example\.org/i.test(cleared), "signing out clears the cookie on the same Domain");
});

test.run();
