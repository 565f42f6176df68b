import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  codeHmac,
  confirmVoiceCode,
  createCode,
  generateCode,
  MAX_CODE_ATTEMPTS,
  takeConfirmedVoiceCode,
  verifyCode,
} from "../../../src/auth/codes.ts";
import { MINUTE, SECOND } from "../../../src/clock.ts";
import { clockAt, createTestFlow, createUser, database, SECRET_KEY } from "./fixtures.ts";

const test = suite("auth/codes");
const TTL = 10 * MINUTE;

async function setUp(channel: "email" | "sms" | "voice" = "sms") {
  const sql = await database();
  const clock = clockAt();
  const user = await createUser(sql);
  const { flow } = await createTestFlow(sql, clock, user.id);
  const created = await createCode(sql, clock, SECRET_KEY, {
    flowId: flow.id,
    userId: user.id,
    purpose: "login",
    channel,
    destination: channel === "email" ? user.email : "+12025550143",
    ttlMs: TTL,
  });
  return { sql, clock, user, flow, ...created };
}

/** A six-digit code that is not `code` (the `n`th of them: distinct wrong codes each take a try). */
function other(code: string, n = 0): string {
  return String((Number(code) + 1 + n) % 1_000_000).padStart(6, "0");
}

test("generateCode: always six digits, leading zeros kept, every digit used in every place (ASVS 6.5.4)", () => {
  const codes = Array.from({ length: 5000 }, generateCode);
  for (const code of codes) assert.match(code, /^\d{6}$/);
  assert.ok(codes.some((c) => c.startsWith("0")), "some code starts with 0 (P(miss) = 0.9^5000)");
  for (let place = 0; place < 6; place++) {
    const seen = new Set(codes.map((c) => c[place]));
    assert.is(seen.size, 10, `place ${place}`);
  }
  assert.ok(new Set(codes).size > 4900, "no small cycle");
});

test("createCode: six digits, stored only as HMAC-SHA-256 keyed with SECRET_KEY (ASVS 6.5.3)", async () => {
  const { sql, id, code } = await setUp();
  assert.match(code, /^\d{6}$/);
  const [row] = await sql<{ whole: string; codeHmac: Uint8Array }[]>`
    select row_to_json(c)::text as whole, code_hmac as "codeHmac" from codes c where id = ${id}`;
  assert.not.ok(row!.whole.includes(code), "the plaintext is nowhere in the row");
  assert.equal(new Uint8Array(row!.codeHmac), codeHmac(SECRET_KEY, code));
  assert.not.equal(new Uint8Array(row!.codeHmac), codeHmac("another-key-another-key-another-key", code), "keyed");
});

test("verifyCode: right code → ok once; a second use → none (single use, ASVS 6.5.1)", async () => {
  const { sql, clock, flow, id, code } = await setUp();
  assert.equal(await verifyCode(sql, clock, SECRET_KEY, { flowId: flow.id, purpose: "login", code }), { ok: true, codeId: id, destination: "+12025550143" });
  assert.equal(await verifyCode(sql, clock, SECRET_KEY, { flowId: flow.id, purpose: "login", code }), { ok: false, reason: "none" });
});

test(`verifyCode: ${MAX_CODE_ATTEMPTS} wrong tries, then exhausted even with the right code (NIST 800-63B 3.2.2)`, async () => {
  const { sql, clock, flow, code } = await setUp();
  for (let i = 0; i < MAX_CODE_ATTEMPTS; i++) {
    assert.equal(await verifyCode(sql, clock, SECRET_KEY, { flowId: flow.id, purpose: "login", code: other(code, i) }), { ok: false, reason: "wrong" });
  }
  assert.equal(await verifyCode(sql, clock, SECRET_KEY, { flowId: flow.id, purpose: "login", code }), { ok: false, reason: "exhausted" });
});

test("verifyCode: the same wrong code twice in a row (a reload of the failed submit) takes one try; another wrong code takes the next", async () => {
  const { sql, clock, flow, id, code } = await setUp();
  const attempts = async () => (await sql<{ attempts: number }[]>`select attempts from codes where id = ${id}`)[0]!.attempts;
  const check = (typed: string) => verifyCode(sql, clock, SECRET_KEY, { flowId: flow.id, purpose: "login", code: typed });
  assert.equal(await check(other(code, 0)), { ok: false, reason: "wrong" });
  assert.equal(await check(other(code, 0)), { ok: false, reason: "wrong", repeated: true }, "the repeat says wrong again");
  assert.equal(await check(` ${other(code, 0)} `), { ok: false, reason: "wrong", repeated: true }, "as typed, spaces and all");
  assert.is(await attempts(), 1, "the repeats took no try");
  assert.equal(await check(other(code, 1)), { ok: false, reason: "wrong" });
  assert.equal(await check(other(code, 0)), { ok: false, reason: "wrong" }, "not in a row any more: a try again");
  assert.is(await attempts(), 3);
  const [row] = await sql<{ whole: string }[]>`select row_to_json(c)::text as whole from codes c where id = ${id}`;
  assert.not.ok(row!.whole.includes(other(code, 0)), "the wrong code is kept only as its HMAC");
  assert.equal(await check(code), { ok: true, codeId: id, destination: "+12025550143" }, "the right code still passes");
  assert.equal(await check(other(code, 0)), { ok: false, reason: "none" }, "a used code takes nothing, repeated or not");
});

