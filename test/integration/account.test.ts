/**
 * The account page (product.md §8, security.md "a second factor within REAUTH_TTL first, a
 * notice after": ASVS 7.5.1, 6.3.7): Change password, Change phone number (the old number works
 * until the new one is proved), Sessions (Sign out one, Sign out of all other sessions), Recent
 * activity, and Confirm it's you before each change, with the person's own factor, rate limited,
 * counted toward the lockout, refused while locked.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, buttonNames, texts, type Browser, type Page, type TestContext } from "../support/harness.ts";
import { createActiveUser, uniquePhone, type ActiveUser } from "../support/users.ts";
import { answerCall, codeIn, latestMessage, outboxFor, press, signIn, useFreshAddress, STALE } from "../support/sign-in.ts";
import { MINUTE } from "../../src/clock.ts";
import { CURRENT_SESSION, LOCKED_MESSAGE, SAME_PHONE, SESSION_GONE, WRONG_CURRENT_PASSWORD } from "../../src/flows/account.ts";
import { CODE_MESSAGES } from "../../src/flows/factors/code.ts";
import { LOCKOUT_THRESHOLD } from "../../src/auth/lockout.ts";
import { createRememberToken } from "../../src/auth/remember-me.ts";

let ctx: TestContext;
const NEW_PASSWORD = "walnut-harbor-signal-93-piano";

test.before(async () => {
  ctx = await createTestContext({ env: { PORTAL_TIME_ZONE: "America/New_York" } });
});

test.before.each(() => {
  useFreshAddress(ctx);
});

function main(page: Page): string {
  return (page.document.querySelector("main")?.textContent ?? page.text).replace(/\s+/g, " ");
}

async function sessionsOf(userId: string): Promise<string[]> {
  const rows = await ctx.sql<{ id: string }[]>`select id from sessions where user_id = ${userId} order by created_at`;
  return rows.map((r) => r.id);
}

/** The session id of a browser (the part of its cookie before the dot). */
function sessionIdOf(browser: Browser): string {
  return (browser.cookies.get("session") ?? "").split(".")[0]!;
}

async function signedIn(account: ActiveUser): Promise<Browser> {
  const browser = ctx.browser();
  await signIn(ctx, browser, account);
  return browser;
}

/** Confirm it's you, with the account's own factor, from the page it shows (email code, or SMS). */
async function confirmItsYou(browser: Browser, page: Page, account: ActiveUser, options: { htmx?: boolean } = {}): Promise<Page> {
  assert.match(page.url, /^\/account\/confirm(\?for=(password|phone))?$/, "the change asks for a second factor first");
  assert.match(main(page), "Confirm it's you");
  if (account.phone) {
    page = await press(browser, page, "Send Code", {}, options);
    assert.is(page.url, "/account/confirm/code");
    const sms = await latestMessage(ctx, account.phone, "sms");
    return press(browser, page, "Verify Code", { code: codeIn(sms) }, options);
  }
  page = await press(browser, page, "Send Verification Code", {}, options);
  assert.is(page.url, "/account/confirm/code");
  const email = await latestMessage(ctx, account.email, "email");
  assert.match(email.subject ?? "", "confirm it's you");
  return press(browser, page, "Verify Code", { code: codeIn(email) }, options);
}

test("the account page needs a session; signed in, it has every section, the banner link Account, and a fragment for htmx", async () => {
  const anonymous = ctx.browser();
  const refused = await anonymous.get("/account", { follow: false });
  assert.is(refused.status, 303);
  assert.is(refused.headers.get("location"), "/login?rd=%2Faccount");

  const account = await createActiveUser(ctx.sql, { method: "phone" });
  const browser = await signedIn(account);
  const page = await browser.get("/account");
  assert.is(page.status, 200);
  assert.ok(texts(page, "header nav a").includes("Account"), "the banner links Account");
  const headings = texts(page, "main h2");
  for (const heading of ["Change password", "Change phone number", "Sign-in methods", "Sessions", "Recent activity"]) assert.ok(headings.includes(heading), heading);
  assert.match(main(page), `Phone ending ${account.phone!.slice(-4)}`);
  assert.match(main(page), "(this session)");
  // Signed in (just now) in plain words, at a time in the portal's zone.
  assert.match(main(page), "Signed in (Login with Phone)");
  assert.match(texts(page, ".activity-list time")[0]!, / E[SD]T$/);

  const fragment = await browser.get("/account", { htmx: true });
  assert.not.match(fragment.text, "<html");
  assert.match(fragment.text, "Recent activity");

  const emailOnly = await createActiveUser(ctx.sql, { method: "email" });
  const other = await signedIn(emailOnly);
  assert.not.ok(texts(await other.get("/account"), "main h2").includes("Change phone number"), "email-only accounts have no phone to change");
});

