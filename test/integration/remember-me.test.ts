/**
 * Remember Me, rule by rule, as the guide and product.md §2 say: a browser-session cookie; for
 * REMEMBER_ME_TTL (4 hours) the same Login button skips credentials and MFA; the other button
 * asks for everything; an unchecked box forgets; sign-out forgets; REMEMBER_ME_TTL=0 turns it off.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, texts, type TestContext, type Browser } from "../support/harness.ts";
import { createActiveUser, type ActiveUser } from "../support/users.ts";
import { codeIn, latestMessage, pressLogin, signIn, submitPassword, useFreshAddress } from "../support/sign-in.ts";
import { HOUR, SECOND } from "../../src/clock.ts";

let ctx: TestContext;

test.before(async () => {
  ctx = await createTestContext();
});

test.before.each(() => {
  useFreshAddress(ctx);
});

/** Closing and reopening a browser set to continue where it left off: the session has ended, the remember cookie was restored. */
function reopen(browser: Browser): void {
  browser.cookies.delete("session");
  browser.cookies.delete("flow");
}

async function rememberRows(userId: string): Promise<Array<{ loginOption: string; expiresAt: Date; createdAt: Date }>> {
  return ctx.sql`select login_option as "loginOption", expires_at as "expiresAt", created_at as "createdAt" from remember_tokens where user_id = ${userId}`;
}

async function rememberedSignIn(option: "phone" | "email" = "email"): Promise<{ account: ActiveUser; browser: Browser }> {
  const account = await createActiveUser(ctx.sql, { method: option });
  const browser = ctx.browser();
  await signIn(ctx, browser, account, { option, remember: true });
  assert.ok(browser.cookies.has("remember"), "a remember cookie after a sign-in with the box checked");
  return { account, browser };
}

test("the Remember Me cookie is a browser-session cookie (no Expires, no Max-Age), HttpOnly, SameSite=Lax; the server keeps its 4-hour expiry and the option", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await pressLogin(browser, "email", { remember: true });
  await submitPassword(browser, account.email, account.password);
  await browser.post("/login/email/send");
  await browser.post("/login/email/code", { code: codeIn(await latestMessage(ctx, account.email, "email")) });
  const response = await browser.post("/login/email/verified", {}, { follow: false });
  assert.is(response.status, 303);
  const line = response.headers.getSetCookie().find((cookie) => cookie.startsWith("remember="));
  assert.ok(line, "the remember cookie is written");
  assert.not.match(line!, /expires=/i, "no Expires");
  assert.not.match(line!, /max-age=/i, "no Max-Age");
  assert.match(line!, /HttpOnly/i);
  assert.match(line!, /SameSite=Lax/i);
  assert.match(line!, /Path=\//);
  const [row] = await rememberRows(account.id);
  assert.is(row!.loginOption, "email");
  assert.is(row!.expiresAt.getTime() - row!.createdAt.getTime(), 4 * HOUR);
  assert.not.match(line!, row!.expiresAt.toUTCString());
});

