/**
 * The registration wizard end to end, through app.request() with a manual clock: the email
 * method, the phone method by SMS and by Call Me (answered through the dev outbox), each with
 * full pages (JavaScript off) and with htmx fragments (JavaScript on).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import twilio from "twilio";
import type { TestContext } from "../support/harness.ts";
import { createTestContext, getTestDatabase, testConfig, texts } from "../support/harness.ts";
import { createManualClock } from "../../src/clock.ts";
import { createOutbox } from "../../src/delivery/outbox.ts";
import { createDevTransport } from "../../src/delivery/dev.ts";
import { silentLogger } from "../../src/log.ts";
import {
  ClientBrowser,
  GOOD_PASSWORD,
  auditEvents,
  codeIn,
  flowOf,
  invite,
  lastMessage,
  pressButton,
  registrationContext,
  startWizard,
  userRow,
  verifyEmailAndCreatePassword,
} from "../support/registration.ts";
import { uniquePhone } from "../support/users.ts";
import { verifyPassword } from "../../src/auth/passwords.ts";
import { TERMS_VERSION } from "../../src/terms.ts";

let ctx: TestContext;

test.before(async () => {
  ctx = await registrationContext();
});

test.after(async () => {
  await ctx.outbox.stop();
});

/** A fragment is the content of <main> only; a full page is a whole document. */
function assertShape(page: { text: string; headers: Headers }, htmx: boolean, where: string) {
  if (htmx) {
    assert.not.match(page.text, /<html/i, `${where}: htmx gets a fragment`);
    assert.not.match(page.text, /<footer/i, `${where}: no layout in a fragment`);
  } else {
    assert.match(page.text, /^<!doctype html>/i, `${where}: full page`);
    assert.match(page.text, /<main id="main"/, `${where}: full page has main`);
  }
  assert.match(page.headers.get("vary") ?? "", /HX-Request/i, `${where}: Vary: HX-Request`);
}

function nationalOf(e164: string): string {
  return `(${e164.slice(2, 5)}) ${e164.slice(5, 8)}-${e164.slice(8)}`;
}

async function assertSignedInHome(browser: ClientBrowser, page: { url: string; status: number; headers: Headers }, where: string, htmx: boolean) {
  if (htmx) {
    assert.equal(page.status, 204, `${where}: htmx gets no fragment of /home`);
    // htmx: a whole-page load of /home (HX-Redirect), so the banner shows the signed-in person
    assert.equal(page.headers.get("hx-redirect"), "/home", `${where}: HX-Redirect to /home`);
    const home = await browser.get("/home");
    assert.equal(home.url, "/home", `${where}: /home opens with the new session`);
  } else {
    assert.equal(page.url, "/home", `${where}: lands on /home`);
  }
  assert.ok(browser.cookies.has("session"), `${where}: a session cookie`);
  assert.not.ok(browser.cookies.has("flow"), `${where}: the flow cookie is gone`);
}

