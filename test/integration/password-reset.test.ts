/**
 * Forgot your password?, as the guide's "Forgot or Reset Password" section: the emailed code,
 * the phone factor for phone accounts (SMS or Call Me), the new password, home. Other sessions
 * and Remember Me end, a notice is emailed, a locked account can reset (and is unlocked), and no
 * answer tells whether an address has an account (ASVS 6.3.8).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, buttonNames, texts, uniqueEmail, type TestContext, type Page, type Browser } from "../support/harness.ts";
import { createActiveUser, type ActiveUser } from "../support/users.ts";
import { answerCall, codeIn, latestMessage, outboxFor, press, pressLogin, signIn, submitPassword, useFreshAddress } from "../support/sign-in.ts";
import { PASSWORDS_DIFFER } from "../../src/flows/password-reset.ts";
import { STAFF_REFUSED } from "../../src/flows/login.ts";
import { LOCKOUT_THRESHOLD } from "../../src/auth/lockout.ts";

let ctx: TestContext;
const NEW_PASSWORD = "copper-lantern-meadow-42-quiet";

test.before(async () => {
  ctx = await createTestContext();
});

test.before.each(() => {
  useFreshAddress(ctx);
});

function main(page: Page): string {
  return (page.document.querySelector("main")?.textContent ?? page.document.textContent ?? page.text).replace(/\s+/g, " ");
}

function labels(page: Page): string[] {
  return texts(page, "label");
}

/** Email Address → Send verification code → the emailed code → Verify code → Continue. */
async function verifyEmail(browser: Browser, account: ActiveUser, options: { htmx?: boolean } = {}): Promise<Page> {
  let page = await browser.get("/forgot-password", { htmx: options.htmx });
  assert.ok(labels(page).includes("Email Address"));
  assert.ok(buttonNames(page).includes("Send verification code"));
  page = await press(browser, page, "Send verification code", { email: account.email }, { htmx: options.htmx });
  assert.is(page.url, "/forgot-password/code");
  assert.ok(labels(page).includes("Verification code"));
  assert.ok(buttonNames(page).includes("Verify code"));
  const email = await latestMessage(ctx, account.email, "email");
  assert.match(email.subject ?? "", "password reset");
  page = await press(browser, page, "Verify code", { code: codeIn(email) }, { htmx: options.htmx });
  assert.is(page.url, "/forgot-password/verified");
  assert.match(main(page), "Your email address has been verified.");
  assert.equal(buttonNames(page), ["Continue"]);
  return press(browser, page, "Continue", {}, { htmx: options.htmx });
}

async function choosePassword(browser: Browser, options: { htmx?: boolean } = {}): Promise<Page> {
  const page = await browser.get("/forgot-password/new-password", { htmx: options.htmx });
  assert.ok(labels(page).includes("New Password"));
  assert.ok(labels(page).includes("Confirm New Password"));
  return press(browser, page, "Continue", { password: NEW_PASSWORD, confirm: NEW_PASSWORD }, { htmx: options.htmx });
}

async function count(query: Promise<Array<{ n: number }>>): Promise<number> {
  const [row] = await query;
  return row!.n;
}

test("the credentials step links Forgot your password? to the reset form", async () => {
  const browser = ctx.browser();
  const page = await pressLogin(browser, "phone");
  const link = [...page.document.querySelectorAll("a")].find((a) => a.textContent === "Forgot your password?");
  assert.is(link?.getAttribute("href"), "/forgot-password");
  const form = await browser.get("/forgot-password");
  assert.is(texts(form, "h1")[0], "Forgot your password?");
});

