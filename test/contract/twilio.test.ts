/**
 * The real twilio package against a local stub of Twilio's REST API: the SMS and the call that
 * leave the portal (endpoint, Basic credentials, sender, recipient, text, the call's TwiML and
 * where its <Gather> posts the keyed digits), and that the outbox forgets the text once Twilio
 * accepted it (ASVS 16.2.5).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseHTML } from "linkedom";
import { getTestDatabase, testConfig, PUBLIC_URL } from "../support/harness.ts";
import { createOutbox, type Outbox } from "../../src/delivery/outbox.ts";
import { createTwilioTransport } from "../../src/delivery/twilio.ts";
import { smsCode, voiceCallIntro, KEYPAD_PROMPT } from "../../src/delivery/messages.ts";
import { silentLogger } from "../../src/log.ts";
import type { Sql } from "../../src/db/client.ts";
import { createVoiceCode, isolatedClock, startStub, type Stub } from "./delivery-support.ts";

const SID = "AC0123456789abcdef0123456789abcdef";
const TOKEN = "contract-auth-token-0123456789";
const FROM = "+15005550006";

let stub: Stub;
let sql: Sql;
let outbox: Outbox;
const config = testConfig({ TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: TOKEN, TWILIO_FROM_NUMBER: FROM });
const clock = isolatedClock();
let numbers = 0;
const uniqueNumber = () => `+1415555${String((process.pid + ++numbers) % 10000).padStart(4, "0")}`;

test.before(async () => {
  sql = (await getTestDatabase()).sql;
  stub = await startStub((request) => {
    const sid = (request.url.includes("/Calls.json") ? "CA" : "SM") + "f".repeat(32);
    return { status: 201, json: { sid, account_sid: SID, status: "queued" } };
  });
  if (config.phone.kind !== "twilio") throw new Error("expected Twilio settings");
  const transport = createTwilioTransport(config.phone, config.publicUrl, { baseUrl: stub.url });
  outbox = createOutbox({ sql, clock, config, log: silentLogger, transports: { sms: transport, voice: transport } });
});

test.after(async () => {
  await outbox.stop();
  await stub.close();
});

function form(body: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(body));
}

function requestsTo(to: string) {
  return stub.requests.filter((r) => form(r.body).To === to);
}

const basic = "Basic " + Buffer.from(`${SID}:${TOKEN}`).toString("base64");

test("an SMS is POSTed to Messages.json with Basic sid:token, To, From and the text", async () => {
  const to = uniqueNumber();
  const message = smsCode("314159", "10 minutes");
  const id = await sql.begin((tx) => outbox.enqueue(tx, { channel: "sms", to, ...message }));
  outbox.kick();
  await outbox.drain();

  const [request, ...more] = requestsTo(to);
  assert.ok(request, "Twilio received the SMS");
  assert.is(more.length, 0);
  assert.is(request.method, "POST");
  assert.is(request.url, `/2010-04-01/Accounts/${SID}/Messages.json`);
  assert.is(request.headers.authorization, basic);
  assert.match(String(request.headers["content-type"]), /^application\/x-www-form-urlencoded/);
  assert.equal(form(request.body), { To: to, From: FROM, Body: message.text });
  assert.match(message.text, /314159/);
  assert.match(message.text, /10 minutes/);

  const [row] = await sql`select status, provider, provider_id, body from outbox where id = ${id}`;
  assert.is(row!.status, "sent");
  assert.is(row!.provider, "twilio");
  assert.is(row!.provider_id, "SM" + "f".repeat(32));
  assert.is(row!.body, null, "the text is erased once Twilio accepted it (ASVS 16.2.5)");
});

test("a call is POSTed to Calls.json with TwiML whose <Gather> posts dtmf digits ended by # to the signed webhook", async () => {
  const to = uniqueNumber();
  const { codeId, code } = await createVoiceCode(sql, clock, config.secretKey, to);
  const message = voiceCallIntro("Provider Portal");
  const id = await sql.begin((tx) => outbox.enqueue(tx, { channel: "voice", to, codeId, ...message }));
  outbox.kick();
  await outbox.drain();

  const [request, ...more] = requestsTo(to);
  assert.ok(request, "Twilio received the call");
  assert.is(more.length, 0);
  assert.is(request.method, "POST");
  assert.is(request.url, `/2010-04-01/Accounts/${SID}/Calls.json`);
  assert.is(request.headers.authorization, basic);
  const fields = form(request.body);
  assert.is(fields.To, to);
  assert.is(fields.From, FROM);
  assert.not.ok(fields.Url, "the call's TwiML is sent inline, not fetched");

  const twiml = fields.Twiml!;
  const { document } = parseHTML(`<body>${twiml.replace(/<\?xml[^>]*\?>/, "")}</body>`);
  const gather = document.querySelector("Gather") ?? document.querySelector("gather");
  assert.ok(gather, twiml);
  assert.is(gather!.getAttribute("action"), `${PUBLIC_URL}/webhooks/twilio/voice/${codeId}`);
  assert.is(gather!.getAttribute("method"), "POST");
  assert.is(gather!.getAttribute("finishOnKey") ?? gather!.getAttribute("finishonkey"), "#");
  assert.is(gather!.getAttribute("input"), "dtmf");
  assert.is(gather!.getAttribute("timeout"), "10");
  const said = gather!.textContent ?? "";
  assert.ok(said.includes("Provider Portal"), said);
  assert.ok(said.includes(KEYPAD_PROMPT), said);
  assert.match(twiml, /<\/Gather><Say>We did not receive any digits\. Goodbye\.<\/Say><\/Response>$/);
  assert.not.ok(twiml.includes(code), "the call never says the code: the person keys in the one on their screen");

  const [row] = await sql`select status, provider, provider_id, body, code_id::text as code_id from outbox where id = ${id}`;
  assert.is(row!.status, "sent");
  assert.is(row!.provider, "twilio");
  assert.is(row!.provider_id, "CA" + "f".repeat(32));
  assert.is(row!.body, null);
  assert.is(row!.code_id, codeId);
});

test("Twilio's refusal (400, invalid number) leaves the SMS for a retry without its text in last_error", async () => {
  const to = uniqueNumber();
  stub.replies.push({ status: 400, json: { code: 21211, message: `The 'To' number ${to} is not a valid phone number.`, status: 400 } });
  const message = smsCode("271828", "10 minutes");
  const id = await sql.begin((tx) => outbox.enqueue(tx, { channel: "sms", to, ...message }));
  outbox.kick();
  await outbox.drain();
  const [row] = await sql`select status, body, last_error from outbox where id = ${id}`;
  assert.is(row!.status, "pending");
  assert.match(row!.last_error, /400/);
  assert.not.match(row!.last_error, /271828/);
  assert.not.ok(String(row!.last_error).includes(to.slice(2)));
  clock.advance(10_000);
  outbox.kick();
  await outbox.drain();
  const [after] = await sql`select status, body from outbox where id = ${id}`;
  assert.is(after!.status, "sent");
  assert.is(after!.body, null);
});

test.run();
