import { suite } from "uvu";
import * as assert from "uvu/assert";
import { isLocked, LOCKOUT_MS, LOCKOUT_THRESHOLD, recordFailure, recordSuccess, unlockUser } from "../../../src/auth/lockout.ts";
import { findUserById } from "../../../src/auth/users.ts";
import { MINUTE, SECOND } from "../../../src/clock.ts";
import { clockAt, createUser, database } from "./fixtures.ts";

const test = suite("auth/lockout");

async function fail(n: number, run: () => Promise<{ locked: boolean }>): Promise<boolean[]> {
  const out: boolean[] = [];
  for (let i = 0; i < n; i++) out.push((await run()).locked);
  return out;
}

test("the contract's numbers: 10 failures, 15 minutes (NIST 800-63B 3.2.2)", () => {
  assert.is(LOCKOUT_THRESHOLD, 10);
  assert.is(LOCKOUT_MS, 15 * MINUTE);
});

test("10 consecutive failures lock the account for 15 minutes; the lock lifts after (ASVS 6.3.1)", async () => {
  const sql = await database();
  const clock = clockAt();
  const { id } = await createUser(sql);
  const results = await fail(10, () => recordFailure(sql, clock, id));
  assert.equal(results, [false, false, false, false, false, false, false, false, false, true]);
  let user = (await findUserById(sql, id))!;
  assert.is(isLocked(user, clock), true);
  assert.equal(user.lockedUntil, new Date(clock.now().getTime() + LOCKOUT_MS));
  clock.advance(LOCKOUT_MS - SECOND);
  assert.is(isLocked(user, clock), true);
  clock.advance(2 * SECOND);
  user = (await findUserById(sql, id))!;
  assert.is(isLocked(user, clock), false);
  // After the lock a single failure does not lock again: a full new run is needed.
  assert.equal(await fail(9, () => recordFailure(sql, clock, id)), Array(9).fill(false));
  assert.is((await recordFailure(sql, clock, id)).locked, true);
});

test("failures during a lock neither count towards the next one nor extend it", async () => {
  const sql = await database();
  const clock = clockAt();
  const { id } = await createUser(sql);
  await fail(10, () => recordFailure(sql, clock, id));
  const until = (await findUserById(sql, id))!.lockedUntil!;
  clock.advance(10 * MINUTE);
  assert.equal(await fail(5, () => recordFailure(sql, clock, id)), Array(5).fill(true));
  assert.equal((await findUserById(sql, id))!.lockedUntil, until);
  clock.advance(5 * MINUTE);
  assert.is((await recordFailure(sql, clock, id)).locked, false);
});

test("a success restarts the count", async () => {
  const sql = await database();
  const clock = clockAt();
  const { id } = await createUser(sql);
  await fail(9, () => recordFailure(sql, clock, id));
  await recordSuccess(sql, id);
  assert.equal(await fail(9, () => recordFailure(sql, clock, id)), Array(9).fill(false));
  assert.is(isLocked((await findUserById(sql, id))!, clock), false);
});

test("a success does not lift a running lock; an administrator's unlock does", async () => {
  const sql = await database();
  const clock = clockAt();
  const { id } = await createUser(sql);
  await fail(10, () => recordFailure(sql, clock, id));
  await recordSuccess(sql, id);
  assert.is(isLocked((await findUserById(sql, id))!, clock), true);
  await unlockUser(sql, id);
  const user = (await findUserById(sql, id))!;
  assert.is(user.lockedUntil, null);
  assert.is(isLocked(user, clock), false);
  const [row] = await sql<{ failedAttempts: number }[]>`select failed_attempts as "failedAttempts" from users where id = ${id}`;
  assert.is(row!.failedAttempts, 0);
});

test("10 concurrent failures all count and lock", async () => {
  const sql = await database();
  const clock = clockAt();
  const { id } = await createUser(sql);
  const results = await Promise.all(Array.from({ length: 10 }, () => recordFailure(sql, clock, id)));
  assert.is(results.filter((r) => r.locked).length, 1, "exactly one failure set the lock");
  assert.is(isLocked((await findUserById(sql, id))!, clock), true);
});

test("isLocked: no lock, or a lock in the past, is not locked", () => {
  const clock = clockAt();
  assert.is(isLocked({ lockedUntil: null }, clock), false);
  assert.is(isLocked({ lockedUntil: new Date(clock.now().getTime() - 1) }, clock), false);
  assert.is(isLocked({ lockedUntil: clock.now() }, clock), false);
  assert.is(isLocked({ lockedUntil: new Date(clock.now().getTime() + 1) }, clock), true);
});

test.run();
