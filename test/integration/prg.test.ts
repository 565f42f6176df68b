/**
 * Post/redirect/get without JavaScript (issue 17): every step that succeeds answers its POST with
 * a 303 to a page of its own, so no result page sits at a POST address and a reload never posts
 * a form again. Walked through a whole sign-in and a whole registration, button by button.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Browser, Page, TestContext } from "../support/harness.ts";
import { ClientBrowser, GOOD_PASSWORD, codeIn as codeInText, invite, lastMessage, registrationContext } from "../support/registration.ts";
import { press } from "../support/sign-in.ts";
import { createActiveUser, uniquePhone } from "../support/users.ts";

let ctx: TestContext;

test.before(async () => {
  ctx = await registrationContext();
});

test.after(async () => {
  await ctx.outbox.stop();
});

/** Presses `name` without following: a 303 with no page at the POST address, then the GET of where it points. */
async function step(browser: ClientBrowser, page: Page, name: string, fields: Record<string, string> = {}, to?: string): Promise<Page> {
  const answer = await press(browser as unknown as Browser, page, name, fields, { follow: false });
  assert.is(answer.status, 303, `"${name}" on ${page.url}: 303 (got ${answer.status})`);
  assert.is(answer.text, "", `"${name}": no page at the POST address`);
  const location = answer.headers.get("location")!;
  assert.ok(location, `"${name}": a Location`);
  if (to) assert.is(location, to, `"${name}" leads to ${to}`);
  const next = await browser.get(location);
  assert.is(next.status, 200, `GET ${location}: 200`);
  // A reload of the page now shown is this GET again: the same page, nothing posted.
  const reloaded = await browser.get(location);
  assert.is(reloaded.status, 200);
  assert.is(reloaded.document.querySelector("h1")?.textContent, next.document.querySelector("h1")?.textContent, `reloading ${location} shows the same step`);
  return next;
}

test("a whole sign-in with Login with Email: every button a 303 to a GET", async () => {
  const browser = new ClientBrowser(ctx);
  const account = await createActiveUser(ctx.sql, { method: "email" });
  let page = await browser.get("/login");
  page = await step(browser, page, "Login with Email", {}, "/login/credentials");
  page = await step(browser, page, "Sign in", { email: account.email, password: account.password }, "/login/email");
  page = await step(browser, page, "Send Verification Code", {}, "/login/email/code");
  page = await step(browser, page, "Verify Code", { code: codeInText((await lastMessage(ctx, account.email)).body) }, "/login/email/verified");
  page = await step(browser, page, "Continue", {}, "/home");
  assert.is(page.document.querySelector("h1")?.textContent, "Home");
});

test("a whole registration by email: every button a 303 to a GET", async () => {
  const browser = new ClientBrowser(ctx);
  const invited = await invite(ctx);
  let page = await browser.get(invited.path);
  assert.is(page.url, "/register/method");
  page = await step(browser, page, "Email", {}, "/register/email");
  page = await step(browser, page, "Send Verification Code");
  page = await step(browser, page, "Verify Code", { code: codeInText((await lastMessage(ctx, invited.email)).body) });
  assert.is(page.document.querySelector("h1")?.textContent, "Create a password");
  page = await step(browser, page, "Create", { password: GOOD_PASSWORD, confirm: GOOD_PASSWORD }, "/register/terms");
  page = await step(browser, page, "Continue", { agree: "on" });
  assert.is(page.document.querySelector("h1")?.textContent, "Home");
});

test("Call Me without JavaScript: Continue before the call confirms answers a 303 to the call page, which says so and still shows the code", async () => {
  const browser = new ClientBrowser(ctx);
  const account = await createActiveUser(ctx.sql, { method: "phone" });
  let page = await browser.get("/login");
  page = await step(browser, page, "Login with Phone", {}, "/login/credentials");
  page = await step(browser, page, "Sign in", { email: account.email, password: account.password }, "/login/phone");
  const call = await press(browser as unknown as Browser, page, "Call Me");
  assert.is(call.url, "/login/phone/call");
  const keypad = call.document.querySelector("output[name=keypad-code]")?.textContent?.trim();
  page = await step(browser, call, "Continue", {}, "/login/phone/call?waiting=1");
  assert.match(page.text, "has not confirmed the code yet");
  assert.is(page.document.querySelector("output[name=keypad-code]")?.textContent?.trim(), keypad);
});

