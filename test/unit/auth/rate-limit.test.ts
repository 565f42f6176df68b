import { suite } from "uvu";
import * as assert from "uvu/assert";
import postgres from "postgres";
import { checkAttemptLimit, checkSendLimits, consumeRateLimit } from "../../../src/auth/rate-limit.ts";
import { HOUR, MINUTE, SECOND } from "../../../src/clock.ts";
import { clockAt, database, uniqueKey } from "./fixtures.ts";

const test = suite("auth/rate-limit");
const rule = { capacity: 5, perMs: HOUR }; // one token every 12 minutes

async function take(n: number, run: () => Promise<{ ok: boolean }>): Promise<boolean[]> {
  const out: boolean[] = [];
  for (let i = 0; i < n; i++) out.push((await run()).ok);
  return out;
}

test("consumeRateLimit: capacity granted, then refused with a Retry-After (ASVS 2.4.1)", async () => {
  const sql = await database();
  const clock = clockAt();
  const key = uniqueKey("rl");
  assert.equal(await take(5, () => consumeRateLimit(sql, clock, key, rule)), [true, true, true, true, true]);
  const refused = await consumeRateLimit(sql, clock, key, rule);
  assert.is(refused.ok, false);
  const after = (refused as { retryAfterSeconds: number }).retryAfterSeconds;
  assert.ok(after > 11 * 60 && after <= 12 * 60, `retry after ${after}s`);
});

test("consumeRateLimit: refills with clock.advance at capacity per period, never above capacity", async () => {
  const sql = await database();
  const clock = clockAt();
  const key = uniqueKey("rl");
  await take(5, () => consumeRateLimit(sql, clock, key, rule));
  clock.advance(6 * MINUTE); // half a token
  assert.is((await consumeRateLimit(sql, clock, key, rule)).ok, false);
  const half = await consumeRateLimit(sql, clock, key, rule);
  assert.ok(!half.ok && half.retryAfterSeconds > 5 * 60 && half.retryAfterSeconds <= 6 * 60, "the refused tries kept the half token");
  clock.advance(6 * MINUTE); // a whole token
  assert.equal(await take(2, () => consumeRateLimit(sql, clock, key, rule)), [true, false]);
  clock.advance(10 * HOUR);
  assert.equal(await take(6, () => consumeRateLimit(sql, clock, key, rule)), [true, true, true, true, true, false]);
});

test("consumeRateLimit: keys are independent", async () => {
  const sql = await database();
  const clock = clockAt();
  const a = uniqueKey("rl");
  const b = uniqueKey("rl");
  await take(5, () => consumeRateLimit(sql, clock, a, rule));
  assert.is((await consumeRateLimit(sql, clock, a, rule)).ok, false);
  assert.is((await consumeRateLimit(sql, clock, b, rule)).ok, true);
});

test("consumeRateLimit: 40 concurrent takes from a bucket of 10 grant exactly 10, across two clients (two instances)", async () => {
  const sql = await database();
  // A second postgres.js client on the same database stands in for a second app instance.
  const options = sql.options;
  const second = postgres({
    host: options.host[0], port: options.port[0], database: options.database, username: options.user,
    password: typeof options.pass === "string" ? options.pass : undefined, max: 3, onnotice: () => {},
  });
  try {
    const clock = clockAt();
    const key = uniqueKey("rl");
    const ten = { capacity: 10, perMs: HOUR };
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => consumeRateLimit(i % 2 ? second : sql, clock, key, ten)));
    assert.is(results.filter((r) => r.ok).length, 10);
  } finally {
    await second.end({ timeout: 5 });
  }
});

test("consumeRateLimit: an instance whose clock runs behind mints no tokens", async () => {
  const sql = await database();
  const ahead = clockAt("2026-03-02T10:00:00Z");
  const behind = clockAt("2026-03-02T09:00:00Z");
  const key = uniqueKey("rl");
  await take(5, () => consumeRateLimit(sql, ahead, key, rule));
  assert.is((await consumeRateLimit(sql, behind, key, rule)).ok, false);
  assert.is((await consumeRateLimit(sql, ahead, key, rule)).ok, false);
});

test("checkSendLimits: 5 SMS or calls per account per hour, whatever the number (ASVS 6.6.3)", async () => {
  const sql = await database();
  const clock = clockAt();
  const userId = crypto.randomUUID();
  const send = (channel: "sms" | "voice", n: number) =>
    checkSendLimits(sql, clock, { userId, channel, destination: `+1202555${String(1000 + n).slice(-4)}${uniqueKey("")}`, ip: uniqueKey("ip") });
  const results = [await send("sms", 1), await send("voice", 2), await send("sms", 3), await send("voice", 4), await send("sms", 5)];
  assert.ok(results.every((r) => r.ok));
  const sixth = await send("sms", 6);
  assert.is(sixth.ok, false);
  assert.ok(!sixth.ok && sixth.retryAfterSeconds > 0);
  clock.advance(12 * MINUTE);
  assert.is((await send("voice", 7)).ok, true);
});

