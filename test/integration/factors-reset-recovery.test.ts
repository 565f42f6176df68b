/**
 * Use a recovery code on Forgot your password?'s second-factor steps (issue 16 item 3, product.md
 * §8): it stands in for the authenticator app (or the phone) once, through plain form posts (no
 * JavaScript); the same code fails the second time; a notice is emailed on each use; wrong codes
 * count toward the lockout like other codes; junk is a 400 with a message.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { texts, type Page, type TestContext } from "../support/harness.ts";
import { registerWithApp, signOut } from "../support/factors.ts";
import { auditEvents, ClientBrowser, codeIn, lastMessage, pressButton, registrationContext, type Invited } from "../support/registration.ts";
import { createActiveUser } from "../support/users.ts";
import { MAX_CODE_ATTEMPTS } from "../../src/auth/codes.ts";

const test = suite("factors: Use a recovery code on Forgot your password?");
let ctx: TestContext;
const NEW_PASSWORD = "amber-harbor-thistle-77-violet";

test.before(async () => {
  ctx = await registrationContext();
});

/** Forgot your password? → the emailed code → Continue: the second-factor step. */
async function toSecondFactor(browser: ClientBrowser, email: string): Promise<Page> {
  const start = await browser.get("/forgot-password");
  const sent = await pressButton(browser, start, "Send verification code", { email });
  const mail = await lastMessage(ctx, email);
  const verified = await pressButton(browser, sent, "Verify code", { code: codeIn(mail.body) });
  return pressButton(browser, verified, "Continue");
}

function recoveryLink(page: Page): string | null {
  const link = [...page.document.querySelectorAll("main a")].find((a) => a.textContent === "Use a recovery code");
  return link?.getAttribute("href") ?? null;
}

async function failedAttempts(userId: string): Promise<number> {
  const [row] = await ctx.sql<{ n: number }[]>`select failed_attempts::int as n from users where id = ${userId}`;
  return row!.n;
}

async function resetWithRecoveryCode(browser: ClientBrowser, invited: Invited, code: string): Promise<Page> {
  const app = await toSecondFactor(browser, invited.email);
  assert.is(app.url, "/forgot-password/app");
  assert.is(recoveryLink(app), "/forgot-password/recovery", "the app's step offers Use a recovery code");
  const form = await browser.get("/forgot-password/recovery");
  return pressButton(browser, form, "Verify Code", { code });
}

test("an app account resets its password with a recovery code (plain form posts): the new password, home, a notice; the same code fails the second time", async () => {
  const { invited, codes, browser } = await registerWithApp(ctx);
  await signOut(browser, await browser.get("/home"));

  const app = await toSecondFactor(browser, invited.email);
  assert.is(app.url, "/forgot-password/app");
  const form = await browser.get(recoveryLink(app)!);
  assert.is(form.url, "/forgot-password/recovery");
  assert.is(form.status, 200);
  assert.equal(texts(form, "h1"), ["Use a recovery code"]);
  assert.is(form.document.querySelector("label[for=field-recovery]")!.textContent, "Recovery Code");
  assert.is(form.document.querySelector("main form")!.getAttribute("action"), "/forgot-password/recovery");
  assert.is(form.document.querySelector("main a[href='/forgot-password/app']")?.textContent, "Back", "Back leads to the app's step");
  assert.ok(form.document.querySelector("main a[href='/help/recovery-codes']"), "the recovery codes' help");

  // Typed as people copy it: lower case, with a dash.
  const typed = `${codes[0]!.slice(0, 8)}-${codes[0]!.slice(8)}`.toLowerCase();
  const password = await pressButton(browser, form, "Verify Code", { code: typed });
  assert.is(password.url, "/forgot-password/new-password");
  const notice = await lastMessage(ctx, invited.email);
  assert.match(notice.subject ?? "", "recovery code was used");
  assert.match(notice.body, "9 of your recovery codes are left");
  const home = await pressButton(browser, password, "Continue", { password: NEW_PASSWORD, confirm: NEW_PASSWORD });
  assert.is(home.url, "/home");
  const [session] = await ctx.sql<{ amr: string[]; option: string }[]>`
    select amr, login_option as option from sessions where user_id = ${invited.userId} order by created_at desc limit 1`;
  assert.is(session!.option, "totp");
  assert.ok(session!.amr.includes("mfa"));
  assert.not.ok(session!.amr.includes("otp"), "the app itself was not used");
  const events = await auditEvents(ctx, invited.userId);
  assert.ok(events.includes("recovery_code.used"));
  assert.ok(events.includes("password_reset.recovery_code_verified"));

  // A second reset: the same code is refused, the next one works.
  await signOut(browser, home);
  const reused = await resetWithRecoveryCode(browser, invited, codes[0]!);
  assert.is(reused.status, 401);
  assert.is(reused.url, "/forgot-password/recovery");
  assert.match(texts(reused, ".error-summary").join(" "), "not right, or it was used before");
  assert.is(reused.document.querySelector("#field-recovery")?.getAttribute("aria-invalid"), "true");
  const next = await pressButton(browser, reused, "Verify Code", { code: codes[1]! });
  assert.is(next.url, "/forgot-password/new-password");
});

