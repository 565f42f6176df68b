/**
 * Housekeeping: each table's rows are deleted exactly from their cut-off on, rows still needed
 * (live ones, a registration's progress, spent links within a week) stay, big backlogs go in
 * batches, and the hourly runner logs counts only, survives a database outage and never overlaps.
 *
 * The purges here run on a clock in 1990 and every row of this file is stamped around it: the
 * run's other files stamp theirs from 2001 on, so these purges can never reach their rows.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, uniqueEmail, type TestContext } from "../support/harness.ts";
import { createManualClock, DAY, HOUR, MINUTE, SECOND } from "../../src/clock.ts";
import {
  LINK_TOKEN_KEEP_MS,
  OUTBOX_KEEP_MS,
  PURGE_BATCH,
  RATE_LIMIT_IDLE_MS,
  REGISTRATION_FLOW_KEEP_MS,
  purgeExpired,
  startHousekeeping,
  type PurgeCounts,
} from "../../src/db/housekeeping.ts";
import { createSession, validateSessionToken } from "../../src/auth/sessions.ts";
import { createRememberToken, validateRememberToken } from "../../src/auth/remember-me.ts";
import { createFlow, type FlowKind } from "../../src/flows/flow-store.ts";
import { createCode, takeConfirmedVoiceCode, verifyCode } from "../../src/auth/codes.ts";
import { consumeLinkToken, createLinkToken, type LinkPurpose } from "../../src/auth/links.ts";
import { ATTEMPT_LIMIT, SEND_LIMITS, consumeRateLimit } from "../../src/auth/rate-limit.ts";
import { hashSecret } from "../../src/auth/tokens.ts";
import { normalizeEmail } from "../../src/auth/users.ts";
import type { Logger } from "../../src/log.ts";
import type { Sql } from "../../src/db/client.ts";

const T = new Date("1990-06-01T12:00:00Z");
const at = (offsetMs: number) => new Date(T.getTime() + offsetMs);

let ctx: TestContext;
let sql: Sql;

test.before(async () => {
  ctx = await createTestContext();
  sql = ctx.sql;
});

/** Purges as of T (sessions idle 30 min, at most 12 h: the defaults). */
async function purge(): Promise<PurgeCounts> {
  return purgeExpired(sql, createManualClock(T), ctx.config.ttl);
}

/** A clock standing at T + offset, for creating rows through the app's own functions. */
function clockAt(offsetMs: number) {
  return createManualClock(at(offsetMs));
}

async function createUser(status: "invited" | "active" | "disabled" = "active"): Promise<string> {
  const email = uniqueEmail("housekeeping");
  const [row] = await sql<{ id: string }[]>`
    insert into users (email, email_normalized, status) values (${email}, ${normalizeEmail(email)}, ${status}) returning id`;
  return row!.id;
}

/** Which of `ids` still exist in `table` (its key column named `key`). */
async function surviving(table: string, ids: string[], key = "id"): Promise<Set<string>> {
  const rows = await sql<{ id: string }[]>`select ${sql(key)}::text as id from ${sql(table)} where ${sql(key)}::text in ${sql(ids)}`;
  return new Set(rows.map((row) => row.id));
}

function assertKept(present: Set<string>, ids: Record<string, string>, kept: string[]) {
  for (const [name, id] of Object.entries(ids)) {
    assert.is(present.has(id), kept.includes(name), `${name} should be ${kept.includes(name) ? "kept" : "deleted"}`);
  }
}

test("the rate-limit age is past every bucket's refill: a bucket that old is full, so deleting it changes no decision", () => {
  for (const rule of [...Object.values(SEND_LIMITS), ATTEMPT_LIMIT, ...Object.values(ctx.config.limits)]) assert.ok(rule.perMs <= RATE_LIMIT_IDLE_MS);
});