test("change password: a fresh sign-in needs no confirmation; the change ends every other session and Remember Me, emails a notice, and the new password signs in", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const elsewhere = await signedIn(account);
  const browser = await signedIn(account);
  await createRememberToken(ctx.sql, ctx.clock, account.id, "email", 4 * 60 * MINUTE);
  let page = await browser.get("/account/password");
  assert.is(page.url, "/account/password", "within REAUTH_TTL of the sign-in, no confirmation");
  for (const label of ["Current Password", "New Password", "Confirm New Password"]) assert.ok(texts(page, "label").includes(label), label);

  page = await press(browser, page, "Change password", { current: "not-the-password", password: NEW_PASSWORD, confirm: NEW_PASSWORD });
  assert.is(page.status, 401);
  assert.match(main(page), WRONG_CURRENT_PASSWORD);

  page = await press(browser, page, "Change password", { current: account.password, password: NEW_PASSWORD, confirm: NEW_PASSWORD });
  assert.is(page.url, "/account?done=password");
  assert.match(main(page), "Your password was changed");
  assert.equal(await sessionsOf(account.id), [sessionIdOf(browser)], "only this session is left");
  assert.is((await elsewhere.get("/home")).url, "/login", "the other browser is signed out");
  const { n } = (await ctx.sql<{ n: number }[]>`select count(*)::int as n from remember_tokens where user_id = ${account.id}`)[0]!;
  assert.is(n, 0, "every Remember Me token ended");
  const notice = await latestMessage(ctx, account.email, "email");
  assert.match(notice.subject ?? "", "password was changed");
  const [event] = await ctx.sql`select 1 from audit_events where user_id = ${account.id} and event = 'account.password_changed'`;
  assert.ok(event, "audited");

  const again = ctx.browser();
  await signIn(ctx, again, { ...account, password: NEW_PASSWORD });
});

test("ASVS 7.5.1: REAUTH_TTL (injected clock): after it, a change asks Confirm it's you first and returns to that change; a POST without the proof changes nothing", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = await signedIn(account);
  ctx.clock.advance(STALE);

  // Straight to the POST without a fresh proof: nothing changes, the confirmation starts.
  let page = await browser.post("/account/password", { current: account.password, password: NEW_PASSWORD, confirm: NEW_PASSWORD });
  assert.is(page.url, "/account/confirm");
  const [row] = await ctx.sql<{ changed: boolean }[]>`select exists(select 1 from audit_events where user_id = ${account.id} and event = 'account.password_changed') as changed`;
  assert.is(row!.changed, false, "the password did not change");

  const flowsBefore = await ctx.sql`select 1 from flows where user_id = ${account.id} and kind = 'account'`;
  page = await browser.get("/account/password");
  assert.is(page.url, "/account/confirm?for=password");
  const flowsAfter = await ctx.sql`select 1 from flows where user_id = ${account.id} and kind = 'account'`;
  assert.is(flowsAfter.length, flowsBefore.length, "a GET writes nothing (security.md: no GET changes state)");
  page = await confirmItsYou(browser, page, account);
  assert.is(page.url, "/account/password", "back to the change asked for");
  // The confirmation lets that change finish even once REAUTH_TTL has run out while typing…
  ctx.clock.advance(STALE);
  page = await press(browser, page, "Change password", { current: account.password, password: NEW_PASSWORD, confirm: NEW_PASSWORD });
  assert.is(page.url, "/account?done=password");
  // …but no other change, and not a second time.
  page = await browser.get("/account/password");
  assert.is(page.url, "/account/confirm?for=password", "an expired proof asks again");
});

