/**
 * src/flows/factors/: the one rule of what counts toward the account lockout (security.md
 * "Abuse": 10 consecutive failures lock the account), asked through the factor modules every
 * flow uses, one test per outcome of a code check: wrong, expired, used up, missing.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createOutbox } from "../../../src/delivery/outbox.ts";
import { silentLogger } from "../../../src/log.ts";
import { MINUTE } from "../../../src/clock.ts";
import { MAX_CODE_ATTEMPTS } from "../../../src/auth/codes.ts";
import { countsTowardLockout, LOCKOUT_THRESHOLD } from "../../../src/auth/lockout.ts";
import { findUserById } from "../../../src/auth/users.ts";
import { advanceFlow } from "../../../src/flows/flow-store.ts";
import { emailCode } from "../../../src/flows/factors/email-code.ts";
import { phone } from "../../../src/flows/factors/phone.ts";
import { CODE_MESSAGES, codeMessage } from "../../../src/flows/factors/code.ts";
import type { FlowDeps, RequestMeta } from "../../../src/flows/steps.ts";
import { testConfig } from "../../support/harness.ts";
import { clockAt, createTestFlow, createUser, database } from "../auth/fixtures.ts";

const test = suite("flows/factors");

let n = 0;
/** A fresh client address per check, so the per-address attempt limit never speaks first. */
const meta = (): RequestMeta => ({ ip: `198.51.100.${(n += 1) % 250}`, userAgent: "factors-test" });

async function setUp() {
  const sql = await database();
  const clock = clockAt();
  const config = testConfig();
  const outbox = createOutbox({ sql, clock, config, log: silentLogger, print: () => {} });
  const deps: FlowDeps = { sql, clock, config, outbox };
  const { id } = await createUser(sql);
  const user = (await findUserById(sql, id))!;
  const { flow } = await createTestFlow(sql, clock, id);
  return { deps, sql, clock, user, flow };
}

/** Sends an emailed code for the flow and returns it (read from the outbox, as a person would). */
async function sendEmail(s: Awaited<ReturnType<typeof setUp>>, ttlMs = 10 * MINUTE): Promise<string> {
  const sent = await emailCode.start(s.deps, meta(), {
    flow: s.flow,
    userId: s.user.id,
    email: s.user.email,
    purpose: "login",
    ttlMs,
    wording: "login",
    move: (tx) => advanceFlow(tx, s.deps.clock, s.flow.id, "start", "start"),
  });
  assert.is(sent.kind, "sent");
  const [row] = await s.sql<{ body: string }[]>`select body from outbox where recipient = ${s.user.email} order by id desc limit 1`;
  return /(\d{6})/.exec(row!.body)![1]!;
}

async function failures(s: Awaited<ReturnType<typeof setUp>>): Promise<number> {
  const [row] = await s.sql<{ n: number }[]>`select failed_attempts as n from users where id = ${s.user.id}`;
  return row!.n;
}

/** A wrong code for `code`, the `n`th of them (the same wrong code again in a row takes no try: a reload). */
const wrongOf = (code: string, n = 0) => String((Number(code) + 1 + n) % 1_000_000).padStart(6, "0");
const check = (s: Awaited<ReturnType<typeof setUp>>, code: string) =>
  emailCode.check(s.deps, meta(), { flow: s.flow, user: s.user, purpose: "login", code, respectLock: true });

test("the rule: only a wrong code counts toward the lockout (NIST 800-63B 3.2.2, ASVS 6.3.1)", () => {
  assert.equal(
    (["wrong", "expired", "exhausted", "none"] as const).filter(countsTowardLockout),
    ["wrong"],
  );
});

test("wrong: the check fails as wrong and counts one failure toward the lock", async () => {
  const s = await setUp();
  const code = await sendEmail(s);
  assert.equal(await check(s, wrongOf(code)), { kind: "failed", reason: "wrong", locked: false });
  assert.is(await failures(s), 1);
});

test("expired: the check fails as expired and counts nothing (no guess was compared)", async () => {
  const s = await setUp();
  const code = await sendEmail(s, MINUTE);
  s.clock.advance(MINUTE + 1);
  assert.equal(await check(s, code), { kind: "failed", reason: "expired", locked: false });
  assert.is(await failures(s), 0);
});

test(`used up: after ${MAX_CODE_ATTEMPTS} wrong tries (each counted) even the right code fails as exhausted, and that try counts nothing`, async () => {
  const s = await setUp();
  const code = await sendEmail(s);
  for (let i = 0; i < MAX_CODE_ATTEMPTS; i++) assert.equal((await check(s, wrongOf(code, i))).kind, "failed");
  assert.is(await failures(s), MAX_CODE_ATTEMPTS);
  assert.equal(await check(s, code), { kind: "failed", reason: "exhausted", locked: false });
  assert.is(await failures(s), MAX_CODE_ATTEMPTS);
});

test("missing: no live code (never sent, or already used) fails as none and counts nothing", async () => {
  const s = await setUp();
  assert.equal(await check(s, "123456"), { kind: "failed", reason: "none", locked: false });
  const code = await sendEmail(s);
  assert.equal((await check(s, code)).kind, "passed");
  assert.equal(await check(s, code), { kind: "failed", reason: "none", locked: false });
  assert.is(await failures(s), 0);
});

