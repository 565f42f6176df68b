/**
 * A wrong code keyed on the phone during Call Me (issue 17): Twilio's webhook records it as one
 * of the code's attempts and the call asks again; the page the browser holds must say so with
 * the error summary, by itself with JavaScript (the poll) and after Continue without it (a 303
 * to the call page's GET, post/redirect/get). Driven through the signed Twilio webhook, for
 * sign-in, registration and Forgot your password?.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHmac } from "node:crypto";
import { createTestContext, getTestDatabase, PUBLIC_URL, testConfig, type Page, type TestContext } from "../support/harness.ts";
import { createManualClock } from "../../src/clock.ts";
import { createOutbox, type Outbox } from "../../src/delivery/outbox.ts";
import { createDevTransport } from "../../src/delivery/dev.ts";
import { silentLogger } from "../../src/log.ts";
import { ClientBrowser, codeIn, invite, lastMessage, pressButton, startWizard, verifyEmailAndCreatePassword } from "../support/registration.ts";
import { createActiveUser, uniquePhone } from "../support/users.ts";

const TOKEN = "call-wrong-code-auth-token-0123456789";
const TWILIO = { TWILIO_ACCOUNT_SID: "AC" + "4".repeat(32), TWILIO_AUTH_TOKEN: TOKEN, TWILIO_FROM_NUMBER: "+15005550006" };
const WRONG_WORDS = "The code you entered on the phone was not correct.";

let ctx: TestContext;
let outbox: Outbox;

test.before(async () => {
  // Twilio configured (so the webhook answers), the calls themselves kept by the dev transport.
  const db = await getTestDatabase();
  const dev = createDevTransport(() => {});
  outbox = createOutbox({ sql: db.sql, clock: createManualClock(new Date()), config: testConfig(TWILIO), log: silentLogger, print: () => {}, transports: { sms: dev, voice: dev } });
  ctx = await createTestContext({ env: { TRUST_PROXY: "1", ...TWILIO }, outbox });
});

test.after(async () => {
  await outbox.stop();
});

/** Keys `digits` on the call as Twilio reports them: a POST signed over PUBLIC_URL + path + the sorted parameters. */
async function keyOnCall(codeId: string, digits: string): Promise<string> {
  const path = `/webhooks/twilio/voice/${codeId}`;
  const params: Record<string, string> = { AccountSid: TWILIO.TWILIO_ACCOUNT_SID, CallSid: "CA" + "5".repeat(32), Digits: digits };
  const data = Object.keys(params)
    .sort()
    .reduce((acc, key) => acc + key + params[key], PUBLIC_URL + path);
  const signature = createHmac("sha1", TOKEN).update(data, "utf8").digest("base64");
  const response = await ctx.browser().post(path, params, { origin: null, headers: { "x-twilio-signature": signature } });
  assert.is(response.status, 200, "the signed webhook is answered");
  return response.text;
}

function keypadOf(page: Page): string {
  const keypad = page.document.querySelector('output[name="keypad-code"]')?.textContent?.trim() ?? "";
  assert.match(keypad, /^\d{6}$/, `the keypad code on ${page.url}`);
  return keypad;
}

/** What the page's poller posts (CallCheck's hx-vals). */
function pollValues(page: Page): Record<string, string> {
  const poller = page.document.querySelector('[hx-trigger="every 2s"]');
  assert.ok(poller, `a poller on ${page.url}`);
  return JSON.parse(poller!.getAttribute("hx-vals") ?? "{}") as Record<string, string>;
}

/** The GOV.UK error summary carries the words (and only one summary is on the page). */
function assertSaysWrong(page: Page, where: string) {
  const summaries = page.document.querySelectorAll(".error-summary");
  assert.is(summaries.length, 1, `${where}: one error summary`);
  const summary = summaries[0]!;
  assert.is(summary.querySelector("h2")?.textContent?.trim(), "There is a problem", `${where}: the summary's title`);
  assert.ok(summary.querySelector("[role=alert]"), `${where}: the summary is an alert`);
  assert.ok((summary.textContent ?? "").includes(WRONG_WORDS), `${where}: the summary says the keyed code was wrong: ${summary.textContent}`);
  assert.ok(texts(page).includes("Call Me"), `${where}: Call Me is on the page, as the message says`);
}

function texts(page: Page): string[] {
  return [...page.document.querySelectorAll("button")].map((b) => (b.textContent ?? "").trim());
}

/**
 * From the call page: a wrong code keyed on the call, then what the page shows. With htmx the
 * poll brings the page with the error (once: the next poll, carrying the count, is a 204); without
 * JavaScript Continue answers 303 to the call page's GET, which says it. Then the right code.
 */
