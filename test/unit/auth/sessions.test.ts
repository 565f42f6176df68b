import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createSession, invalidateSession, invalidateUserSessions, validateSessionToken } from "../../../src/auth/sessions.ts";
import { hashSecret } from "../../../src/auth/tokens.ts";
import { HOUR, MINUTE, SECOND } from "../../../src/clock.ts";
import { clockAt, createUser, database } from "./fixtures.ts";

const test = suite("auth/sessions");
const ttl = { sessionIdle: 30 * MINUTE, sessionMax: 12 * HOUR };

test("createSession → validateSessionToken gives the session and its user (ASVS 7.2.1)", async () => {
  const sql = await database();
  const clock = clockAt();
  const user = await createUser(sql);
  const { token, session } = await createSession(sql, clock, user.id, "phone");
  assert.match(token, /^[a-z2-7]{24}\.[a-z2-7]{24}$/);
  const result = await validateSessionToken(sql, clock, ttl, token);
  assert.is(result.session?.id, session.id);
  assert.is(result.session?.loginOption, "phone");
  assert.is(result.user?.id, user.id);
  assert.is(result.user?.email, user.email);
});

test("only SHA-256 of the secret is stored (ASVS 7.2.3)", async () => {
  const sql = await database();
  const clock = clockAt();
  const user = await createUser(sql);
  const { token, session } = await createSession(sql, clock, user.id, null);
  const secret = token.split(".")[1]!;
  const [row] = await sql<{ whole: string; secretHash: Uint8Array }[]>`
    select row_to_json(s)::text as whole, secret_hash as "secretHash" from sessions s where id = ${session.id}`;
  assert.not.ok(row!.whole.includes(secret));
  assert.equal(new Uint8Array(row!.secretHash), hashSecret(secret));
});

test("a forged secret with a real id is refused, and does not end the real session", async () => {
  const sql = await database();
  const clock = clockAt();
  const user = await createUser(sql);
  const { token, session } = await createSession(sql, clock, user.id, "email");
  const secret = token.split(".")[1]!;
  const forged = `${session.id}.${(secret[0] === "a" ? "b" : "a") + secret.slice(1)}`;
  assert.equal(await validateSessionToken(sql, clock, ttl, forged), { session: null, user: null });
  for (const bad of [undefined, "", "garbage", `${session.id}.`, `${session.id}.${secret}.x`]) {
    assert.equal(await validateSessionToken(sql, clock, ttl, bad), { session: null, user: null }, String(bad));
  }
  assert.is((await validateSessionToken(sql, clock, ttl, token)).session?.id, session.id);
});

test("sliding idle timeout: valid at idle−1s, dead at idle+1s after an activity refresh (ASVS 7.3.1)", async () => {
  const sql = await database();
  const clock = clockAt();
  const user = await createUser(sql);
  const kept = await createSession(sql, clock, user.id, "phone");
  const dropped = await createSession(sql, clock, user.id, "phone");
  clock.advance(10 * MINUTE);
  // Activity on both at +10 min moves their idle deadline to +40 min.
  assert.ok((await validateSessionToken(sql, clock, ttl, kept.token)).session);
  const refreshed = await validateSessionToken(sql, clock, ttl, dropped.token);
  assert.equal(refreshed.session?.lastActiveAt, clock.now());
  clock.advance(ttl.sessionIdle - SECOND);
  assert.ok((await validateSessionToken(sql, clock, ttl, kept.token)).session, "valid at idle−1s after the refresh (41 min after creation)");
  clock.advance(2 * SECOND);
  assert.equal(await validateSessionToken(sql, clock, ttl, dropped.token), { session: null, user: null }, "dead at idle+1s after the refresh");
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from sessions where id = ${dropped.session.id}`;
  assert.is(row!.n, 0, "the dead session is deleted");
});

test("absolute maximum: even a session in constant use ends at SESSION_MAX_TTL (ASVS 7.3.2)", async () => {
  const sql = await database();
  const clock = clockAt();
  const user = await createUser(sql);
  const { token } = await createSession(sql, clock, user.id, "email");
  const step = 20 * MINUTE;
  let elapsed = 0;
  while (elapsed + step < ttl.sessionMax) {
    clock.advance(step);
    elapsed += step;
    assert.ok((await validateSessionToken(sql, clock, ttl, token)).session, `alive at ${elapsed / MINUTE} min`);
  }
  clock.advance(ttl.sessionMax - elapsed - SECOND);
  assert.ok((await validateSessionToken(sql, clock, ttl, token)).session, "alive at max−1s");
  clock.advance(2 * SECOND);
  assert.equal(await validateSessionToken(sql, clock, ttl, token), { session: null, user: null });
});

test("invalidateSession ends one session; invalidateUserSessions all of a user's (optionally but one), not others'", async () => {
  const sql = await database();
  const clock = clockAt();
  const user = await createUser(sql);
  const other = await createUser(sql);
  const a = await createSession(sql, clock, user.id, "phone");
  const b = await createSession(sql, clock, user.id, "email");
  const c = await createSession(sql, clock, user.id, "email");
  const d = await createSession(sql, clock, user.id, "phone");
  const theirs = await createSession(sql, clock, other.id, "phone");
  const alive = async (s: { token: string }) => (await validateSessionToken(sql, clock, ttl, s.token)).session !== null;

  await invalidateSession(sql, a.session.id);
  assert.equal([await alive(a), await alive(b), await alive(c), await alive(d)], [false, true, true, true]);
  await invalidateUserSessions(sql, user.id, c.session.id);
  assert.equal([await alive(b), await alive(c), await alive(d)], [false, true, false]);
  await invalidateUserSessions(sql, user.id);
  assert.is(await alive(c), false);
  assert.is(await alive(theirs), true);
});

test("a disabled or not yet active user's session is refused", async () => {
  const sql = await database();
  const clock = clockAt();
  const user = await createUser(sql);
  const { token } = await createSession(sql, clock, user.id, "phone");
  await sql`update users set status = 'disabled' where id = ${user.id}`;
  assert.equal(await validateSessionToken(sql, clock, ttl, token), { session: null, user: null });
  const invited = await createUser(sql, "invited");
  const second = await createSession(sql, clock, invited.id, null);
  assert.equal(await validateSessionToken(sql, clock, ttl, second.token), { session: null, user: null });
});

test.run();
