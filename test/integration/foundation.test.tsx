/**
 * The web foundation through app.request(): headers on every kind of response, the origin
 * check, the body limit, health and readiness (with a database that goes away and comes back),
 * the 503 page, and a request log that never holds a secret.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createServer, Socket, type Server } from "node:net";
import postgres from "postgres";
import { Browser, createTestContext, PUBLIC_URL, type Page, type TestContext } from "../support/harness.ts";
import { createApp, BODY_LIMIT, type App } from "../../src/app.tsx";
import { createLogger } from "../../src/log.ts";
import { render } from "../../src/web/render.tsx";
import type { AppDeps } from "../../src/web/env.ts";
import type { Sql } from "../../src/db/client.ts";

let ctx: TestContext;
let app: App;
let deps: AppDeps;
const logLines: string[] = [];

/** The real app plus a few test-only routes added after createApp (nothing in src knows them). */
function buildApp(overrides: Partial<AppDeps> = {}): App {
  const d: AppDeps = { ...ctx.deps, ...overrides };
  const built = createApp(d);
  built.get("/__test/page", (c) => render(c, d, { title: "Test page", body: <p id="content">Hello</p> }));
  built.post("/__test/echo", async (c) => {
    await c.req.parseBody();
    return c.text("posted");
  });
  built.get("/__test/throws", () => {
    throw new Error("a bug in a route");
  });
  return built;
}

test.before(async () => {
  ctx = await createTestContext();
  deps = {
    ...ctx.deps,
    config: { ...ctx.config, logRequests: true },
    log: createLogger((line) => logLines.push(line)),
  };
  app = buildApp(deps);
});

const browser = () => new Browser(app);

function assertSecurityHeaders(page: Pick<Page, "headers" | "status">, label: string, cache = "no-store") {
  const h = page.headers;
  const csp = h.get("content-security-policy") ?? "";
  const directives = new Map(csp.split(";").map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values]));
  assert.equal(directives.get("frame-ancestors"), ["'none'"], `${label}: frame-ancestors`);
  assert.equal(directives.get("object-src"), ["'none'"], `${label}: object-src`);
  assert.equal(directives.get("base-uri"), ["'none'"], `${label}: base-uri`);
  const scripts = directives.get("script-src") ?? directives.get("default-src") ?? [];
  assert.ok(scripts.length > 0, `${label}: a script-src`);
  for (const unsafe of ["'unsafe-inline'", "'unsafe-eval'", "*", "data:"]) assert.not.ok(scripts.includes(unsafe), `${label}: script-src ${unsafe}`);
  assert.is(h.get("x-content-type-options"), "nosniff", `${label}: nosniff`);
  assert.ok(["same-origin", "no-referrer", "strict-origin", "strict-origin-when-cross-origin"].includes(h.get("referrer-policy") ?? ""), `${label}: Referrer-Policy`);
  assert.is(h.get("cache-control"), cache, `${label}: Cache-Control`);
}

// --- headers on every kind of response -------------------------------------------------------

test("ASVS 3.4: a full page carries CSP, nosniff, Referrer-Policy and no-store", async () => {
  const page = await browser().get("/__test/page");
  assert.is(page.status, 200);
  assert.ok(page.document.querySelector("html[lang=en] main#main #content"), "the layout around the content");
  assertSecurityHeaders(page, "page");
  assert.match(page.headers.get("vary") ?? "", /HX-Request/, "the same URL answers a page or a fragment");
});

test("ASVS 3.4: an htmx fragment carries the same headers and no layout", async () => {
  const page = await browser().get("/__test/page", { htmx: true });
  assert.is(page.status, 200);
  assert.not.match(page.text, /<html/);
  assert.match(page.text, /<title>Test page \| /);
  assert.match(page.text, /id="content"/);
  assertSecurityHeaders(page, "fragment");
});

test("ASVS 3.4: the 404 page carries the headers and says nothing of the inside", async () => {
  const page = await browser().get("/no/such/page?x=1");
  assert.is(page.status, 404);
  assert.match(page.text, /Page not found/);
  assertSecurityHeaders(page, "404");
  const fragment = await browser().get("/no/such/page", { htmx: true });
  assert.is(fragment.status, 404);
  assertSecurityHeaders(fragment, "404 fragment");
});