test("sessions: deleted from the moment validateSessionToken calls them idle or too old, live ones kept", async () => {
  const { sessionIdle: idle, sessionMax: max } = ctx.config.ttl;
  const userId = await createUser("active");
  const make = async (createdOffset: number, lastActiveOffset: number) => {
    const { session, token } = await createSession(sql, clockAt(createdOffset), userId, "email");
    await sql`update sessions set last_active_at = ${at(lastActiveOffset)} where id = ${session.id}`;
    return { id: session.id, token };
  };
  const rows = {
    live: await make(-HOUR, -MINUTE),
    idleAlmost: await make(-HOUR, -idle + SECOND),
    idleReached: await make(-HOUR, -idle),
    maxAlmost: await make(-max + SECOND, -SECOND),
    maxReached: await make(-max, -SECOND),
  };
  await purge();
  const ids = Object.fromEntries(Object.entries(rows).map(([name, row]) => [name, row.id]));
  assertKept(await surviving("sessions", Object.values(ids)), ids, ["live", "idleAlmost", "maxAlmost"]);
  for (const name of ["live", "idleAlmost", "maxAlmost"] as const) {
    const checked = await validateSessionToken(sql, createManualClock(T), ctx.config.ttl, rows[name].token);
    assert.ok(checked.session, `${name} still signs in`);
  }
});

test("remember tokens: deleted at their expiry, unexpired ones kept", async () => {
  const userId = await createUser("active");
  const make = async (expiresOffset: number) => {
    const token = await createRememberToken(sql, clockAt(expiresOffset - 4 * HOUR), userId, "phone", 4 * HOUR);
    return token;
  };
  const tokens = { live: await make(HOUR), almost: await make(SECOND), reached: await make(0), old: await make(-DAY) };
  await purge();
  const ids = Object.fromEntries(Object.entries(tokens).map(([name, token]) => [name, token.split(".")[0]!]));
  assertKept(await surviving("remember_tokens", Object.values(ids)), ids, ["live", "almost"]);
  assert.equal(await validateRememberToken(sql, createManualClock(T), tokens.almost, "phone"), { userId });
});

/** A flow expiring at T + offset, created `ttl` before. */
async function flowExpiringAt(kind: FlowKind, userId: string | null, expiresOffset: number, state = "start", ttl = HOUR) {
  const { flow } = await createFlow(sql, clockAt(expiresOffset - ttl), { kind, userId, state, ttlMs: ttl });
  return flow.id;
}

async function codeOn(flowId: string, createdOffset: number, ttl: number, channel: "email" | "voice" = "email", purpose = "p") {
  return createCode(sql, clockAt(createdOffset), "housekeeping-secret-key-housekeeping-secret", {
    flowId,
    userId: null,
    purpose,
    channel,
    destination: "+15555550100",
    ttlMs: ttl,
  });
}

test("codes: expired or consumed ones go once their flow expired; every code of a live flow stays", async () => {
  const liveFlow = await flowExpiringAt("login", null, HOUR);
  const deadFlow = await flowExpiringAt("login", null, 0);
  // A registration flow outlives its expiry (kept for Reset and resume), but its spent codes need not.
  const keptFlow = await flowExpiringAt("registration", await createUser("invited"), -HOUR, "invited");
  const secret = "housekeeping-secret-key-housekeeping-secret";

  const live = {
    expired: (await codeOn(liveFlow, -HOUR, MINUTE, "email", "a")).id,
    consumed: (await codeOn(liveFlow, -MINUTE, 10 * MINUTE, "email", "b")).id,
    pending: (await codeOn(liveFlow, -MINUTE, 10 * MINUTE, "email", "c")).id,
    // Confirmed by the call in time, expired before the browser's poll took it: still takeable.
    confirmedVoice: (await codeOn(liveFlow, -10 * MINUTE, 5 * MINUTE, "voice", "d")).id,
  };
  await sql`update codes set consumed_at = ${at(-SECOND)} where id = ${live.consumed}`;
  await sql`update codes set confirmed_at = ${at(-6 * MINUTE)} where id = ${live.confirmedVoice}`;
  const dead = {
    expired: (await codeOn(deadFlow, -HOUR, MINUTE, "email", "a")).id,
    consumed: (await codeOn(deadFlow, -2 * MINUTE, 10 * MINUTE, "email", "b")).id,
  };
  await sql`update codes set consumed_at = ${at(-MINUTE)} where id = ${dead.consumed}`;
  const kept = {
    expired: (await codeOn(keptFlow, -2 * HOUR, MINUTE, "email", "a")).id,
    unexpired: (await codeOn(keptFlow, -MINUTE, 10 * MINUTE, "email", "b")).id,
  };

  const counts = await purge();
  assert.ok(counts.codes >= 3, `codes deleted: ${counts.codes}`);
  const ids = {
    liveExpired: live.expired,
    liveConsumed: live.consumed,
    livePending: live.pending,
    liveConfirmedVoice: live.confirmedVoice,
    deadExpired: dead.expired,
    deadConsumed: dead.consumed,
    keptFlowExpired: kept.expired,
    keptFlowUnexpired: kept.unexpired,
  };
  assertKept(await surviving("codes", Object.values(ids)), ids, ["liveExpired", "liveConsumed", "livePending", "liveConfirmedVoice", "keptFlowUnexpired"]);
  // What the kept rows are for: "expired" rather than "none", and the poll still takes the call's code.
  const clock = createManualClock(T);
  assert.equal(await verifyCode(sql, clock, secret, { flowId: liveFlow, purpose: "a", code: "000000" }), { ok: false, reason: "expired" });
  assert.equal(await takeConfirmedVoiceCode(sql, clock, { flowId: liveFlow, purpose: "d" }), { ok: true, codeId: live.confirmedVoice });
});

