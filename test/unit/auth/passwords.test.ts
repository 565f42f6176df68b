import { suite } from "uvu";
import * as assert from "uvu/assert";
import { hash, parseOptions, type Algorithm } from "@node-rs/argon2";
import {
  checkPasswordPolicy,
  hashPassword,
  MAX_PASSWORD_LENGTH,
  passwordNeedsRehash,
  verifyDummyPassword,
  verifyPassword,
} from "../../../src/auth/passwords.ts";

const test = suite("auth/passwords");
const context = { email: "Jane.Doe@clinic.example", portalName: "Provider Portal" };
const GOOD = "Sunny-Meadow-Lantern-42";

test("hashPassword: argon2id m=19456 t=2 p=1 read back from the PHC string (ASVS 11.4.2)", async () => {
  const stored = await hashPassword(GOOD);
  assert.match(stored, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  const used = parseOptions(stored);
  assert.is(used.algorithm, 2 as Algorithm);
  assert.is(used.memoryCost, 19456);
  assert.is(used.timeCost, 2);
  assert.is(used.parallelism, 1);
  assert.ok(used.saltLen >= 16, "salt of 16 bytes or more");
  assert.not.ok(stored.includes(GOOD));
  assert.is.not(await hashPassword(GOOD), stored, "a fresh salt each time");
});

test("verifyPassword: right true, wrong false, malformed hash false, overlong false", async () => {
  const stored = await hashPassword(GOOD);
  assert.is(await verifyPassword(stored, GOOD), true);
  assert.is(await verifyPassword(stored, GOOD.toLowerCase()), false);
  assert.is(await verifyPassword("not-a-hash", GOOD), false);
  assert.is(await verifyPassword(stored, GOOD + "x".repeat(MAX_PASSWORD_LENGTH)), false);
});

test("passwordNeedsRehash: weaker parameters or another algorithm → true; today's → false", async () => {
  assert.is(passwordNeedsRehash(await hashPassword(GOOD)), false);
  const weak = await hash(GOOD, { algorithm: 2 as Algorithm, memoryCost: 8192, timeCost: 2, parallelism: 1 });
  assert.is(passwordNeedsRehash(weak), true, "lower memory");
  const fewPasses = await hash(GOOD, { algorithm: 2 as Algorithm, memoryCost: 19456, timeCost: 1, parallelism: 1 });
  assert.is(passwordNeedsRehash(fewPasses), true, "fewer passes");
  const argon2i = await hash(GOOD, { algorithm: 1 as Algorithm, memoryCost: 19456, timeCost: 2, parallelism: 1 });
  assert.is(passwordNeedsRehash(argon2i), true, "argon2i");
  assert.is(passwordNeedsRehash("$2b$10$abcdefghijklmnopqrstuu"), true, "bcrypt or garbage");
  // A rehash still verifies with the old hash first.
  assert.is(await verifyPassword(weak, GOOD), true);
});

test("policy: 11 characters refused, 12 accepted (ASVS 6.2.1)", () => {
  const eleven = "zq8-Vm2p-Lk";
  assert.is(eleven.length, 11);
  const result = checkPasswordPolicy(eleven, context);
  assert.is(result.ok, false);
  assert.match((result as { reason: string }).reason, /at least 12/);
  assert.equal(checkPasswordPolicy(eleven + "7", context), { ok: true });
});

test("policy: 256 accepted, 257 refused before any hashing (ASVS 6.2.9)", async () => {
  const words = "Lantern-Meadow-Quartz-";
  const long = (n: number) => words.repeat(20).slice(0, n - 3) + "x9!";
  assert.equal(checkPasswordPolicy(long(256), context), { ok: true });
  const refused = checkPasswordPolicy(long(257), context);
  assert.is(refused.ok, false);
  assert.match((refused as { reason: string }).reason, /at most 256/);
  // Length is judged first: an overlong common password, or one naming the portal, gets the length reason.
  for (const overlong of ["password".repeat(33), "Provider Portal ".repeat(17), "a".repeat(1_000_000)]) {
    assert.match((checkPasswordPolicy(overlong, context) as { reason: string }).reason, /at most 256/);
  }
  // And hashPassword itself refuses to hash it.
  const thrown = await hashPassword(long(257)).then(
    () => null,
    (error: unknown) => error,
  );
  assert.instance(thrown, RangeError);
});

test("policy: a common password is refused with its reason (ASVS 6.2.4)", () => {
  for (const common of ["password1234", "qwertyuiop12", "iloveyou2024"]) {
    const result = checkPasswordPolicy(common, context);
    assert.is(result.ok, false, common);
    assert.match((result as { reason: string }).reason, /too easy to guess.*commonly used password/, common);
  }
});

test("policy: the email's local part and the portal name are refused, whatever their case (ASVS 6.2.11)", () => {
  const withEmail = checkPasswordPolicy("xx-JANE.DOE-Lantern-42", context);
  assert.is(withEmail.ok, false);
  assert.match((withEmail as { reason: string }).reason, /email address/);
  assert.is(checkPasswordPolicy("janedoe-Lantern-Quartz-42", context).ok, false, "without the dot");
  const withPortal = checkPasswordPolicy("Lantern-provider portal-42", context);
  assert.is(withPortal.ok, false);
  assert.match((withPortal as { reason: string }).reason, /Provider Portal/);
  assert.is(checkPasswordPolicy("ProviderPortal-Lantern-42", context).ok, false, "without the space");
  assert.equal(checkPasswordPolicy(GOOD, context), { ok: true });
  // A two-letter local part would refuse half the dictionary; it is not applied.
  assert.equal(checkPasswordPolicy(GOOD, { email: "jo@clinic.example", portalName: "Provider Portal" }), { ok: true });
});

test("policy: no composition rules: a long phrase of lower-case words passes", () => {
  assert.equal(checkPasswordPolicy("quartz lantern meadow bicycle", context), { ok: true });
});

test("verifyDummyPassword: always false, and does the same argon2 work as a real verify (ASVS 6.3.8)", async () => {
  const stored = await hashPassword(GOOD);
  await verifyDummyPassword("warm-up"); // the dummy hash is made once, on first use
  const time = async (run: () => Promise<unknown>) => {
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      await run();
      best = Math.min(best, performance.now() - started);
    }
    return best;
  };
  const real = await time(() => verifyPassword(stored, "Wrong-Password-99"));
  const dummy = await time(() => verifyDummyPassword("Wrong-Password-99"));
  assert.is(await verifyDummyPassword(GOOD), false);
  assert.ok(dummy > real * 0.3, `dummy ${dummy.toFixed(1)} ms vs real ${real.toFixed(1)} ms`);
});

test.run();