test("checkSendLimits: 10 emails per account per hour; email and phone counted apart", async () => {
  const sql = await database();
  const clock = clockAt();
  const userId = crypto.randomUUID();
  const email = (i: number) => checkSendLimits(sql, clock, { userId, channel: "email", destination: `p${i}.${uniqueKey("")}@clinic.example`, ip: uniqueKey("ip") });
  for (let i = 0; i < 10; i++) assert.is((await email(i)).ok, true, `email ${i + 1}`);
  assert.is((await email(10)).ok, false);
  assert.is((await checkSendLimits(sql, clock, { userId, channel: "sms", destination: uniqueKey("+1"), ip: uniqueKey("ip") })).ok, true);
});

test("checkSendLimits: the same destination is limited across accounts (SMS pumping); email destinations case-folded", async () => {
  const sql = await database();
  const clock = clockAt();
  const phone = uniqueKey("+1202");
  const toPhone = () => checkSendLimits(sql, clock, { userId: crypto.randomUUID(), channel: "sms", destination: phone, ip: uniqueKey("ip") });
  assert.equal((await take(6, toPhone)), [true, true, true, true, true, false]);
  const address = `${uniqueKey("x")}@clinic.example`;
  const toEmail = (text: string) => checkSendLimits(sql, clock, { userId: crypto.randomUUID(), channel: "email", destination: text, ip: uniqueKey("ip") });
  for (let i = 0; i < 10; i++) assert.is((await toEmail(i % 2 ? address.toUpperCase() : address)).ok, true);
  assert.is((await toEmail(address)).ok, false);
});

test("checkSendLimits: 30 sends per client address per hour", async () => {
  const sql = await database();
  const clock = clockAt();
  const ip = uniqueKey("203.0.113.7");
  const send = () => checkSendLimits(sql, clock, { userId: crypto.randomUUID(), channel: "email", destination: uniqueKey("d") + "@clinic.example", ip });
  const results = await take(31, send);
  assert.is(results.filter(Boolean).length, 30);
  assert.is(results[30], false);
});

test("checkSendLimits: a refused send takes nothing from the other buckets (one person's used-up codes cost their clinic's address nothing)", async () => {
  const sql = await database();
  const clock = clockAt();
  const ip = uniqueKey("203.0.113.9");
  const userId = crypto.randomUUID();
  const own = (i: number) => checkSendLimits(sql, clock, { userId, channel: "email", destination: `own${i}.${uniqueKey("")}@clinic.example`, ip });
  assert.equal(await take(11, () => own(Math.random())), [...Array(10).fill(true), false]); // the account's 10 an hour
  for (let i = 0; i < 5; i++) assert.is((await own(i)).ok, false); // refused again: still no address token taken
  const others = () => checkSendLimits(sql, clock, { userId: crypto.randomUUID(), channel: "email", destination: uniqueKey("o") + "@clinic.example", ip });
  const results = await take(21, others);
  assert.is(results.filter(Boolean).length, 20, "the address had 30 - 10 left");
  assert.is(results[20], false);
});

test("checkSendLimits: 40 concurrent sends from one address grant exactly its 30", async () => {
  const sql = await database();
  const clock = clockAt();
  const ip = uniqueKey("203.0.113.10");
  const results = await Promise.all(
    Array.from({ length: 40 }, () => checkSendLimits(sql, clock, { userId: crypto.randomUUID(), channel: "sms", destination: uniqueKey("+1202"), ip })),
  );
  assert.is(results.filter((r) => r.ok).length, 30);
  for (const refused of results.filter((r) => !r.ok)) assert.ok(!refused.ok && refused.retryAfterSeconds >= 1);
});

test("checkAttemptLimit: 30 checks per address and action per minute", async () => {
  const sql = await database();
  const clock = clockAt();
  const ip = uniqueKey("198.51.100.4");
  const password = () => checkAttemptLimit(sql, clock, { ip, action: "password" });
  const results = await take(31, password);
  assert.is(results.filter(Boolean).length, 30);
  assert.is(results[30], false);
  assert.is((await checkAttemptLimit(sql, clock, { ip, action: "code" })).ok, true, "another action");
  assert.is((await checkAttemptLimit(sql, clock, { ip: uniqueKey("198.51.100.5"), action: "password" })).ok, true, "another address");
  clock.advance(2 * SECOND); // one token a second
  assert.equal(await take(2, password), [true, false]);
  clock.advance(MINUTE);
  assert.equal((await take(31, password)).filter(Boolean).length, 30);
});

test.run();
