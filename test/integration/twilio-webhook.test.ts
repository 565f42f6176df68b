/**
 * POST /webhooks/twilio/voice/{codeId}: the only POST exempt from the origin check, so it must
 * prove it comes from Twilio: X-Twilio-Signature over PUBLIC_URL + path + the posted parameters
 * with our auth token (ASVS 3.5.1, 3.5.3). Then the keyed digits confirm the call's code once.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHmac } from "node:crypto";
import { createTestContext, PUBLIC_URL, type TestContext } from "../support/harness.ts";
import { takeConfirmedVoiceCode, MAX_CODE_ATTEMPTS } from "../../src/auth/codes.ts";
import { MINUTE } from "../../src/clock.ts";
import { createVoiceCode } from "../contract/delivery-support.ts";

const TOKEN = "webhook-test-auth-token-0123456789";
const TWILIO = { TWILIO_ACCOUNT_SID: "AC" + "2".repeat(32), TWILIO_AUTH_TOKEN: TOKEN, TWILIO_FROM_NUMBER: "+15005550006" };

let ctx: TestContext;

test.before(async () => {
  ctx = await createTestContext({ env: TWILIO });
});

/** Twilio's scheme, written out independently of the package under test: HMAC-SHA1 over URL + sorted name/value pairs. */
function sign(token: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, key) => acc + key + params[key], url);
  return createHmac("sha1", token).update(data, "utf8").digest("base64");
}

function callParams(digits: string): Record<string, string> {
  return { AccountSid: TWILIO.TWILIO_ACCOUNT_SID, CallSid: "CA" + "3".repeat(32), From: "+15005550006", To: "+14155550123", Digits: digits };
}

async function post(ctx: TestContext, codeId: string, params: Record<string, string>, signature: string | null) {
  const path = `/webhooks/twilio/voice/${codeId}`;
  const headers: Record<string, string> = signature === null ? {} : { "x-twilio-signature": signature };
  // Twilio sends no Origin header.
  return ctx.browser().post(path, params, { origin: null, headers });
}

async function signedPost(codeId: string, digits: string, token = TOKEN) {
  const params = callParams(digits);
  return post(ctx, codeId, params, sign(token, `${PUBLIC_URL}/webhooks/twilio/voice/${codeId}`, params));
}

async function codeRow(codeId: string) {
  const [row] = await ctx.sql<{ attempts: number; confirmed_at: Date | null; consumed_at: Date | null }[]>`
    select attempts, confirmed_at, consumed_at from codes where id = ${codeId}`;
  return row!;
}

const wrongFor = (code: string) => (code === "000000" ? "111111" : "000000");

test("an unsigned POST is refused with 403 and touches nothing (ASVS 3.5.3)", async () => {
  const voice = await createVoiceCode(ctx.sql, ctx.clock, ctx.config.secretKey);
  const page = await post(ctx, voice.codeId, callParams(voice.code), null);
  assert.is(page.status, 403);
  assert.equal(await codeRow(voice.codeId), { attempts: 0, confirmed_at: null, consumed_at: null });
});

test("a POST signed with another auth token is refused with 403", async () => {
  const voice = await createVoiceCode(ctx.sql, ctx.clock, ctx.config.secretKey);
  const page = await signedPost(voice.codeId, voice.code, "somebody-elses-token");
  assert.is(page.status, 403);
  assert.is((await codeRow(voice.codeId)).confirmed_at, null);
});

test("a signature for other digits, other code or another host is refused: the signature covers what is posted", async () => {
  const voice = await createVoiceCode(ctx.sql, ctx.clock, ctx.config.secretKey);
  const other = await createVoiceCode(ctx.sql, ctx.clock, ctx.config.secretKey);
  const url = `${PUBLIC_URL}/webhooks/twilio/voice/${voice.codeId}`;
  const signedWrong = sign(TOKEN, url, callParams(wrongFor(voice.code)));
  assert.is((await post(ctx, voice.codeId, callParams(voice.code), signedWrong)).status, 403, "digits swapped after signing");
  const signedForOther = sign(TOKEN, `${PUBLIC_URL}/webhooks/twilio/voice/${other.codeId}`, callParams(voice.code));
  assert.is((await post(ctx, voice.codeId, callParams(voice.code), signedForOther)).status, 403, "signed for another code's URL");
  const signedForHost = sign(TOKEN, `http://attacker.example/webhooks/twilio/voice/${voice.codeId}`, callParams(voice.code));
  assert.is((await post(ctx, voice.codeId, callParams(voice.code), signedForHost)).status, 403, "signed over another host");
  assert.equal(await codeRow(voice.codeId), { attempts: 0, confirmed_at: null, consumed_at: null });
});