test("registration's Call Me without JavaScript: a 303 to the call page's GET, and Continue before the call confirms a 303 back to it", async () => {
  const browser = new ClientBrowser(ctx);
  const invited = await invite(ctx);
  let page = await browser.get(invited.path);
  page = await step(browser, page, "Phone", {}, "/register/email");
  page = await step(browser, page, "Send Verification Code");
  page = await step(browser, page, "Verify Code", { code: codeInText((await lastMessage(ctx, invited.email)).body) });
  page = await step(browser, page, "Create", { password: GOOD_PASSWORD, confirm: GOOD_PASSWORD }, "/register/phone");
  const phone = uniquePhone();
  const call = await step(browser, page, "Call Me", { phone }, "/register/phone/call");
  assert.is(call.document.querySelector("h1")?.textContent, "Answer the call");
  const keypad = call.document.querySelector("output[name=keypad-code]")?.textContent?.trim();
  assert.match(keypad ?? "", /^\d{6}$/, "the reload shows the code to key in");
  assert.is((await lastMessage(ctx, phone)).channel, "voice");
  page = await step(browser, call, "Continue", {}, "/register/phone/call?waiting=1");
  assert.match(page.text, "has not confirmed the code yet");
  assert.is(page.document.querySelector("output[name=keypad-code]")?.textContent?.trim(), keypad);
  // The phone step is still a page of its own (No call? Go back…), and the call page comes back while the call waits.
  assert.is((await browser.get("/register/phone")).document.querySelector("h1")?.textContent, "Verify your phone");
  assert.is((await browser.get("/register/phone/call")).document.querySelector("output[name=keypad-code]")?.textContent?.trim(), keypad);
});

test("a failed code submit re-rendered at its POST address: a reload posts the same wrong code again, which counts one try and one failure, not two", async () => {
  const browser = new ClientBrowser(ctx);
  const account = await createActiveUser(ctx.sql, { method: "email" });
  let page = await browser.get("/login");
  page = await step(browser, page, "Login with Email", {}, "/login/credentials");
  page = await step(browser, page, "Sign in", { email: account.email, password: account.password }, "/login/email");
  page = await step(browser, page, "Send Verification Code", {}, "/login/email/code");
  const real = codeInText((await lastMessage(ctx, account.email)).body);
  const wrong = real === "000000" ? "111111" : "000000";
  const counts = async () => {
    const [row] = await ctx.sql<{ attempts: number; failed: number }[]>`
      select c.attempts, u.failed_attempts as failed from codes c join users u on u.id = c.user_id
      where c.user_id = ${account.id} and c.consumed_at is null order by c.created_at desc limit 1`;
    return row!;
  };
  const failed = await press(browser as unknown as Browser, page, "Verify Code", { code: wrong });
  assert.is(failed.status, 401, "the GOV.UK pattern: the form again, at its POST address, with a 4xx");
  assert.match(failed.text, "not right");
  assert.equal(await counts(), { attempts: 1, failed: 1 });
  // The browser's reload: the same POST, the same body.
  const reloaded = await browser.post("/login/email/code", { code: wrong });
  assert.is(reloaded.status, 401);
  assert.match(reloaded.text, "not right", "the same answer");
  assert.equal(await counts(), { attempts: 1, failed: 1 }, "counted once");
  // Another wrong code is another try.
  await browser.post("/login/email/code", { code: wrong === "000000" ? "222222" : "333333" });
  assert.equal(await counts(), { attempts: 2, failed: 2 });
  const home = await browser.post("/login/email/code", { code: real });
  assert.is(home.url, "/login/email/verified", "the right code still passes");
});

test.run();
