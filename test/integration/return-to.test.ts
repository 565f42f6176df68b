/**
 * The returnTo contract (product.md §5 `rd`): a sign-in or a registration started with a checked
 * return URL ends there instead of /home (303, or HX-Redirect under htmx); someone signed in
 * goes straight there; prompt=login signs in again and replaces the session; a session records
 * what its sign-in proved (RFC 8176 amr) and when, and a Remember Me sign-in copies what the
 * remembered one proved.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, type Browser, type Page, type TestContext } from "../support/harness.ts";
import { createActiveUser } from "../support/users.ts";
import { codeIn, latestMessage, press, useFreshAddress } from "../support/sign-in.ts";
import { ClientBrowser, invite, pressButton, startWizard, verifyEmailAndCreatePassword } from "../support/registration.ts";
import { MINUTE } from "../../src/clock.ts";

let ctx: TestContext;

test.before(async () => {
  ctx = await createTestContext();
});

test.before.each(() => {
  useFreshAddress(ctx);
});

const TARGET = "/help/mfa?problem=no_code#top";

async function sessionsOf(userId: string) {
  return ctx.sql<{ id: string; amr: string[]; authenticatedAt: Date | null }[]>`
    select id, amr, authenticated_at as "authenticatedAt" from sessions where user_id = ${userId} order by created_at`;
}

/** From the sign-in page (already loaded) through Login with Email to the end; returns the last page. */
async function emailSignIn(browser: Browser, page: Page, account: { email: string; password: string }, options: { remember?: boolean; htmx?: boolean } = {}): Promise<Page> {
  page = await press(browser, page, "Login with Email", options.remember ? { remember: "on" } : {});
  page = await press(browser, page, "Sign in", { email: account.email, password: account.password });
  page = await press(browser, page, "Send Verification Code");
  page = await press(browser, page, "Verify Code", { code: codeIn(await latestMessage(ctx, account.email, "email")) });
  return press(browser, page, "Continue", {}, { htmx: options.htmx });
}

test("GET /login?rd=<path>: the form carries it, and the last step of the sign-in goes there instead of /home", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  const signInPage = await browser.get(`/login?rd=${encodeURIComponent(TARGET)}`);
  assert.is(signInPage.status, 200);
  assert.is(signInPage.document.querySelector("input[name=rd]")?.getAttribute("value"), "/help/mfa?problem=no_code#top");
  // A press that is no Login button of ours shows the page again, still carrying rd.
  const refused = await browser.post("/login", { option: "fax", rd: TARGET });
  assert.is(refused.status, 400);
  assert.is(refused.document.querySelector("input[name=rd]")?.getAttribute("value"), TARGET);
  const end = await emailSignIn(browser, signInPage, account);
  assert.is(end.url, "/help/mfa?problem=no_code", "303 to rd (the fragment stays with the browser)");
  const [session] = await sessionsOf(account.id);
  assert.equal(session!.amr, ["pwd", "email", "mfa"], "Login with Email proved the password and the emailed code");
  assert.equal(session!.authenticatedAt, ctx.clock.now());
});

test("under htmx the last step answers HX-Redirect to rd; a phone sign-in records sms", async () => {
  const account = await createActiveUser(ctx.sql, { method: "phone" });
  const browser = ctx.browser();
  let page = await browser.get("/login?rd=/help");
  page = await press(browser, page, "Login with Phone");
  page = await press(browser, page, "Sign in", { email: account.email, password: account.password });
  page = await press(browser, page, "Send Code");
  page = await press(browser, page, "Verify Code", { code: codeIn(await latestMessage(ctx, account.phone!, "sms")) }, { htmx: true });
  assert.is(page.status, 204);
  assert.is(page.headers.get("hx-redirect"), "/help");
  assert.equal((await sessionsOf(account.id))[0]!.amr, ["pwd", "sms", "mfa"]);
});

test("a return URL that is not the portal's is dropped: the sign-in ends at /home, even when the form is forged", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  for (const rd of ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"]) {
    const browser = ctx.browser();
    const page = await browser.get(`/login?rd=${encodeURIComponent(rd)}`);
    assert.is(page.document.querySelector("input[name=rd]"), null, rd);
    // The hidden field typed over by hand: the POST checks it again.
    const forged = await browser.post("/login", { option: "email", rd });
    assert.is(forged.url, "/login/credentials");
    let step = await press(browser, forged, "Sign in", { email: account.email, password: account.password });
    step = await press(browser, step, "Send Verification Code");
    step = await press(browser, step, "Verify Code", { code: codeIn(await latestMessage(ctx, account.email, "email")) });
    step = await press(browser, step, "Continue");
    assert.is(step.url, "/home", rd);
  }
});

