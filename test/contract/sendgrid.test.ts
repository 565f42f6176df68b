/**
 * The real @sendgrid/mail package against a local stub of SendGrid's v3 API: what leaves the
 * portal for each email (endpoint, credentials, sender, recipient, subject, text), and that the
 * outbox forgets the text once SendGrid accepted it (ASVS 16.2.5).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { getTestDatabase, testConfig, uniqueEmail } from "../support/harness.ts";
import { createOutbox, type Outbox } from "../../src/delivery/outbox.ts";
import { createSendgridTransport } from "../../src/delivery/sendgrid.ts";
import { registrationLink, emailLoginCode } from "../../src/delivery/messages.ts";
import { silentLogger } from "../../src/log.ts";
import type { Sql } from "../../src/db/client.ts";
import { isolatedClock, startStub, type Stub } from "./delivery-support.ts";

const API_KEY = "SG.contract-test-key.0123456789abcdef";
const FROM = "no-reply@portal.example";

let stub: Stub;
let sql: Sql;
let outbox: Outbox;
const config = testConfig({ SENDGRID_API_KEY: API_KEY, MAIL_FROM: FROM });
const clock = isolatedClock();

test.before(async () => {
  sql = (await getTestDatabase()).sql;
  stub = await startStub(() => ({ status: 202, headers: { "x-message-id": "sg-message-1" } }));
  if (config.mail.kind !== "sendgrid") throw new Error("expected SendGrid settings");
  outbox = createOutbox({ sql, clock, config, log: silentLogger, transports: { email: createSendgridTransport(config.mail, { baseUrl: stub.url }) } });
});

test.after(async () => {
  await outbox.stop();
  await stub.close();
});

function requestsTo(to: string) {
  return stub.requests.filter((r) => r.body.includes(to));
}

test("an email goes to POST /v3/mail/send with the API key as Bearer token, sender, recipient, subject and text", async () => {
  const to = uniqueEmail("sendgrid");
  const message = registrationLink("Provider Portal", "http://portal.test/register/link/abc.def", "2 days");
  const id = await sql.begin((tx) => outbox.enqueue(tx, { channel: "email", to, ...message }));
  outbox.kick();
  await outbox.drain();

  const [request, ...more] = requestsTo(to);
  assert.ok(request, "SendGrid received the email");
  assert.is(more.length, 0, "exactly one request");
  assert.is(request.method, "POST");
  assert.is(request.url, "/v3/mail/send");
  assert.is(request.headers.authorization, `Bearer ${API_KEY}`);
  assert.match(String(request.headers["content-type"]), /^application\/json/);
  const body = JSON.parse(request.body);
  assert.equal(body.from, { email: FROM });
  assert.is(body.personalizations.length, 1);
  assert.equal(body.personalizations[0].to, [{ email: to }]);
  assert.is(body.subject, message.subject);
  assert.equal(body.content, [{ type: "text/plain", value: message.text }]);
  // A click-tracking redirect would see the one-time link.
  assert.is(body.tracking_settings.click_tracking.enable, false);

  const [row] = await sql`select status, provider, provider_id, body, sent_at, attempts from outbox where id = ${id}`;
  assert.is(row!.status, "sent");
  assert.is(row!.provider, "sendgrid");
  assert.is(row!.provider_id, "sg-message-1");
  assert.is(row!.body, null, "the text is erased once SendGrid accepted it (ASVS 16.2.5)");
  assert.is(row!.attempts, 1);
  assert.ok(row!.sent_at);
});

test("a code email carries the code and its lifetime, and nothing else secret", async () => {
  const to = uniqueEmail("sendgrid-code");
  const message = emailLoginCode("042917", "30 seconds");
  await sql.begin((tx) => outbox.enqueue(tx, { channel: "email", to, ...message }));
  outbox.kick();
  await outbox.drain();
  const [request] = requestsTo(to);
  const body = JSON.parse(request!.body);
  assert.match(body.content[0].value, /042917/);
  assert.match(body.content[0].value, /30 seconds/);
  assert.not.match(body.subject, /042917/, "the code stays out of the subject line (lock-screen previews)");
});

test("a refusal by SendGrid keeps the message for a retry and records no text", async () => {
  const to = uniqueEmail("sendgrid-refused");
  stub.replies.push({ status: 401, json: { errors: [{ message: "The provided authorization grant is invalid, expired, or revoked", field: null }] } });
  const message = emailLoginCode("555123", "30 seconds");
  const id = await sql.begin((tx) => outbox.enqueue(tx, { channel: "email", to, ...message }));
  outbox.kick();
  await outbox.drain();
  const [row] = await sql`select status, body, last_error, attempts from outbox where id = ${id}`;
  assert.is(row!.status, "pending");
  assert.is(row!.body, message.text, "kept until a send succeeds");
  assert.match(row!.last_error, /401/);
  assert.not.match(row!.last_error, /555123/);
  assert.not.ok(String(row!.last_error).includes(to));
  // Leave nothing due behind for other files: let the retry go through.
  clock.advance(10_000);
  outbox.kick();
  await outbox.drain();
  const [after] = await sql`select status, body from outbox where id = ${id}`;
  assert.is(after!.status, "sent");
  assert.is(after!.body, null);
});

test.run();