test("ASVS 7.5.1: an expired proof: a confirmation older than its leeway asks again", async () => {
  const account = await createActiveUser(ctx.sql, { method: "phone" });
  const browser = await signedIn(account);
  ctx.clock.advance(STALE);
  let page = await browser.get("/account/phone");
  page = await confirmItsYou(browser, page, account);
  assert.is(page.url, "/account/phone");
  ctx.clock.advance(16 * MINUTE);
  await browser.get("/home"); // keeps the session from going idle
  page = await browser.get("/account/phone");
  assert.is(page.url, "/account/confirm?for=phone");
});

test("a wrong code counts toward the lockout; the lock refuses Confirm it's you (ASVS 6.3.1)", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = await signedIn(account);
  ctx.clock.advance(STALE);
  let page = await browser.get("/account/password");
  page = await press(browser, page, "Send Verification Code");
  const code = codeIn(await latestMessage(ctx, account.email, "email"));
  const wrong = code === "000000" ? "111111" : "000000";
  page = await press(browser, page, "Verify Code", { code: wrong });
  assert.is(page.status, 401);
  assert.match(main(page), CODE_MESSAGES.wrong);
  const [counted] = await ctx.sql<{ failedAttempts: number }[]>`select failed_attempts as "failedAttempts" from users where id = ${account.id}`;
  assert.is(counted!.failedAttempts, 1, "the wrong code counted");

  await ctx.sql`update users set failed_attempts = ${LOCKOUT_THRESHOLD - 1} where id = ${account.id}`;
  // Another wrong code (the same one again in a row would count nothing: a reload of the failed submit).
  page = await press(browser, page, "Verify Code", { code: ["222222", "333333"].find((c) => c !== code)! });
  assert.is(page.status, 403);
  assert.match(main(page), LOCKED_MESSAGE);
  // Locked: even the right code does not confirm, and no new code is sent.
  page = await browser.post("/account/confirm/code", { code });
  assert.is(page.status, 403);
  const before = (await outboxFor(ctx, account.email)).length;
  page = await browser.post("/account/confirm/email/send");
  assert.is(page.status, 403);
  assert.is((await outboxFor(ctx, account.email)).length, before, "nothing was sent");
  assert.is((await browser.get("/account/password")).url, "/account/confirm?for=password");
});

test("ASVS 6.6.3: sends and checks are rate limited: the per-account send limit stops Confirm it's you codes", async () => {
  const account = await createActiveUser(ctx.sql, { method: "phone" });
  const browser = await signedIn(account);
  ctx.clock.advance(STALE);
  let page = await browser.get("/account/phone");
  // Sign-in took one SMS of the hour's five.
  for (let i = 0; i < 4; i++) page = await browser.post("/account/confirm/phone/send?for=phone");
  assert.is(page.url, "/account/confirm/code");
  page = await browser.post("/account/confirm/phone/send");
  assert.is(page.status, 429);
  assert.ok(page.headers.get("retry-after"));
});