test("verifyCode: a repeat of the last wrong code after the code expired answers expired", async () => {
  const { sql, clock, flow, code } = await setUp();
  await verifyCode(sql, clock, SECRET_KEY, { flowId: flow.id, purpose: "login", code: other(code) });
  clock.advance(TTL + SECOND);
  assert.equal(await verifyCode(sql, clock, SECRET_KEY, { flowId: flow.id, purpose: "login", code: other(code) }), { ok: false, reason: "expired" });
});

test("verifyCode: malformed input counts as a wrong try", async () => {
  const { sql, clock, flow, id, code } = await setUp();
  assert.equal(await verifyCode(sql, clock, SECRET_KEY, { flowId: flow.id, purpose: "login", code: "12a456" }), { ok: false, reason: "wrong" });
  const [row] = await sql<{ attempts: number }[]>`select attempts from codes where id = ${id}`;
  assert.is(row!.attempts, 1);
  assert.equal(await verifyCode(sql, clock, SECRET_KEY, { flowId: flow.id, purpose: "login", code: ` ${code} ` }), { ok: true, codeId: id, destination: "+12025550143" });
});

test("verifyCode: valid at ttl−1s, expired at ttl+1s (injected clock)", async () => {
  const early = await setUp();
  early.clock.advance(TTL - SECOND);
  assert.equal(await verifyCode(early.sql, early.clock, SECRET_KEY, { flowId: early.flow.id, purpose: "login", code: early.code }), { ok: true, codeId: early.id, destination: "+12025550143" });
  const late = await setUp();
  late.clock.advance(TTL + SECOND);
  assert.equal(await verifyCode(late.sql, late.clock, SECRET_KEY, { flowId: late.flow.id, purpose: "login", code: late.code }), { ok: false, reason: "expired" });
});

test("createCode: a resend kills the old code; the new one works", async () => {
  const { sql, clock, user, flow, code: first } = await setUp();
  let second = first;
  let secondId = "";
  while (second === first) {
    ({ code: second, id: secondId } = await createCode(sql, clock, SECRET_KEY, {
      flowId: flow.id, userId: user.id, purpose: "login", channel: "sms", destination: "+12025550143", ttlMs: TTL,
    }));
  }
  assert.equal(await verifyCode(sql, clock, SECRET_KEY, { flowId: flow.id, purpose: "login", code: first }), { ok: false, reason: "wrong" });
  assert.equal(await verifyCode(sql, clock, SECRET_KEY, { flowId: flow.id, purpose: "login", code: second }), { ok: true, codeId: secondId, destination: "+12025550143" });
  const [live] = await sql<{ n: number }[]>`select count(*)::int as n from codes where flow_id = ${flow.id} and consumed_at is null`;
  assert.is(live!.n, 0);
});

test("verifyCode: bound to its flow and its purpose (ASVS 6.5.1)", async () => {
  const { sql, clock, user, flow, id, code } = await setUp();
  const { flow: otherFlow } = await createTestFlow(sql, clock, user.id);
  assert.equal(await verifyCode(sql, clock, SECRET_KEY, { flowId: otherFlow.id, purpose: "login", code }), { ok: false, reason: "none" });
  assert.equal(await verifyCode(sql, clock, SECRET_KEY, { flowId: flow.id, purpose: "password_reset", code }), { ok: false, reason: "none" });
  // Neither attempt touched the code.
  assert.equal(await verifyCode(sql, clock, SECRET_KEY, { flowId: flow.id, purpose: "login", code }), { ok: true, codeId: id, destination: "+12025550143" });
});

test("verifyCode: 50 concurrent verifications of the right code → exactly one ok", async () => {
  const { sql, clock, flow, id, code } = await setUp();
  const results = await Promise.all(
    Array.from({ length: 50 }, () => verifyCode(sql, clock, SECRET_KEY, { flowId: flow.id, purpose: "login", code })),
  );
  const wins = results.filter((r) => r.ok);
  assert.is(wins.length, 1);
  assert.equal(wins[0], { ok: true, codeId: id, destination: "+12025550143" });
});

test(`verifyCode: 50 concurrent wrong guesses get at most ${MAX_CODE_ATTEMPTS} comparisons`, async () => {
  const { sql, clock, flow, id, code } = await setUp();
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      verifyCode(sql, clock, SECRET_KEY, { flowId: flow.id, purpose: "login", code: String((Number(code) + 1 + i) % 1_000_000).padStart(6, "0") }),
    ),
  );
  assert.is(results.filter((r) => !r.ok && r.reason === "wrong").length, MAX_CODE_ATTEMPTS);
  assert.is(results.filter((r) => !r.ok && r.reason === "exhausted").length, 50 - MAX_CODE_ATTEMPTS);
  const [row] = await sql<{ attempts: number }[]>`select attempts from codes where id = ${id}`;
  assert.is(row!.attempts, MAX_CODE_ATTEMPTS);
});

