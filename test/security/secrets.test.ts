/**
 * Codes, tokens and passwords never appear in logs, in URLs after the redirect, in pages (but
 * the Call Me keypad code, shown on purpose), or in the audit log; a real provider's accepted
 * message loses its text (ASVS 16.2.5). One long journey through every kind of secret, with
 * every page, URL, log line and audit event recorded, then searched for every secret used.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Browser, createTestContext, getTestDatabase, testConfig, uniqueEmail, type Page, type TestContext } from "../support/harness.ts";
import { createActiveUser } from "../support/users.ts";
import { useFreshAddress } from "../support/sign-in.ts";
import { signedInAdmin } from "../support/admin.ts";
import { createOutbox } from "../../src/delivery/outbox.ts";
import type { OutgoingMessage, Transport } from "../../src/delivery/transport.ts";
import { systemClock } from "../../src/clock.ts";
import { createLogger } from "../../src/log.ts";
import { invite, lastBody, linkPath, REGISTRATION_PASSWORD } from "./support/registration.ts";

const TWILIO = { TWILIO_ACCOUNT_SID: "AC" + "7".repeat(32), TWILIO_AUTH_TOKEN: "secrets-test-auth-token-0123456789", TWILIO_FROM_NUMBER: "+15005550006", LOG_REQUESTS: "1" };

let ctx: TestContext;
const logLines: string[] = [];
const phoneMessages: OutgoingMessage[] = [];
const pages: Page[] = [];
const secrets = new Set<string>();

/** A Browser that keeps every page it was shown (HTML and final URL). */
class RecordingBrowser extends Browser {
  override async get(...args: Parameters<Browser["get"]>): Promise<Page> {
    const page = await super.get(...args);
    pages.push(page);
    return page;
  }
  override async post(...args: Parameters<Browser["post"]>): Promise<Page> {
    const page = await super.post(...args);
    pages.push(page);
    return page;
  }
}

test.before(async () => {
  const phone: Transport = {
    provider: "twilio",
    keepsText: false,
    async send(message) {
      phoneMessages.push(message);
      return { providerId: "SM" + "8".repeat(32) };
    },
  };
  const log = createLogger((line) => logLines.push(line));
  const outbox = createOutbox({ sql: (await getTestDatabase()).sql, clock: systemClock, config: testConfig(TWILIO), log, print: () => {}, transports: { sms: phone, voice: phone } });
  ctx = await createTestContext({ env: TWILIO, outbox });
  ctx.deps.log = log;
  useFreshAddress(ctx);
});

const browser = () => new RecordingBrowser(ctx.app);
const code = (text: string) => /(\d{6})/.exec(text)![1]!;
function keep(...values: (string | undefined)[]) {
  for (const v of values) if (v) secrets.add(v);
}
function keepCookies(b: Browser) {
  for (const [, value] of b.cookies) keep(value, value.split(".")[1]);
}
async function lastSms(to: string): Promise<string> {
  await ctx.outbox.drain();
  const message = [...phoneMessages].reverse().find((m) => m.to === to);
  assert.ok(message, `an SMS to ${to}`);
  return message!.text;
}

