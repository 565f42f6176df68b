/**
 * The authenticator app and recovery codes through HTTP (product.md §8, security.md "Factors"):
 * registration with Authenticator App (QR code and secret, Verification Code → Verify Code, the
 * recovery codes shown once), Login with Authenticator App (a code accepted once, ASVS 6.5.1),
 * wrong codes toward the lockout, Use a recovery code (single use, a notice each time), Remember Me.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { SECOND } from "../../src/clock.ts";
import { LOCKOUT_THRESHOLD } from "../../src/auth/lockout.ts";
import { texts, type TestContext } from "../support/harness.ts";
import { codeAt as codeAtFor, registerWithApp as registerWithAppFor, secretOf, signOut, toAppCode, toAppStep as toAppStepFor } from "../support/factors.ts";
import {
  auditEvents,
  ClientBrowser,
  codeIn,
  flowOf,
  GOOD_PASSWORD,
  invite,
  lastMessage,
  pressButton,
  registrationContext,
  startWizard,
  userRow,
  verifyEmailAndCreatePassword,
  type Invited,
} from "../support/registration.ts";

const test = suite("factors: authenticator app and recovery codes");
let ctx: TestContext;

test.before(async () => {
  ctx = await registrationContext();
});

const codeAt = (key: Uint8Array, offset = 0) => codeAtFor(ctx, key, offset);
const toAppStep = (browser: ClientBrowser, invited: Invited, htmx = false) => toAppStepFor(ctx, browser, invited, htmx);
const registerWithApp = (browser?: ClientBrowser) => registerWithAppFor(ctx, browser);

test("the method step offers Authenticator App beside Phone and Email", async () => {
  const browser = new ClientBrowser(ctx);
  const invited = await invite(ctx);
  const landing = await browser.get(invited.path);
  assert.equal(texts(landing, "main button"), ["Phone", "Email", "Authenticator App"]);
});

test("set-up in GOV.UK One Login's order: a QR code as inline SVG (no script), the 160-bit secret as text, Verification Code, Verify Code", async () => {
  const browser = new ClientBrowser(ctx);
  const invited = await invite(ctx);
  for (const htmx of [false, true]) {
    const page = htmx ? await browser.get("/register/app", { htmx: true }) : await toAppStep(browser, invited);
    const main = htmx ? page.document : page.document.querySelector("main")!;
    const order = [...main.querySelectorAll("svg, output[name=totp-secret], label[for=field-code], button")].map((el) => el.tagName.toLowerCase());
    assert.equal(order, ["svg", "output", "label", "button"], htmx ? "fragment" : "page");
    assert.is(main.querySelector("label[for=field-code]")!.textContent, "Verification Code");
    assert.equal(texts(page, "button").filter((t) => t === "Verify Code").length, 1);
    assert.is(secretOf(page).length, 20, "160 bits");
    assert.is(main.querySelectorAll("script").length, 0);
  }
  // The key is kept sealed in the flow, never in clear.
  const flow = await flowOf(ctx, invited.userId);
  const page = await browser.get("/register/app");
  const base32 = page.document.querySelector("output[name=totp-secret]")!.textContent!.replace(/\s+/g, "");
  assert.not.match(JSON.stringify(flow), base32);
});

test("a wrong code is refused with a message and counted; the right one moves on to the terms, the recovery codes, then home as an active app user", async () => {
  const browser = new ClientBrowser(ctx);
  const invited = await invite(ctx);
  const app = await toAppStep(browser, invited);
  const key = secretOf(app);
  const wrongCode = String((Number(codeAt(key)) + 1) % 1e6).padStart(6, "0");
  const wrong = await pressButton(browser, app, "Verify Code", { code: wrongCode });
  assert.is(wrong.status, 422);
  assert.match(texts(wrong, ".error-message").join(" "), "not right");
  assert.ok(wrong.document.querySelector("output[name=totp-secret]"), "the secret is still there to try again");
  const n = (await ctx.sql<{ n: number }[]>`select failed_attempts as n from users where id = ${invited.userId}`)[0]!.n;
  assert.is(n, 1);
  const terms = await pressButton(browser, wrong, "Verify Code", { code: codeAt(key) });
  assert.is(terms.url, "/register/terms");
  const recovery = await pressButton(browser, terms, "Continue", { agree: "on" });
  assert.is(recovery.url, "/register/recovery-codes");
  assert.equal(texts(recovery, "#recovery-codes-heading"), ["Recovery codes"]);
  assert.is(recovery.document.querySelector("ul[aria-labelledby=recovery-codes-heading]")!.querySelectorAll("li").length, 10);
  assert.is(recovery.document.querySelector("label[for=field-saved]")!.textContent, "I have saved my recovery codes");
  // No session before the codes were acknowledged; without the box, the page again.
  assert.is((await browser.get("/home")).url, "/login");
  const unticked = await pressButton(browser, recovery, "Continue");
  assert.is(unticked.status, 400);
  assert.is(texts(unticked, "ul.recovery-codes li").length, 10);
  const home = await pressButton(browser, unticked, "Continue", { saved: "on" });
  assert.is(home.url, "/home");
  const row = await userRow(ctx, invited.userId);
  assert.is(row.status, "active");
  assert.is(row.mfaMethod, "totp");
  const [factor] = await ctx.sql<{ kind: string; secret: Uint8Array; step: string }[]>`
    select kind, secret, last_used_step as step from user_factors where user_id = ${invited.userId}`;
  assert.is(factor!.kind, "totp");
  assert.not.ok(Buffer.from(factor!.secret).includes(Buffer.from(key)), "the key is encrypted at rest");
  const [session] = await ctx.sql<{ amr: string[] }[]>`select amr from sessions where user_id = ${invited.userId}`;
  assert.equal([...session!.amr].sort(), ["email", "mfa", "otp", "pwd"]);
  // Shown once: the flow forgot them.
  assert.not.ok((await flowOf(ctx, invited.userId))?.data.recoveryCodes);
  assert.ok((await auditEvents(ctx, invited.userId)).includes("recovery_codes.issued"));
});

test("Login with Authenticator App: credentials, then a code; the same code again is refused (accepted once), the next step's passes", async () => {
  const { invited, key, browser } = await registerWithApp();
  await signOut(browser, await browser.get("/home"));
  // The registration used this step's code: a sign-in with it is a replay.
  const step = await toAppCode(browser, invited.email);
  const replay = await pressButton(browser, step, "Verify Code", { code: codeAt(key) });
  assert.is(replay.status, 400);
  assert.match(texts(replay, ".error-summary").join(" "), "can no longer be used");
  ctx.clock.advance(30 * SECOND);
  const home = await pressButton(browser, replay, "Verify Code", { code: codeAt(key) });
  assert.is(home.url, "/home");
  const [session] = await ctx.sql<{ amr: string[]; option: string }[]>`
    select amr, login_option as option from sessions where user_id = ${invited.userId} order by created_at desc limit 1`;
  assert.is(session!.option, "totp");
  assert.ok(session!.amr.includes("otp") && session!.amr.includes("mfa"));
  // Another browser with the code just used: refused.
  await signOut(browser, home);
  const other = new ClientBrowser(ctx);
  const again = await pressButton(other, await toAppCode(other, invited.email), "Verify Code", { code: codeAt(key) });
  assert.is(again.status, 400);
  assert.is(again.url, "/login/app");
});

test("the app's code step: one step of skew is accepted, two are not; wrong codes count toward the lockout like other codes", async () => {
  const { invited, key, browser } = await registerWithApp();
  await signOut(browser, await browser.get("/home"));
  ctx.clock.advance(120 * SECOND);
  let step = await toAppCode(browser, invited.email);
  const tooOld = await pressButton(browser, step, "Verify Code", { code: codeAt(key, -2) });
  assert.is(tooOld.status, 401);
  const n = (await ctx.sql<{ n: number }[]>`select failed_attempts as n from users where id = ${invited.userId}`)[0]!.n;
  assert.is(n, 1);
  step = await pressButton(browser, tooOld, "Verify Code", { code: codeAt(key, -1) });
  assert.is(step.url, "/home");
  assert.ok(LOCKOUT_THRESHOLD > 1);
});

test("an account without an app that presses Login with Authenticator App is told so (only after the password was right)", async () => {
  const browser = new ClientBrowser(ctx);
  const invited = await invite(ctx);
  await startWizard(ctx, browser, invited, "email");
  const terms = await verifyEmailAndCreatePassword(ctx, browser, invited);
  const home = await pressButton(browser, terms, "Continue", { agree: "on" });
  assert.is(home.url, "/home");
  await signOut(browser, home);
  const start = await browser.get("/login");
  const credentials = await pressButton(browser, start, "Login with Authenticator App");
  const page = await pressButton(browser, credentials, "Sign in", { email: invited.email, password: GOOD_PASSWORD });
  assert.is(page.url, "/login/no-app");
  assert.match(page.text, "does not have an authenticator app");
});

test("Use a recovery code on the app's step: it signs in once and emails a notice; the same code again fails; wrong ones count", async () => {
  const { invited, codes, browser } = await registerWithApp();
  assert.is(codes.length, 10);
  await signOut(browser, await browser.get("/home"));
  const step = await toAppCode(browser, invited.email);
  const link = [...step.document.querySelectorAll("a")].find((a) => a.textContent === "Use a recovery code");
  assert.ok(link, "Use a recovery code on the second-factor step");
  const form = await browser.get(link!.getAttribute("href")!);
  assert.is(form.url, "/login/recovery");
  assert.is(form.document.querySelector("label[for=field-recovery]")!.textContent, "Recovery Code");
  const home = await pressButton(browser, form, "Verify Code", { code: codes[0]! });
  assert.is(home.url, "/home");
  const notice = await lastMessage(ctx, invited.email);
  assert.match(notice.subject ?? "", "recovery code was used");
  assert.match(notice.body, "9 of your recovery codes are left");
  await signOut(browser, home);
  // Without a sign-in under way the recovery page is not there: the sign-in page instead.
  assert.is((await browser.get("/login/recovery")).url, "/login");
  await toAppCode(browser, invited.email);
  const reused = await pressButton(browser, await browser.get("/login/recovery"), "Verify Code", { code: codes[0]! });
  assert.is(reused.status, 401);
  assert.match(texts(reused, ".error-summary").join(" "), "not right, or it was used before");
  assert.ok((await auditEvents(ctx, invited.userId)).includes("recovery_code.used"));
  // The next code works (each once).
  assert.is((await pressButton(browser, reused, "Verify Code", { code: codes[1]! })).url, "/home");
});

test("Remember Me on Login with Authenticator App: the same button skips credentials and the app; another does not", async () => {
  const { invited, key, browser } = await registerWithApp();
  await signOut(browser, await browser.get("/home"));
  ctx.clock.advance(30 * SECOND);
  const step = await toAppCode(browser, invited.email, true);
  const home = await pressButton(browser, step, "Verify Code", { code: codeAt(key) });
  assert.is(home.url, "/home");
  // A session ends (not signing out, which forgets Remember Me): a new browser session with the cookie.
  browser.cookies.delete([...browser.cookies.keys()].find((name) => name.includes("session"))!);
  const start = await browser.get("/login");
  const again = await pressButton(browser, start, "Login with Authenticator App", { remember: "on" });
  assert.is(again.url, "/home");
  browser.cookies.delete([...browser.cookies.keys()].find((name) => name.includes("session"))!);
  const other = await pressButton(browser, await browser.get("/login"), "Login with Email", { remember: "on" });
  assert.is(other.url, "/login/credentials");
});

test("Forgot your password? asks the app's code where a phone user is asked for the phone; the reset signs in with otp", async () => {
  const { invited, key, browser } = await registerWithApp();
  await signOut(browser, await browser.get("/home"));
  const start = await browser.get("/forgot-password");
  const sent = await pressButton(browser, start, "Send verification code", { email: invited.email });
  const mail = await lastMessage(ctx, invited.email);
  const verified = await pressButton(browser, sent, "Verify code", { code: codeIn(mail.body) });
  const app = await pressButton(browser, verified, "Continue");
  assert.is(app.url, "/forgot-password/app");
  assert.is(app.document.querySelector("label[for=field-code]")!.textContent, "Verification Code");
  ctx.clock.advance(30 * SECOND);
  const password = await pressButton(browser, app, "Verify Code", { code: codeAt(key) });
  assert.is(password.url, "/forgot-password/new-password");
  const fresh = "amber-harbor-thistle-77-violet";
  const home = await pressButton(browser, password, "Continue", { password: fresh, confirm: fresh });
  assert.is(home.url, "/home");
  const [session] = await ctx.sql<{ amr: string[]; option: string }[]>`
    select amr, login_option as option from sessions where user_id = ${invited.userId} order by created_at desc limit 1`;
  assert.is(session!.option, "totp");
  assert.ok(session!.amr.includes("otp"));
});

test("the account's Sign-in methods (/account/factors goes there): signed in only; Add an authenticator app replaces the app; Generate new recovery codes ends the old ones", async () => {
  assert.match((await new ClientBrowser(ctx).get("/account/factors")).url, /^\/login\?rd=%2Faccount%2Ffactors/);
  const { invited, key, codes, browser } = await registerWithApp();
  const list = await browser.get("/account/factors");
  assert.is(list.status, 200);
  assert.is(list.url, "/account", "one list: the account page's section");
  assert.match(list.text, "10 recovery codes left");
  assert.match(list.text, "Passkeys need JavaScript");
  const setup = await pressButton(browser, list, "Replace the authenticator app");
  assert.is(setup.url, "/account/factors/app");
  const newKey = secretOf(setup);
  assert.not.equal(Buffer.from(newKey).toString("hex"), Buffer.from(key).toString("hex"));
  const done = await pressButton(browser, setup, "Verify Code", { code: codeAt(newKey) });
  // Not the first strong factor: no new recovery codes, back to the list.
  assert.is(done.url, "/account?done=factor_added");
  const factors = await ctx.sql`select kind from user_factors where user_id = ${invited.userId}`;
  assert.equal(factors.map((f) => f.kind), ["totp"]);
  assert.match((await lastMessage(ctx, invited.email)).subject ?? "", "sign-in method was added");
  const fresh = await pressButton(browser, done, "Generate new recovery codes");
  assert.is(fresh.url, "/account/factors/recovery-codes");
  const newCodes = texts(fresh, "ul.recovery-codes li");
  assert.is(newCodes.length, 10);
  const saved = await pressButton(browser, fresh, "Continue", { saved: "on" });
  assert.is(saved.url, "/account?done=codes_saved");
  // The old codes died with the new set.
  await signOut(browser, await browser.get("/home"));
  ctx.clock.advance(30 * SECOND);
  await toAppCode(browser, invited.email);
  const old = await pressButton(browser, await browser.get("/login/recovery"), "Verify Code", { code: codes[2]! });
  assert.is(old.status, 401);
  assert.is((await pressButton(browser, old, "Verify Code", { code: newCodes[2]! })).url, "/home");
});

test.run();