test("wrong recovery codes count toward the lockout like other codes, and a flow's tries run out", async () => {
  const { invited, browser } = await registerWithApp(ctx);
  await signOut(browser, await browser.get("/home"));
  const before = await failedAttempts(invited.userId);
  let page = await resetWithRecoveryCode(browser, invited, "AAAAAAAAAAAAAAAA");
  assert.is(page.status, 401);
  assert.is(await failedAttempts(invited.userId), before + 1, "a wrong recovery code counts as a failure");
  for (let i = 1; i < MAX_CODE_ATTEMPTS; i++) page = await pressButton(browser, page, "Verify Code", { code: "AAAAAAAAAAAAAAAA" });
  page = await pressButton(browser, page, "Verify Code", { code: "AAAAAAAAAAAAAAAA" });
  assert.is(page.status, 400);
  assert.match(texts(page, ".error-summary").join(" "), "Too many wrong recovery codes");
});

test("junk is a 400 with a message; without a reset under way the page is Forgot your password?", async () => {
  const browser = new ClientBrowser(ctx);
  assert.is((await browser.get("/forgot-password/recovery")).url, "/forgot-password");
  const { invited, browser: signedIn } = await registerWithApp(ctx);
  await signOut(signedIn, await signedIn.get("/home"));
  await toSecondFactor(signedIn, invited.email);
  for (const code of ["", "not a code!", "x".repeat(41)]) {
    const page = await signedIn.post("/forgot-password/recovery", { code });
    assert.is(page.status, 400, JSON.stringify(code));
    assert.ok(texts(page, ".error-summary").join(" ").length > 0, "a message");
  }
});

test("a phone account's reset offers Use a recovery code on the phone's step too", async () => {
  const account = await createActiveUser(ctx.sql, { method: "phone" });
  const browser = new ClientBrowser(ctx);
  const phone = await toSecondFactor(browser, account.email);
  assert.is(phone.url, "/forgot-password/phone");
  assert.is(recoveryLink(phone), "/forgot-password/recovery");
  const form = await browser.get("/forgot-password/recovery");
  assert.is(form.document.querySelector("main a[href='/forgot-password/phone']")?.textContent, "Back");
  // The steps that are not a second factor do not offer it.
  const fresh = new ClientBrowser(ctx);
  const start = await fresh.get("/forgot-password");
  const sent = await pressButton(fresh, start, "Send verification code", { email: account.email });
  assert.is(recoveryLink(sent), null);
  assert.is((await fresh.get("/forgot-password/recovery")).url, "/forgot-password/code");
});

test.run();
