/**
 * The transactional outbox: a message exists only if the transaction that made its code or link
 * committed; it goes out at once; a failing provider is retried with backoff and finally given
 * up; two instances never send one message twice; a dead instance's claim is taken over.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import postgres from "postgres";
import { getTestDatabase, testConfig, uniqueEmail } from "../support/harness.ts";
import { createOutbox, MAX_SEND_ATTEMPTS, retryDelay, CLAIM_MS, type Outbox } from "../../src/delivery/outbox.ts";
import { createSendgridTransport } from "../../src/delivery/sendgrid.ts";
import type { OutgoingMessage, Transport } from "../../src/delivery/transport.ts";
import { describeDuration, emailLoginCode } from "../../src/delivery/messages.ts";
import { SECOND, MINUTE, HOUR, DAY } from "../../src/clock.ts";
import { silentLogger, type Logger } from "../../src/log.ts";
import type { Sql } from "../../src/db/client.ts";
import { createVoiceCode, isolatedClock, startStub } from "../contract/delivery-support.ts";

let sql: Sql;
const config = testConfig();
const started: Outbox[] = [];

test.before(async () => {
  sql = (await getTestDatabase()).sql;
});

test.after(async () => {
  await Promise.all(started.map((outbox) => outbox.stop()));
});

/** A transport that records what it was asked to send; `fail` decides per call whether to throw. */
function recordingTransport(fail: (message: OutgoingMessage, call: number) => boolean = () => false) {
  const sent: OutgoingMessage[] = [];
  let calls = 0;
  const transport: Transport = {
    provider: "recorder",
    keepsText: false,
    async send(message) {
      calls += 1;
      // Let the other outbox run between claim and record, as a slow provider would.
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
      if (fail(message, calls)) throw Object.assign(new Error(`provider refused: ${message.text}`), { status: 503 });
      sent.push(message);
      return { providerId: `rec-${message.id}` };
    },
  };
  return { transport, sent };
}

function capturingLogger() {
  const lines: string[] = [];
  const logger: Logger = {
    info: (event, fields) => lines.push(JSON.stringify({ event, ...fields })),
    error: (event, fields) => lines.push(JSON.stringify({ event, ...fields })),
  };
  return { logger, lines };
}

function outboxWith(options: Partial<Parameters<typeof createOutbox>[0]> & { clock: ReturnType<typeof isolatedClock> }): Outbox {
  const outbox = createOutbox({ sql, config, log: silentLogger, print: () => {}, ...options });
  started.push(outbox);
  return outbox;
}

async function row(id: number) {
  const [r] = await sql<{ status: string; attempts: number; body: string | null; provider: string | null; next_attempt_at: Date; last_error: string | null; locked_until: Date | null }[]>`
    select status, attempts, body, provider, next_attempt_at, last_error, locked_until from outbox where id = ${id}`;
  return r!;
}

test("a message enqueued in a transaction that rolls back does not exist", async () => {
  const clock = isolatedClock();
  const { transport, sent } = recordingTransport();
  const outbox = outboxWith({ clock, transports: { email: transport } });
  const to = uniqueEmail("rolled-back");
  await sql
    .begin(async (tx) => {
      await outbox.enqueue(tx, { channel: "email", to, subject: "Code", text: "Your code is 123456" });
      throw new Error("the code's insert failed");
    })
    .catch(() => {});
  outbox.kick();
  await outbox.drain();
  const rows = await sql`select id from outbox where recipient = ${to}`;
  assert.is(rows.length, 0);
  assert.is(sent.filter((m) => m.to === to).length, 0);
});

test("a committed message stays pending until kicked, then goes out at once", async () => {
  const clock = isolatedClock();
  const { transport, sent } = recordingTransport();
  const outbox = outboxWith({ clock, transports: { email: transport } });
  const to = uniqueEmail("at-once");
  const id = await sql.begin((tx) => outbox.enqueue(tx, { channel: "email", to, subject: "Hello", text: "Body text" }));
  assert.is((await row(id)).status, "pending");
  outbox.kick();
  await outbox.drain();
  const after = await row(id);
  assert.is(after.status, "sent");
  assert.is(after.provider, "recorder");
  assert.is(after.body, null, "a real provider's accepted text is erased");
  assert.equal(
    sent.filter((m) => m.to === to).map((m) => [m.id, m.subject, m.text]),
    [[id, "Hello", "Body text"]],
  );
});

test("the dev transport prints channel, recipient, subject and text, and keeps the text for /dev/outbox", async () => {
  const clock = isolatedClock();
  const printed: string[] = [];
  const outbox = outboxWith({ clock, print: (line) => printed.push(line) });
  const to = uniqueEmail("dev-print");
  const id = await sql.begin((tx) => outbox.enqueue(tx, { channel: "email", to, subject: "Dev subject", text: "Dev text 42" }));
  outbox.kick();
  await outbox.drain();
  const line = printed.find((p) => p.includes(to));
  assert.ok(line, "printed");
  assert.ok(line!.includes("email") && line!.includes("Dev subject") && line!.includes("Dev text 42"), line);
  const after = await row(id);
  assert.is(after.status, "sent");
  assert.is(after.provider, "dev");
  assert.is(after.body, "Dev text 42");
});

