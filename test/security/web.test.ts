/**
 * The web rules of security.md through the real app: an Origin (or Sec-Fetch-Site) check on
 * every POST route the app has (enumerated from app.routes), no GET that changes state, the
 * security headers on every kind of response, no inline script, and wizard steps only in order.
 * ASVS 3.5.1, 3.5.3, 3.4.x, 14.3.2, 2.3.1.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, PUBLIC_URL, type Browser, type Page, type TestContext } from "../support/harness.ts";
import { createActiveUser } from "../support/users.ts";
import { pressLogin, signIn, submitPassword, useFreshAddress } from "../support/sign-in.ts";
import { signedInAdmin } from "../support/admin.ts";
import { createApp } from "../../src/app.tsx";
import { BODY_LIMIT } from "../../src/app.tsx";
import type { Sql } from "../../src/db/client.ts";
import { invite, lastBody, registerUpToTerms } from "./support/registration.ts";

let ctx: TestContext;

test.before(async () => {
  ctx = await createTestContext();
});

test.before.each(() => {
  useFreshAddress(ctx);
});

/** Every stored thing a request could change, as one digest. */
async function snapshot(sql: Sql, options: { audit?: boolean } = {}): Promise<string> {
  const audit = options.audit === false ? sql`'-'` : sql`(select count(*)::text from audit_events)`;
  const [row] = await sql<{ digest: string }[]>`
    select md5(concat_ws('|',
      (select string_agg(md5(u::text), ',' order by u.id) from users u),
      (select string_agg(md5(s::text), ',' order by s.id) from sessions s),
      (select string_agg(md5(f::text), ',' order by f.id) from flows f),
      (select string_agg(md5(c::text), ',' order by c.id) from codes c),
      (select string_agg(md5(l::text), ',' order by l.id) from link_tokens l),
      (select string_agg(md5(r::text), ',' order by r.id) from remember_tokens r),
      (select count(*)::text from outbox),
      ${audit},
      (select string_agg(md5(k::text), ',' order by k.key) from rate_limits k)
    )) as digest`;
  return row!.digest;
}

/** Concrete paths for a route pattern, with ids that exist so that an unchecked request would act. */
function fill(path: string, ids: { userId: string }): string {
  return path
    .replace(":id{[0-9]+}", "1")
    .replace(":codeId", "00000000-0000-4000-8000-000000000000")
    .replace("/:id/:action", `/${ids.userId}/unlock`)
    .replace(":id", ids.userId)
    .replace(":token", "a".repeat(32));
}