for (const htmx of [false, true]) {
  const mode = htmx ? "htmx fragments" : "full pages";

  test(`email method, ${mode}: link → Email → code → password → Terms of Use → active, signed in`, async () => {
    const invited = await invite(ctx);
    const browser = new ClientBrowser(ctx);

    const landing = await browser.get(invited.path, { htmx });
    assert.equal(landing.redirects, [303], "the link redirects once");
    assert.equal(landing.url, "/register/method", "to a URL without the token");
    assertShape(landing, htmx, "method step");
    assert.ok(texts(landing, "button").includes("Phone") && texts(landing, "button").includes("Email"));

    const emailStep = await pressButton(browser, landing, "Email", {}, { htmx });
    assert.equal(emailStep.url, "/register/email");
    assertShape(emailStep, htmx, "email step");
    const address = emailStep.document.querySelector<HTMLInputElement>("#field-email")!;
    assert.equal(address.getAttribute("value"), invited.email, "Email Address prefilled with the invited address");
    assert.ok(address.hasAttribute("readonly"), "and read-only");
    assert.not.ok(emailStep.document.querySelector("input[type=password]"), "no password fields before the email is verified");

    const sent = await pressButton(browser, emailStep, "Send Verification Code", {}, { htmx });
    // With htmx the answer is the page itself and the address bar shows the step without its query (HX-Replace-Url).
    assert.equal(sent.url, htmx ? "/register/email" : "/register/email?sent=1");
    assert.ok(texts(sent, "label").includes("Verification Code"));
    assert.ok(texts(sent, "button").includes("Verify Code") && texts(sent, "button").includes("Send New Code"));
    const mail = await lastMessage(ctx, invited.email);
    assert.equal(mail.channel, "email");

    const verified = await pressButton(browser, sent, "Verify Code", { code: codeIn(mail.body) }, { htmx });
    assert.equal(verified.url, "/register/email");
    assertShape(verified, htmx, "password step");
    assert.ok(texts(verified, "label").includes("New Password") && texts(verified, "label").includes("Confirm New Password"));
    for (const input of verified.document.querySelectorAll("input[type=password]")) {
      assert.equal(input.getAttribute("autocomplete"), "new-password");
    }
    assert.equal((await flowOf(ctx, invited.userId))?.state, "email_verified");

    const terms = await pressButton(browser, verified, "Create", { password: GOOD_PASSWORD, confirm: GOOD_PASSWORD }, { htmx });
    assert.equal(terms.url, "/register/terms", "the email method goes from the password to the Terms of Use");
    assertShape(terms, htmx, "terms step");
    assert.ok(texts(terms, "label").includes("I have read and agree to these terms of use."));
    assert.ok(texts(terms, "button").includes("Continue"));
    assert.equal((await userRow(ctx, invited.userId)).status, "invited", "nothing active before the last step");
    assert.not.ok(browser.cookies.has("session"), "no session before the last step");

    const home = await pressButton(browser, terms, "Continue", { agree: "on" }, { htmx });
    await assertSignedInHome(browser, home, mode, htmx);
    const user = await userRow(ctx, invited.userId);
    assert.equal(user.status, "active");
    assert.equal(user.mfaMethod, "email");
    assert.equal(user.phone, null);
    assert.equal(user.termsVersion, TERMS_VERSION);
    assert.ok(user.termsAcceptedAt instanceof Date);
    assert.ok(await verifyPassword(user.passwordHash!, GOOD_PASSWORD), "the created password is the user's");
    assert.equal((await flowOf(ctx, invited.userId))?.state, "done");
    const back = await browser.get("/register/terms", { htmx });
    assert.equal(back.url, "/home", "a wizard page after finishing leads home, not to an error");
    const events = await auditEvents(ctx, invited.userId);
    for (const event of [
      "registration.invited",
      "registration.link_opened",
      "registration.method_chosen",
      "registration.email_code_sent",
      "registration.email_verified",
      "registration.password_created",
      "registration.completed",
    ]) {
      assert.ok(events.includes(event), `audit ${event}`);
    }
  });

  test(`phone method by SMS, ${mode}: Phone Number → Send Code → Verification Code → Verify Code → terms → active`, async () => {
    const invited = await invite(ctx);
    const browser = new ClientBrowser(ctx);
    await startWizard(ctx, browser, invited, "phone", htmx);
    const phoneStep = await verifyEmailAndCreatePassword(ctx, browser, invited, htmx);
    assert.equal(phoneStep.url, "/register/phone");
    assertShape(phoneStep, htmx, "phone step");
    assert.ok(texts(phoneStep, "label").includes("Phone Number"));
    assert.ok(texts(phoneStep, "button").includes("Send Code") && texts(phoneStep, "button").includes("Call Me"));

    const phone = uniquePhone();
    const sent = await pressButton(browser, phoneStep, "Send Code", { phone: nationalOf(phone) }, { htmx });
    // With htmx the answer is the page itself and the address bar shows the step without its query (HX-Replace-Url).
    assert.equal(sent.url, htmx ? "/register/phone" : "/register/phone?sent=1");
    assert.ok(texts(sent, "label").includes("Verification Code"));
    const sms = await lastMessage(ctx, phone);
    assert.equal(sms.channel, "sms");

    const terms = await pressButton(browser, sent, "Verify Code", { code: codeIn(sms.body) }, { htmx });
    assert.equal(terms.url, "/register/terms");
    assert.equal((await flowOf(ctx, invited.userId))?.state, "phone_verified");

    const home = await pressButton(browser, terms, "Continue", { agree: "on" }, { htmx });
    await assertSignedInHome(browser, home, mode, htmx);
    const user = await userRow(ctx, invited.userId);
    assert.equal(user.status, "active");
    assert.equal(user.mfaMethod, "phone");
    assert.equal(user.phone, phone, "the verified number is on file");
    assert.ok((await auditEvents(ctx, invited.userId)).includes("registration.phone_verified"));
  });

  test(`phone method by Call Me, ${mode}: keypad code on screen, answered through the dev outbox, the check moves on`, async () => {
    const invited = await invite(ctx);
    const browser = new ClientBrowser(ctx);
    await startWizard(ctx, browser, invited, "phone", htmx);
    const phoneStep = await verifyEmailAndCreatePassword(ctx, browser, invited, htmx);
    const phone = uniquePhone();
    const call = await pressButton(browser, phoneStep, "Call Me", { phone }, { htmx });
    assert.equal(call.status, 200);
    assertShape(call, htmx, "call step");
    const keypad = call.document.querySelector('output[name="keypad-code"]')?.textContent?.trim() ?? "";
    assert.match(keypad, /^\d{6}$/, "the keypad code is on screen");
    const poller = call.document.querySelector("[hx-trigger]")!;
    assert.equal(poller.getAttribute("hx-trigger"), "every 2s");
    assert.equal(poller.getAttribute("hx-post"), "/register/phone/call/check");
    assert.ok(texts(call, "button").includes("Continue"), "Continue without JavaScript");
    const voice = await lastMessage(ctx, phone);
    assert.equal(voice.channel, "voice");
    assert.not.ok(voice.body.includes(keypad), "the call does not say the code: the person keys it in from the screen");

    // Before the call is answered: the poll changes nothing, Continue says "not yet" and shows the code again.
    const pending = await browser.post("/register/phone/call/check", { poll: "1" }, { htmx: true });
    assert.equal(pending.status, 204);
    const notYet = await pressButton(browser, call, "Continue", {}, { htmx });
    assert.equal(notYet.status, 200);
    assert.equal(notYet.document.querySelector('output[name="keypad-code"]')?.textContent?.trim(), keypad);
    assert.match(texts(notYet, "[role=status]").join(" "), /not confirmed/);

    const wrong = await browser.inner.post(`/dev/outbox/${voice.id}/answer`, { digits: keypad === "000000" ? "111111" : "000000" });
    assert.equal(JSON.parse(wrong.text).result, "wrong");
    const answered = await browser.inner.post(`/dev/outbox/${voice.id}/answer`, { digits: `${keypad}#` });
    assert.equal(JSON.parse(answered.text).result, "confirmed");

    const terms = htmx
      ? await browser.post("/register/phone/call/check", { poll: "1" }, { htmx })
      : await pressButton(browser, notYet, "Continue", {}, { htmx });
    assert.equal(terms.url, "/register/terms", "once confirmed the check moves to the Terms of Use");
    assertShape(terms, htmx, "terms after call");
    const home = await pressButton(browser, terms, "Continue", { agree: "on" }, { htmx });
    await assertSignedInHome(browser, home, mode, htmx);
    const user = await userRow(ctx, invited.userId);
    assert.equal(user.mfaMethod, "phone");
    assert.equal(user.phone, phone);
  });
}

