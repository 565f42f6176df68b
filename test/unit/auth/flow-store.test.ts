import { suite } from "uvu";
import * as assert from "uvu/assert";
import { advanceFlow, createFlow, deleteFlow, deleteUserFlows, loadFlow, loadFlowWithUser, withHandedFlow } from "../../../src/flows/flow-store.ts";
import { findUserById } from "../../../src/auth/users.ts";
import { MINUTE, SECOND } from "../../../src/clock.ts";
import { clockAt, createUser, database } from "./fixtures.ts";

const test = suite("flows/flow-store");
const TTL = 20 * MINUTE;

test("createFlow → loadFlow by its token and kind", async () => {
  const sql = await database();
  const clock = clockAt();
  const user = await createUser(sql);
  const { token, flow } = await createFlow(sql, clock, { kind: "login", userId: user.id, state: "password", ttlMs: TTL, data: { a: 1 } });
  const loaded = await loadFlow(sql, clock, token, "login");
  assert.is(loaded?.id, flow.id);
  assert.is(loaded?.state, "password");
  assert.is(loaded?.userId, user.id);
  assert.equal(loaded?.data, { a: 1 });
});

test("loadFlow: wrong kind, forged secret, garbage: not loaded", async () => {
  const sql = await database();
  const clock = clockAt();
  const { token, flow } = await createFlow(sql, clock, { kind: "registration", userId: null, state: "terms", ttlMs: TTL });
  assert.is(await loadFlow(sql, clock, token, "login"), null);
  assert.is(await loadFlow(sql, clock, token, "password_reset"), null);
  const secret = token.split(".")[1]!;
  assert.is(await loadFlow(sql, clock, `${flow.id}.${(secret[0] === "a" ? "b" : "a") + secret.slice(1)}`, "registration"), null);
  assert.is(await loadFlow(sql, clock, undefined, "registration"), null);
  assert.is(await loadFlow(sql, clock, "x.y", "registration"), null);
  assert.ok(await loadFlow(sql, clock, token, "registration"));
});

test("loadFlowWithUser: the very flow loadFlow gives and the very account findUserById gives, in one read; refused as loadFlow refuses", async () => {
  const sql = await database();
  const clock = clockAt();
  const user = await createUser(sql);
  const { token, flow } = await createFlow(sql, clock, { kind: "login", userId: user.id, state: "email_send", ttlMs: TTL, loginOption: "email", remember: true, data: { a: 1 } });
  const both = await loadFlowWithUser(sql, clock, token, "login");
  assert.equal(both?.flow, await loadFlow(sql, clock, token, "login"));
  assert.equal(both?.user, await findUserById(sql, user.id));
  assert.is(both?.flow.id, flow.id);
  // No account yet (registration before the link), or a wrong kind, secret or an expired flow.
  const anonymous = await createFlow(sql, clock, { kind: "registration", userId: null, state: "terms", ttlMs: TTL });
  assert.equal(await loadFlowWithUser(sql, clock, anonymous.token, "registration"), { flow: (await loadFlow(sql, clock, anonymous.token, "registration"))!, user: null });
  assert.is(await loadFlowWithUser(sql, clock, token, "registration"), null);
  const secret = token.split(".")[1]!;
  assert.is(await loadFlowWithUser(sql, clock, `${flow.id}.${(secret[0] === "a" ? "b" : "a") + secret.slice(1)}`, "login"), null);
  assert.is(await loadFlowWithUser(sql, clock, undefined, "login"), null);
  clock.advance(TTL);
  assert.is(await loadFlowWithUser(sql, clock, token, "login"), null, "expired");
});

test("an expired flow is neither loaded nor advanced", async () => {
  const sql = await database();
  const clock = clockAt();
  const { token, flow } = await createFlow(sql, clock, { kind: "login", userId: null, state: "password", ttlMs: TTL });
  clock.advance(TTL - SECOND);
  assert.ok(await loadFlow(sql, clock, token, "login"), "alive at ttl−1s");
  clock.advance(SECOND);
  assert.is(await loadFlow(sql, clock, token, "login"), null, "gone at ttl");
  assert.is(await advanceFlow(sql, clock, flow.id, "password", "code"), null);
});