test("change phone: the new number is proved by SMS before it replaces the old one, which works until then; Login with Phone's Remember Me ends; a notice is emailed", async () => {
  const account = await createActiveUser(ctx.sql, { method: "phone" });
  const browser = await signedIn(account);
  await createRememberToken(ctx.sql, ctx.clock, account.id, "phone", 4 * 60 * MINUTE);
  const newPhone = uniquePhone();
  let page = await browser.get("/account/phone");
  assert.is(page.url, "/account/phone", "fresh sign-in: no confirmation");
  page = await press(browser, page, "Send Code", { phone: account.phone!.slice(2) });
  assert.is(page.status, 400);
  assert.match(main(page), SAME_PHONE);
  page = await press(browser, page, "Send Code", { phone: "900 555 0100" });
  assert.is(page.status, 400);

  page = await press(browser, page, "Send Code", { phone: newPhone.slice(2) });
  assert.is(page.url, "/account/phone/code");
  const sms = await latestMessage(ctx, newPhone, "sms");

  // Not proved yet: the old number still signs in.
  const other = ctx.browser();
  await signIn(ctx, other, account);

  const wrong = codeIn(sms) === "000000" ? "111111" : "000000";
  page = await press(browser, page, "Verify Code", { code: wrong });
  assert.is(page.status, 401);
  assert.is((await ctx.sql`select phone_e164 from users where id = ${account.id}`)[0]!.phone_e164, account.phone);

  page = await press(browser, page, "Verify Code", { code: codeIn(sms) });
  assert.is(page.url, "/account?done=phone");
  const [factor] = await ctx.sql<{ destination: string; label: string }[]>`select destination, label from user_factors where user_id = ${account.id} and kind = 'phone'`;
  assert.is(factor!.destination, newPhone);
  assert.is(factor!.label, `Phone ending ${newPhone.slice(-4)}`);
  const { n } = (await ctx.sql<{ n: number }[]>`select count(*)::int as n from remember_tokens where user_id = ${account.id} and login_option = 'phone'`)[0]!;
  assert.is(n, 0);
  assert.match((await latestMessage(ctx, account.email, "email")).subject ?? "", "phone number was changed");
  assert.match(main(page), `Phone number changed to the number ending ${newPhone.slice(-4)}`);

  // Login with Phone now reaches the new number.
  const third = ctx.browser();
  await signIn(ctx, third, { ...account, phone: newPhone });
});

test("change phone by Call Me, confirmed by a call to the old number first (htmx)", async () => {
  const account = await createActiveUser(ctx.sql, { method: "phone" });
  const browser = await signedIn(account);
  ctx.clock.advance(STALE);
  let page = await browser.get("/account/phone", { htmx: true });
  assert.is(page.url, "/account/confirm?for=phone");
  page = await press(browser, page, "Call Me", {}, { htmx: true });
  assert.is(page.url, "/account/confirm/call");
  const keypad = page.document.querySelector('output[name="keypad-code"]')?.textContent?.trim() ?? "";
  const call = await latestMessage(ctx, account.phone!, "voice");
  assert.is(await answerCall(ctx, call.id, `${keypad}#`), "confirmed");
  page = await browser.post("/account/confirm/call/check", { poll: "1" }, { htmx: true });
  assert.is(page.url, "/account/phone");

  const newPhone = uniquePhone();
  page = await press(browser, page, "Call Me", { phone: newPhone }, { htmx: true });
  assert.is(page.url, "/account/phone/call");
  const pending = await browser.post("/account/phone/call/check", { poll: "1" }, { htmx: true });
  assert.is(pending.status, 204, "a pending call changes nothing on screen");
  const code = page.document.querySelector('output[name="keypad-code"]')?.textContent?.trim() ?? "";
  const newCall = await latestMessage(ctx, newPhone, "voice");
  assert.is(await answerCall(ctx, newCall.id, `${code}#`), "confirmed");
  page = await browser.post("/account/phone/call/check", { poll: "1" }, { htmx: true });
  // The account page itself, in place; the address bar shows it without the message's query (HX-Replace-Url).
  assert.is(page.url, "/account");
  assert.match(page.text, "Your phone number was changed.");
  assert.is((await ctx.sql`select destination from user_factors where user_id = ${account.id} and kind = 'phone'`)[0]!.destination, newPhone);
});