test("flows: sign-in and reset flows go at their expiry; registration flows a week later, except an invited user's newest progress", async () => {
  const invited = await createUser("invited");
  const active = await createUser("active");
  const activeToo = await createUser("active");
  const invitedWithLiveFlow = await createUser("invited");
  const week = REGISTRATION_FLOW_KEEP_MS;
  const ids = {
    loginLive: await flowExpiringAt("login", active, SECOND),
    loginReached: await flowExpiringAt("login", active, 0),
    resetLive: await flowExpiringAt("password_reset", active, SECOND),
    resetReached: await flowExpiringAt("password_reset", null, 0),
    // The "failed" holder a dead link leaves for Reset on the Registration error page.
    failedWithinWeek: await flowExpiringAt("registration", invited, -week + SECOND, "failed"),
    failedPastWeek: await flowExpiringAt("registration", invited, -week, "failed"),
    // Of an invited user's registrations, the newest is the progress to resume from: kept however old.
    olderProgress: await flowExpiringAt("registration", invited, -40 * DAY, "email_verified", 2 * DAY),
    newestProgress: await flowExpiringAt("registration", invited, -30 * DAY, "password_set", 2 * DAY),
    activeUsersLast: await flowExpiringAt("registration", active, -week, "done", 2 * DAY),
    activeUsersWithinWeek: await flowExpiringAt("registration", activeToo, -week + SECOND, "done", 2 * DAY),
    supersededByLive: await flowExpiringAt("registration", invitedWithLiveFlow, -week, "email_verified", 2 * DAY),
    liveRegistration: await flowExpiringAt("registration", invitedWithLiveFlow, DAY, "invited", 2 * DAY),
  };
  await purge();
  assertKept(await surviving("flows", Object.values(ids)), ids, [
    "loginLive",
    "resetLive",
    "failedWithinWeek",
    "newestProgress",
    "activeUsersWithinWeek",
    "liveRegistration",
  ]);
});

test("link tokens: kept a week after they expired, were used or were revoked (still answering with their user, for Reset)", async () => {
  const week = LINK_TOKEN_KEEP_MS;
  const make = async (purpose: LinkPurpose, createdOffset: number, ttl: number) => {
    const userId = await createUser("invited");
    const token = await createLinkToken(sql, clockAt(createdOffset), { userId, purpose, ttlMs: ttl });
    const [row] = await sql<{ id: string }[]>`select id from link_tokens where token_hash = ${hashSecret(token)}`;
    return { id: row!.id, token, userId };
  };
  const tokens = {
    live: await make("registration", -DAY, 2 * DAY),
    expiredWithinWeek: await make("registration", -week - 2 * DAY + SECOND, 2 * DAY),
    expiredPastWeek: await make("registration", -week - 2 * DAY, 2 * DAY),
    usedWithinWeek: await make("resume", -week, 20 * MINUTE),
    usedPastWeek: await make("resume", -week - MINUTE, 20 * MINUTE),
    revokedWithinWeek: await make("registration_reset", -week, 20 * MINUTE),
    revokedPastWeek: await make("mfa_reset", -week - MINUTE, 2 * DAY),
  };
  assert.ok((await consumeLinkToken(sql, clockAt(-week + SECOND), tokens.usedWithinWeek.token, ["resume"])).ok);
  assert.ok((await consumeLinkToken(sql, clockAt(-week), tokens.usedPastWeek.token, ["resume"])).ok);
  await sql`update link_tokens set revoked_at = ${at(-week + SECOND)} where id = ${tokens.revokedWithinWeek.id}`;
  await sql`update link_tokens set revoked_at = ${at(-week)} where id = ${tokens.revokedPastWeek.id}`;

  await purge();
  const ids = Object.fromEntries(Object.entries(tokens).map(([name, row]) => [name, row.id]));
  assertKept(await surviving("link_tokens", Object.values(ids)), ids, ["live", "expiredWithinWeek", "usedWithinWeek", "revokedWithinWeek"]);
  const clock = createManualClock(T);
  assert.equal(await consumeLinkToken(sql, clock, tokens.expiredWithinWeek.token, ["registration"]), {
    ok: false,
    reason: "expired",
    userId: tokens.expiredWithinWeek.userId,
  });
  assert.equal(await consumeLinkToken(sql, clock, tokens.usedWithinWeek.token, ["resume"]), { ok: false, reason: "used", userId: tokens.usedWithinWeek.userId });
});