test("advanceFlow: guarded on the state; data merged; ttl, option and remember changed when given", async () => {
  const sql = await database();
  const clock = clockAt();
  const { token, flow } = await createFlow(sql, clock, { kind: "login", userId: null, state: "password", ttlMs: TTL, data: { a: 1 } });
  assert.is(await advanceFlow(sql, clock, flow.id, "code", "done"), null, "not in the expected state");
  clock.advance(MINUTE);
  const moved = await advanceFlow(sql, clock, flow.id, ["start", "password"], "code", { data: { b: 2 }, ttlMs: 5 * MINUTE, loginOption: "phone", remember: true });
  assert.is(moved?.state, "code");
  assert.equal(moved?.data, { a: 1, b: 2 });
  assert.equal(moved?.expiresAt, new Date(clock.now().getTime() + 5 * MINUTE));
  assert.is(moved?.loginOption, "phone");
  assert.is(moved?.remember, true);
  const again = await advanceFlow(sql, clock, flow.id, "code", "done");
  assert.is(again?.loginOption, "phone", "kept when not given");
  assert.is(again?.remember, true);
  assert.is((await loadFlow(sql, clock, token, "login"))?.state, "done");
});

test("advanceFlow: of two concurrent advances from the same state exactly one wins", async () => {
  const sql = await database();
  const clock = clockAt();
  for (let round = 0; round < 5; round++) {
    const { token, flow } = await createFlow(sql, clock, { kind: "registration", userId: null, state: "phone", ttlMs: TTL });
    const [left, right] = await Promise.all([
      advanceFlow(sql, clock, flow.id, "phone", "verify-sms", { data: { via: "sms" } }),
      advanceFlow(sql, clock, flow.id, "phone", "verify-voice", { data: { via: "voice" } }),
    ]);
    assert.is([left, right].filter(Boolean).length, 1);
    const winner = (left ?? right)!;
    const stored = await loadFlow(sql, clock, token, "registration");
    assert.is(stored?.state, winner.state);
    assert.equal(stored?.data, winner.data);
  }
});

test("deleteFlow and deleteUserFlows", async () => {
  const sql = await database();
  const clock = clockAt();
  const user = await createUser(sql);
  const one = await createFlow(sql, clock, { kind: "login", userId: user.id, state: "password", ttlMs: TTL });
  const two = await createFlow(sql, clock, { kind: "login", userId: user.id, state: "password", ttlMs: TTL });
  const reg = await createFlow(sql, clock, { kind: "registration", userId: user.id, state: "terms", ttlMs: TTL });
  await deleteFlow(sql, one.flow.id);
  assert.is(await loadFlow(sql, clock, one.token, "login"), null);
  assert.ok(await loadFlow(sql, clock, two.token, "login"));
  await deleteUserFlows(sql, user.id, "login");
  assert.is(await loadFlow(sql, clock, two.token, "login"), null);
  assert.ok(await loadFlow(sql, clock, reg.token, "registration"), "another kind is kept");
});

test("withHandedFlow: the page after a step takes the moved flow once, for its own token and kind, unless it expired", async () => {
  const sql = await database();
  const clock = clockAt();
  const { token, flow } = await createFlow(sql, clock, { kind: "login", userId: null, state: "credentials", ttlMs: TTL });
  const other = await createFlow(sql, clock, { kind: "login", userId: null, state: "credentials", ttlMs: TTL });
  // What the step's move returned; the row is moved again behind it, so a read would tell them apart.
  const handed = { ...flow, state: "email_send" };
  await advanceFlow(sql, clock, flow.id, "credentials", "email_code");
  await withHandedFlow(token, handed, async () => {
    assert.is((await loadFlow(sql, clock, other.token, "login"))?.id, other.flow.id, "another token reads its own row");
    assert.is(await loadFlow(sql, clock, token, "registration"), null, "another kind is not handed");
    assert.is((await loadFlow(sql, clock, token, "login"))?.state, "email_send", "taken, not read");
    assert.is((await loadFlow(sql, clock, token, "login"))?.state, "email_code", "once: then the row is read");
  });
  assert.is((await loadFlow(sql, clock, token, "login"))?.state, "email_code", "outside, nothing is handed");
  await withHandedFlow(token, handed, async () => {
    clock.advance(TTL + SECOND);
    assert.is(await loadFlow(sql, clock, token, "login"), null, "an expired hand-over is refused like an expired row");
  });
});

test.run();