test("ASVS 7.4.5: sessions: browser, address, started, last active; Sign out ends another session (after Confirm it's you), not this one and never another person's", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const stranger = await createActiveUser(ctx.sql, { method: "email" });
  const strangers = await signedIn(stranger);
  const other = ctx.browser();
  await signIn(ctx, other, account);
  const browser = await signedIn(account);
  let page = await browser.get("/account");
  assert.is(page.document.querySelectorAll(".session-list > li").length, 2);
  assert.match(main(page), "Address");
  assert.match(main(page), "Last active");

  // Another person's session id: nothing ends.
  page = await browser.post("/account/sessions/end", { session: sessionIdOf(strangers) });
  assert.is(page.status, 409);
  assert.match(main(page), SESSION_GONE);
  assert.is((await strangers.get("/home")).url, "/home");
  // This session: refused (that is Sign out).
  page = await browser.post("/account/sessions/end", { session: sessionIdOf(browser) });
  assert.is(page.status, 400);
  assert.match(main(page), CURRENT_SESSION);

  // A stale proof: Sign out asks Confirm it's you, then does what was asked.
  ctx.clock.advance(STALE);
  page = await browser.get("/account");
  const form = [...page.document.querySelectorAll('form[action="/account/sessions/end"]')].find(
    (f) => f.querySelector('input[name="session"]')?.getAttribute("value") === sessionIdOf(other),
  );
  assert.ok(form, "a Sign out form for the other session");
  page = await browser.post("/account/sessions/end", { session: sessionIdOf(other) });
  page = await confirmItsYou(browser, page, account);
  assert.is(page.url, "/account?done=sessions");
  assert.is((await other.get("/home")).url, "/login", "the other browser is signed out");
  assert.equal(await sessionsOf(account.id), [sessionIdOf(browser)]);
  assert.match((await latestMessage(ctx, account.email, "email")).subject ?? "", "signed out");
  assert.match(main(page), "Another session was signed out");
});

test("Sign out of all other sessions ends them all and other browsers' Remember Me", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const a = await signedIn(account);
  const b = await signedIn(account);
  const browser = await signedIn(account);
  await createRememberToken(ctx.sql, ctx.clock, account.id, "email", 4 * 60 * MINUTE);
  let page = await browser.get("/account");
  assert.ok(buttonNames(page).includes("Sign out of all other sessions"));
  page = await press(browser, page, "Sign out of all other sessions");
  assert.is(page.url, "/account?done=sessions");
  assert.is((await a.get("/home")).url, "/login");
  assert.is((await b.get("/home")).url, "/login");
  const { n } = (await ctx.sql<{ n: number }[]>`select count(*)::int as n from remember_tokens where user_id = ${account.id}`)[0]!;
  assert.is(n, 0);
  assert.not.ok(buttonNames(page).includes("Sign out of all other sessions"), "no other session left");
});

test("another session's account flow is not this one's: a flow cookie copied to another session finds nothing", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = await signedIn(account);
  ctx.clock.advance(STALE);
  await browser.post("/account/password", { current: account.password, password: NEW_PASSWORD, confirm: NEW_PASSWORD });
  const second = await signedIn(account);
  second.cookies.set("flow", browser.cookies.get("flow")!);
  const page = await second.get("/account/confirm");
  assert.is(page.url, "/account?expired=1");
});

test("one time format in the portal's zone: the home page's last sign-in reads exactly as the admin page's Last sign-in", async () => {
  const admin = await createActiveUser(ctx.sql, { method: "email", role: "admin" });
  const adminBrowser = await signedIn(admin);
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = await signedIn(account);
  const home = await browser.get("/home");
  const homeTime = texts(home, "main tbody time")[0]!;
  assert.match(homeTime, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} E[SD]T$/, "in America/New_York");
  const adminPage = await adminBrowser.get(`/admin/users/${account.id}`);
  const dts = texts(adminPage, "dt");
  const dds = texts(adminPage, "dd");
  assert.is(dds[dts.indexOf("Last sign-in")], homeTime);
});

test("settings: REAUTH_TTL and PORTAL_TIME_ZONE have their defaults, and a bad zone names the variable", async () => {
  const { testConfig } = await import("../support/harness.ts");
  const { loadConfig, ConfigError } = await import("../../src/config.ts");
  const defaults = loadConfig({ NODE_ENV: "test", SECRET_KEY: "x".repeat(40), DATA_DIR: testConfig().dataDir });
  assert.is(defaults.ttl.reauth, 5 * MINUTE);
  assert.is(defaults.portalTimeZone, "America/New_York");
  assert.is(testConfig({ REAUTH_TTL: "2m" }).ttl.reauth, 2 * MINUTE);
  assert.throws(() => testConfig({ PORTAL_TIME_ZONE: "Mars/Olympus" }), (error: unknown) => error instanceof ConfigError && /^PORTAL_TIME_ZONE: /.test(error.message));
});

test.run();