async function wrongThenRight(browser: ClientBrowser, call: Page, phone: string, checkPath: string, callPath: string, htmx: boolean): Promise<Page> {
  const keypad = keypadOf(call);
  const voice = await lastMessage(ctx, phone);
  assert.is(voice.channel, "voice");
  const before = pollValues(call);
  const first = await browser.post(checkPath, before, { htmx: true });
  assert.is(first.status, 204, `nothing keyed yet: the poll changes nothing: ${first.text.slice(0, 3000)}`);

  const twiml = await keyOnCall(voice.codeId!, `${keypad === "000000" ? "111111" : "000000"}#`);
  assert.match(twiml, /That code was not right\./);
  assert.match(twiml, /<Gather/, "the call asks again");

  let shown: Page;
  if (htmx) {
    shown = await browser.post(checkPath, before, { htmx: true });
    assert.is(shown.status, 200, "the poll brings the page again");
    assertSaysWrong(shown, "the poll after a wrong keyed code");
    assert.is(pollValues(shown).wrong, "1", "the new page's poll carries the count it shows");
    assert.is((await browser.post(checkPath, pollValues(shown), { htmx: true })).status, 204, "the next poll: nothing new, nothing redrawn");
  } else {
    const answer = await pressButton(browser, call, "Continue", {}, { follow: false });
    assert.is(answer.status, 303, "Continue: post/redirect/get");
    assert.is(answer.headers.get("location"), `${callPath}?waiting=1&wrong=1`);
    shown = await browser.get(answer.headers.get("location")!);
    assert.is(shown.status, 200);
    assertSaysWrong(shown, "the call page after Continue");
    const reloaded = await browser.get(answer.headers.get("location")!);
    assertSaysWrong(reloaded, "the call page reloaded");
  }
  assert.is(keypadOf(shown), keypad, "the same code to key in");

  assert.match(await keyOnCall(voice.codeId!, `${keypad}#`), /Your phone is verified/);
  return htmx ? browser.post(checkPath, pollValues(shown), { htmx: true }) : pressButton(browser, shown, "Continue");
}

for (const htmx of [false, true]) {
  const mode = htmx ? "with htmx" : "without JavaScript";

  test(`sign-in, ${mode}: a wrong code keyed on the call shows in the error summary; the right one signs in`, async () => {
    const browser = new ClientBrowser(ctx);
    const account = await createActiveUser(ctx.sql, { method: "phone" });
    let page = await browser.get("/login");
    page = await pressButton(browser, page, "Login with Phone");
    page = await pressButton(browser, page, "Sign in", { email: account.email, password: account.password });
    assert.is(page.url, "/login/phone");
    const call = await pressButton(browser, page, "Call Me", {}, { htmx });
    assert.is(htmx ? call.status : new URL(call.url, PUBLIC_URL).pathname, htmx ? 200 : "/login/phone/call");
    const home = await wrongThenRight(browser, call, account.phone!, "/login/phone/call/check", "/login/phone/call", htmx);
    // Signed in, htmx is told to load home as a new page (HX-Redirect); without JavaScript the 303 led there.
    assert.is(htmx ? home.headers.get("hx-redirect") : home.url, "/home");
  });

  test(`registration, ${mode}: a wrong code keyed on the call shows in the error summary; the right one moves on`, async () => {
    const invited = await invite(ctx);
    const browser = new ClientBrowser(ctx);
    await startWizard(ctx, browser, invited, "phone", htmx);
    const phoneStep = await verifyEmailAndCreatePassword(ctx, browser, invited, htmx);
    const phone = uniquePhone();
    const call = await pressButton(browser, phoneStep, "Call Me", { phone }, { htmx });
    assert.is(call.status, 200);
    if (!htmx) assert.is(call.url, "/register/phone/call");
    const terms = await wrongThenRight(browser, call, phone, "/register/phone/call/check", "/register/phone/call", htmx);
    assert.is(terms.url, "/register/terms");
  });

  test(`Forgot your password?, ${mode}: a wrong code keyed on the call shows in the error summary; the right one moves on`, async () => {
    const account = await createActiveUser(ctx.sql, { method: "phone" });
    const browser = new ClientBrowser(ctx);
    let page = await browser.get("/forgot-password");
    page = await pressButton(browser, page, "Send verification code", { email: account.email });
    page = await pressButton(browser, page, "Verify code", { code: codeIn((await lastMessage(ctx, account.email)).body) });
    page = await pressButton(browser, page, "Continue");
    assert.is(page.url, "/forgot-password/phone");
    const call = await pressButton(browser, page, "Call Me", {}, { htmx });
    assert.is(call.status, 200);
    const next = await wrongThenRight(browser, call, account.phone!, "/forgot-password/phone/call/check", "/forgot-password/phone/call", htmx);
    assert.is(next.url, "/forgot-password/new-password");
  });
}

test.run();