test("the same option within 4 hours skips credentials and MFA (checked box, Login with Email → home at once)", async () => {
  const { account, browser } = await rememberedSignIn("email");
  reopen(browser);
  ctx.clock.advance(4 * HOUR - SECOND);
  const page = await pressLogin(browser, "email", { remember: true });
  assert.is(page.url, "/home");
  assert.equal(page.redirects, [303]);
  assert.is(texts(page, "h1")[0], "Home");
  const [session] = await ctx.sql<{ loginOption: string }[]>`select login_option as "loginOption" from sessions where user_id = ${account.id} order by created_at desc limit 1`;
  assert.is(session!.loginOption, "email");
  const [audit] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from audit_events where user_id = ${account.id} and event = 'signin.remembered'`;
  assert.is(audit!.n, 1);
  assert.match(page.text, "(Remember Me)", "the home page lists the remembered sign-in");
});

test("Login with Phone remembered: the same button skips everything, with htmx too (a full-page redirect home)", async () => {
  const { browser } = await rememberedSignIn("phone");
  reopen(browser);
  const page = await pressLogin(browser, "phone", { remember: true, htmx: true });
  assert.is(page.status, 204);
  assert.is(page.headers.get("hx-redirect"), "/home");
});

test("the other option asks for everything, and the remembered option still works afterwards", async () => {
  const { account, browser } = await rememberedSignIn("email");
  reopen(browser);
  let page = await pressLogin(browser, "phone", { remember: true });
  assert.is(page.url, "/login/credentials", "Login with Phone asks for the password");
  assert.is((await rememberRows(account.id)).length, 1, "the email token is kept");
  browser.cookies.delete("flow");
  page = await pressLogin(browser, "email", { remember: true });
  assert.is(page.url, "/home");
});

/** The sign-in page's Remember Me box, as the browser would submit it: what pressing a Login button as it stands sends. */
async function boxOnSignInPage(browser: Browser): Promise<{ checked: boolean; fields: Record<string, string> }> {
  const page = await browser.get("/login");
  assert.is(page.status, 200);
  const box = page.document.querySelector('input[type="checkbox"][name="remember"]');
  assert.ok(box, "the sign-in page has the Remember Me box");
  const checked = box!.hasAttribute("checked");
  return { checked, fields: checked ? { remember: box!.getAttribute("value") ?? "on" } : {} };
}

test("product.md §9: the box stands checked while this browser holds a live token, so pressing the same Login button as the page stands goes home", async () => {
  const fresh = ctx.browser();
  assert.is((await boxOnSignInPage(fresh)).checked, false, "a browser without a token sees the box unchecked");
  const { browser } = await rememberedSignIn("phone");
  reopen(browser);
  ctx.clock.advance(4 * HOUR - SECOND);
  const box = await boxOnSignInPage(browser);
  assert.is(box.checked, true, "a live token: the box is checked");
  const page = await browser.post("/login", { option: "phone", ...box.fields });
  assert.is(page.url, "/home", "the same button, box untouched: home at once");
  // The other button with the box as it stands asks for everything (the token is for Login with Phone).
  reopen(browser);
  const other = await browser.post("/login", { option: "email", ...(await boxOnSignInPage(browser)).fields });
  assert.is(other.url, "/login/credentials");
});

test("the box is unchecked once the token expired, was forgotten by unchecking, or the account was disabled", async () => {
  const expired = await rememberedSignIn("email");
  reopen(expired.browser);
  ctx.clock.advance(4 * HOUR + SECOND);
  assert.is((await boxOnSignInPage(expired.browser)).checked, false, "expired");

  const forgotten = await rememberedSignIn("email");
  reopen(forgotten.browser);
  assert.is((await boxOnSignInPage(forgotten.browser)).checked, true);
  // Unchecking before pressing: the form sends no remember field.
  const page = await forgotten.browser.post("/login", { option: "email" });
  assert.is(page.url, "/login/credentials");
  forgotten.browser.cookies.delete("flow");
  assert.is((await boxOnSignInPage(forgotten.browser)).checked, false, "forgotten");

  const disabled = await rememberedSignIn("email");
  reopen(disabled.browser);
  await ctx.sql`update users set status = 'disabled' where id = ${disabled.account.id}`;
  assert.is((await boxOnSignInPage(disabled.browser)).checked, false, "disabled account");
});

test("an unchecked box forgets: the token is deleted at the server, the cookie cleared, and everything is asked now and next time", async () => {
  const { account, browser } = await rememberedSignIn("email");
  reopen(browser);
  const token = browser.cookies.get("remember")!;
  const response = await browser.post("/login", { option: "email" }, { follow: false });
  assert.is(response.status, 303);
  assert.is(response.headers.get("location"), "/login/credentials");
  assert.ok(response.headers.getSetCookie().some((cookie) => cookie.startsWith("remember=;") || /^remember=[^;]*;.*Max-Age=0/i.test(cookie)), "the cookie is cleared");
  assert.not.ok(browser.cookies.has("remember"));
  assert.is((await rememberRows(account.id)).length, 0, "the token is gone at the server");
  browser.cookies.set("remember", token);
  browser.cookies.delete("flow");
  const page = await pressLogin(browser, "email", { remember: true });
  assert.is(page.url, "/login/credentials", "a copy of the old cookie is worthless");
});

test("4 hours + 1 second later the remembered option asks for everything again", async () => {
  const { account, browser } = await rememberedSignIn("email");
  reopen(browser);
  ctx.clock.advance(4 * HOUR + SECOND);
  const page = await pressLogin(browser, "email", { remember: true });
  assert.is(page.url, "/login/credentials");
  assert.is((await rememberRows(account.id)).length, 0, "the expired token is deleted");
});

test("a full sign-in with the other option and the box checked replaces the browser's token (one token per browser, bound to the new option)", async () => {
  const { account, browser } = await rememberedSignIn("phone");
  reopen(browser);
  let page = await pressLogin(browser, "email", { remember: true });
  assert.is(page.url, "/login/credentials");
  await submitPassword(browser, account.email, account.password);
  await browser.post("/login/email/send");
  await browser.post("/login/email/code", { code: codeIn(await latestMessage(ctx, account.email, "email")) });
  page = await browser.post("/login/email/verified");
  assert.is(page.url, "/home");
  const rows = await rememberRows(account.id);
  assert.is(rows.length, 1, "the phone token was deleted");
  assert.is(rows[0]!.loginOption, "email");
  reopen(browser);
  page = await pressLogin(browser, "phone", { remember: true });
  assert.is(page.url, "/login/credentials", "Login with Phone is no longer remembered");
});

test("sign-out forgets Remember Me: the cookie is cleared and every token of the person ends at the server", async () => {
  const { account, browser } = await rememberedSignIn("email");
  const token = browser.cookies.get("remember")!;
  const other = ctx.browser();
  await signIn(ctx, other, account, { option: "email", remember: true });
  assert.is((await rememberRows(account.id)).length, 2, "two browsers remembered");
  const response = await browser.post("/logout", {}, { follow: false });
  assert.is(response.status, 303);
  assert.is(response.headers.get("location"), "/login?signed-out=1");
  assert.ok(response.headers.getSetCookie().some((cookie) => cookie.startsWith("remember=")), "the cookie is cleared");
  assert.not.ok(browser.cookies.has("remember"));
  assert.is((await rememberRows(account.id)).length, 0, "every token of the person is gone");
  browser.cookies.set("remember", token);
  const page = await pressLogin(browser, "email", { remember: true });
  assert.is(page.url, "/login/credentials");
});

test("a remembered account that was disabled is asked for everything (and then refused)", async () => {
  const { account, browser } = await rememberedSignIn("email");
  reopen(browser);
  await ctx.sql`update users set status = 'disabled' where id = ${account.id}`;
  const page = await pressLogin(browser, "email", { remember: true });
  assert.is(page.url, "/login/credentials");
});

test("a remembered sign-in still shows changed Terms of Use before home", async () => {
  const { account, browser } = await rememberedSignIn("email");
  reopen(browser);
  await ctx.sql`update users set terms_version = '2000-01' where id = ${account.id}`;
  let page = await pressLogin(browser, "email", { remember: true });
  assert.is(page.url, "/login/terms");
  page = await browser.post("/login/terms", { agree: "on" });
  assert.is(page.url, "/home");
  assert.is((await rememberRows(account.id)).length, 1, "the token is kept, its 4 hours unchanged");
});

test("REMEMBER_ME_TTL=0 turns Remember Me off: no checkbox, nothing remembered even when the box is sent", async () => {
  const off = await createTestContext({ env: { REMEMBER_ME_TTL: "0" } });
  useFreshAddress(off);
  let page = await off.browser().get("/login");
  assert.is(page.document.querySelector("#field-remember"), null, "no Remember Me checkbox");
  assert.not.match(page.text, "Remember Me</label>");
  const account = await createActiveUser(off.sql, { method: "email" });
  const browser = off.browser();
  page = await signIn(off, browser, account, { option: "email", remember: true });
  assert.not.ok(browser.cookies.has("remember"));
  assert.is((await off.sql`select 1 from remember_tokens where user_id = ${account.id}`).length, 0);
  page = await off.browser().get("/help/remember-me");
  assert.match(page.text, "Remember Me is turned off");
});

test.run();