test("re-signed with other digits, only those digits count: a wrong code asks again at the same webhook", async () => {
  const voice = await createVoiceCode(ctx.sql, ctx.clock, ctx.config.secretKey);
  const page = await signedPost(voice.codeId, wrongFor(voice.code));
  assert.is(page.status, 200);
  assert.match(page.headers.get("content-type") ?? "", /text\/xml/);
  assert.match(page.text, /That code was not right\./);
  assert.ok(page.text.includes(`<Gather input="dtmf" finishOnKey="#" timeout="10" action="${PUBLIC_URL}/webhooks/twilio/voice/${voice.codeId}" method="POST">`), page.text);
  assert.not.match(page.text, /<Hangup\/>/);
  const row = await codeRow(voice.codeId);
  assert.is(row.attempts, 1);
  assert.is(row.confirmed_at, null);
});

test("the right digits confirm the code once; a replay of the same signed request confirms nothing more", async () => {
  const voice = await createVoiceCode(ctx.sql, ctx.clock, ctx.config.secretKey);
  const first = await signedPost(voice.codeId, voice.code + "#");
  assert.is(first.status, 200);
  assert.ok(first.text.includes("<Say>Thank you. Your phone is verified. You can return to your screen.</Say><Hangup/>"), first.text);
  const confirmed = await codeRow(voice.codeId);
  assert.ok(confirmed.confirmed_at);
  assert.is(confirmed.attempts, 1);

  // Twilio retries, or someone who captured the request replays it: nothing changes.
  await signedPost(voice.codeId, voice.code + "#");
  const replayed = await codeRow(voice.codeId);
  assert.equal(replayed, confirmed, "no second confirmation, no attempt taken");

  // The browser takes the confirmation once …
  const taken = await takeConfirmedVoiceCode(ctx.sql, ctx.clock, { flowId: voice.flowId, purpose: "login_phone" });
  assert.ok(taken.ok);
  // … and a replay after that cannot confirm it again.
  const late = await signedPost(voice.codeId, voice.code + "#");
  assert.is(late.status, 200);
  assert.not.match(late.text, /Thank you/);
  assert.match(late.text, /Goodbye\.<\/Say><Hangup\/>/);
  const again = await takeConfirmedVoiceCode(ctx.sql, ctx.clock, { flowId: voice.flowId, purpose: "login_phone" });
  assert.not.ok(again.ok, "the code is single use");
  assert.equal((await codeRow(voice.codeId)).confirmed_at, confirmed.confirmed_at);
});

test("an expired code gets a goodbye and the call hangs up", async () => {
  const voice = await createVoiceCode(ctx.sql, ctx.clock, ctx.config.secretKey);
  ctx.clock.advance(6 * MINUTE);
  const page = await signedPost(voice.codeId, voice.code);
  assert.is(page.status, 200);
  assert.match(page.text, /<Say>This code has expired\. Start again on your screen\. Goodbye\.<\/Say><Hangup\/>/);
  assert.not.match(page.text, /<Gather/);
  assert.is((await codeRow(voice.codeId)).confirmed_at, null);
});

test("after the last wrong try the call says so and hangs up; then even the right code is refused", async () => {
  const voice = await createVoiceCode(ctx.sql, ctx.clock, ctx.config.secretKey);
  let page;
  for (let i = 1; i <= MAX_CODE_ATTEMPTS; i++) page = await signedPost(voice.codeId, wrongFor(voice.code));
  assert.match(page!.text, /no tries are left/);
  assert.match(page!.text, /<Hangup\/>/);
  assert.not.match(page!.text, /<Gather/);
  const right = await signedPost(voice.codeId, voice.code);
  assert.match(right.text, /Too many wrong codes/);
  assert.is((await codeRow(voice.codeId)).confirmed_at, null);
});

test("without Twilio configured the webhook refuses even a well-formed signed request", async () => {
  const dev = await createTestContext();
  const voice = await createVoiceCode(dev.sql, dev.clock, dev.config.secretKey);
  const params = callParams(voice.code);
  const page = await post(dev, voice.codeId, params, sign(TOKEN, `${PUBLIC_URL}/webhooks/twilio/voice/${voice.codeId}`, params));
  assert.is(page.status, 403);
  assert.is((await codeRow(voice.codeId)).confirmed_at, null);
});

test.run();