test("someone signed in who opens /login?rd=X goes straight to X (a bad X: home); with prompt=login the sign-in is shown and replaces the session", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await emailSignIn(browser, await browser.get("/login"), account);
  const first = await sessionsOf(account.id);
  assert.is(first.length, 1);

  let page = await browser.get("/login?rd=/help");
  assert.is(page.url, "/help");
  assert.equal(page.redirects, [303]);
  page = await browser.get("/login?rd=https://evil.example/");
  assert.is(page.url, "/home");
  page = await browser.get("/login");
  assert.is(page.url, "/home");

  ctx.clock.advance(5 * MINUTE);
  page = await browser.get("/login?rd=/help&prompt=login");
  assert.is(page.url, "/login?rd=/help&prompt=login", "shown although signed in");
  assert.is(page.document.querySelector("input[name=prompt]")?.getAttribute("value"), "login");
  page = await emailSignIn(browser, page, account);
  assert.is(page.url, "/help");
  const after = await sessionsOf(account.id);
  assert.is(after.length, 1, "the new session replaced the old one");
  assert.is.not(after[0]!.id, first[0]!.id);
  assert.equal(after[0]!.authenticatedAt, ctx.clock.now(), "authenticated again, now");
});

test("Remember Me proves nothing new: the token keeps what its sign-in proved, and the remembered session copies it", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await emailSignIn(browser, await browser.get("/login"), account, { remember: true });
  const provedAt = ctx.clock.now();
  const [token] = await ctx.sql<{ amr: string[]; authenticatedAt: Date }[]>`
    select amr, authenticated_at as "authenticatedAt" from remember_tokens where user_id = ${account.id}`;
  assert.equal(token, { amr: ["pwd", "email", "mfa"], authenticatedAt: provedAt });

  // The browser is closed and opened again an hour later: the session ended, Remember Me did not.
  browser.cookies.delete("session");
  ctx.clock.advance(60 * MINUTE);
  const page = await browser.post("/login", { option: "email", remember: "on", rd: "/help" });
  assert.is(page.url, "/help", "a remembered sign-in also goes to rd");
  const sessions = await sessionsOf(account.id);
  const remembered = sessions[sessions.length - 1]!;
  assert.equal(remembered.amr, ["pwd", "email", "mfa"]);
  assert.equal(remembered.authenticatedAt, provedAt, "the time of the proof, not of the remembered sign-in");
});

test("the registration link carries rd through the wizard: the last step goes there, and the session says what registration proved", async () => {
  const invited = await invite(ctx);
  const browser = new ClientBrowser(ctx);
  const landing = await browser.get(`${invited.path}?rd=${encodeURIComponent("/help/what-is-mfa")}`);
  assert.equal(landing.url, "/register/method");
  const emailStep = await pressButton(browser, landing, "Email");
  assert.equal(emailStep.url, "/register/email");
  const terms = await verifyEmailAndCreatePassword(ctx, browser, invited);
  assert.equal(terms.url, "/register/terms");
  const end = await pressButton(browser, terms, "Continue", { agree: "on" });
  assert.equal(end.url, "/help/what-is-mfa");
  const [session] = await sessionsOf(invited.userId);
  assert.equal(session!.amr, ["pwd", "email", "mfa"]);

  // A return URL that is not the portal's is dropped: registration ends at home, as before.
  const other = await invite(ctx);
  const second = new ClientBrowser(ctx);
  await startWizard(ctx, second, { ...other, path: `${other.path}?rd=${encodeURIComponent("//evil.example/")}` }, "email");
  const otherTerms = await verifyEmailAndCreatePassword(ctx, second, other);
  assert.equal((await pressButton(second, otherTerms, "Continue", { agree: "on" })).url, "/home");
});

test("a password reset signs in with what it proved: the emailed code (and the phone of a phone account) and the password set in this browser", async () => {
  for (const method of ["email", "phone"] as const) {
    const account = await createActiveUser(ctx.sql, { method });
    const browser = ctx.browser();
    let page = await browser.post("/forgot-password", { email: account.email });
    page = await browser.post("/forgot-password/code", { code: codeIn(await latestMessage(ctx, account.email, "email")) });
    page = await browser.post("/forgot-password/verified");
    if (method === "phone") {
      page = await browser.post("/forgot-password/phone/send");
      page = await browser.post("/forgot-password/phone/code", { code: codeIn(await latestMessage(ctx, account.phone!, "sms")) });
    }
    assert.is(page.url, "/forgot-password/new-password", method);
    page = await browser.post("/forgot-password/new-password", { password: "violet-harbor-sextant-91-plume", confirm: "violet-harbor-sextant-91-plume" });
    assert.is(page.url, "/home");
    const [session] = await sessionsOf(account.id);
    assert.equal(session!.amr, method === "phone" ? ["pwd", "email", "sms", "mfa"] : ["pwd", "email", "mfa"], method);
  }
});

test.run();