test("ASVS 3.4, 16.5.1: a route that throws gets a 500 page with the headers and no stack or message", async () => {
  const page = await browser().get("/__test/throws");
  assert.is(page.status, 500);
  assert.match(page.text, /Something went wrong/);
  assert.not.match(page.text, /a bug in a route|at .*\.ts|Error:/);
  assertSecurityHeaders(page, "500");
  assert.ok(logLines.some((line) => line.includes('"unhandled_error"')), "the bug is logged for the operator");
});

test("ASVS 3.4: 403 and 413 answers carry the headers", async () => {
  const forbidden = await browser().post("/__test/echo", { a: "b" }, { origin: "https://evil.example" });
  assert.is(forbidden.status, 403);
  assertSecurityHeaders(forbidden, "403");
  const tooLarge = await browser().post("/__test/echo", { big: "x".repeat(BODY_LIMIT) });
  assert.is(tooLarge.status, 413);
  assertSecurityHeaders(tooLarge, "413");
});

test("ASVS 3.4: /healthz and /readyz carry the headers", async () => {
  assertSecurityHeaders(await browser().get("/healthz"), "healthz");
  assertSecurityHeaders(await browser().get("/readyz"), "readyz");
});

test("static assets: content-hashed, immutable for a year, nosniff, precompressed", async () => {
  for (const url of [ctx.deps.assets.css, ctx.deps.assets.js, ctx.deps.assets.htmx]) {
    assert.match(url, /^\/static\/[a-z]+\.[0-9a-f]{12}\.(css|js)$/);
    const page = await browser().get(url, { headers: { "accept-encoding": "br, gzip" } });
    assert.is(page.status, 200, url);
    assertSecurityHeaders(page, url, "public, max-age=31536000, immutable");
    assert.is(page.headers.get("content-encoding"), "br", url);
    assert.match(page.headers.get("content-type") ?? "", url.endsWith(".css") ? /^text\/css/ : /^text\/javascript/);
  }
  const plain = await app.request(ctx.deps.assets.js);
  assert.is(plain.headers.get("content-encoding"), null);
  assert.match(await plain.text(), /htmx:after:settle/);
  const stale = await browser().get("/static/app.000000000000.css");
  assert.is(stale.status, 404);
  assertSecurityHeaders(stale, "unknown static file");
});

test("the page links its hashed assets and nothing inline", async () => {
  const page = await browser().get("/__test/page");
  const scripts = [...page.document.querySelectorAll("script")];
  assert.equal(scripts.map((s) => s.getAttribute("src")).sort(), [ctx.deps.assets.htmx, ctx.deps.assets.js].sort());
  assert.ok(scripts.every((s) => (s.textContent ?? "").trim() === ""), "no inline script");
  assert.is(page.document.querySelectorAll("[style]").length, 0, "no inline style attributes (CSP style-src 'self')");
  assert.is(page.document.querySelector("link[rel=stylesheet]")?.getAttribute("href"), ctx.deps.assets.css);
});

// --- origin check --------------------------------------------------------------------------

test("ASVS 3.5.1: a cross-origin POST is refused with 403", async () => {
  for (const origin of ["https://evil.example", "http://portal.test.evil.example", "http://portal.test:8080", "https://portal.test", "null"]) {
    const page = await browser().post("/__test/echo", { a: "b" }, { origin });
    assert.is(page.status, 403, origin);
    assert.is.not(page.text, "posted");
  }
});

test("ASVS 3.5.1: a POST with neither Origin nor Sec-Fetch-Site is refused; Sec-Fetch-Site alone decides without Origin", async () => {
  assert.is((await browser().post("/__test/echo", { a: "b" }, { origin: null })).status, 403);
  for (const site of ["cross-site", "same-site", "none"]) {
    assert.is((await browser().post("/__test/echo", { a: "b" }, { origin: null, headers: { "sec-fetch-site": site } })).status, 403, site);
  }
  const sameSite = await browser().post("/__test/echo", { a: "b" }, { origin: null, headers: { "sec-fetch-site": "same-origin" } });
  assert.is(sameSite.status, 200);
});

test("ASVS 3.5.1: a same-origin POST passes the check, also as JSON or from htmx", async () => {
  const page = await browser().post("/__test/echo", { a: "b" });
  assert.is(page.status, 200);
  assert.is(page.text, "posted");
  assert.is((await browser().post("/__test/echo", { a: "b" }, { htmx: true })).status, 200);
  // Content types that Hono's own csrf() would let through are checked all the same.
  const json = await browser().post("/__test/echo", "{}", { origin: "https://evil.example", contentType: "application/json" });
  assert.is(json.status, 403);
});

