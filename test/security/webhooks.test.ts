/**
 * The Twilio voice webhook is the only state-changing POST exempt from the origin check; it must
 * prove it comes from Twilio with X-Twilio-Signature over PUBLIC_URL + path + parameters. Tried
 * the way an attacker would: unsigned, signed with another token, re-signed digits, replayed,
 * and for a call whose code expired. Through a real Call Me sign-in (ASVS 3.5.1, 3.5.3, 6.6.2).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHmac } from "node:crypto";
import { createTestContext, getTestDatabase, PUBLIC_URL, testConfig, type Browser, type TestContext } from "../support/harness.ts";
import { createActiveUser, type ActiveUser } from "../support/users.ts";
import { pressLogin, submitPassword, useFreshAddress } from "../support/sign-in.ts";
import { createOutbox } from "../../src/delivery/outbox.ts";
import type { Transport } from "../../src/delivery/transport.ts";
import { systemClock, MINUTE } from "../../src/clock.ts";
import { silentLogger } from "../../src/log.ts";
import { MAX_CODE_ATTEMPTS } from "../../src/auth/codes.ts";
import { sessionCount } from "./support/steps.ts";

const TOKEN = "security-webhook-auth-token-0123456789";
const TWILIO = { TWILIO_ACCOUNT_SID: "AC" + "4".repeat(32), TWILIO_AUTH_TOKEN: TOKEN, TWILIO_FROM_NUMBER: "+15005550006" };

let ctx: TestContext;
const calls: string[] = [];

test.before(async () => {
  // Twilio is configured (so the webhook checks signatures); calls go to a recording stand-in.
  const fake: Transport = {
    provider: "twilio",
    keepsText: false,
    async send(message) {
      calls.push(message.to);
      return { providerId: "CA" + "5".repeat(32) };
    },
  };
  const outbox = createOutbox({ sql: (await getTestDatabase()).sql, clock: systemClock, config: testConfig(TWILIO), log: silentLogger, transports: { sms: fake, voice: fake } });
  ctx = await createTestContext({ env: TWILIO, outbox });
});

test.before.each(() => {
  useFreshAddress(ctx);
});

function sign(token: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, key) => acc + key + params[key], url);
  return createHmac("sha1", token).update(data, "utf8").digest("base64");
}

interface Call {
  user: ActiveUser;
  browser: Browser;
  codeId: string;
  keypad: string;
  url: string;
}

/** Login with Phone → Call Me: the page shows the keypad code; the call's webhook URL names the code row. */
async function callMe(): Promise<Call> {
  const user = await createActiveUser(ctx.sql, { method: "phone" });
  const browser = ctx.browser();
  await pressLogin(browser, "phone");
  assert.is((await submitPassword(browser, user.email, user.password)).url, "/login/phone");
  const page = await browser.post("/login/phone/call");
  assert.is(page.url, "/login/phone/call");
  const keypad = page.document.querySelector('output[name="keypad-code"]')?.textContent?.trim() ?? "";
  assert.match(keypad, /^\d{6}$/);
  const [row] = await ctx.sql<{ codeId: string }[]>`
    select code_id::text as "codeId" from outbox where recipient = ${user.phone!} and channel = 'voice' order by id desc limit 1`;
  return { user, browser, codeId: row!.codeId, keypad, url: `${PUBLIC_URL}/webhooks/twilio/voice/${row!.codeId}` };
}

function params(digits: string): Record<string, string> {
  return { AccountSid: TWILIO.TWILIO_ACCOUNT_SID, CallSid: "CA" + "6".repeat(32), From: TWILIO.TWILIO_FROM_NUMBER, To: "+14155550100", Digits: digits };
}

async function webhook(call: Call, body: Record<string, string>, signature: string | null) {
  const headers: Record<string, string> = signature === null ? {} : { "x-twilio-signature": signature };
  return ctx.browser().post(`/webhooks/twilio/voice/${call.codeId}`, body, { origin: null, headers, follow: false });
}

async function codeRow(codeId: string) {
  const [row] = await ctx.sql<{ attempts: number; confirmed: boolean; consumed: boolean }[]>`
    select attempts, confirmed_at is not null as confirmed, consumed_at is not null as consumed from codes where id = ${codeId}`;
  return row!;
}

async function stillWaiting(call: Call) {
  // The poll tells what its page already says (the wrong codes keyed so far): then pending is a 204.
  const wrong = String((await codeRow(call.codeId)).attempts);
  const poll = await call.browser.post("/login/phone/call/check", { poll: "1", wrong }, { htmx: true, follow: false });
  assert.is(poll.status, 204, "the browser is still waiting for the call");
  assert.is(await sessionCount(ctx.sql, call.user.id), 0);
}

