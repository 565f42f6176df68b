/**
 * The dev outbox of the contract: /dev/outbox.json (newest first: id, channel, to, subject,
 * text, createdAt), the /dev/outbox page, POST /dev/outbox/{id}/answer standing in for a person
 * keying digits during a call, and no /dev at all once both real providers are configured.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, texts, uniqueEmail, type TestContext } from "../support/harness.ts";
import { KEYPAD_PROMPT, smsCode, voiceCallIntro, emailVerificationCode } from "../../src/delivery/messages.ts";
import { createVoiceCode } from "../contract/delivery-support.ts";

let ctx: TestContext;
const TWILIO = { TWILIO_ACCOUNT_SID: "AC" + "1".repeat(32), TWILIO_AUTH_TOKEN: "dev-outbox-test-token", TWILIO_FROM_NUMBER: "+15005550006" };
const SENDGRID = { SENDGRID_API_KEY: "SG.dev-outbox-test", MAIL_FROM: "no-reply@portal.example" };

test.before(async () => {
  ctx = await createTestContext();
});

interface Entry {
  id: number;
  channel: string;
  to: string;
  subject: string | null;
  text: string;
  createdAt: string;
}

async function list(path = "/dev/outbox.json"): Promise<Entry[]> {
  const page = await ctx.browser().get(path);
  assert.is(page.status, 200);
  assert.match(page.headers.get("content-type") ?? "", /application\/json/);
  return JSON.parse(page.text) as Entry[];
}

/** An email, an SMS and a call, queued and dispatched the way the flows do it. */
async function sendThree() {
  const email = uniqueEmail("dev-outbox");
  const phone = `+1415555${String(Date.now() % 10000).padStart(4, "0")}`;
  const voice = await createVoiceCode(ctx.sql, ctx.clock, ctx.config.secretKey, phone);
  const ids = await ctx.sql.begin(async (tx) => [
    await ctx.outbox.enqueue(tx, { channel: "email", to: email, ...emailVerificationCode("123456", "10 minutes") }),
    await ctx.outbox.enqueue(tx, { channel: "sms", to: phone, ...smsCode("654321", "10 minutes") }),
    await ctx.outbox.enqueue(tx, { channel: "voice", to: phone, codeId: voice.codeId, ...voiceCallIntro(ctx.config.portalName) }),
  ]);
  ctx.outbox.kick();
  await ctx.outbox.drain();
  return { email, phone, voice, ids: ids as [number, number, number] };
}

test("/dev/outbox.json lists every message newest first with exactly id, channel, to, subject, text, createdAt", async () => {
  // Enough messages that ids cross a power of ten: "newest first" is numeric, not textual.
  await ctx.sql.begin(async (tx) => {
    for (let i = 0; i < 12; i++) await ctx.outbox.enqueue(tx, { channel: "email", to: uniqueEmail("filler"), subject: "Filler", text: "Filler" });
  });
  const { email, phone, voice, ids } = await sendThree();
  const entries = await list();
  const all = entries.map((e) => e.id);
  assert.equal(all, [...all].sort((a, b) => b - a), "newest first");
  const mine = entries.filter((e) => ids.includes(e.id));
  assert.equal(
    mine.map((e) => [e.id, e.channel, e.to]),
    [
      [ids[2], "voice", phone],
      [ids[1], "sms", phone],
      [ids[0], "email", email],
    ],
  );
  for (const entry of mine) {
    assert.equal(Object.keys(entry).sort(), ["channel", "createdAt", "id", "subject", "text", "to"]);
    assert.is(entry.createdAt, new Date(entry.createdAt).toISOString());
  }
  const [call, sms, mail] = mine as [Entry, Entry, Entry];
  assert.is(mail.subject, "Your email verification code");
  assert.match(mail.text, /123456/);
  assert.is(sms.subject, null);
  assert.match(sms.text, /654321/);
  assert.ok(call.text.includes(ctx.config.portalName) && call.text.includes(KEYPAD_PROMPT), "a call's text is what it says");
  assert.not.ok(call.text.includes(voice.code), "the call never says the code");
});

test("/dev/outbox.json?to= narrows the list to one recipient", async () => {
  const { email, ids } = await sendThree();
  const entries = await list(`/dev/outbox.json?to=${encodeURIComponent(email)}`);
  assert.equal(entries.map((e) => e.id), [ids[0]]);
});