test("a fragment for htmx carries its <title> and, on GET, HX-Replace-Url with the step's path", async () => {
  const invited = await invite(ctx);
  const browser = new ClientBrowser(ctx);
  const page = await browser.get(invited.path, { htmx: true });
  assert.match(page.text, /<title>[^<]+<\/title>/);
  assert.equal(page.headers.get("hx-replace-url"), "/register/method");
});

test("the link landing answers Referrer-Policy: no-referrer and a 303 to a URL without the token (ASVS 6.4.1, 14.2.1)", async () => {
  const invited = await invite(ctx);
  const response = await ctx.app.request(invited.path, { headers: { "x-forwarded-for": "198.19.0.1" } });
  assert.equal(response.status, 303);
  assert.equal(response.headers.get("referrer-policy"), "no-referrer");
  assert.equal(response.headers.get("location"), "/register/method");
  assert.equal(response.headers.get("cache-control"), "no-store");
  assert.match(response.headers.get("set-cookie") ?? "", /^flow=[a-z2-7]{24}\.[a-z2-7]{24}; Path=\/; HttpOnly; SameSite=Lax/);
});

test("MFA reset link: choose a method again, verify it, the password step is skipped, Remember Me forgotten", async () => {
  const { createActiveUser } = await import("../support/users.ts");
  const { createLinkToken } = await import("../../src/auth/links.ts");
  const { createRememberToken } = await import("../../src/auth/remember-me.ts");
  const active = await createActiveUser(ctx.sql, { method: "email" });
  await createRememberToken(ctx.sql, ctx.clock, active.id, "email", ctx.config.ttl.rememberMe);
  const token = await createLinkToken(ctx.sql, ctx.clock, { userId: active.id, purpose: "mfa_reset", ttlMs: ctx.config.ttl.registrationLink });
  const browser = new ClientBrowser(ctx);
  const method = await browser.get(`/register/link/${token}`);
  assert.equal(method.url, "/register/method");
  await browser.post("/register/method", { method: "phone" });
  await browser.post("/register/email/send", {});
  const verified = await browser.post("/register/email/verify", { code: codeIn((await lastMessage(ctx, active.email)).body) });
  assert.equal(verified.url, "/register/phone", "no password step in an MFA reset");
  const phone = uniquePhone();
  await browser.post("/register/phone/send", { phone, channel: "sms" });
  const terms = await browser.post("/register/phone/verify", { code: codeIn((await lastMessage(ctx, phone)).body) });
  assert.equal(terms.url, "/register/terms");
  const home = await browser.post("/register/terms", { agree: "on" });
  assert.equal(home.url, "/home");
  const user = await userRow(ctx, active.id);
  assert.equal(user.mfaMethod, "phone");
  assert.equal(user.phone, phone, "the phone on file is replaced");
  assert.ok(await verifyPassword(user.passwordHash!, active.password), "the password is kept");
  const [remembered] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from remember_tokens where user_id = ${active.id}`;
  assert.equal(remembered!.n, 0, "Remember Me tokens are forgotten");
  assert.ok((await auditEvents(ctx, active.id)).includes("registration.mfa_reset_completed"));
});

test("Call Me confirmed through the signed Twilio voice webhook; an unsigned or mis-signed one changes nothing", async () => {
  // Twilio configured: calls would go through Twilio, so the test's outbox keeps them in the dev transport.
  const env = {
    TWILIO_ACCOUNT_SID: "AC" + "0123456789abcdef".repeat(2),
    TWILIO_AUTH_TOKEN: "test-auth-token-for-signatures",
    TWILIO_FROM_NUMBER: "+12025550100",
  };
  const db = await getTestDatabase();
  const dev = createDevTransport(() => {});
  const outbox = createOutbox({
    sql: db.sql,
    clock: createManualClock(new Date()),
    config: testConfig(env),
    log: silentLogger,
    print: () => {},
    transports: { sms: dev, voice: dev },
  });
  const twilioCtx = await createTestContext({ env: { TRUST_PROXY: "1", ...env }, outbox });
  try {
    const invited = await invite(twilioCtx);
    const browser = new ClientBrowser(twilioCtx);
    await startWizard(twilioCtx, browser, invited, "phone");
    await verifyEmailAndCreatePassword(twilioCtx, browser, invited);
    const phone = uniquePhone();
    const call = await browser.post("/register/phone/send", { phone, channel: "voice" });
    const keypad = call.document.querySelector('output[name="keypad-code"]')!.textContent!.trim();
    const voice = await lastMessage(twilioCtx, phone);
    assert.ok(voice.codeId, "the call names its code");
    const path = `/webhooks/twilio/voice/${voice.codeId}`;
    const url = twilioCtx.config.publicUrl + path;
    const post = (params: Record<string, string>, signature: string | null) =>
      twilioCtx.app.request(path, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...(signature ? { "x-twilio-signature": signature } : {}) },
        body: new URLSearchParams(params).toString(),
      });
    const params = { CallSid: "CA" + "1".repeat(32), Digits: keypad };
    assert.equal((await post(params, null)).status, 403, "unsigned");
    assert.equal((await post(params, twilio.getExpectedTwilioSignature("another-token", url, params))).status, 403, "signed with another token");
    const pending = await browser.post("/register/phone/call/check", { poll: "1" }, { htmx: true });
    assert.equal(pending.status, 204, "refused webhooks confirmed nothing");

    const answered = await post(params, twilio.getExpectedTwilioSignature(twilioCtx.config.phone.kind === "twilio" ? twilioCtx.config.phone.authToken : "", url, params));
    assert.equal(answered.status, 200);
    assert.match(await answered.text(), /verified/i);
    const terms = await browser.post("/register/phone/call/check", { poll: "1" }, { htmx: true });
    assert.equal(terms.url, "/register/terms");
    const home = await browser.post("/register/terms", { agree: "on" });
    assert.equal(home.url, "/home");
    assert.equal((await userRow(twilioCtx, invited.userId)).phone, phone);
  } finally {
    await outbox.stop();
  }
});

test.run();