test("a failing provider is retried with backoff: 500, 500, then accepted — exactly one accepted send", async () => {
  const clock = isolatedClock();
  const stub = await startStub(() => ({ status: 202, headers: { "x-message-id": "sg-retry" } }));
  try {
    stub.replies.push({ status: 500, json: { errors: [{ message: "internal" }] } }, { status: 500, json: { errors: [{ message: "internal" }] } });
    const mail = { kind: "sendgrid" as const, apiKey: "SG.retry-key", from: "no-reply@portal.example" };
    const { logger, lines } = capturingLogger();
    const outbox = outboxWith({ clock, log: logger, transports: { email: createSendgridTransport(mail, { baseUrl: stub.url }) } });
    const to = uniqueEmail("retry");
    const message = emailLoginCode("909182", "30 seconds");
    const id = await sql.begin((tx) => outbox.enqueue(tx, { channel: "email", to, ...message }));
    const mine = () => stub.requests.filter((r) => r.body.includes(to)).length;

    outbox.kick();
    await outbox.drain();
    let state = await row(id);
    assert.is(state.status, "pending");
    assert.is(state.attempts, 1);
    assert.is(state.next_attempt_at.getTime(), clock.now().getTime() + 5 * SECOND);
    assert.is(mine(), 1);

    outbox.kick(); // not due yet: nothing is sent
    await outbox.drain();
    assert.is(mine(), 1);

    clock.advance(5 * SECOND);
    outbox.kick();
    await outbox.drain();
    state = await row(id);
    assert.is(state.status, "pending");
    assert.is(state.attempts, 2);
    assert.is(state.next_attempt_at.getTime(), clock.now().getTime() + 30 * SECOND);
    assert.is(mine(), 2);

    clock.advance(30 * SECOND);
    outbox.kick();
    await outbox.drain();
    state = await row(id);
    assert.is(state.status, "sent");
    assert.is(state.attempts, 3);
    assert.is(state.body, null);
    assert.is(mine(), 3);

    clock.advance(HOUR);
    outbox.kick();
    await outbox.drain();
    assert.is(mine(), 3, "never sent again once accepted");
    const accepted = stub.requests.filter((r) => r.body.includes(to)).length - 2;
    assert.is(accepted, 1);
    assert.not.ok(lines.some((l) => l.includes("909182") || l.includes(to)), "logs hold neither the text nor the recipient");
    assert.ok(lines.some((l) => l.includes("outbox_retry")));
  } finally {
    await stub.close();
  }
});

test("the backoff grows and the message is given up (failed) after the last attempt; nothing of its text is recorded", async () => {
  const clock = isolatedClock();
  const { transport } = recordingTransport(() => true);
  const { logger, lines } = capturingLogger();
  const outbox = outboxWith({ clock, log: logger, transports: { sms: transport } });
  const text = "Your verification code is 777000. It expires in 10 minutes.";
  const id = await sql.begin((tx) => outbox.enqueue(tx, { channel: "sms", to: "+14155550199", text }));
  const delays: number[] = [];
  for (let attempt = 1; attempt <= MAX_SEND_ATTEMPTS; attempt++) {
    outbox.kick();
    await outbox.drain();
    const state = await row(id);
    assert.is(state.attempts, attempt);
    if (attempt < MAX_SEND_ATTEMPTS) {
      assert.is(state.status, "pending");
      delays.push(state.next_attempt_at.getTime() - clock.now().getTime());
      clock.set(state.next_attempt_at);
    } else {
      assert.is(state.status, "failed");
    }
    assert.ok(state.last_error && !state.last_error.includes("777000") && !state.last_error.includes(text), String(state.last_error));
  }
  assert.equal(delays.slice(0, 4), [5 * SECOND, 30 * SECOND, 2 * MINUTE, 10 * MINUTE]);
  for (let i = 1; i < delays.length; i++) assert.ok(delays[i]! >= delays[i - 1]!, "never shrinks");
  assert.ok(Math.max(...delays) <= HOUR, "capped");
  clock.advance(DAY);
  outbox.kick();
  await outbox.drain();
  assert.is((await row(id)).attempts, MAX_SEND_ATTEMPTS, "a failed message is not tried again");
  assert.not.ok(lines.some((l) => l.includes("777000") || l.includes("+14155550199")));
  assert.ok(lines.some((l) => l.includes("outbox_failed")));
  assert.is(retryDelay(100), retryDelay(MAX_SEND_ATTEMPTS));
});