test("ASVS 3.5.1: other state-changing methods are checked too", async () => {
  for (const method of ["PUT", "PATCH", "DELETE"]) {
    const response = await app.request("/__test/echo", { method, headers: { origin: "https://evil.example" } });
    assert.is(response.status, 403, method);
  }
});

test("the origin check exempts only the signed Twilio webhook and the dev outbox's stand-in for a phone", async () => {
  const answer = await browser().post("/dev/outbox/999999999/answer", { digits: "123456" }, { origin: null });
  assert.is.not(answer.status, 403, "POST /dev/outbox/{id}/answer is exempt");
  const other = await browser().post("/dev/outbox/999999999/other", { digits: "123456" }, { origin: null });
  assert.is(other.status, 403, "nothing else under /dev is exempt");
  const lookalike = await browser().post("/dev/outbox/1/answer/extra", {}, { origin: null });
  assert.is(lookalike.status, 403);
});

// --- body limit ----------------------------------------------------------------------------

test("bodies over 64 KiB are refused with 413, with or without Content-Length", async () => {
  assert.is(BODY_LIMIT, 64 * 1024);
  const over = "a=" + "x".repeat(BODY_LIMIT);
  const withLength = await app.request("/__test/echo", {
    method: "POST",
    headers: { origin: PUBLIC_URL, "content-type": "application/x-www-form-urlencoded", "content-length": String(over.length) },
    body: over,
  });
  assert.is(withLength.status, 413);
  assert.match(await withLength.text(), /Request too large/);
  const stream = new ReadableStream({
    start(controller) {
      for (let i = 0; i < 20; i++) controller.enqueue(new TextEncoder().encode("x".repeat(4096)));
      controller.close();
    },
  });
  const chunked = await app.request("/__test/echo", {
    method: "POST",
    headers: { origin: PUBLIC_URL, "content-type": "application/x-www-form-urlencoded" },
    body: stream,
    duplex: "half",
  } as RequestInit);
  assert.is(chunked.status, 413);
  const fragment = await browser().post("/__test/echo", { a: "x".repeat(BODY_LIMIT) }, { htmx: true });
  assert.is(fragment.status, 413);
  assert.not.match(fragment.text, /<html/);
  const justUnder = await browser().post("/__test/echo", { a: "x".repeat(BODY_LIMIT - 10) });
  assert.is(justUnder.status, 200);
});

// --- health and readiness ------------------------------------------------------------------

test("GET /healthz answers 200 without touching the database", async () => {
  const closed = postgres({ host: "127.0.0.1", port: await closedPort(), connect_timeout: 1, max: 1, onnotice: () => {} });
  try {
    const page = await new Browser(buildApp({ sql: closed as unknown as Sql })).get("/healthz");
    assert.is(page.status, 200);
    assert.is(page.text, "ok");
  } finally {
    await closed.end({ timeout: 0 });
  }
});

test("GET /readyz: 200, then 503 while the database is unreachable, then 200 again once it is back", async () => {
  const target = ctx.sql.options;
  const proxy = createProxy(target.host[0]!, target.port[0]!);
  const port = await proxy.start(0);
  const sql = postgres({
    host: "127.0.0.1",
    port,
    database: target.database,
    username: target.user,
    password: typeof target.pass === "string" ? target.pass : undefined,
    max: 2,
    connect_timeout: 2,
    onnotice: () => {},
  });
  try {
    const probe = () => new Browser(buildApp({ sql: sql as unknown as Sql })).get("/readyz");
    const up = await probe();
    assert.is(up.status, 200);
    assert.is(up.text, "ready");

    await proxy.stop(); // the database goes away: open connections are cut, new ones refused
    const down = await probe();
    assert.is(down.status, 503);
    assert.is(down.text, "database unavailable");
    assertSecurityHeaders(down, "readyz 503");

    await proxy.start(port); // back on the same address: the pool reconnects by itself
    let again = await probe();
    for (let i = 0; i < 20 && again.status !== 200; i++) again = await probe();
    assert.is(again.status, 200);
  } finally {
    await sql.end({ timeout: 0 });
    await proxy.stop();
  }
});