test("ASVS 16.2.5: a journey through every secret: registration by SMS, Call Me, sign-in with Remember Me, a refused password, password reset, resume link, admin links", async () => {
  // Registration by phone.
  const invitation = await invite(ctx);
  keep(invitation.token);
  const reg = browser();
  await reg.get(invitation.path);
  await reg.post("/register/method", { method: "phone" });
  await reg.post("/register/email/send");
  const emailCode = code(await lastBody(ctx, invitation.email));
  keep(emailCode, REGISTRATION_PASSWORD);
  await reg.post("/register/email/verify", { code: emailCode });
  await reg.post("/register/password", { password: REGISTRATION_PASSWORD, confirm: REGISTRATION_PASSWORD });
  const phone = "+14155550142";
  await reg.post("/register/phone/send", { phone: "(415) 555-0142", channel: "sms" });
  const smsCode = code(await lastSms(phone));
  keep(smsCode);
  await reg.post("/register/phone/verify", { code: smsCode });
  const home = await reg.post("/register/terms", { agree: "on" });
  assert.is(home.url, "/home");
  keepCookies(reg);
  await reg.post("/logout");

  // Sign-in with phone by SMS with Remember Me, after a refused password.
  const signin = browser();
  await signin.post("/login", { option: "phone", remember: "on" });
  const wrongPassword = "not-my-password-but-close-42";
  keep(wrongPassword);
  assert.is((await signin.post("/login/credentials", { email: invitation.email, password: wrongPassword })).status, 401);
  keepCookies(signin);
  await signin.post("/login/credentials", { email: invitation.email, password: REGISTRATION_PASSWORD });
  keepCookies(signin);
  await signin.post("/login/phone/send");
  const loginSms = code(await lastSms(phone));
  keep(loginSms);
  assert.is((await signin.post("/login/phone/code", { code: loginSms })).url, "/home");
  keepCookies(signin);

  // Call Me during a password reset (the keypad code is meant to be on screen, nowhere else).
  const reset = browser();
  await reset.post("/forgot-password", { email: invitation.email });
  const resetCode = code(await lastBody(ctx, invitation.email));
  keep(resetCode);
  await reset.post("/forgot-password/code", { code: resetCode });
  await reset.post("/forgot-password/verified");
  const calling = await reset.post("/forgot-password/phone/call");
  const keypad = calling.document.querySelector('output[name="keypad-code"]')?.textContent?.trim();
  assert.match(keypad ?? "", /^\d{6}$/);
  await reset.post("/forgot-password/phone/send");
  const resetSms = code(await lastSms(phone));
  keep(resetSms);
  await reset.post("/forgot-password/phone/code", { code: resetSms });
  const newPassword = "quartz-meadow-lantern-88-copper";
  keep(newPassword);
  assert.is((await reset.post("/forgot-password/new-password", { password: newPassword, confirm: newPassword })).url, "/home");
  keepCookies(reset);

  // Having trouble logging in? (a resume link) for someone who stopped after the password.
  const stopped = await invite(ctx);
  keep(stopped.token);
  const half = browser();
  await half.get(stopped.path);
  await half.post("/register/method", { method: "email" });
  await half.post("/register/email/send");
  const stoppedCode = code(await lastBody(ctx, stopped.email));
  keep(stoppedCode);
  await half.post("/register/email/verify", { code: stoppedCode });
  await half.post("/register/password", { password: REGISTRATION_PASSWORD, confirm: REGISTRATION_PASSWORD });
  keepCookies(half);
  await browser().post("/trouble", { email: stopped.email, password: REGISTRATION_PASSWORD });
  const resume = linkPath(await lastBody(ctx, stopped.email));
  keep(resume.split("/").pop());
  await browser().get(resume);

  // Admin: create a user (registration link) and reset a user's MFA (MFA reset link).
  const { browser: adminBrowser } = await signedInAdmin(ctx);
  const admin = new RecordingBrowser(ctx.app);
  admin.cookies = adminBrowser.cookies;
  keepCookies(admin);
  const created = uniqueEmail("created");
  await admin.post("/admin/users", { email: created, name: "Created", role: "provider" });
  keep(linkPath(await lastBody(ctx, created)).split("/").pop());
  const active = await createActiveUser(ctx.sql, { method: "email" });
  await admin.post(`/admin/users/${active.id}/reset-mfa`, { from: "user" });
  keep(linkPath(await lastBody(ctx, active.email)).split("/").pop());
  await ctx.outbox.drain();

  // Every secret is at least 6 characters; none of them may show up below.
  const list = [...secrets];
  assert.ok(list.length >= 15, `secrets collected: ${list.length}`);

  for (const page of pages) {
    assert.not.ok(list.some((s) => page.url.includes(s)), `URL after redirects carries a secret: ${page.url}`);
    const leaked = list.find((s) => page.text.includes(s));
    assert.not.ok(leaked, `a page (${page.url}) shows a secret (${leaked})`);
  }
  assert.ok(pages.some((p) => p.text.includes(keypad!)), "the keypad code is on its page (control)");
  const log = logLines.join("\n");
  assert.ok(logLines.some((l) => l.includes('"request"')), "requests were logged (control)");
  for (const s of [...list, keypad!]) assert.not.ok(log.includes(s), `the log holds a secret: ${s}`);

  const [audit] = await ctx.sql<{ text: string; n: number }[]>`
    select string_agg(concat_ws(' ', event, ip, user_agent, detail::text), E'\n') as text, count(*)::int as n
    from audit_events where user_id in (select id from users where email in ${ctx.sql([invitation.email, stopped.email, created, active.email])})`;
  assert.ok(audit!.n >= 20, `audit events were written (control): ${audit!.n}`);
  for (const s of [...list, keypad!]) assert.not.ok(audit!.text.includes(s), `the audit log holds a secret: ${s}`);

  // Text messages accepted by the (stand-in) provider keep no text in the outbox.
  const rows = await ctx.sql<{ status: string; body: string | null }[]>`select status, body from outbox where recipient = ${phone}`;
  assert.ok(rows.length >= 3);
  for (const row of rows) {
    assert.is(row.status, "sent");
    assert.is(row.body, null, "the text is erased once the provider accepted it");
  }
});

test.run();
