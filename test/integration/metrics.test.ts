/**
 * Metrics (issue 18): with METRICS_PORT set the app counts requests by route pattern, and the
 * audit log's events become sign-in, code and lockout counts; the outbox counts its attempts; the
 * listener on 127.0.0.1 serves Prometheus text that promtool accepts, with no address, email or
 * code in it.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createTestContext } from "../support/harness.ts";
import { createActiveUser, TEST_PASSWORD } from "../support/users.ts";
import { press, signIn, useFreshAddress } from "../support/sign-in.ts";
import { startMetricsServer, type MetricsServer } from "../../src/metrics.ts";

let server: MetricsServer | null = null;
test.after(async () => {
  await server?.stop();
});

async function scrape(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.is(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return response.text();
}

/** The value of one series (0 when absent): name{label="v",…} matched on the labels given. */
function value(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) continue;
    if (!Object.entries(labels).every(([key, v]) => line.includes(`${key}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

async function browser404(ctx: Awaited<ReturnType<typeof createTestContext>>): Promise<void> {
  assert.is((await ctx.app.request("/no-such-page-4711")).status, 404);
}

test("a sign-in, a wrong password and the emailed code are counted; promtool accepts the text", async () => {
  const ctx = await createTestContext({ env: { METRICS_PORT: "9464" } });
  useFreshAddress(ctx);
  server = await startMetricsServer({ port: 0, sql: ctx.sql, clock: ctx.clock, poolSize: ctx.sql.options.max });
  const before = await scrape(server.port);

  await browser404(ctx);
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  let page = await browser.get("/login");
  page = await press(browser, page, "Login with Email");
  await press(browser, page, "Sign in", { email: user.email, password: "not-the-password-at-all" });
  await signIn(ctx, ctx.browser(), { email: user.email, password: TEST_PASSWORD, phone: null });
  await ctx.outbox.drain();
  const after = await scrape(server.port);
  const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);

  assert.is(delta("mfa_portal_signin_events_total", { method: "email", outcome: "success" }), 1, "one completed sign-in");
  assert.is(delta("mfa_portal_signin_events_total", { method: "email", outcome: "password_failed" }), 1, "one wrong password");
  assert.is(delta("mfa_portal_codes_total", { channel: "email", result: "sent" }), 1, "one emailed code");
  assert.is(delta("mfa_portal_delivery_attempts_total", { provider: "dev", channel: "email", result: "sent" }), 1, "the outbox sent it once");
  assert.is(delta("mfa_portal_http_requests_total", { method: "POST", route: "/login/credentials", status: "401" }), 1, "requests are counted by route pattern and status");
  assert.ok(delta("mfa_portal_http_request_duration_seconds_count", { route: "/login" }) >= 1, "and timed");
  assert.is(delta("mfa_portal_http_requests_total", { method: "GET", route: "/*", status: "404" }), 1, "an unknown path counts under the catch-all pattern");
  assert.not.ok(after.includes("no-such-page-4711"), "never under its raw path");
  assert.match(after, /^mfa_portal_outbox_messages\{status="pending"\} \d+$/m);
  assert.match(after, /^mfa_portal_outbox_oldest_pending_age_seconds \d/m);
  assert.match(after, new RegExp(`^mfa_portal_db_pool_size ${ctx.sql.options.max}$`, "m"));
  assert.match(after, /^process_resident_memory_bytes \d+/m);

  // Counts only: no email address, client address or code reaches a label.
  assert.not.ok(after.includes(user.email), "no email address in the metrics");
  assert.not.ok(/@|fd00:/.test(after.replace(/^#.*$/gm, "")), "no address of any kind in a series");
  const routes = new Set([...after.matchAll(/route="([^"]*)"/g)].map((m) => m[1]!));
  for (const route of routes) assert.ok(!/\d{6}|[0-9a-f]{16}/.test(route), `a route label is a pattern, not a path: ${route}`);

  if (!existsSync("/usr/bin/promtool")) {
    console.error("\n!!!! promtool is missing (apt-get install prometheus): the metrics text was NOT linted !!!!\n");
    return;
  }
  let lint = "";
  try {
    lint = execFileSync("/usr/bin/promtool", ["check", "metrics"], { input: after, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    assert.unreachable(`promtool check metrics refused the text:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
  assert.is(lint.trim(), "", "promtool has no complaint");
});

test("the listener answers only /metrics, and only on the loopback address", async () => {
  const ctx = await createTestContext();
  const own = await startMetricsServer({ port: 0, sql: ctx.sql, clock: ctx.clock, poolSize: 1 });
  try {
    assert.is((await fetch(`http://127.0.0.1:${own.port}/`)).status, 404);
    assert.is((await fetch(`http://127.0.0.1:${own.port}/metrics`, { method: "POST" })).status, 404);
    const { networkInterfaces } = await import("node:os");
    const outside = Object.values(networkInterfaces()).flat().find((i) => i && i.family === "IPv4" && !i.internal);
    if (outside) {
      const refused = await fetch(`http://${outside.address}:${own.port}/metrics`).then(() => false, () => true);
      assert.ok(refused, `not reachable on ${outside.address}`);
    }
  } finally {
    await own.stop();
  }
});

test.run();
