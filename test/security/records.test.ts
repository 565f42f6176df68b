/**
 * Records and client addresses: an audit event for every sign-in success and failure, code sent
 * and failed, lock, reset and admin action, each with time, user, actor, client address and user
 * agent (ASVS 16.3.1); the client address comes from the socket unless TRUST_PROXY names the
 * proxy hops, so a client cannot choose its own address (ASVS 4.1.3).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, type TestContext } from "../support/harness.ts";
import { createActiveUser } from "../support/users.ts";
import { pressLogin, signIn, submitPassword, useFreshAddress } from "../support/sign-in.ts";
import { signedInAdmin } from "../support/admin.ts";
import { LOCKOUT_THRESHOLD } from "../../src/auth/lockout.ts";
import { MAX_CODE_ATTEMPTS } from "../../src/auth/codes.ts";
import { lastCode, toEmailCode, wrong } from "./support/steps.ts";

let ctx: TestContext;

test.before(async () => {
  ctx = await createTestContext();
});

interface Row {
  event: string;
  at: Date;
  userId: string | null;
  actorId: string | null;
  ip: string | null;
  userAgent: string | null;
}

async function eventsOf(userId: string): Promise<Row[]> {
  return ctx.sql<Row[]>`
    select event, at, user_id as "userId", actor_id as "actorId", ip, user_agent as "userAgent"
    from audit_events where user_id = ${userId} order by id`;
}

test("ASVS 16.3.1: sign-in success and failure, code sent and failed, lock, reset and admin actions are audited with time, user, actor, address and user agent", async () => {
  const address = useFreshAddress(ctx);
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const started = ctx.clock.now().getTime();

  await pressLogin(ctx.browser(), "email");
  const failed = ctx.browser();
  await pressLogin(failed, "email");
  await submitPassword(failed, user.email, "wrong-password-123456");
  await signIn(ctx, ctx.browser(), user, { option: "email" });
  const browser = ctx.browser();
  await toEmailCode(browser, user);
  // Each code takes MAX_CODE_ATTEMPTS wrong tries; the account's count goes on across resends (Send New Code).
  let code = await lastCode(ctx, user.email, "email");
  for (let i = 0; i < LOCKOUT_THRESHOLD; i++) {
    if (i > 0 && i % MAX_CODE_ATTEMPTS === 0) {
      await browser.post("/login/email/send");
      code = await lastCode(ctx, user.email, "email");
    }
    await browser.post("/login/email/code", { code: wrong(code, i) });
  }
  const reset = ctx.browser();
  await reset.post("/forgot-password", { email: user.email });
  await reset.post("/forgot-password/code", { code: await lastCode(ctx, user.email, "email") });
  await reset.post("/forgot-password/verified");
  await reset.post("/forgot-password/new-password", { password: "violet-harbor-sextant-91-plume", confirm: "violet-harbor-sextant-91-plume" });
  const { admin, browser: adminBrowser } = await signedInAdmin(ctx);
  await adminBrowser.post(`/admin/users/${user.id}/disable`, { from: "user" });
  await adminBrowser.post(`/admin/users/${user.id}/enable`, { from: "user" });

  const rows = await eventsOf(user.id);
  const names = rows.map((r) => r.event);
  for (const event of ["signin.password_failed", "signin.password_verified", "code.sent", "signin.success", "code.failed", "signin.locked", "password.reset", "admin.user_disabled", "admin.user_enabled"]) {
    assert.ok(names.includes(event), `${event} is audited (${names.join(", ")})`);
  }
  for (const row of rows) {
    assert.is(row.userId, user.id);
    assert.ok(row.at.getTime() >= started - 1000, `${row.event}: a time`);
    assert.is(row.ip, address, `${row.event}: the client address`);
    assert.is(row.userAgent, "test-browser", `${row.event}: the user agent`);
    if (row.event.startsWith("admin.")) assert.is(row.actorId, admin.id, `${row.event}: the acting administrator`);
  }
  assert.is(rows.filter((r) => r.event === "code.failed").length, LOCKOUT_THRESHOLD);
});

test("ASVS 4.1.3: without TRUST_PROXY, X-Forwarded-For is ignored: a client cannot pick its address (nor escape the attempt limit)", async () => {
  const socket = useFreshAddress(ctx);
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await pressLogin(browser, "email");
  for (let i = 0; i < 30; i++) {
    await browser.post("/login/credentials", { email: user.email, password: `wrong-${i}-password-xyz` }, { headers: { "x-forwarded-for": `203.0.113.${i + 1}`, "x-real-ip": `203.0.113.${i + 1}` } });
  }
  const limited = await browser.post("/login/credentials", { email: user.email, password: user.password }, { headers: { "x-forwarded-for": "203.0.113.250" } });
  assert.is(limited.status, 429, "a new X-Forwarded-For each time did not reset the per-address limit");
  const ips = new Set((await eventsOf(user.id)).map((r) => r.ip));
  assert.equal([...ips], [socket], "the audit log holds the socket address only");
});

test("ASVS 4.1.3: with TRUST_PROXY=1 the address is the one the proxy appended (the right-most), not one the client wrote", async () => {
  const proxied = await createTestContext({ env: { TRUST_PROXY: "1" } });
  proxied.deps.remoteAddress = () => "10.9.8.7";
  const user = await createActiveUser(proxied.sql, { method: "email" });
  const browser = proxied.browser();
  await browser.post("/login", { option: "email" }, { headers: { "x-forwarded-for": "6.6.6.6, 198.51.100.23" } });
  await browser.post("/login/credentials", { email: user.email, password: "wrong-password-123456" }, { headers: { "x-forwarded-for": "6.6.6.6, 198.51.100.23" } });
  const [row] = await eventsOf(user.id);
  assert.is(row!.ip, "198.51.100.23");
});

test.run();