test("a request while the database is unreachable gets a 503 page with Retry-After and the headers", async () => {
  const closed = postgres({ host: "127.0.0.1", port: await closedPort(), connect_timeout: 1, max: 1, onnotice: () => {} });
  const lines: string[] = [];
  try {
    const downApp = buildApp({ sql: closed as unknown as Sql, log: createLogger((line) => lines.push(line)) });
    const b = new Browser(downApp);
    // A session cookie makes the session middleware read the database on any page.
    b.cookies.set("session", "abcdefghijklmnopqrstuvwx.abcdefghijklmnopqrstuvwx");
    const page = await b.get("/no/such/page");
    assert.is(page.status, 503);
    assert.match(page.text, /Temporarily unavailable/);
    assert.is(page.headers.get("retry-after"), "5");
    assertSecurityHeaders(page, "503");
    const fragment = await b.get("/no/such/page", { htmx: true });
    assert.is(fragment.status, 503);
    assert.not.match(fragment.text, /<html/);
    assert.ok(lines.some((line) => line.includes('"database_unavailable"')));
    assert.not.ok(lines.some((line) => line.includes('"unhandled_error"')), "an unreachable database is not logged as a bug");
  } finally {
    await closed.end({ timeout: 0 });
  }
});

// --- request log ---------------------------------------------------------------------------

test("ASVS 16.2.5: the request log holds no query string, token-like path segment or form body", async () => {
  logLines.length = 0;
  const token = "Zq3xV9kLmN2pR7sT4wY6bC8dF0gH1jK5";
  const lucia = "abcdefghijklmnopqrstuvwx.abcdefghijklmnopqrstuvwx";
  const b = browser();
  await b.get(`/__test/link/${token}?token=${token}&code=482913`);
  await b.get(`/__test/${lucia}/next`);
  await b.get(`/__test/reset/${token.toLowerCase()}`);
  await b.post("/__test/echo?next=/home&password=Qm9-secret-param", { email: "someone@clinic.example", password: "Correct-Horse-Battery-9", code: "482913" });
  await b.post("/__test/echo", { password: "Correct-Horse-Battery-9", big: "y".repeat(BODY_LIMIT) }); // 413
  const requests = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.event === "request");
  assert.is(requests.length, 5, logLines.join("\n"));
  const all = logLines.join("\n");
  for (const secret of [token, token.toLowerCase(), lucia, "482913", "Correct-Horse-Battery-9", "Qm9-secret-param", "someone@clinic.example", "?", "password"]) {
    assert.not.ok(all.includes(secret), `log holds ${secret}:\n${all}`);
  }
  assert.equal(
    requests.map((r) => r.path),
    ["/__test/link/:token", "/__test/:token/next", "/__test/reset/:token", "/__test/echo", "/__test/echo"],
  );
  assert.equal(requests.map((r) => r.status), [404, 404, 404, 200, 413]);
  for (const r of requests) assert.equal(Object.keys(r).sort(), ["at", "event", "level", "method", "ms", "path", "status"]);
});

test("the request log leaves ordinary words alone and skips successful health probes", async () => {
  logLines.length = 0;
  await browser().get("/__test/multi-factor-authentication-help");
  await browser().get("/healthz");
  await browser().get("/readyz");
  const paths = logLines.map((line) => JSON.parse(line) as { path?: string }).map((entry) => entry.path);
  assert.equal(paths, ["/__test/multi-factor-authentication-help"]);
});

// --- helpers -------------------------------------------------------------------------------

/** A port nothing listens on (taken from the OS, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP relay to the database that the test can cut and restore on the same port. */
function createProxy(host: string, port: number) {
  let server: Server | null = null;
  const sockets = new Set<Socket>();
  return {
    async start(listenPort: number): Promise<number> {
      server = createServer((client) => {
        const upstream = new Socket();
        sockets.add(client).add(upstream);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        upstream.connect(port, host, () => {
          client.pipe(upstream);
          upstream.pipe(client);
        });
        client.on("error", drop).on("close", drop);
        upstream.on("error", drop).on("close", drop);
      });
      await new Promise<void>((resolve, reject) => {
        server!.once("error", reject);
        server!.listen(listenPort, "127.0.0.1", () => resolve());
      });
      return (server.address() as { port: number }).port;
    },
    async stop(): Promise<void> {
      if (!server) return;
      const closing = server;
      server = null;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await new Promise<void>((resolve) => closing.close(() => resolve()));
    },
  };
}

test.run();
