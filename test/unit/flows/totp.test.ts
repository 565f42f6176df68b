/**
 * src/flows/factors/totp.ts and recovery codes: RFC 6238's SHA-1 test vectors (6-digit tails),
 * the ±1 step window, each step accepted once (a replayed code refused), wrong codes counted
 * toward the lockout and limited per flow, the key sealed at rest; recovery codes single use.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { generateHOTP } from "@oslojs/otp";
import { createOutbox } from "../../../src/delivery/outbox.ts";
import { silentLogger } from "../../../src/log.ts";
import { createManualClock, SECOND } from "../../../src/clock.ts";
import { MAX_CODE_ATTEMPTS } from "../../../src/auth/codes.ts";
import { addFactor, findTotpFactor, findUserById } from "../../../src/auth/users.ts";
import { openSecret, sealSecret } from "../../../src/auth/secret-box.ts";
import { countRecoveryCodesLeft, replaceRecoveryCodes, useRecoveryCode } from "../../../src/auth/recovery-codes.ts";
import { loadFlow } from "../../../src/flows/flow-store.ts";
import { matchTotpStep, newSealedTotpKey, openTotpKey, sealedTotpBytes, timeStep, totp, totpSetup } from "../../../src/flows/factors/totp.ts";
import type { FlowDeps, RequestMeta } from "../../../src/flows/steps.ts";
import { testConfig } from "../../support/harness.ts";
import { clockAt, createTestFlow, createUser, database } from "../auth/fixtures.ts";

const test = suite("flows/factors/totp");

const RFC_KEY = new TextEncoder().encode("12345678901234567890");
// RFC 6238 Appendix B, SHA-1 (8 digits there; a 6-digit code is the same value's last 6 digits).
const VECTORS: Array<[seconds: number, code: string]> = [
  [59, "287082"],
  [1111111109, "081804"],
  [1111111111, "050471"],
  [1234567890, "005924"],
  [2000000000, "279037"],
  [20000000000, "353130"],
];

let n = 0;
const meta = (): RequestMeta => ({ ip: `203.0.113.${(n += 1) % 250}`, userAgent: "totp-test" });

test("RFC 6238 test vectors (SHA-1, 30 s): each code is accepted at its time, for its step", () => {
  for (const [seconds, code] of VECTORS) {
    const clock = createManualClock(new Date(seconds * 1000));
    assert.is(matchTotpStep(RFC_KEY, code, clock), Math.floor(seconds / 30), `T=${seconds}`);
  }
});

test("skew: one step either side of now is accepted, two steps are not", () => {
  const clock = createManualClock(new Date(1234567890 * 1000));
  const step = timeStep(clock);
  const at = (offset: number) => generateHOTP(RFC_KEY, BigInt(step + offset), 6);
  assert.is(matchTotpStep(RFC_KEY, at(-1), clock), step - 1);
  assert.is(matchTotpStep(RFC_KEY, at(1), clock), step + 1);
  assert.is(matchTotpStep(RFC_KEY, at(-2), clock), null);
  assert.is(matchTotpStep(RFC_KEY, at(2), clock), null);
});

test("the key is 160 bits, sealed under SECRET_KEY (another key or purpose does not open it; the set-up shows it in Base32)", async () => {
  const config = testConfig();
  const sealed = newSealedTotpKey(config.secretKey);
  const key = openTotpKey(config.secretKey, sealed)!;
  assert.is(key.length, 20);
  assert.is(openTotpKey("another-secret-key-another-secret-key", sealed), null);
  assert.is(openSecret(config.secretKey, "recovery", sealedTotpBytes(sealed)), null);
  assert.not.ok(Buffer.from(sealedTotpBytes(sealed)).includes(Buffer.from(key)));
  const setup = await totpSetup(config.secretKey, sealed, "Portal", "a@example.org");
  assert.match(setup.secret, /^[A-Z2-7]{4}( [A-Z2-7]{4}){7}$/);
  assert.match(setup.qrSvg, /^<svg[\s\S]*<\/svg>\s*$/);
  assert.equal(openSecret(config.secretKey, "x", sealSecret(config.secretKey, "x", key)), key);
});

async function setUp() {
  const sql = await database();
  const clock = clockAt();
  const config = testConfig();
  const outbox = createOutbox({ sql, clock, config, log: silentLogger, print: () => {} });
  const deps: FlowDeps = { sql, clock, config, outbox };
  const { id } = await createUser(sql);
  const sealed = newSealedTotpKey(config.secretKey);
  await addFactor(sql, clock, id, { kind: "totp", destination: null, secret: sealedTotpBytes(sealed) });
  const user = (await findUserById(sql, id))!;
  const { flow, token } = await createTestFlow(sql, clock, id);
  const key = openTotpKey(config.secretKey, sealed)!;
  const codeAt = (offset = 0) => generateHOTP(key, BigInt(timeStep(clock) + offset), 6);
  const check = async (code: string) => {
    const fresh = (await loadFlow(sql, clock, token, "login"))!;
    return totp.check(deps, meta(), { flow: fresh, user, purpose: "login", code, respectLock: true });
  };
  return { deps, sql, clock, user, flow, codeAt, check };
}

async function failures(sql: Awaited<ReturnType<typeof database>>, id: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select failed_attempts as n from users where id = ${id}`;
  return row!.n;
}

test("a code is accepted once (ASVS 6.5.1): the same code again is refused, and so is an earlier step's after a later one", async () => {
  const s = await setUp();
  const code = s.codeAt();
  assert.equal(await s.check(code), { kind: "passed", destination: "", step: timeStep(s.clock) });
  assert.equal(await s.check(code), { kind: "failed", reason: "none", locked: false });
  // The previous step's code is within the window, but older than the step just used.
  assert.equal(await s.check(s.codeAt(-1)), { kind: "failed", reason: "none", locked: false });
  s.clock.advance(30 * SECOND);
  assert.is((await s.check(s.codeAt())).kind, "passed");
  assert.is((await findTotpFactor(s.sql, s.user.id))!.lastUsedStep, timeStep(s.clock));
});

test("two requests with one code at once: one passes (the guarded UPDATE on the last step)", async () => {
  const s = await setUp();
  const code = s.codeAt();
  const results = await Promise.all([s.check(code), s.check(code), s.check(code)]);
  assert.is(results.filter((r) => r.kind === "passed").length, 1);
});

test(`wrong codes count toward the lockout as other codes do; after ${MAX_CODE_ATTEMPTS} in a flow even the right one fails as exhausted`, async () => {
  const s = await setUp();
  const wrong = String((Number(s.codeAt()) + 1) % 1e6).padStart(6, "0");
  for (let i = 0; i < MAX_CODE_ATTEMPTS; i++) assert.equal(await s.check(wrong), { kind: "failed", reason: "wrong", locked: false });
  assert.is(await failures(s.sql, s.user.id), MAX_CODE_ATTEMPTS);
  assert.equal(await s.check(s.codeAt()), { kind: "failed", reason: "exhausted", locked: false });
  assert.is(await failures(s.sql, s.user.id), MAX_CODE_ATTEMPTS);
});

test("recovery codes: 10 of 80 bits, each works once, stored only hashed; a new set replaces the old", async () => {
  const sql = await database();
  const clock = clockAt();
  const key = testConfig().secretKey;
  const { id } = await createUser(sql);
  const codes = await replaceRecoveryCodes(sql, clock, key, id);
  assert.is(codes.length, 10);
  assert.is(new Set(codes).size, 10);
  for (const code of codes) assert.match(code, /^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);
  const stored = await sql<{ h: Uint8Array }[]>`select code_hash as h from recovery_codes where user_id = ${id}`;
  assert.not.ok(stored.some((r) => Buffer.from(r.h).toString("latin1").includes(codes[0]!.replace(/-/g, ""))));
  assert.ok(await useRecoveryCode(sql, clock, key, id, codes[0]!.toUpperCase().replace(/-/g, " ")));
  assert.not.ok(await useRecoveryCode(sql, clock, key, id, codes[0]!));
  assert.is(await countRecoveryCodesLeft(sql, id), 9);
  const again = await replaceRecoveryCodes(sql, clock, key, id);
  assert.not.ok(await useRecoveryCode(sql, clock, key, id, codes[1]!));
  assert.ok(await useRecoveryCode(sql, clock, key, id, again[1]!));
});

test.run();