test("verifyCode: no code for the flow → none", async () => {
  const sql = await database();
  const clock = clockAt();
  const { flow } = await createTestFlow(sql, clock, null, "registration");
  assert.equal(await verifyCode(sql, clock, SECRET_KEY, { flowId: flow.id, purpose: "login", code: "123456" }), { ok: false, reason: "none" });
});

test("voice: the call's right digits confirm; the browser's poll takes it once", async () => {
  const { sql, clock, flow, id, code } = await setUp("voice");
  assert.equal(await takeConfirmedVoiceCode(sql, clock, { flowId: flow.id, purpose: "login" }), { ok: false, reason: "pending", wrongTries: 0 });
  assert.is(await confirmVoiceCode(sql, clock, SECRET_KEY, id, other(code)), "wrong");
  assert.equal(await takeConfirmedVoiceCode(sql, clock, { flowId: flow.id, purpose: "login" }), { ok: false, reason: "pending", wrongTries: 1 }, "the poll learns of the wrong code keyed");
  assert.is(await confirmVoiceCode(sql, clock, SECRET_KEY, id, `${code}#`), "confirmed");
  assert.is(await confirmVoiceCode(sql, clock, SECRET_KEY, id, other(code)), "confirmed", "a repeated webhook after confirmation");
  assert.equal(await takeConfirmedVoiceCode(sql, clock, { flowId: flow.id, purpose: "login" }), { ok: true, codeId: id });
  assert.equal(await takeConfirmedVoiceCode(sql, clock, { flowId: flow.id, purpose: "login" }), { ok: false, reason: "none" });
  assert.is(await confirmVoiceCode(sql, clock, SECRET_KEY, id, code), "none", "consumed");
});

test("voice: two concurrent polls after confirmation → exactly one takes it", async () => {
  const { sql, clock, flow, id, code } = await setUp("voice");
  assert.is(await confirmVoiceCode(sql, clock, SECRET_KEY, id, code), "confirmed");
  const results = await Promise.all(Array.from({ length: 10 }, () => takeConfirmedVoiceCode(sql, clock, { flowId: flow.id, purpose: "login" })));
  assert.is(results.filter((r) => r.ok).length, 1);
});

test(`voice: ${MAX_CODE_ATTEMPTS} wrong keyings exhaust the call's code; the poll says so`, async () => {
  const { sql, clock, flow, id, code } = await setUp("voice");
  for (let i = 0; i < MAX_CODE_ATTEMPTS; i++) assert.is(await confirmVoiceCode(sql, clock, SECRET_KEY, id, other(code)), "wrong");
  assert.is(await confirmVoiceCode(sql, clock, SECRET_KEY, id, code), "exhausted");
  assert.equal(await takeConfirmedVoiceCode(sql, clock, { flowId: flow.id, purpose: "login" }), { ok: false, reason: "exhausted" });
});

test("voice: after its ttl the call's digits are refused as expired; the poll says expired", async () => {
  const { sql, clock, flow, id, code } = await setUp("voice");
  clock.advance(TTL + SECOND);
  assert.is(await confirmVoiceCode(sql, clock, SECRET_KEY, id, code), "expired");
  assert.equal(await takeConfirmedVoiceCode(sql, clock, { flowId: flow.id, purpose: "login" }), { ok: false, reason: "expired" });
});

test("voice: an unknown id, a malformed id, or a code sent by SMS cannot be confirmed by a call", async () => {
  const sms = await setUp("sms");
  assert.is(await confirmVoiceCode(sms.sql, sms.clock, SECRET_KEY, sms.id, sms.code), "none");
  assert.is(await confirmVoiceCode(sms.sql, sms.clock, SECRET_KEY, "00000000-0000-4000-8000-000000000000", "123456"), "none");
  assert.is(await confirmVoiceCode(sms.sql, sms.clock, SECRET_KEY, "'; drop table codes; --", "123456"), "none");
  // The SMS code still works where it belongs.
  assert.equal(await verifyCode(sms.sql, sms.clock, SECRET_KEY, { flowId: sms.flow.id, purpose: "login", code: sms.code }), { ok: true, codeId: sms.id, destination: "+12025550143" });
});

test("voice: a resend (new call) kills the previous call's code", async () => {
  const { sql, clock, user, flow, id, code } = await setUp("voice");
  await createCode(sql, clock, SECRET_KEY, { flowId: flow.id, userId: user.id, purpose: "login", channel: "voice", destination: "+12025550143", ttlMs: TTL });
  assert.is(await confirmVoiceCode(sql, clock, SECRET_KEY, id, code), "none");
});

test.run();
