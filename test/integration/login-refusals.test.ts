/**
 * What sign-in refuses, and how it refuses: one answer (status, body, argon2 timing) for an
 * unknown address, a wrong password, a disabled or unfinished account and a locked one
 * (ASVS 6.3.8); the lockout after 10 failures, passwords and codes together, lifting after 15
 * minutes (ASVS 6.3.1, NIST 800-63B 3.2.2); the per-address attempt limit (ASVS 2.4.1); the audit
 * trail of every attempt (ASVS 16.3.1).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, uniqueEmail, type TestContext, type Page, type Browser } from "../support/harness.ts";
import { createActiveUser, type ActiveUser } from "../support/users.ts";
import { codeIn, latestMessage, pressLogin, submitPassword, useFreshAddress } from "../support/sign-in.ts";
import { MINUTE, SECOND } from "../../src/clock.ts";
import { SIGN_IN_REFUSED } from "../../src/flows/login.ts";
import { LOCKOUT_MS, LOCKOUT_THRESHOLD } from "../../src/auth/lockout.ts";

let ctx: TestContext;

test.before(async () => {
  ctx = await createTestContext();
});

test.before.each(() => {
  useFreshAddress(ctx);
});

/** The page with the typed address taken out: what must be identical between the cases. */
function comparable(page: Page, email: string): string {
  return page.text.split(email).join("EMAIL");
}

async function attempt(email: string, password: string, option: "phone" | "email" = "phone"): Promise<{ page: Page; browser: Browser }> {
  const browser = ctx.browser();
  await pressLogin(browser, option);
  const page = await submitPassword(browser, email, password);
  return { page, browser };
}

async function events(userId: string, event: string): Promise<number> {
  const [row] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from audit_events where user_id = ${userId} and event = ${event}`;
  return row!.n;
}

test("ASVS 6.3.8: unknown address, wrong password, disabled account and unfinished registration get the same status and body", async () => {
  const known = await createActiveUser(ctx.sql, { method: "phone" });
  const disabled = await createActiveUser(ctx.sql, { method: "phone" });
  await ctx.sql`update users set status = 'disabled' where id = ${disabled.id}`;
  const invited = await createActiveUser(ctx.sql, { method: "email" });
  await ctx.sql`update users set status = 'invited', terms_version = null where id = ${invited.id}`;
  const unregistered = await createActiveUser(ctx.sql, { method: "email" });
  await ctx.sql`update users set status = 'invited', password_hash = null, mfa_method = null where id = ${unregistered.id}`;
  const unknown = uniqueEmail("nobody");

  const reference = await attempt(known.email, "wrong-password-123456");
  assert.is(reference.page.status, 401);
  assert.match(reference.page.text, SIGN_IN_REFUSED);
  const cases: Array<[string, string, string]> = [
    ["unknown address", unknown, "wrong-password-123456"],
    ["disabled account, right password", disabled.email, disabled.password],
    ["registration not finished, right password", invited.email, invited.password],
    ["no password yet", unregistered.email, "wrong-password-123456"],
  ];
  for (const [name, email, password] of cases) {
    const { page } = await attempt(email, password);
    assert.is(page.status, reference.page.status, `${name}: same status`);
    assert.is(comparable(page, email), comparable(reference.page, known.email), `${name}: same body`);
  }
  assert.is(await events(disabled.id, "signin.password_failed"), 1, "the refusal is audited");
  assert.is(await events(known.id, "signin.password_failed"), 1);
});

test("ASVS 6.3.8: an unknown address costs the same argon2 work as a known one (a dummy verify)", async () => {
  const known = await createActiveUser(ctx.sql, { method: "email" });
  const durations = { known: [] as number[], unknown: [] as number[] };
  for (let i = 0; i < 5; i++) {
    for (const which of ["known", "unknown"] as const) {
      const browser = ctx.browser();
      await pressLogin(browser, "email");
      const started = performance.now();
      const page = await submitPassword(browser, which === "known" ? known.email : uniqueEmail("nobody"), "wrong-password-123456");
      durations[which].push(performance.now() - started);
      assert.is(page.status, 401);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const ratio = median(durations.unknown) / median(durations.known);
  assert.ok(ratio > 0.5 && ratio < 2, `unknown/known time ratio ${ratio.toFixed(2)} (${median(durations.unknown).toFixed(1)} ms vs ${median(durations.known).toFixed(1)} ms)`);
});

test(`ASVS 6.3.1: ${LOCKOUT_THRESHOLD} wrong passwords lock the account; the lock answers exactly like a wrong password and lifts after 15 minutes`, async () => {
  const account = await createActiveUser(ctx.sql, { method: "phone" });
  const first = await attempt(account.email, "wrong-password-000");
  const reference = comparable(first.page, account.email);
  for (let i = 2; i <= LOCKOUT_THRESHOLD; i++) {
    const { page } = await attempt(account.email, `wrong-password-${i}`);
    assert.is(page.status, 401);
    assert.is(comparable(page, account.email), reference, `failure ${i} answers like the first`);
  }
  assert.is(await events(account.id, "signin.locked"), 1, "the lock is audited");
  let locked = await attempt(account.email, account.password);
  assert.is(locked.page.status, 401, "the right password is refused while locked");
  assert.is(comparable(locked.page, account.email), reference, "with exactly the wrong-password answer");

  ctx.clock.advance(LOCKOUT_MS - SECOND);
  locked = await attempt(account.email, account.password);
  assert.is(locked.page.status, 401, "still locked a second before 15 minutes");
  assert.is(comparable(locked.page, account.email), reference);

  ctx.clock.advance(2 * SECOND);
  const after = await attempt(account.email, account.password);
  assert.is(after.page.url, "/login/phone", "15 minutes later the right password works");
});

test("ASVS 6.3.1: failures of passwords and codes count together; a lock set during the code step refuses even the right code", async () => {
  const account = await createActiveUser(ctx.sql, { method: "phone" });
  // 4 wrong passwords, then the right one: the flow reaches the phone step.
  for (let i = 0; i < 4; i++) await attempt(account.email, `wrong-password-${i}`);
  const { page: atPhone, browser } = await attempt(account.email, account.password);
  assert.is(atPhone.url, "/login/phone");
  await browser.post("/login/phone/send");
  const code = codeIn(await latestMessage(ctx, account.phone!, "sms"));
  const wrong = code === "000000" ? "111111" : "000000";
  // 5 more wrong passwords elsewhere (9 failures), then one wrong code: 10, locked.
  for (let i = 0; i < 5; i++) await attempt(account.email, `other-wrong-${i}`);
  let page = await browser.post("/login/phone/code", { code: wrong });
  assert.is(page.status, 401);
  assert.is(await events(account.id, "signin.locked"), 1, "the tenth failure, a code, locked the account");
  page = await browser.post("/login/phone/code", { code });
  assert.is(page.status, 401, "while locked the right code is refused like a wrong one");
  assert.match(page.text, "That code is not right");
  const [sessions] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from sessions where user_id = ${account.id}`;
  assert.is(sessions!.n, 0);
  const again = await attempt(account.email, account.password);
  assert.is(again.page.status, 401, "and the password step answers like a wrong password");
});