test("a phone account: email code → Continue → Send Code (SMS) → new password → home; other sessions and Remember Me end; a notice is emailed", async () => {
  const account = await createActiveUser(ctx.sql, { method: "phone" });
  const elsewhere = ctx.browser();
  await signIn(ctx, elsewhere, account, { remember: true });
  assert.is((await elsewhere.get("/home")).url, "/home");
  const rememberToken = elsewhere.cookies.get("remember")!;

  const browser = ctx.browser();
  browser.cookies.set("remember", rememberToken); // the same person's remembered browser
  let page = await verifyEmail(browser, account);
  assert.is(page.url, "/forgot-password/phone", "phone accounts verify the phone too");
  assert.equal(buttonNames(page), ["Send Code", "Call Me"]);
  assert.match(main(page), account.phone!.slice(-4));
  page = await browser.get("/forgot-password/new-password");
  assert.is(page.url, "/forgot-password/phone", "the new password cannot be reached before the phone");
  page = await press(browser, await browser.get("/forgot-password/phone"), "Send Code");
  assert.is(page.url, "/forgot-password/phone/code");
  page = await press(browser, page, "Verify Code", { code: codeIn(await latestMessage(ctx, account.phone!, "sms")) });
  assert.is(page.url, "/forgot-password/new-password");
  page = await choosePassword(browser);
  assert.is(page.url, "/home");
  assert.is(texts(page, "h1")[0], "Home");
  assert.not.ok(browser.cookies.has("remember"), "this browser's Remember Me cookie is cleared");

  assert.is((await elsewhere.get("/home")).url, "/login", "the other session ended");
  assert.is(await count(ctx.sql`select count(*)::int as n from sessions where user_id = ${account.id}`), 1, "only the new session");
  assert.is(await count(ctx.sql`select count(*)::int as n from remember_tokens where user_id = ${account.id}`), 0, "every Remember Me ended");
  elsewhere.cookies.delete("session");
  assert.is((await pressLogin(elsewhere, "phone", { remember: true })).url, "/login/credentials", "the remembered browser is asked for everything");

  const notice = await latestMessage(ctx, account.email, "email");
  assert.match(notice.subject ?? "", "password was changed");
  assert.not.match(notice.text, NEW_PASSWORD);

  const oldPassword = ctx.browser();
  await pressLogin(oldPassword, "phone");
  assert.is((await submitPassword(oldPassword, account.email, account.password)).status, 401, "the old password no longer works");
  const newPassword = ctx.browser();
  await pressLogin(newPassword, "phone");
  assert.is((await submitPassword(newPassword, account.email, NEW_PASSWORD)).url, "/login/phone", "the new one does");
  const events = (await ctx.sql<{ event: string }[]>`select event from audit_events where user_id = ${account.id}`).map((row) => row.event);
  assert.ok(events.includes("password.reset"));
});

test("a phone account can verify the reset by Call Me (with htmx: polling, then a full-page redirect home)", async () => {
  const account = await createActiveUser(ctx.sql, { method: "phone" });
  const browser = ctx.browser();
  let page = await verifyEmail(browser, account, { htmx: true });
  assert.is(page.url, "/forgot-password/phone");
  page = await browser.post("/forgot-password/phone/call", {}, { htmx: true });
  assert.is(page.url, "/forgot-password/phone/call");
  const keypad = page.document.querySelector("output[name=keypad-code]")!.textContent!.trim();
  assert.is(page.document.querySelector("[hx-trigger='every 2s']")?.getAttribute("hx-post"), "/forgot-password/phone/call/check");
  page = await browser.post("/forgot-password/phone/call/check", { poll: "1" }, { htmx: true });
  assert.is(page.status, 204);
  const call = await latestMessage(ctx, account.phone!, "voice");
  assert.is(await answerCall(ctx, call.id, keypad), "confirmed");
  page = await browser.post("/forgot-password/phone/call/check", { poll: "1" }, { htmx: true });
  assert.is(page.url, "/forgot-password/new-password");
  page = await choosePassword(browser, { htmx: true });
  assert.is(page.headers.get("hx-redirect"), "/home");
  assert.is((await browser.get("/home")).url, "/home");
});

test("an email-only account goes from the email code straight to the new password", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  let page = await verifyEmail(browser, account);
  assert.is(page.url, "/forgot-password/new-password");
  page = await choosePassword(browser);
  assert.is(page.url, "/home");
  const [session] = await ctx.sql<{ loginOption: string }[]>`select login_option as "loginOption" from sessions where user_id = ${account.id}`;
  assert.is(session!.loginOption, "email");
  assert.match(page.text, "Password reset", "the home page lists the reset sign-in");
});

test("a reset works while the account is locked, and lifts the lock", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  for (let i = 0; i < LOCKOUT_THRESHOLD; i++) {
    const b = ctx.browser();
    await pressLogin(b, "email");
    await submitPassword(b, account.email, `wrong-${i}-password`);
  }
  const [locked] = await ctx.sql<{ lockedUntil: Date | null }[]>`select locked_until as "lockedUntil" from users where id = ${account.id}`;
  assert.ok(locked!.lockedUntil && locked!.lockedUntil.getTime() > ctx.clock.now().getTime(), "locked");
  const browser = ctx.browser();
  await verifyEmail(browser, account);
  const page = await choosePassword(browser);
  assert.is(page.url, "/home");
  const [after] = await ctx.sql<{ lockedUntil: Date | null }[]>`select locked_until as "lockedUntil" from users where id = ${account.id}`;
  assert.is(after!.lockedUntil, null, "unlocked");
  const fresh = ctx.browser();
  await pressLogin(fresh, "email");
  assert.is((await submitPassword(fresh, account.email, NEW_PASSWORD)).url, "/login/email", "sign-in works at once");
});