const EXEMPT = [/^\/webhooks\/twilio\//, /^\/dev\/outbox\/[^/]+\/answer$/];

function postRoutes(): string[] {
  return [...new Set(ctx.app.routes.filter((r) => r.method === "POST").map((r) => r.path))].sort();
}

test("ASVS 3.5.1: every POST route refuses a cross-origin, a null-origin and an origin-less request with 403 and changes nothing", async () => {
  const routes = postRoutes().filter((path) => !EXEMPT.some((re) => re.test(path)));
  assert.ok(routes.length >= 30, `the app's POST routes were found (${routes.length})`);
  const { browser: admin } = await signedInAdmin(ctx);
  const target = await createActiveUser(ctx.sql, { method: "email" });
  // Lock the target so that an unchecked Unlock would change it.
  await ctx.sql`update users set locked_until = now() + interval '1 hour', failed_attempts = 3 where id = ${target.id}`;
  // A browser in the middle of a sign-in, so that step handlers have a flow to act on.
  await pressLogin(admin, "email");
  const bad: Array<[string, Record<string, string>]> = [
    ["no Origin and no Sec-Fetch-Site", {}],
    ["another origin", { origin: "http://evil.example" }],
    ["a look-alike origin", { origin: "http://portal.test.evil.example" }],
    ["the same host on another port", { origin: "http://portal.test:8080" }],
    ["https instead of http", { origin: "https://portal.test" }],
    ["Origin: null", { origin: "null" }],
    ["no Origin, Sec-Fetch-Site: cross-site", { "sec-fetch-site": "cross-site" }],
    ["no Origin, Sec-Fetch-Site: same-site", { "sec-fetch-site": "same-site" }],
  ];
  await ctx.outbox.drain();
  const before = await snapshot(ctx.sql);
  for (const path of routes) {
    const url = fill(path, { userId: target.id });
    for (const [name, headers] of bad) {
      const page = await admin.post(url, { email: target.email, password: "x", code: "123456", option: "email", agree: "on", role: "admin", method: "email" }, { origin: null, headers, follow: false });
      assert.is(page.status, 403, `${url} with ${name}`);
    }
  }
  await ctx.outbox.drain();
  assert.is(await snapshot(ctx.sql), before, "nothing stored changed");
  // The control: the same request from the portal's own origin is not refused by the check.
  const allowed = await admin.post(fill("/admin/users/:id/:action", { userId: target.id }), { from: "user" }, { follow: false });
  assert.is(allowed.status, 303);
  const [row] = await ctx.sql<{ lockedUntil: Date | null }[]>`select locked_until as "lockedUntil" from users where id = ${target.id}`;
  assert.is(row!.lockedUntil, null, "the same-origin Unlock acted");
  // A browser that sends no Origin but Sec-Fetch-Site: same-origin is a same-origin form post.
  const sameOrigin = await ctx.browser().post("/login", { option: "email" }, { origin: null, headers: { "sec-fetch-site": "same-origin" }, follow: false });
  assert.is(sameOrigin.status, 303);
});

test("ASVS 3.5.3: no GET changes state (every GET route with a signed-in admin holding a flow); GET /logout is no sign-out", async () => {
  const { browser: admin, admin: user } = await signedInAdmin(ctx);
  await pressLogin(admin, "email");
  const gets = [...new Set(ctx.app.routes.filter((r) => r.method === "GET").map((r) => r.path))];
  await ctx.outbox.drain();
  const before = await snapshot(ctx.sql, { audit: false });
  for (const path of gets) {
    // Audit events may be written by a GET (a refused link is worth a record); nothing else may change.
    const was = await snapshot(ctx.sql, { audit: false });
    // The emailed link's landing uses up a token by design (see docs/security.md); a token that was never issued changes nothing.
    const url = fill(path, { userId: user.id }).replace("/static/:file", "/static/app.css");
    const page = await admin.get(url, { headers: { accept: "text/html" } });
    assert.ok(page.status < 500, `${url}: ${page.status}`);
    assert.is(await snapshot(ctx.sql, { audit: false }), was, `GET ${url} changed nothing stored`);
  }
  for (const path of ["/logout", "/login/email/verified?code=123456", "/admin/users/" + user.id + "/disable"]) await admin.get(path);
  await ctx.outbox.drain();
  assert.is(await snapshot(ctx.sql, { audit: false }), before, "nothing stored changed");
  assert.is((await admin.get("/home")).url, "/home", "still signed in after GET /logout");
});

function assertHeaders(page: Pick<Page, "headers" | "status">, label: string, options: { cache?: "no-store" | "static"; hsts?: boolean } = {}) {
  const h = page.headers;
  const csp = h.get("content-security-policy") ?? "";
  const directives = new Map(csp.split(";").map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values]));
  assert.equal(directives.get("object-src"), ["'none'"], `${label}: object-src 'none' (${csp})`);
  assert.equal(directives.get("base-uri"), ["'none'"], `${label}: base-uri 'none'`);
  assert.equal(directives.get("frame-ancestors"), ["'none'"], `${label}: frame-ancestors 'none'`);
  const scripts = directives.get("script-src") ?? directives.get("default-src") ?? [];
  assert.ok(scripts.length > 0, `${label}: script-src`);
  for (const unsafe of ["'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"]) assert.not.ok(scripts.includes(unsafe), `${label}: script-src ${unsafe}`);
  assert.is(h.get("x-content-type-options"), "nosniff", `${label}: nosniff`);
  assert.ok(h.get("referrer-policy"), `${label}: Referrer-Policy`);
  if (options.cache === "static") assert.match(h.get("cache-control") ?? "", /immutable/, `${label}: static files are cached`);
  else assert.is(h.get("cache-control"), "no-store", `${label}: Cache-Control: no-store`);
  if (options.hsts) assert.match(h.get("strict-transport-security") ?? "", /max-age=\d{7,}/, `${label}: HSTS`);
  else assert.is(h.get("strict-transport-security"), null, `${label}: no HSTS over http`);
}