test("a completed sign-in restarts the count: 9 failures, a sign-in, 9 more failures do not lock", async () => {
  const account: ActiveUser = await createActiveUser(ctx.sql, { method: "email" });
  const failNine = async () => {
    for (let i = 0; i < LOCKOUT_THRESHOLD - 1; i++) await attempt(account.email, `wrong-${i}`, "email");
  };
  await failNine();
  const { page, browser } = await attempt(account.email, account.password, "email");
  assert.is(page.url, "/login/email");
  await browser.post("/login/email/send");
  await browser.post("/login/email/code", { code: codeIn(await latestMessage(ctx, account.email, "email")) });
  assert.is((await browser.post("/login/email/verified")).url, "/home");
  await failNine();
  const last = await attempt(account.email, account.password, "email");
  assert.is(last.page.url, "/login/email", "not locked");
});

test("ASVS 2.4.1: more than 30 password checks a minute from one client address are refused with 429, then allowed again", async () => {
  const browser = ctx.browser();
  await pressLogin(browser, "email");
  for (let i = 0; i < 30; i++) {
    const page = await submitPassword(browser, uniqueEmail("guess"), "guess-password-1");
    assert.is(page.status, 401, `attempt ${i + 1}`);
  }
  let page = await submitPassword(browser, uniqueEmail("guess"), "guess-password-1");
  assert.is(page.status, 429);
  assert.match(page.text, "Too many attempts");
  useFreshAddress(ctx);
  page = await submitPassword(browser, uniqueEmail("guess"), "guess-password-1");
  assert.is(page.status, 401, "another address is not affected");
  ctx.clock.advance(MINUTE);
});

test("ASVS 16.3.1: each attempt is audited with time, client address and user agent, and never the password or code", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const address = useFreshAddress(ctx);
  await attempt(account.email, "wrong-password-audit", "email");
  const { browser } = await attempt(account.email, account.password, "email");
  await browser.post("/login/email/send");
  const code = codeIn(await latestMessage(ctx, account.email, "email"));
  await browser.post("/login/email/code", { code: code === "000000" ? "111111" : "000000" });
  await browser.post("/login/email/code", { code });
  await browser.post("/login/email/verified");
  const rows = await ctx.sql<{ event: string; ip: string; userAgent: string; detail: unknown }[]>`
    select event, ip, user_agent as "userAgent", detail from audit_events where user_id = ${account.id} order by id`;
  const names = rows.map((row) => row.event);
  for (const event of ["signin.password_failed", "signin.password_verified", "code.sent", "code.failed", "signin.success"]) {
    assert.ok(names.includes(event), `${event} recorded`);
  }
  for (const row of rows) {
    assert.is(row.ip, address);
    assert.is(row.userAgent, "test-browser");
    const detail = JSON.stringify(row.detail);
    assert.not.match(detail, account.password);
    assert.not.match(detail, "wrong-password-audit");
    assert.not.match(detail, code);
  }
});

test.run();