test("ASVS 6.3.8: an address without an account gets the same page and status, no email, and the same answers to codes", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const unknown = uniqueEmail("nobody");
  const known = ctx.browser();
  const stranger = ctx.browser();
  const a = await known.post("/forgot-password", { email: account.email });
  const b = await stranger.post("/forgot-password", { email: unknown });
  assert.is(a.status, b.status);
  assert.is(a.url, b.url);
  assert.is(a.text.split(account.email).join("EMAIL"), b.text.split(unknown).join("EMAIL"), "the same page");
  assert.is((await outboxFor(ctx, unknown)).length, 0, "nothing is sent to an unknown address");
  const real = codeIn(await latestMessage(ctx, account.email, "email"));
  // Distinct wrong codes: the same wrong code again in a row takes no second try.
  const wrongs = ["000000", "111111", "222222", "333333", "444444", "555555", "666666"].filter((c) => c !== real);
  for (let i = 1; i <= 6; i++) {
    const wrong = wrongs[i - 1]!;
    const x = await known.post("/forgot-password/code", { code: wrong });
    const y = await stranger.post("/forgot-password/code", { code: wrong });
    assert.is(x.status, y.status, `try ${i}: same status`);
    assert.is(x.text.split(account.email).join("EMAIL"), y.text.split(unknown).join("EMAIL"), `try ${i}: same page`);
  }
  const last = await known.post("/forgot-password/code", { code: real });
  assert.match(main(last), "tried too many times", "after 5 tries even the right code is refused");
});

test("ASVS 6.3.8: an unknown address takes comparable time", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const times = { known: [] as number[], unknown: [] as number[] };
  for (let i = 0; i < 5; i++) {
    for (const which of ["known", "unknown"] as const) {
      const started = performance.now();
      const page = await ctx.browser().post("/forgot-password", { email: which === "known" ? account.email : uniqueEmail("nobody") }, { follow: false });
      times[which].push(performance.now() - started);
      assert.is(page.status, 303);
    }
  }
  const median = (values: number[]) => [...values].sort((x, y) => x - y)[2]!;
  const ratio = median(times.unknown) / median(times.known);
  assert.ok(ratio > 0.33 && ratio < 3, `unknown/known ratio ${ratio.toFixed(2)}`);
});

test("the new password follows the policy and must be typed twice the same", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await verifyEmail(browser, account);
  let page = await browser.post("/forgot-password/new-password", { password: "short", confirm: "short" });
  assert.is(page.status, 422);
  assert.match(main(page), "Use at least 12 characters.");
  assert.is(page.document.querySelector("#field-password")?.getAttribute("aria-invalid"), "true");
  page = await browser.post("/forgot-password/new-password", { password: NEW_PASSWORD, confirm: `${NEW_PASSWORD}x` });
  assert.is(page.status, 422);
  assert.match(main(page), PASSWORDS_DIFFER);
  assert.is(page.document.querySelector("#field-confirm")?.getAttribute("aria-invalid"), "true");
  page = await browser.post("/forgot-password/new-password", { password: "", confirm: "" });
  assert.is(page.status, 400);
  assert.match(main(page), "Enter a new password.");
});

test("steps run in order; a reset without a flow starts over; staff addresses are refused", async () => {
  const browser = ctx.browser();
  let page = await browser.get("/forgot-password/new-password");
  assert.is(page.url, "/forgot-password");
  const account = await createActiveUser(ctx.sql, { method: "phone" });
  await browser.post("/forgot-password", { email: account.email });
  for (const path of ["/forgot-password/verified", "/forgot-password/phone", "/forgot-password/new-password", "/forgot-password/terms"]) {
    page = await browser.get(path);
    assert.is(page.url, "/forgot-password/code", `${path} early goes back to the code`);
  }
  page = await browser.post("/forgot-password/new-password", { password: NEW_PASSWORD, confirm: NEW_PASSWORD });
  assert.is(page.url, "/forgot-password/code", "a POST to a later step is not carried out");
  page = await ctx.browser().post("/forgot-password", { email: "someone@kepro.com" });
  assert.is(page.status, 400);
  assert.match(main(page), STAFF_REFUSED);
  page = await ctx.browser().post("/forgot-password", { email: "not-an-address" });
  assert.is(page.status, 400);
});

test("a newer reset in another browser ends the older one", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const first = ctx.browser();
  await first.post("/forgot-password", { email: account.email });
  const firstCode = codeIn(await latestMessage(ctx, account.email, "email"));
  await ctx.browser().post("/forgot-password", { email: account.email });
  const page = await first.post("/forgot-password/code", { code: firstCode });
  assert.is(page.url, "/forgot-password?expired=1");
});

test.run();
