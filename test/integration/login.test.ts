/**
 * Sign-in (Customer/Provider) end to end through HTTP, as the guide describes it: the sign-in
 * page, Login with Phone (Send Code and Call Me), Login with Email (the 30-second code), with and
 * without htmx, the order of the steps, the token changes at each trust step, the Terms of Use
 * when they changed, and the rehash of an old password hash.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { hash } from "@node-rs/argon2";
import { createTestContext, texts, buttonNames, PUBLIC_URL, type TestContext, type Page, type Browser } from "../support/harness.ts";
import { gunzipSync } from "node:zlib";
import { createActiveUser } from "../support/users.ts";
import { answerCall, codeIn, latestMessage, press, pressLogin, signIn, submitPassword, useFreshAddress } from "../support/sign-in.ts";
import { SECOND, MINUTE } from "../../src/clock.ts";
import { passwordNeedsRehash } from "../../src/auth/passwords.ts";
import { TERMS_VERSION } from "../../src/terms.ts";
import { STAFF_REFUSED } from "../../src/flows/login.ts";

let ctx: TestContext;

test.before(async () => {
  ctx = await createTestContext();
});

test.before.each(() => {
  useFreshAddress(ctx);
});

function main(page: Page): string {
  return page.document.querySelector("main")?.textContent?.replace(/\s+/g, " ") ?? page.text.replace(/\s+/g, " ");
}

function heading(page: Page): string {
  return texts(page, "h1")[0] ?? "";
}

async function sessionRows(userId: string): Promise<number> {
  const [row] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from sessions where user_id = ${userId}`;
  return row!.n;
}

async function auditEvents(userId: string): Promise<string[]> {
  const rows = await ctx.sql<{ event: string }[]>`select event from audit_events where user_id = ${userId} order by id`;
  return rows.map((row) => row.event);
}

test("the sign-in page: a Customer/Provider section with Remember Me, Login with Phone, Login with Email, Login with Authenticator App (product.md §8) and the two help links", async () => {
  const page = await ctx.browser().get("/login");
  assert.is(page.status, 200);
  assert.ok(texts(page, "h2").includes("Customer/Provider"), "a Customer/Provider heading");
  const section = page.document.querySelector("section.provider")!;
  assert.ok(section, "the section exists");
  const label = section.querySelector("label[for=field-remember]");
  assert.is(label?.textContent, "Remember Me");
  assert.is(section.querySelector("#field-remember")?.getAttribute("type"), "checkbox");
  const buttons = [...section.querySelectorAll("button")].map((b) => b.textContent?.trim());
  assert.equal(buttons, ["Login with Phone", "Login with Email", "Login with Authenticator App"]);
  const links = [...section.querySelectorAll("a")].map((a) => [a.textContent?.trim(), a.getAttribute("href")]);
  assert.ok(links.some(([text, href]) => text === "Having trouble logging in?" && href === "/trouble"));
  assert.ok(links.some(([text, href]) => text === "Multi-Factor Authentication Help" && href === "/help/mfa"));
  const form = section.querySelector("form")!;
  assert.is(form.getAttribute("method"), "post", "a real form: works without JavaScript");
  assert.is(form.getAttribute("action"), "/login");
});

test("/ sends a visitor to the sign-in page and a signed-in person home; a signed-in person who opens /login goes home", async () => {
  const browser = ctx.browser();
  let page = await browser.get("/");
  assert.is(page.url, "/login");
  assert.equal(page.redirects, [303]);
  const account = await createActiveUser(ctx.sql, { method: "email" });
  await signIn(ctx, browser, account);
  page = await browser.get("/");
  assert.is(page.url, "/home");
  page = await browser.get("/login");
  assert.is(page.url, "/home");
  page = await pressLogin(browser, "email");
  assert.is(page.url, "/home", "pressing a Login button while signed in also goes home");
});

test("Login with Email without JavaScript: Sign in → the prefilled address → Send Verification Code → Verify Code → confirmation → Continue → home", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  let page = await press(browser, await browser.get("/login"), "Login with Email");
  assert.is(page.url, "/login/credentials");
  assert.is(heading(page), "Login with Email");
  assert.ok(page.document.querySelector("label[for=field-email]")?.textContent === "Email Address");
  assert.ok(page.document.querySelector("label[for=field-password]")?.textContent === "Password");
  assert.ok(texts(page, "a").includes("Forgot your password?"));

  page = await press(browser, page, "Sign in", { email: account.email, password: account.password });
  assert.is(page.url, "/login/email");
  assert.is((page.document.querySelector("#field-email") as HTMLInputElement).getAttribute("value"), account.email, "the address is prefilled");
  assert.is(await sessionRows(account.id), 0, "no session before the second factor");

  page = await press(browser, page, "Send Verification Code");
  assert.is(page.url, "/login/email/code");
  assert.ok(page.document.querySelector("label[for=field-code]")?.textContent === "Verification Code");
  assert.ok(buttonNames(page).includes("Send New Code"));
  const email = await latestMessage(ctx, account.email, "email");
  page = await press(browser, page, "Verify Code", { code: codeIn(email) });
  assert.is(page.url, "/login/email/verified");
  assert.match(main(page), "Your email address has been verified.");
  assert.equal(buttonNames(page), ["Continue"]);
  assert.is(await sessionRows(account.id), 0, "still no session before Continue");

  page = await press(browser, page, "Continue");
  assert.is(page.url, "/home");
  assert.is(heading(page), "Home");
  assert.is(await sessionRows(account.id), 1);
  const [session] = await ctx.sql<{ loginOption: string }[]>`select login_option as "loginOption" from sessions where user_id = ${account.id}`;
  assert.is(session!.loginOption, "email");
  assert.not.ok(browser.cookies.has("flow"), "the flow cookie is gone once signed in");
  const events = await auditEvents(account.id);
  for (const event of ["signin.password_verified", "code.sent", "signin.success"]) assert.ok(events.includes(event), `audit ${event}`);
});

test("Login with Email with htmx: each step is a fragment of <main>, the URL follows, and the end is a full-page HX-Redirect home", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  let page = await pressLogin(browser, "email", { htmx: true });
  assert.is(page.url, "/login/credentials");
  assert.not.match(page.text, "<html", "a fragment, not a document");
  assert.is(page.headers.get("hx-replace-url"), "/login/credentials");
  assert.match(page.headers.get("vary") ?? "", "HX-Request");
  page = await submitPassword(browser, account.email, account.password, { htmx: true });
  assert.is(page.url, "/login/email");
  assert.not.match(page.text, "<html");
  page = await browser.post("/login/email/send", {}, { htmx: true });
  assert.is(page.url, "/login/email/code");
  const email = await latestMessage(ctx, account.email, "email");
  page = await browser.post("/login/email/code", { code: codeIn(email) }, { htmx: true });
  assert.is(page.url, "/login/email/verified");
  page = await browser.post("/login/email/verified", {}, { htmx: true });
  assert.is(page.status, 204);
  assert.is(page.headers.get("hx-redirect"), "/home", "htmx loads the home page whole, so the header shows the signed-in person");
  page = await browser.get("/home");
  assert.is(page.url, "/home");
  assert.is(heading(page), "Home");
});

test("under htmx a step that moves on answers with the next step's fragment itself: no redirect, the rotated flow cookie, the step's own URL, compressed once", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await pressLogin(browser, "email", { htmx: true });
  const before = browser.cookies.get("flow");
  const page = await browser.post("/login/credentials", { email: account.email, password: account.password }, { htmx: true, follow: false });
  assert.is(page.status, 200);
  assert.equal(page.redirects, [], "one round trip, not a 303 and a GET");
  assert.is(page.headers.get("location"), null);
  assert.is(page.headers.get("hx-replace-url"), "/login/email", "a reload asks for the step's GET, not this POST");
  assert.not.match(page.text, "<html", "a fragment of <main>");
  assert.equal(buttonNames(page), ["Send Verification Code"]);
  const after = browser.cookies.get("flow");
  assert.ok(after && after !== before, "the flow token was replaced after the password, in this answer");
  const again = await browser.get("/login/email", { htmx: true });
  assert.is(again.text, page.text, "the same fragment the step's GET gives with the new cookie");

  // The fragment is compressed once: one gunzip gives the page.
  const other = ctx.browser();
  await pressLogin(other, "email", { htmx: true });
  const raw = await ctx.app.request("/login/credentials", {
    method: "POST",
    headers: {
      cookie: `flow=${other.cookies.get("flow")}`, "hx-request": "true", "accept-encoding": "gzip", origin: PUBLIC_URL,
      "content-type": "application/x-www-form-urlencoded", "user-agent": "test-browser",
    },
    body: new URLSearchParams({ email: account.email, password: account.password }).toString(),
  });
  assert.is(raw.status, 200);
  const encoding = raw.headers.get("content-encoding");
  assert.ok(encoding === null || encoding === "gzip", `one encoding at most: ${encoding}`);
  const bytes = Buffer.from(await raw.arrayBuffer());
  assert.match((encoding ? gunzipSync(bytes) : bytes).toString(), "Send Verification Code", "decoded once, it is the page");

  // Without JavaScript the same step is a 303 to that GET.
  const plain = ctx.browser();
  await pressLogin(plain, "email");
  const redirected = await plain.post("/login/credentials", { email: account.email, password: account.password }, { follow: false });
  assert.is(redirected.status, 303);
  assert.is(redirected.headers.get("location"), "/login/email");
});

test("Login with Phone, Send Code: the masked number on file → SMS code → Verify Code → home (without and with htmx)", async () => {
  for (const htmx of [false, true]) {
    const account = await createActiveUser(ctx.sql, { method: "phone" });
    const browser = ctx.browser();
    await pressLogin(browser, "phone", { htmx });
    let page = await submitPassword(browser, account.email, account.password, { htmx });
    assert.is(page.url, "/login/phone");
    assert.match(main(page), `(•••) •••-${account.phone!.slice(-4)}`, "the number on file, masked");
    assert.not.match(page.text, account.phone!.slice(2, 8), "never the whole number");
    assert.equal(buttonNames(page), ["Send Code", "Call Me"]);
    page = await press(browser, page, "Send Code", {}, { htmx });
    assert.is(page.url, "/login/phone/code");
    assert.ok(page.document.querySelector("label[for=field-code]")?.textContent === "Verification Code");
    const sms = await latestMessage(ctx, account.phone!, "sms");
    page = await browser.post("/login/phone/code", { code: "000000" === codeIn(sms) ? "111111" : "000000" }, { htmx });
    assert.is(page.status, 401, "a wrong code is refused");
    assert.match(main(page), "That code is not right");
    assert.is(page.document.querySelector("#field-code")?.getAttribute("aria-invalid"), "true");
    page = await press(browser, page, "Verify Code", { code: codeIn(sms) }, { htmx });
    if (htmx) {
      assert.is(page.headers.get("hx-redirect"), "/home");
      page = await browser.get("/home");
    }
    assert.is(page.url, "/home");
    assert.is(heading(page), "Home");
    const [session] = await ctx.sql<{ loginOption: string }[]>`select login_option as "loginOption" from sessions where user_id = ${account.id}`;
    assert.is(session!.loginOption, "phone");
  }
});

test("Login with Phone, Call Me: the keypad code in <output name=keypad-code>, a 2-second poll that answers 204 while pending, then home once the call confirms", async () => {
  const account = await createActiveUser(ctx.sql, { method: "phone" });
  // Two earlier failures: the confirmed call restarts the count, as a right typed code does.
  await ctx.sql`update users set failed_attempts = 2 where id = ${account.id}`;
  const browser = ctx.browser();
  await pressLogin(browser, "phone", { htmx: true });
  await submitPassword(browser, account.email, account.password, { htmx: true });
  let page = await browser.post("/login/phone/call", {}, { htmx: true });
  assert.is(page.url, "/login/phone/call");
  const output = page.document.querySelector("output[name=keypad-code]");
  assert.ok(output, "the code to key in");
  const keypad = output!.textContent!.trim();
  assert.match(keypad, /^\d{6}$/);
  const poller = page.document.querySelector("[hx-trigger='every 2s']");
  assert.is(poller?.getAttribute("hx-post"), "/login/phone/call/check");
  assert.ok(buttonNames(page).includes("Continue"), "a Continue button for browsers without JavaScript");

  page = await browser.post("/login/phone/call/check", { poll: "1" }, { htmx: true });
  assert.is(page.status, 204, "pending: nothing to swap");
  const call = await latestMessage(ctx, account.phone!, "voice");
  assert.not.match(call.text, keypad, "the call never says the code: the person reads it from the screen");
  assert.is(await answerCall(ctx, call.id, keypad === "123456" ? "654321" : "123456"), "wrong");
  page = await browser.post("/login/phone/call/check", { poll: "1" }, { htmx: true });
  assert.is(page.status, 200, "wrong digits do not pass, and the page says so");
  assert.match(page.text, "The code you entered on the phone was not correct.");
  page = await browser.post("/login/phone/call/check", { poll: "1", wrong: "1" }, { htmx: true });
  assert.is(page.status, 204, "the page says it already: nothing to swap");
  assert.is(await answerCall(ctx, call.id, `${keypad}#`), "confirmed");
  page = await browser.post("/login/phone/call/check", { poll: "1" }, { htmx: true });
  assert.is(page.headers.get("hx-redirect"), "/home");
  page = await browser.get("/home");
  assert.is(heading(page), "Home");
  const [row] = await ctx.sql<{ n: number }[]>`select failed_attempts as n from users where id = ${account.id}`;
  assert.is(row!.n, 0, "the failure count restarted");
});

test("Login with Phone, Call Me without JavaScript: Continue before the call confirms says so, Continue after goes home", async () => {
  const account = await createActiveUser(ctx.sql, { method: "phone" });
  const browser = ctx.browser();
  await pressLogin(browser, "phone");
  await submitPassword(browser, account.email, account.password);
  let page = await press(browser, await browser.get("/login/phone"), "Call Me");
  assert.is(page.url, "/login/phone/call");
  const keypad = page.document.querySelector("output[name=keypad-code]")!.textContent!.trim();
  page = await press(browser, page, "Continue");
  assert.is(page.status, 200);
  assert.match(main(page), "has not confirmed the code yet");
  assert.is(page.document.querySelector("output[name=keypad-code]")?.textContent?.trim(), keypad, "the code is still shown");
  page = await browser.get("/login/phone/call");
  assert.is(page.document.querySelector("output[name=keypad-code]")?.textContent?.trim(), keypad, "and after a reload");
  const call = await latestMessage(ctx, account.phone!, "voice");
  assert.is(await answerCall(ctx, call.id, keypad), "confirmed");
  page = await press(browser, page, "Continue");
  assert.is(page.url, "/home");
});

test("a call not answered in time sends the person back to Send Code / Call Me with a message", async () => {
  const account = await createActiveUser(ctx.sql, { method: "phone" });
  const browser = ctx.browser();
  await pressLogin(browser, "phone");
  await submitPassword(browser, account.email, account.password);
  await browser.post("/login/phone/call");
  ctx.clock.advance(ctx.config.ttl.voiceCall + SECOND);
  let page = await browser.post("/login/phone/call/check", { poll: "1" }, { htmx: true });
  assert.is(page.status, 400, "an expired call is swapped in (not a silent 204), so polling stops");
  assert.match(main(page), "not answered with the code in time");
  assert.equal(buttonNames(page), ["Send Code", "Call Me"]);
  assert.is(page.document.querySelector("[hx-trigger='every 2s']"), null, "no poller any more");
  page = await browser.get("/login/phone/call");
  assert.is(page.url, "/login/phone", "the flow is back on the choice");
});

test("the email code lives 30 seconds: accepted at 29 s", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await pressLogin(browser, "email");
  await submitPassword(browser, account.email, account.password);
  await browser.post("/login/email/send");
  ctx.clock.advance(29 * SECOND);
  const page = await browser.post("/login/email/code", { code: codeIn(await latestMessage(ctx, account.email, "email")) });
  assert.is(page.url, "/login/email/verified");
});

test("the email code lives 30 seconds: refused at 31 s, and Send New Code gives a code that works (the old one does not)", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await pressLogin(browser, "email");
  await submitPassword(browser, account.email, account.password);
  await browser.post("/login/email/send");
  const first = codeIn(await latestMessage(ctx, account.email, "email"));
  ctx.clock.advance(31 * SECOND);
  let page = await browser.post("/login/email/code", { code: first });
  assert.is(page.status, 400);
  assert.match(main(page), "That code has expired");
  assert.match(main(page), "This code has expired. Select Send New Code to get a new one.");
  page = await browser.post("/login/email/send");
  assert.is(page.url, "/login/email/code");
  const second = codeIn(await latestMessage(ctx, account.email, "email"));
  if (second !== first) {
    page = await browser.post("/login/email/code", { code: first });
    assert.is(page.status, 401, "the first code is dead (a wrong code now)");
  }
  page = await browser.post("/login/email/code", { code: second });
  assert.is(page.url, "/login/email/verified");
});

test("the email code page shows the time left in server-rendered words, in a polite live region, and the words follow the clock", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await pressLogin(browser, "email");
  await submitPassword(browser, account.email, account.password);
  let page = await browser.post("/login/email/send");
  let countdown = page.document.querySelector("#code-expiry")!;
  assert.is(countdown.textContent?.trim(), "This code expires in 30 seconds.");
  assert.is(countdown.getAttribute("aria-live"), "polite");
  assert.is(countdown.getAttribute("role"), null, "not an alert: announced politely");
  assert.is(countdown.getAttribute("data-countdown"), "30");
  ctx.clock.advance(12 * SECOND);
  page = await browser.get("/login/email/code");
  countdown = page.document.querySelector("#code-expiry")!;
  assert.is(countdown.textContent?.trim(), "This code expires in 18 seconds.");
  assert.match(page.text, /<script src="\/static\/app\.[0-9a-f]+\.js"/, "the enhancement is a file (CSP: no inline script)");
  assert.not.match(page.text, /<script>/);
});

test("steps run in order: a later step's URL sends the person to the step they are on; no flow means the sign-in page", async () => {
  const account = await createActiveUser(ctx.sql, { method: "phone" });
  const browser = ctx.browser();
  let page = await browser.get("/login/phone/code");
  assert.is(page.url, "/login", "no flow: the sign-in page");
  await pressLogin(browser, "phone");
  for (const path of ["/login/phone", "/login/phone/code", "/login/phone/call", "/login/email/verified", "/login/terms"]) {
    page = await browser.get(path);
    assert.is(page.url, "/login/credentials", `${path} before the password goes back to the credentials step`);
  }
  page = await browser.post("/login/phone/send");
  assert.is(page.url, "/login/credentials", "a POST to a later step is not carried out");
  assert.is((await ctx.sql`select 1 from outbox where recipient = ${account.phone!}`).length, 0, "nothing was sent");
  await submitPassword(browser, account.email, account.password);
  page = await browser.get("/login/phone/code");
  assert.is(page.url, "/login/phone", "the code step before a code was sent goes back to the choice");
  page = await browser.get("/login/credentials");
  assert.is(page.url, "/login/phone", "and the password step cannot be replayed");
});

test("a new token at each trust step: the flow token is replaced after the password, the old one no longer works, and the session is new after the second factor", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await pressLogin(browser, "email");
  const before = browser.cookies.get("flow")!;
  assert.ok(before);
  await submitPassword(browser, account.email, account.password);
  const after = browser.cookies.get("flow")!;
  assert.ok(after && after !== before, "a new flow token");
  assert.is.not(after.split(".")[0], before.split(".")[0], "a new flow id too");
  assert.is((await ctx.sql`select 1 from flows where id = ${before.split(".")[0]!}`).length, 0, "the old flow row is gone");

  const thief = ctx.browser();
  thief.cookies.set("flow", before);
  const page = await thief.get("/login/email");
  assert.is(page.url, "/login?expired=1", "the pre-password token is worthless");

  assert.not.ok(browser.cookies.has("session"));
  await browser.post("/login/email/send");
  await browser.post("/login/email/code", { code: codeIn(await latestMessage(ctx, account.email, "email")) });
  await browser.post("/login/email/verified");
  const session = browser.cookies.get("session");
  assert.ok(session, "a session only now");
  assert.is.not(session!.split(".")[0], after.split(".")[0]);
});

test("staff addresses (STAFF_EMAIL_DOMAINS) are refused with a message to use the staff sign-in", async () => {
  const browser = ctx.browser();
  await pressLogin(browser, "email");
  const page = await submitPassword(browser, "someone@Kepro.com", "whatever-password-1");
  assert.is(page.status, 400);
  assert.match(main(page), STAFF_REFUSED);
  assert.match(main(page), "staff sign-in");
  assert.is(page.document.querySelector("#field-email")?.getAttribute("aria-invalid"), "true");
});

test("an email-only account that picks Login with Phone is told to use Login with Email, only after the password was right", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await pressLogin(browser, "phone");
  let page = await submitPassword(browser, account.email, "not-the-password-123");
  assert.is(page.status, 401);
  assert.not.match(main(page), "Login with Email to sign in", "a wrong password tells nothing about the account");
  page = await submitPassword(browser, account.email, account.password);
  assert.is(page.url, "/login/use-email");
  assert.is(heading(page), "Use Login with Email");
  assert.match(main(page), "Use Login with Email to sign in.");
  assert.equal(buttonNames(page), ["Login with Email"]);
  assert.is(await sessionRows(account.id), 0);
  page = await press(browser, page, "Login with Email");
  assert.is(page.url, "/login/email", "pressing it goes on with the email code (the password was already right)");
  await browser.post("/login/email/send");
  await browser.post("/login/email/code", { code: codeIn(await latestMessage(ctx, account.email, "email")) });
  page = await browser.post("/login/email/verified");
  assert.is(page.url, "/home");
});

test("a phone account may use Login with Email (the code goes to its email address)", async () => {
  const account = await createActiveUser(ctx.sql, { method: "phone" });
  const page = await signIn(ctx, ctx.browser(), account, { option: "email" });
  assert.is(heading(page), "Home");
});

test("Terms of Use changed since the person agreed: shown before home; Continue without the box is refused", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email", termsVersion: "2000-01" });
  const browser = ctx.browser();
  await pressLogin(browser, "email");
  await submitPassword(browser, account.email, account.password);
  await browser.post("/login/email/send");
  await browser.post("/login/email/code", { code: codeIn(await latestMessage(ctx, account.email, "email")) });
  let page = await browser.post("/login/email/verified");
  assert.is(page.url, "/login/terms");
  assert.ok(page.document.querySelector("label[for=field-agree]")?.textContent === "I have read and agree to these terms of use.");
  assert.is(await sessionRows(account.id), 0, "no session before the terms are accepted");
  page = await browser.post("/login/terms", {});
  assert.is(page.status, 400);
  assert.match(main(page), "Select the box to agree to the Terms of Use.");
  page = await press(browser, page, "Continue", { agree: "on" });
  assert.is(page.url, "/home");
  const [row] = await ctx.sql<{ termsVersion: string }[]>`select terms_version as "termsVersion" from users where id = ${account.id}`;
  assert.is(row!.termsVersion, TERMS_VERSION);
});

test("a password hashed with weaker parameters is rehashed at sign-in", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const weak = await hash(account.password, { algorithm: 2, memoryCost: 4096, timeCost: 1, parallelism: 1 });
  assert.ok(passwordNeedsRehash(weak));
  await ctx.sql`update users set password_hash = ${weak} where id = ${account.id}`;
  await signIn(ctx, ctx.browser(), account);
  const [row] = await ctx.sql<{ passwordHash: string }[]>`select password_hash as "passwordHash" from users where id = ${account.id}`;
  assert.is.not(row!.passwordHash, weak);
  assert.not.ok(passwordNeedsRehash(row!.passwordHash), "today's parameters");
  assert.ok((await auditEvents(account.id)).includes("password.rehashed"));
});

test("bad input is a 4xx with the step again, never a 500: empty fields, a repeated field, a malformed code, an unknown option", async () => {
  const browser: Browser = ctx.browser();
  let page = await browser.post("/login", { option: "fax" });
  assert.is(page.status, 400);
  assert.is(texts(page, "h1")[0], "Sign in");
  await pressLogin(browser, "email");
  page = await submitPassword(browser, "", "");
  assert.is(page.status, 400);
  assert.match(main(page), "Enter your email address.");
  assert.match(main(page), "Enter your password.");
  assert.is(page.document.querySelector("#field-email")?.hasAttribute("autofocus"), true, "the first field in error takes focus");
  page = await browser.post("/login/credentials", new URLSearchParams([["email", "a@b.example"], ["email", "c@d.example"], ["password", "x"]]));
  assert.is(page.status, 400);
  assert.match(main(page), "The form could not be read");
  const account = await createActiveUser(ctx.sql, { method: "email" });
  await submitPassword(browser, account.email, account.password);
  await browser.post("/login/email/send");
  page = await browser.post("/login/email/code", { code: "12ab" });
  assert.is(page.status, 400);
  assert.match(main(page), "Enter the 6-digit code.");
  page = await browser.post("/login/email/code", { code: "x".repeat(5000) });
  assert.is(page.status, 400);
});

test("a sign-in flow left alone expires: its steps send the person back to the sign-in page with a message", async () => {
  const browser = ctx.browser();
  await pressLogin(browser, "email");
  ctx.clock.advance(21 * MINUTE);
  const page = await browser.get("/login/credentials");
  assert.is(page.url, "/login?expired=1");
  assert.match(main(page), "Start again");
});

test.run();