test("ASVS 3.5.3: an unsigned webhook, or one signed with another auth token, is refused 403 and confirms nothing", async () => {
  const call = await callMe();
  assert.is((await webhook(call, params(call.keypad), null)).status, 403, "unsigned");
  assert.is((await webhook(call, params(call.keypad), "")).status, 403, "empty signature");
  assert.is((await webhook(call, params(call.keypad), sign("another-token-0123456789", call.url, params(call.keypad)))).status, 403, "another token");
  assert.is((await webhook(call, params(call.keypad), sign(TOKEN, `http://evil.example/webhooks/twilio/voice/${call.codeId}`, params(call.keypad)))).status, 403, "signed over another host");
  assert.equal(await codeRow(call.codeId), { attempts: 0, confirmed: false, consumed: false });
  await stillWaiting(call);
});

test("ASVS 3.5.3: a captured signed request re-sent with other digits is refused (the signature covers the digits)", async () => {
  const call = await callMe();
  const wrongDigits = call.keypad === "000000" ? "111111" : "000000";
  const captured = sign(TOKEN, call.url, params(wrongDigits));
  const forged = await webhook(call, params(call.keypad), captured);
  assert.is(forged.status, 403);
  const doubled = await webhook(call, { ...params(wrongDigits), Digits: wrongDigits }, captured);
  assert.is(doubled.status, 200, "the captured request itself is genuine");
  assert.match(doubled.text, /not right/);
  const row = await codeRow(call.codeId);
  assert.equal(row, { attempts: 1, confirmed: false, consumed: false }, "only the genuine try counted");
  await stillWaiting(call);
});

test("ASVS 3.5.3, 6.5.1: a replayed genuine webhook confirms once: one session, and after it the replay verifies nothing", async () => {
  const call = await callMe();
  const signature = sign(TOKEN, call.url, params(call.keypad));
  const first = await webhook(call, params(call.keypad), signature);
  assert.is(first.status, 200);
  assert.match(first.text, /verified/);
  assert.match(first.headers.get("content-type") ?? "", /xml/);
  const again = await webhook(call, params(call.keypad), signature);
  assert.is(again.status, 200, "a replay before the browser moved on changes nothing");
  assert.is((await codeRow(call.codeId)).attempts, 1, "a replay takes no attempt");
  assert.is((await call.browser.post("/login/phone/call/check")).url, "/home");
  const late = await webhook(call, params(call.keypad), signature);
  assert.not.match(late.text, /verified/, "after the sign-in the replay verifies nothing");
  assert.is(await sessionCount(ctx.sql, call.user.id), 1, "exactly one session");
});

test("ASVS 6.5.5, 6.6.2: a webhook for a call whose code expired confirms nothing, even signed and with the right digits", async () => {
  const call = await callMe();
  ctx.clock.advance(ctx.config.ttl.voiceCall);
  const late = await webhook(call, params(call.keypad), sign(TOKEN, call.url, params(call.keypad)));
  assert.is(late.status, 200);
  assert.match(late.text, /expired/);
  assert.equal(await codeRow(call.codeId), { attempts: 0, confirmed: false, consumed: false });
  const check = await call.browser.post("/login/phone/call/check");
  assert.is.not(check.url, "/home");
  assert.is(await sessionCount(ctx.sql, call.user.id), 0);
});

test("ASVS 6.6.3: keyed digits get at most 5 tries per call; the right digits after them confirm nothing", async () => {
  const call = await callMe();
  const wrongDigits = call.keypad === "000000" ? "111111" : "000000";
  for (let i = 0; i < MAX_CODE_ATTEMPTS; i++) {
    assert.is((await webhook(call, params(wrongDigits), sign(TOKEN, call.url, params(wrongDigits)))).status, 200);
  }
  const right = await webhook(call, params(call.keypad), sign(TOKEN, call.url, params(call.keypad)));
  assert.not.match(right.text, /verified/);
  assert.is((await codeRow(call.codeId)).confirmed, false);
  ctx.clock.advance(MINUTE);
  assert.is.not((await call.browser.post("/login/phone/call/check")).url, "/home");
});

test("ASVS 3.4.x: the webhook's XML answer and its 403 carry the security headers", async () => {
  const call = await callMe();
  const ok = await webhook(call, params("1"), sign(TOKEN, call.url, params("1")));
  const refused = await webhook(call, params("1"), null);
  for (const page of [ok, refused]) {
    assert.match(page.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
    assert.is(page.headers.get("x-content-type-options"), "nosniff");
    assert.is(page.headers.get("cache-control"), "no-store");
  }
  assert.ok(calls.length > 0, "calls went to the provider stand-in");
});

test.run();