test("two outboxes racing over the same rows send each message exactly once", async () => {
  const clock = isolatedClock();
  const { transport: a, sent: sentA } = recordingTransport();
  const { transport: b, sent: sentB } = recordingTransport();
  const one = outboxWith({ clock, transports: { email: a } });
  const two = outboxWith({ clock, transports: { email: b } });
  const prefix = uniqueEmail("race");
  const ids = await sql.begin(async (tx) => {
    const out: number[] = [];
    // More than one claim batch, so both instances keep claiming while the other sends.
    for (let i = 0; i < 45; i++) out.push(await one.enqueue(tx, { channel: "email", to: `${i}.${prefix}`, subject: "Race", text: `message ${i}` }));
    return out;
  });
  for (let i = 0; i < 3; i++) {
    one.kick();
    two.kick();
  }
  await Promise.all([one.drain(), two.drain()]);
  const sent = [...sentA, ...sentB].filter((m) => m.to.endsWith(prefix)).map((m) => m.id);
  assert.is(sent.length, ids.length, "every message sent once, none twice");
  assert.equal([...new Set(sent)].sort((x, y) => x - y), ids);
  assert.ok(sentA.some((m) => m.to.endsWith(prefix)) || sentB.some((m) => m.to.endsWith(prefix)));
  const states = await sql<{ status: string; attempts: number }[]>`select status, attempts from outbox where id in ${sql(ids)}`;
  assert.ok(states.every((s) => s.status === "sent" && s.attempts === 1), JSON.stringify(states.slice(0, 3)));
});

test("a row claimed by an instance that died mid-send is taken over once its claim expired", async () => {
  const clock = isolatedClock();
  const { transport, sent } = recordingTransport();
  const outbox = outboxWith({ clock, transports: { email: transport } });
  const to = uniqueEmail("dead-instance");
  const id = await sql.begin((tx) => outbox.enqueue(tx, { channel: "email", to, subject: "S", text: "T" }));
  // What a dead instance leaves: claimed, never marked.
  await sql`update outbox set status = 'sending', attempts = 1, locked_until = ${new Date(clock.now().getTime() + CLAIM_MS)} where id = ${id}`;

  outbox.kick();
  await outbox.drain();
  assert.is((await row(id)).status, "sending", "a live claim is left alone");
  assert.is(sent.filter((m) => m.to === to).length, 0);

  clock.advance(CLAIM_MS + SECOND);
  outbox.kick();
  await outbox.drain();
  const after = await row(id);
  assert.is(after.status, "sent");
  assert.is(after.attempts, 2);
  assert.is(after.locked_until, null);
  assert.is(sent.filter((m) => m.to === to).length, 1);
});

test("a call whose code is gone is given up instead of ringing for nothing", async () => {
  const clock = isolatedClock();
  const { transport, sent } = recordingTransport();
  const outbox = outboxWith({ clock, transports: { voice: transport } });
  await assert_rejects(() => sql.begin((tx) => outbox.enqueue(tx, { channel: "voice", to: "+14155550100", text: "Hello" })));
  const [inserted] = await sql<{ id: string }[]>`
    insert into outbox (channel, recipient, body, status, next_attempt_at, created_at)
    values ('voice', '+14155550101', 'Hello', 'pending', ${clock.now()}, ${clock.now()}) returning id::text as id`;
  outbox.kick();
  await outbox.drain();
  const state = await row(Number(inserted!.id));
  assert.is(state.status, "failed");
  assert.is(sent.length, 0);
});

test("a call whose code expired while the provider was failing is given up, not placed late", async () => {
  const clock = isolatedClock();
  const { transport, sent } = recordingTransport((_message, call) => call === 1);
  const outbox = outboxWith({ clock, transports: { voice: transport } });
  const voice = await createVoiceCode(sql, clock, config.secretKey, "+14155550102");
  const id = await sql.begin((tx) => outbox.enqueue(tx, { channel: "voice", to: "+14155550102", codeId: voice.codeId, text: "Hello" }));
  outbox.kick();
  await outbox.drain();
  assert.is((await row(id)).status, "pending");
  clock.advance(6 * MINUTE); // the code lives 5 minutes
  outbox.kick();
  await outbox.drain();
  const state = await row(id);
  assert.is(state.status, "failed");
  assert.match(String(state.last_error), /expired or was used/);
  assert.is(sent.length, 0);
});

test("kick() never throws and drain() resolves when the database is unreachable; the failure is logged", async () => {
  const clock = isolatedClock();
  const dead = postgres({ host: "127.0.0.1", port: 1, connect_timeout: 1, max: 1, onnotice: () => {} });
  const { logger, lines } = capturingLogger();
  const outbox = createOutbox({ sql: dead, clock, config, log: logger, print: () => {} });
  assert.not.throws(() => outbox.kick());
  await outbox.drain();
  await outbox.stop();
  await dead.end({ timeout: 1 });
  assert.ok(lines.some((l) => l.includes("outbox_pass_failed")), lines.join("\n"));
});

test("message lifetimes read as words", () => {
  assert.is(describeDuration(2 * DAY), "2 days");
  assert.is(describeDuration(20 * MINUTE), "20 minutes");
  assert.is(describeDuration(30 * SECOND), "30 seconds");
  assert.is(describeDuration(HOUR), "1 hour");
  assert.is(describeDuration(90 * MINUTE), "90 minutes");
});

async function assert_rejects(run: () => Promise<unknown>) {
  let threw = false;
  await run().catch(() => {
    threw = true;
  });
  assert.ok(threw, "expected a rejection");
}

test.run();
