import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createRememberToken, deleteRememberToken, forgetRememberTokens, validateRememberToken } from "../../../src/auth/remember-me.ts";
import { HOUR, SECOND } from "../../../src/clock.ts";
import { clockAt, createUser, database } from "./fixtures.ts";

const test = suite("auth/remember-me");
const TTL = 4 * HOUR;

test("bound to the login option it was made for", async () => {
  const sql = await database();
  const clock = clockAt();
  const { id } = await createUser(sql);
  const token = await createRememberToken(sql, clock, id, "email", TTL);
  assert.equal(await validateRememberToken(sql, clock, token, "email"), { userId: id });
  assert.is(await validateRememberToken(sql, clock, token, "phone"), null);
  assert.equal(await validateRememberToken(sql, clock, token, "email"), { userId: id }, "asking for the other option does not spend it");
});

test("valid at ttl−1s, gone at ttl+1s", async () => {
  const sql = await database();
  const clock = clockAt();
  const { id } = await createUser(sql);
  const token = await createRememberToken(sql, clock, id, "phone", TTL);
  clock.advance(TTL - SECOND);
  assert.equal(await validateRememberToken(sql, clock, token, "phone"), { userId: id });
  clock.advance(2 * SECOND);
  assert.is(await validateRememberToken(sql, clock, token, "phone"), null);
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from remember_tokens where user_id = ${id}`;
  assert.is(row!.n, 0, "the expired row is removed");
});

test("only SHA-256 of the secret is stored; a forged secret with a real id is refused", async () => {
  const sql = await database();
  const clock = clockAt();
  const { id } = await createUser(sql);
  const token = await createRememberToken(sql, clock, id, "email", TTL);
  const [tokenId, secret] = token.split(".") as [string, string];
  const [row] = await sql<{ whole: string }[]>`select row_to_json(r)::text as whole from remember_tokens r where id = ${tokenId}`;
  assert.not.ok(row!.whole.includes(secret));
  const forged = `${tokenId}.${(secret[0] === "a" ? "b" : "a") + secret.slice(1)}`;
  assert.is(await validateRememberToken(sql, clock, forged, "email"), null);
  for (const bad of [undefined, null, "", "nonsense", `${tokenId}.`, token + "x"]) {
    assert.is(await validateRememberToken(sql, clock, bad, "email"), null, String(bad));
  }
  assert.equal(await validateRememberToken(sql, clock, token, "email"), { userId: id }, "the real one still works");
});

test("forgetRememberTokens ends every token of the user, not another user's", async () => {
  const sql = await database();
  const clock = clockAt();
  const user = await createUser(sql);
  const other = await createUser(sql);
  const a = await createRememberToken(sql, clock, user.id, "email", TTL);
  const b = await createRememberToken(sql, clock, user.id, "phone", TTL);
  const theirs = await createRememberToken(sql, clock, other.id, "email", TTL);
  await forgetRememberTokens(sql, user.id);
  assert.is(await validateRememberToken(sql, clock, a, "email"), null);
  assert.is(await validateRememberToken(sql, clock, b, "phone"), null);
  assert.equal(await validateRememberToken(sql, clock, theirs, "email"), { userId: other.id });
});

test("deleteRememberToken ends just that browser's token", async () => {
  const sql = await database();
  const clock = clockAt();
  const { id } = await createUser(sql);
  const a = await createRememberToken(sql, clock, id, "email", TTL);
  const b = await createRememberToken(sql, clock, id, "email", TTL);
  await deleteRememberToken(sql, a);
  await deleteRememberToken(sql, "garbage");
  assert.is(await validateRememberToken(sql, clock, a, "email"), null);
  assert.equal(await validateRememberToken(sql, clock, b, "email"), { userId: id });
});

test("a disabled account is not remembered", async () => {
  const sql = await database();
  const clock = clockAt();
  const { id } = await createUser(sql);
  const token = await createRememberToken(sql, clock, id, "email", TTL);
  await sql`update users set status = 'disabled' where id = ${id}`;
  assert.is(await validateRememberToken(sql, clock, token, "email"), null);
});

test.run();