function failingSql(code: string): Sql {
  const fail = () => {
    throw Object.assign(new Error(`database failure ${code}`), { code });
  };
  return new Proxy(fail, { apply: fail, get: () => fail }) as unknown as Sql;
}

test("ASVS 3.4.x, 14.3.2: security headers on every kind of response: page, fragment, redirect, 4xx, 5xx, static, JSON, XML, 204", async () => {
  const user = await createActiveUser(ctx.sql, { method: "phone" });
  const browser = ctx.browser();
  await signIn(ctx, browser, user, { option: "phone" });
  const raw = async (path: string, init: RequestInit = {}) => {
    const r = await ctx.app.request(path, init);
    return { headers: r.headers, status: r.status };
  };
  const cookie = { cookie: `session=${browser.cookies.get("session")}` };
  const form = { origin: PUBLIC_URL, "content-type": "application/x-www-form-urlencoded", ...cookie };
  const cases: Array<[string, Pick<Page, "headers" | "status">, "no-store" | "static"]> = [
    ["page", await raw("/login"), "no-store"],
    ["authenticated page", await raw("/home", { headers: cookie }), "no-store"],
    ["fragment", await raw("/help", { headers: { "hx-request": "true" } }), "no-store"],
    ["redirect", await raw("/"), "no-store"],
    ["404", await raw("/no-such-page"), "no-store"],
    ["403 origin refusal", await raw("/login", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "option=email" }), "no-store"],
    ["400 form", await raw("/login", { method: "POST", headers: form, body: "option=nonsense" }), "no-store"],
    ["413 body limit", await raw("/login", { method: "POST", headers: form, body: "option=" + "a".repeat(BODY_LIMIT + 10) }), "no-store"],
    ["static", await raw("/static/" + [...ctx.deps.assets.byUrl.keys()][0]!.split("/").pop()), "static"],
    ["JSON", await raw("/dev/outbox.json"), "no-store"],
    ["204 poll", await raw("/healthz"), "no-store"],
  ];
  for (const [name, status] of [["503", "ECONNREFUSED"], ["500", "XX000"]] as const) {
    const broken = createApp({ ...ctx.deps, sql: failingSql(status) });
    const response = await broken.request("/home", { headers: cookie });
    assert.is(String(response.status), name, `the ${name} page`);
    cases.push([`${name} page`, { headers: response.headers, status: response.status }, "no-store"]);
  }
  // The Twilio webhook's XML answer and a 204 from the Call Me poll.
  const poll = await ctx.browser().post("/login/phone/call/check", { poll: "1" }, { htmx: true, follow: false });
  cases.push(["poll redirect", poll, "no-store"]);
  for (const [name, page, cache] of cases) assertHeaders(page, name, { cache });

  const https = await createTestContext({ env: { PUBLIC_URL: "https://portal.test" } });
  for (const path of ["/login", "/no-such-page", "/"]) assertHeaders(await https.app.request(path), `https ${path}`, { hsts: true });
});