let keys = 0;
const uniqueKey = (name: string) => `housekeeping:${process.pid}:${Date.now().toString(36)}:${name}:${++keys}`;

test("rate limits: a bucket untouched for a day goes, a younger one stays", async () => {
  const rule = { capacity: 5, perMs: HOUR };
  const buckets = { recent: uniqueKey("recent"), almost: uniqueKey("almost"), reached: uniqueKey("reached") };
  await consumeRateLimit(sql, clockAt(-MINUTE), buckets.recent, rule);
  await consumeRateLimit(sql, clockAt(-RATE_LIMIT_IDLE_MS + SECOND), buckets.almost, rule);
  await consumeRateLimit(sql, clockAt(-RATE_LIMIT_IDLE_MS), buckets.reached, rule);
  await purge();
  assertKept(await surviving("rate_limits", Object.values(buckets), "key"), buckets, ["recent", "almost"]);
});

test("batches: a backlog larger than two batches is cleared in one purge", async () => {
  const prefix = uniqueKey("backlog");
  const total = 2 * PURGE_BATCH + 2000;
  await sql`insert into rate_limits (key, tokens, updated_at)
    select ${prefix}::text || ':' || n, 0, ${at(-2 * DAY)} from generate_series(1, ${total}::int) n`;
  const count = async () => (await sql<{ n: number }[]>`select count(*)::int as n from rate_limits where key like ${prefix + ":%"}`)[0]!.n;
  assert.is(await count(), total);
  const counts = await purge();
  assert.ok(counts.rate_limits >= total, `rate_limits deleted: ${counts.rate_limits}`);
  assert.is(await count(), 0);
});

test("outbox: sent or failed messages go 30 days after, pending and sending ones never", async () => {
  const month = OUTBOX_KEEP_MS;
  const insert = async (status: string, sentOffset: number | null, nextOffset: number) => {
    const [row] = await sql<{ id: string }[]>`
      insert into outbox (channel, recipient, subject, body, status, attempts, next_attempt_at, created_at, sent_at)
      values ('email', 'housekeeping@clinic.example', 's', null, ${status}, 1, ${at(nextOffset)}, ${at(-90 * DAY)},
        ${sentOffset === null ? null : at(sentOffset)})
      returning id::text as id`;
    return row!.id;
  };
  const ids = {
    sentWithinMonth: await insert("sent", -month + SECOND, -40 * DAY),
    sentPastMonth: await insert("sent", -month, -40 * DAY),
    failedWithinMonth: await insert("failed", null, -month + SECOND),
    failedPastMonth: await insert("failed", null, -month),
    pendingOld: await insert("pending", null, -60 * DAY),
    sendingOld: await insert("sending", null, -60 * DAY),
  };
  try {
    await purge();
    assertKept(await surviving("outbox", Object.values(ids)), ids, ["sentWithinMonth", "failedWithinMonth", "pendingOld", "sendingOld"]);
  } finally {
    // Due for any clock after 1990: left behind, another file's outbox would pick them up.
    await sql`delete from outbox where id in ${sql([ids.pendingOld, ids.sendingOld])}`;
  }
});

/** A logger that records events and tells a waiting test when `event` has been seen `times` times. */
function recordingLogger() {
  const events: { level: string; event: string; fields: Record<string, unknown> }[] = [];
  const waiters: { event: string; times: number; done: () => void }[] = [];
  const record = (level: string) => (event: string, fields: Record<string, unknown> = {}) => {
    events.push({ level, event, fields });
    for (const waiter of [...waiters]) {
      if (events.filter((e) => e.event === waiter.event).length >= waiter.times) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.done();
      }
    }
  };
  const log: Logger = { info: record("info"), error: record("error") };
  const seen = (event: string, times = 1) =>
    new Promise<void>((done) => {
      if (events.filter((e) => e.event === event).length >= times) done();
      else waiters.push({ event, times, done });
    });
  return { log, events, seen };
}