test("/dev/outbox is a page with a captioned table of the messages, newest first, and a form to answer each call", async () => {
  const { email, ids } = await sendThree();
  const page = await ctx.browser().get("/dev/outbox");
  assert.is(page.status, 200);
  assert.match(page.headers.get("content-type") ?? "", /text\/html/);
  assert.equal(texts(page, "h1"), ["Dev outbox"]);
  assert.equal(texts(page, "caption"), ["Messages, newest first"]);
  assert.equal(texts(page, "thead th"), ["Sent", "Channel", "To", "Subject", "Text"]);
  assert.ok([...page.document.querySelectorAll("thead th")].every((th) => th.getAttribute("scope") === "col"));
  const rows = texts(page, "tbody tr");
  const emailRow = rows.findIndex((r) => r.includes(email));
  assert.ok(emailRow >= 0);
  assert.ok(rows.findIndex((r) => r.includes("Call")) < emailRow, "the call (newer) comes first");
  const form = page.document.querySelector(`form[action="/dev/outbox/${ids[2]}/answer"]`);
  assert.ok(form, "the call can be answered from the page");
  const input = form!.querySelector("input[name=digits]")!;
  assert.ok(form!.querySelector(`label[for="${input.getAttribute("id")}"]`), "the digits field has a label");
});

test("POST /dev/outbox/{id}/answer keys digits into the call: a wrong code, then the right one followed by #", async () => {
  const { voice, ids } = await sendThree();
  const browser = ctx.browser();
  const wrongDigits = voice.code === "000000" ? "111111" : "000000";
  const wrong = await browser.post(`/dev/outbox/${ids[2]}/answer`, { digits: wrongDigits + "#" }, { origin: null });
  assert.is(wrong.status, 200, "exempt from the origin check: it stands in for a phone");
  assert.equal(JSON.parse(wrong.text), { id: ids[2], result: "wrong" });
  let [code] = await ctx.sql`select confirmed_at, attempts from codes where id = ${voice.codeId}`;
  assert.is(code!.confirmed_at, null);

  const right = await browser.post(`/dev/outbox/${ids[2]}/answer`, { digits: voice.code + "#" }, { origin: null });
  assert.equal(JSON.parse(right.text), { id: ids[2], result: "confirmed" });
  [code] = await ctx.sql`select confirmed_at, attempts from codes where id = ${voice.codeId}`;
  assert.ok(code!.confirmed_at, "the call confirmed the code");
  assert.is(code!.attempts, 2);
});

test("the answer form, posted by a browser, shows a page with the result", async () => {
  const { voice, ids } = await sendThree();
  const page = await ctx.browser().post(`/dev/outbox/${ids[2]}/answer`, { digits: voice.code }, { headers: { accept: "text/html" } });
  assert.is(page.status, 200);
  assert.equal(texts(page, "h1"), [`Call ${ids[2]} answered`]);
  assert.match(texts(page, "[role=status]")[0] ?? "", /confirmed the code/);
});

test("answering a message that is no call, or no message at all, is 404; a missing digits field is 400", async () => {
  const { ids } = await sendThree();
  const browser = ctx.browser();
  assert.is((await browser.post(`/dev/outbox/${ids[0]}/answer`, { digits: "123456" })).status, 404);
  assert.is((await browser.post(`/dev/outbox/${ids[1]}/answer`, { digits: "654321" })).status, 404);
  assert.is((await browser.post(`/dev/outbox/999999999/answer`, { digits: "123456" })).status, 404);
  assert.is((await browser.post(`/dev/outbox/${ids[2]}/answer`, { other: "1" })).status, 400);
});

test("with SendGrid and Twilio configured, none of /dev exists", async () => {
  const real = await createTestContext({ env: { ...SENDGRID, ...TWILIO } });
  const browser = real.browser();
  assert.is((await browser.get("/dev/outbox")).status, 404);
  assert.is((await browser.get("/dev/outbox.json")).status, 404);
  const voice = await createVoiceCode(real.sql, real.clock, real.config.secretKey);
  const [row] = await real.sql<{ id: string }[]>`
    insert into outbox (channel, recipient, body, code_id, status, next_attempt_at, created_at)
    values ('voice', '+14155550123', 'Hello', ${voice.codeId}, 'failed', ${real.clock.now()}, ${real.clock.now()}) returning id::text as id`;
  assert.is((await browser.post(`/dev/outbox/${row!.id}/answer`, { digits: voice.code })).status, 404);
  const [code] = await real.sql`select confirmed_at from codes where id = ${voice.codeId}`;
  assert.is(code!.confirmed_at, null);
  await real.outbox.stop();
});

test("with only SendGrid configured, /dev lists the SMS and calls but no email", async () => {
  const half = await createTestContext({ env: SENDGRID });
  const { email, phone } = await sendThree(); // queued through the all-dev context
  const page = await half.browser().get("/dev/outbox.json");
  assert.is(page.status, 200);
  const entries = JSON.parse(page.text) as Entry[];
  assert.not.ok(entries.some((e) => e.channel === "email"));
  assert.not.ok(entries.some((e) => e.to === email));
  assert.ok(entries.some((e) => e.to === phone && e.channel === "sms"));
  await half.outbox.stop();
});

test.run();