test("a passed code names what it proved and restarts the count; the SMS code of the phone factor follows the same rule", async () => {
  const s = await setUp();
  const code = await sendEmail(s);
  await check(s, wrongOf(code));
  assert.equal(await check(s, code), { kind: "passed", destination: s.user.email });
  assert.is(await failures(s), 0);

  const number = "+14155550143";
  const sent = await phone.start(s.deps, meta(), { flow: s.flow, userId: s.user.id, purpose: "phone", channel: "sms", phone: number, move: (tx) => advanceFlow(tx, s.deps.clock, s.flow.id, "start", "start") });
  assert.is(sent.kind, "sent");
  const [row] = await s.sql<{ body: string }[]>`select body from outbox where recipient = ${number} order by id desc limit 1`;
  const sms = /(\d{6})/.exec(row!.body)![1]!;
  const input = { flow: s.flow, user: s.user, purpose: "phone", channel: "sms" as const, respectLock: true };
  assert.equal(await phone.check(s.deps, meta(), { ...input, code: wrongOf(sms) }), { kind: "failed", reason: "wrong", locked: false });
  assert.is(await failures(s), 1);
  s.clock.advance(s.deps.config.ttl.smsCode + 1);
  assert.equal(await phone.check(s.deps, meta(), { ...input, code: sms }), { kind: "failed", reason: "expired", locked: false });
  assert.is(await failures(s), 1);
});

test(`the ${LOCKOUT_THRESHOLD}th counted failure locks the account; while locked nothing is tried and nothing counts`, async () => {
  const s = await setUp();
  let last;
  let code = "";
  for (let i = 0; i < LOCKOUT_THRESHOLD; i++) {
    // Send New Code gives a code its own tries; the account's count goes on across resends.
    if (i % MAX_CODE_ATTEMPTS === 0) code = await sendEmail(s);
    last = await check(s, wrongOf(code, i));
  }
  assert.equal(last, { kind: "failed", reason: "wrong", locked: true });
  const locked = (await findUserById(s.sql, s.user.id))!;
  const fresh = await sendEmail(s);
  assert.equal(await emailCode.check(s.deps, meta(), { flow: s.flow, user: locked, purpose: "login", code: fresh, respectLock: true }), { kind: "locked" });
  // A password reset does not ask the lock: the right code passes.
  assert.equal((await emailCode.check(s.deps, meta(), { flow: s.flow, user: locked, purpose: "login", code: fresh, respectLock: false })).kind, "passed");
});

test("a send is all or nothing: a flow moved or deleted meanwhile, or a limit that refuses, leaves no code, no message and no token taken", async () => {
  const s = await setUp();
  const start = (flow = s.flow, ip = meta().ip) =>
    emailCode.start(s.deps, { ip, userAgent: "factors-test" }, {
      flow,
      userId: s.user.id,
      email: s.user.email,
      purpose: "login",
      ttlMs: 10 * MINUTE,
      wording: "login",
      move: (tx) => advanceFlow(tx, s.deps.clock, flow.id, "start", "start"),
    });
  const counts = async () => {
    const [row] = await s.sql<{ codes: number; messages: number; buckets: number }[]>`
      select (select count(*)::int from codes where user_id = ${s.user.id}) as codes,
             (select count(*)::int from outbox where recipient = ${s.user.email}) as messages,
             (select count(*)::int from rate_limits where key like ${`send:email:%${s.user.id}`}) as buckets`;
    return row!;
  };
  // The flow moved on (another tab): the guarded move finds nothing.
  const moved = { ...s.flow, id: s.flow.id };
  await s.sql`update flows set state = 'elsewhere' where id = ${s.flow.id}`;
  assert.equal((await start(moved)).kind, "moved");
  assert.equal(await counts(), { codes: 0, messages: 0, buckets: 0 }, "the limits' takes were rolled back with it");
  // The flow was deleted (expired and swept): the same outcome, not an error.
  await s.sql`delete from flows where id = ${s.flow.id}`;
  assert.equal((await start(moved)).kind, "moved");
  assert.equal(await counts(), { codes: 0, messages: 0, buckets: 0 });
  // A limit that refuses: the address's bucket is empty.
  const { flow } = await createTestFlow(s.sql, s.clock, s.user.id);
  const ip = meta().ip;
  await s.sql`insert into rate_limits (key, tokens, updated_at) values (${`send:ip:${ip}`}, 0, ${s.clock.now()})`;
  const limited = await start(flow, ip);
  assert.equal(limited.kind, "rate_limited");
  assert.equal(await counts(), { codes: 0, messages: 0, buckets: 0 }, "the account's and the address's buckets were not taken from");
  const [state] = await s.sql<{ state: string }[]>`select state from flows where id = ${flow.id}`;
  assert.is(state!.state, "start", "the flow did not move");
  // And a send that goes through writes all of it.
  assert.equal((await start(flow)).kind, "sent");
  assert.equal(await counts(), { codes: 1, messages: 1, buckets: 1 });
});

test("one message table: each reason has one sentence; a step adds only its way on", () => {
  assert.is(codeMessage("wrong", "Ask again."), CODE_MESSAGES.wrong);
  assert.is(codeMessage("expired", "Select Send New Code for a new one."), "That code has expired. Select Send New Code for a new one.");
  assert.match(CODE_MESSAGES.exhausted, /Too many wrong tries/);
});

test.run();
