import { suite } from "uvu";
import * as assert from "uvu/assert";
import { appendAudit, listAudit } from "../../../src/auth/audit.ts";
import { MINUTE } from "../../../src/clock.ts";
import { clockAt, createUser, database } from "./fixtures.ts";

const test = suite("auth/audit");

test("appendAudit then listAudit: time, user, actor, address, agent and detail come back (ASVS 16.3.1)", async () => {
  const sql = await database();
  const clock = clockAt();
  const user = await createUser(sql);
  const admin = await createUser(sql);
  await appendAudit(sql, clock, {
    event: "admin.user_created",
    userId: user.id,
    actorId: admin.id,
    ip: "203.0.113.9",
    userAgent: "Mozilla/5.0 test",
    detail: { role: "provider" },
  });
  const [event] = await listAudit(sql, { userId: user.id, limit: 10 });
  assert.ok(event);
  assert.is(event!.event, "admin.user_created");
  assert.equal(event!.at, clock.now());
  assert.is(event!.userId, user.id);
  assert.is(event!.userEmail, user.email);
  assert.is(event!.actorId, admin.id);
  assert.is(event!.actorEmail, admin.email);
  assert.is(event!.ip, "203.0.113.9");
  assert.is(event!.userAgent, "Mozilla/5.0 test");
  assert.equal(event!.detail, { role: "provider" });
  assert.type(event!.id, "string");
});

test("appendAudit: an event with no user (an unknown address) is kept", async () => {
  const sql = await database();
  const clock = clockAt("2031-01-01T00:00:00Z");
  await appendAudit(sql, clock, { event: "signin.password_failed", detail: { reason: "unknown_account" } });
  const events = await listAudit(sql, { event: "signin.password_failed", from: clock.now(), limit: 5 });
  assert.ok(events.some((e) => e.userId === null && e.detail.reason === "unknown_account"));
});

test("appendAudit: keys that name a code, token or password are redacted (ASVS 16.2.5)", async () => {
  const sql = await database();
  const clock = clockAt();
  const user = await createUser(sql);
  await appendAudit(sql, clock, {
    event: "code.failed",
    userId: user.id,
    detail: { channel: "sms", code: "123456", nested: { token: "abc", Password: "hunter2hunter2" }, codeId: "kept" },
  });
  const [event] = await listAudit(sql, { userId: user.id, limit: 1 });
  assert.equal(event!.detail, { channel: "sms", code: "[redacted]", nested: { token: "[redacted]", Password: "[redacted]" }, codeId: "kept" });
  const [raw] = await sql<{ text: string }[]>`select detail::text as text from audit_events where user_id = ${user.id}`;
  assert.not.ok(raw!.text.includes("123456") || raw!.text.includes("hunter2"));
});

test("listAudit: newest first; filters by user, exact event, event prefix, from (inclusive) and to (exclusive)", async () => {
  const sql = await database();
  const clock = clockAt();
  const user = await createUser(sql);
  const start = clock.now();
  for (const event of ["registration.invited", "signin.password_failed", "signin.success", "signin.locked"]) {
    await appendAudit(sql, clock, { event, userId: user.id });
    clock.advance(MINUTE);
  }
  const all = await listAudit(sql, { userId: user.id, limit: 10 });
  assert.equal(all.map((e) => e.event), ["signin.locked", "signin.success", "signin.password_failed", "registration.invited"]);
  assert.equal((await listAudit(sql, { userId: user.id, event: "signin.success", limit: 10 })).map((e) => e.event), ["signin.success"]);
  assert.equal(
    (await listAudit(sql, { userId: user.id, event: "signin.*", limit: 10 })).map((e) => e.event),
    ["signin.locked", "signin.success", "signin.password_failed"],
  );
  const window = await listAudit(sql, { userId: user.id, from: new Date(start.getTime() + MINUTE), to: new Date(start.getTime() + 3 * MINUTE), limit: 10 });
  assert.equal(window.map((e) => e.event), ["signin.success", "signin.password_failed"]);
});

test("listAudit: limit and the `before` cursor page through without gaps or repeats, even for events at the same instant", async () => {
  const sql = await database();
  const clock = clockAt();
  const user = await createUser(sql);
  for (let i = 0; i < 7; i++) {
    await appendAudit(sql, clock, { event: "code.failed", userId: user.id, detail: { n: i } });
    if (i % 2) clock.advance(MINUTE); // pairs share a timestamp
  }
  const seen: number[] = [];
  let before: string | undefined;
  for (;;) {
    const page = await listAudit(sql, { userId: user.id, limit: 3, before });
    if (!page.length) break;
    assert.ok(page.length <= 3);
    seen.push(...page.map((e) => e.detail.n as number));
    before = page.at(-1)!.id;
  }
  assert.equal(seen, [6, 5, 4, 3, 2, 1, 0]);
  assert.equal(await listAudit(sql, { userId: user.id, limit: 3, before: "not-a-number" }), []);
});

test.run();