test("ASVS 3.4.3: pages carry no inline script, no event-handler attribute and no javascript: URL", async () => {
  const { browser: admin, admin: user } = await signedInAdmin(ctx);
  const pages = ["/login", "/trouble", "/forgot-password", "/help", "/help/mfa", "/home", "/admin", `/admin/users/${user.id}`, "/admin/audit", "/register/error?reason=expired"];
  const browser: Browser = admin;
  for (const path of pages) {
    const page = await browser.get(path);
    assert.is(page.status, 200, path);
    for (const script of page.document.querySelectorAll("script")) {
      assert.ok(script.getAttribute("src"), `${path}: every script is a file`);
      assert.is((script.textContent ?? "").trim(), "", `${path}: no inline script body`);
    }
    assert.not.match(page.text, /\son[a-z]+\s*=/i, `${path}: no on* handler attribute`);
    assert.not.match(page.text, /javascript:/i, `${path}: no javascript: URL`);
    assert.not.match(page.text, /<style[\s>]/i, `${path}: no inline style element`);
  }
});

test("ASVS 2.3.1: sign-in steps run only in order: a later step's URL (GET or POST) sends the browser back to its step", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await pressLogin(browser, "email");
  for (const path of ["/login/email", "/login/email/code", "/login/email/verified", "/login/phone/code", "/login/terms"]) {
    assert.is((await browser.get(path)).url, "/login/credentials", `GET ${path} early`);
  }
  assert.is((await browser.post("/login/email/send")).url, "/login/credentials", "no code is sent before the password");
  assert.is((await browser.post("/login/email/verified")).url, "/login/credentials", "Continue before any code");
  assert.not.ok(browser.cookies.has("session"));
  const [sent] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from outbox where recipient = ${user.email}`;
  assert.is(sent!.n, 0, "nothing was sent");
  assert.is((await submitPassword(browser, user.email, user.password)).url, "/login/email");
  assert.is((await browser.post("/login/email/verified")).url, "/login/email", "Continue before the code");
  assert.is((await browser.post("/login/terms", { agree: "on" })).url, "/login/email");
  // With no flow at all, every step leads to the sign-in page.
  const stranger = ctx.browser();
  assert.ok((await stranger.post("/login/email/code", { code: "123456" })).url.startsWith("/login"));
});

test("ASVS 2.3.1: registration and password reset steps run only in order; nothing is stored out of order", async () => {
  const invitation = await invite(ctx);
  const browser = ctx.browser();
  assert.is((await browser.get(invitation.path)).url, "/register/method");
  for (const path of ["/register/email", "/register/phone", "/register/terms"]) assert.is((await browser.get(path)).url, "/register/method", `GET ${path} early`);
  const before = await snapshot(ctx.sql);
  assert.is((await browser.post("/register/password", { password: "copper-lantern-meadow-42-quartz", confirm: "copper-lantern-meadow-42-quartz" })).url, "/register/method");
  assert.is((await browser.post("/register/phone/send", { phone: "(415) 555-0143", channel: "sms" })).url, "/register/method");
  assert.is((await browser.post("/register/terms", { agree: "on" })).url, "/register/method");
  assert.is(await snapshot(ctx.sql), before, "nothing stored changed");

  const user = await createActiveUser(ctx.sql, { method: "email" });
  const reset = ctx.browser();
  await reset.post("/forgot-password", { email: user.email });
  const hashBefore = (await ctx.sql`select password_hash from users where id = ${user.id}`)[0]!.password_hash;
  assert.is((await reset.get("/forgot-password/new-password")).url, "/forgot-password/code");
  assert.is((await reset.post("/forgot-password/new-password", { password: "violet-harbor-sextant-91-plume", confirm: "violet-harbor-sextant-91-plume" })).url, "/forgot-password/code");
  assert.is((await ctx.sql`select password_hash from users where id = ${user.id}`)[0]!.password_hash, hashBefore, "the password is unchanged");

  // The terms step of registration is reached only after the email code and the password.
  const second = await invite(ctx);
  const wizard = ctx.browser();
  await registerUpToTerms(ctx, wizard, second);
  assert.ok((await lastBody(ctx, second.email)).length > 0);
});

test.run();
