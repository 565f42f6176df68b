/**
 * Brute force of codes and passwords (security.md "Abuse"): at most 5 tries per code, 10
 * failures per account across resends (passwords and codes together) lock it for 15 minutes,
 * the lock answers exactly like a wrong password, it lifts by itself, an administrator can lift
 * it, a password reset still works; and the per-address attempt limit. All through HTTP.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, type TestContext } from "../support/harness.ts";
import { createActiveUser } from "../support/users.ts";
import { pressLogin, signIn, submitPassword, useFreshAddress } from "../support/sign-in.ts";
import { signedInAdmin } from "../support/admin.ts";
import { SECOND } from "../../src/clock.ts";
import { LOCKOUT_MS, LOCKOUT_THRESHOLD } from "../../src/auth/lockout.ts";
import { MAX_CODE_ATTEMPTS } from "../../src/auth/codes.ts";
import { SIGN_IN_REFUSED } from "../../src/flows/login.ts";
import { comparable, cookieNames, lastCode, lockState, sessionCount, toEmailCode, toSmsCode, wrong } from "./support/steps.ts";

let ctx: TestContext;

test.before(async () => {
  ctx = await createTestContext();
});

test.before.each(() => {
  useFreshAddress(ctx);
});

test("NIST 800-63B 3.2.2, ASVS 6.5.x: a code takes at most 5 wrong tries; then even the right code is refused and no session exists", async () => {
  const user = await createActiveUser(ctx.sql, { method: "phone" });
  const browser = ctx.browser();
  await toSmsCode(browser, user);
  const code = await lastCode(ctx, user.phone!, "sms");
  for (let i = 1; i <= MAX_CODE_ATTEMPTS; i++) {
    const page = await browser.post("/login/phone/code", { code: wrong(code, i) });
    assert.is(page.status, 401, `wrong try ${i}`);
  }
  const right = await browser.post("/login/phone/code", { code });
  assert.is(right.status, 400, "the right code after 5 wrong tries is refused");
  assert.is.not(right.url, "/home");
  assert.match(right.text, /tried too many times/);
  assert.is(await sessionCount(ctx.sql, user.id), 0, "no session");
});

test("NIST 800-63B 3.2.2, ASVS 6.3.1: 10 failures across resends (codes and a password together) lock the account; the lock answers exactly like a wrong password", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });

  // Failure 1: a wrong password. Its answer is the reference the lock must match.
  const reference = ctx.browser();
  await pressLogin(reference, "email");
  const wrongPassword = await reference.post("/login/credentials", { email: user.email, password: "wrong-password-123456" }, { follow: false });
  assert.is(wrongPassword.status, 401);
  assert.match(wrongPassword.text, SIGN_IN_REFUSED);

  // Failures 2..10: wrong codes, with a Send New Code every 4 tries (a resend does not reset the count).
  const browser = ctx.browser();
  await toEmailCode(browser, user);
  let failures = 1;
  while (failures < LOCKOUT_THRESHOLD) {
    const code = await lastCode(ctx, user.email, "email");
    for (let i = 0; i < 4 && failures < LOCKOUT_THRESHOLD; i++) {
      const page = await browser.post("/login/email/code", { code: wrong(code, i) });
      assert.is(page.status, 401);
      failures += 1;
    }
    if (failures < LOCKOUT_THRESHOLD) assert.is((await browser.post("/login/email/send")).url, "/login/email/code", "Send New Code");
  }
  const state = await lockState(ctx.sql, user.id);
  assert.ok(state.lockedUntil && state.lockedUntil.getTime() > ctx.clock.now().getTime(), "the account is locked");

  // The right code is now refused like a wrong one, and no session is made.
  const rightCode = await browser.post("/login/email/code", { code: await lastCode(ctx, user.email, "email") });
  assert.is(rightCode.status, 401);
  assert.match(rightCode.text, /That code is not right/);

  // The right password answers exactly as the wrong one did: status, body, cookies.
  const other = ctx.browser();
  await pressLogin(other, "email");
  const locked = await other.post("/login/credentials", { email: user.email, password: user.password }, { follow: false });
  assert.is(locked.status, wrongPassword.status);
  assert.is(comparable(locked), comparable(wrongPassword), "the same body");
  assert.equal(cookieNames(locked), cookieNames(wrongPassword), "the same cookies");
  assert.is(await sessionCount(ctx.sql, user.id), 0);
});

async function lockByPasswords(email: string): Promise<void> {
  for (let i = 0; i < LOCKOUT_THRESHOLD; i++) {
    const browser = ctx.browser();
    await pressLogin(browser, "email");
    assert.is((await submitPassword(browser, email, `wrong-password-${i}-abcdef`)).status, 401);
  }
}

test("NIST 800-63B 3.2.2: the lock lifts by itself after 15 minutes (not a second before)", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  await lockByPasswords(user.email);
  ctx.clock.advance(LOCKOUT_MS - SECOND);
  const early = ctx.browser();
  await pressLogin(early, "email");
  assert.is((await submitPassword(early, user.email, user.password)).status, 401, "still locked at 14:59");
  ctx.clock.advance(2 * SECOND);
  const page = await signIn(ctx, ctx.browser(), user, { option: "email" });
  assert.is(page.url, "/home");
  assert.is((await lockState(ctx.sql, user.id)).failedAttempts, 0, "a completed sign-in restarts the count");
});

test("ASVS 6.3.1: an administrator's Unlock lifts the lock at once", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  await lockByPasswords(user.email);
  const { browser: admin } = await signedInAdmin(ctx);
  const done = await admin.post(`/admin/users/${user.id}/unlock`, { from: "user" });
  assert.is(done.status, 200);
  assert.is((await lockState(ctx.sql, user.id)).lockedUntil, null);
  assert.is((await signIn(ctx, ctx.browser(), user, { option: "email" })).url, "/home");
});

test("NIST 800-63B 3.2.2: a password reset still works on a locked account and lifts the lock", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  await lockByPasswords(user.email);
  const browser = ctx.browser();
  assert.is((await browser.post("/forgot-password", { email: user.email })).url, "/forgot-password/code");
  assert.is((await browser.post("/forgot-password/code", { code: await lastCode(ctx, user.email, "email") })).url, "/forgot-password/verified");
  assert.is((await browser.post("/forgot-password/verified")).url, "/forgot-password/new-password");
  const password = "violet-harbor-sextant-91-plume";
  const home = await browser.post("/forgot-password/new-password", { password, confirm: password });
  assert.is(home.url, "/home");
  assert.equal(await lockState(ctx.sql, user.id), { failedAttempts: 0, lockedUntil: null });
});

test("ASVS 6.3.1, 2.4.1: 30 password checks a minute from one client address, then 429 whatever the account; another address is unaffected", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await pressLogin(browser, "email");
  for (let i = 0; i < 30; i++) {
    const page = await submitPassword(browser, `nobody.${i}.${Date.now()}@clinic.example`, "wrong-password-123456");
    assert.is(page.status, 401, `attempt ${i + 1}`);
  }
  const limited = await submitPassword(browser, user.email, user.password);
  assert.is(limited.status, 429, "the 31st check within the minute is refused before any password is checked");
  useFreshAddress(ctx);
  assert.is((await signIn(ctx, ctx.browser(), user, { option: "email" })).url, "/home", "another address signs in");
});

test.run();