test("startHousekeeping: runs soon after start and logs the counts per table, nothing else", async () => {
  const expired = await flowExpiringAt("login", null, -HOUR);
  const { log, events, seen } = recordingLogger();
  const housekeeping = startHousekeeping({ sql, clock: createManualClock(T), config: ctx.config, log, firstRunMs: 0 });
  await seen("housekeeping_purged");
  await housekeeping.stop();
  assert.is((await surviving("flows", [expired])).size, 0);
  const [entry] = events;
  assert.is(entry!.level, "info");
  assert.equal(Object.keys(entry!.fields).sort(), ["deleted", "ms"]);
  const deleted = entry!.fields.deleted as Record<string, unknown>;
  assert.equal(Object.keys(deleted).sort(), ["codes", "flows", "link_tokens", "outbox", "rate_limits", "remember_tokens", "sessions"]);
  for (const count of Object.values(deleted)) assert.type(count, "number");
  assert.ok((deleted.flows as number) >= 1);
});

/** Stands in for postgres.js: every statement answers through `answer`, and concurrency is counted. */
function fakeSql(answer: () => Promise<{ count: number }>) {
  const state = { statements: 0, active: 0, maxActive: 0 };
  const sql = (() => {
    state.statements += 1;
    state.active += 1;
    state.maxActive = Math.max(state.maxActive, state.active);
    return answer().finally(() => (state.active -= 1));
  }) as unknown as Sql;
  return { sql, state };
}

test("startHousekeeping: a database outage is logged (code and message, no rows) and the next run tries again; the app goes on", async () => {
  const outage = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
  const { sql: down } = fakeSql(() => Promise.reject(outage));
  const { log, events, seen } = recordingLogger();
  const housekeeping = startHousekeeping({ sql: down, clock: createManualClock(T), config: ctx.config, log, firstRunMs: 0, intervalMs: 0 });
  await seen("housekeeping_failed", 2);
  await housekeeping.stop();
  assert.equal(events[0], {
    level: "error",
    event: "housekeeping_failed",
    fields: { code: "ECONNREFUSED", error: "connect ECONNREFUSED 127.0.0.1:5432", databaseUnavailable: true },
  });
});

/** A fake database whose first statement hangs until release(); every later one deletes nothing at once. */
function stuckSql(firstCount: number) {
  const gate: { release?: () => void } = {};
  const fake = fakeSql(() =>
    fake.state.statements > 1
      ? Promise.resolve({ count: 0 })
      : new Promise((done) => {
          gate.release = () => done({ count: firstCount });
        }),
  );
  const started = async () => {
    while (!gate.release) await new Promise((done) => setImmediate(done));
  };
  return { ...fake, started, release: () => gate.release!() };
}

test("startHousekeeping: the next run waits for the previous one to end, however short the interval", async () => {
  const db = stuckSql(0);
  const { log, seen } = recordingLogger();
  const housekeeping = startHousekeeping({ sql: db.sql, clock: createManualClock(T), config: ctx.config, log, firstRunMs: 0, intervalMs: 0 });
  await db.started();
  // A real-timer scheduler: give a 0 ms interval time to fire while the first run is still stuck.
  await new Promise((done) => setTimeout(done, 20));
  assert.is(db.state.statements, 1, "no second run started");
  db.release();
  await seen("housekeeping_purged", 3);
  await housekeeping.stop();
  assert.is(db.state.maxActive, 1);
  assert.ok(db.state.statements >= 3 * 7, `${db.state.statements} statements`);
});

test("startHousekeeping: stop() waits for a running purge, which ends after its current batch however big the backlog", async () => {
  const db = stuckSql(PURGE_BATCH); // a full batch: more may be left
  const { log, events } = recordingLogger();
  const housekeeping = startHousekeeping({ sql: db.sql, clock: createManualClock(T), config: ctx.config, log, firstRunMs: 0 });
  await db.started();
  const stopping = housekeeping.stop();
  db.release();
  await stopping;
  assert.is(events.filter((e) => e.event === "housekeeping_purged").length, 1, "stop() resolved after the run ended");
  assert.is(db.state.statements, 1, "no batch after stop()");
  assert.is((events[0]!.fields.deleted as Record<string, number>).sessions, PURGE_BATCH);
});

test.run();
