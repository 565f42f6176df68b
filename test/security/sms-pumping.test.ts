/**
 * SMS pumping and send abuse (ASVS 2.4.1, 6.6.3): sends are limited per account, per destination
 * and per client address, in Postgres so that every instance shares them; premium-rate,
 * toll-free, N11, extension and non-US numbers are refused before any provider call.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, uniqueEmail, type TestContext } from "../support/harness.ts";
import { createActiveUser, uniquePhone } from "../support/users.ts";
import { useFreshAddress } from "../support/sign-in.ts";
import { invite, registerUpToTerms } from "./support/registration.ts";
import { toEmailCode, toSmsCode } from "./support/steps.ts";

let ctx: TestContext;

test.before(async () => {
  // Sign-in sends per address at 30 an hour (the default is 600, for a clinic behind one address).
  ctx = await createTestContext({ env: { SIGNIN_SEND_LIMIT: "30/1h" } });
});

test.before.each(() => {
  useFreshAddress(ctx);
});

async function sent(to: string): Promise<number> {
  const [row] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from outbox where recipient = ${to}`;
  return row!.n;
}

test("ASVS 6.6.3, 2.4.1: 5 SMS or calls per account per hour; the 6th is refused with 429 and nothing is sent", async () => {
  const user = await createActiveUser(ctx.sql, { method: "phone" });
  const browser = ctx.browser();
  await toSmsCode(browser, user); // 1
  for (let i = 2; i <= 5; i++) {
    const page = await browser.post(i % 2 ? "/login/phone/send" : "/login/phone/call");
    assert.is(page.status, 200, `send ${i}`);
  }
  const refused = await browser.post("/login/phone/send");
  assert.is(refused.status, 429);
  assert.match(refused.text, /Too many codes/);
  assert.is(await sent(user.phone!), 5);
});

test("ASVS 6.6.3, 2.4.1: 5 SMS or calls per destination per hour, whichever accounts ask", async () => {
  const phone = uniquePhone();
  const a = await createActiveUser(ctx.sql, { method: "phone", phone });
  const b = await createActiveUser(ctx.sql, { method: "phone", phone });
  const first = ctx.browser();
  await toSmsCode(first, a);
  await first.post("/login/phone/send");
  await first.post("/login/phone/send");
  const second = ctx.browser();
  useFreshAddress(ctx);
  await toSmsCode(second, b);
  assert.is((await second.post("/login/phone/send")).status, 200, "5th to the number");
  const refused = await second.post("/login/phone/send");
  assert.is(refused.status, 429, "6th to the number, from an account that sent only 2");
  assert.is(await sent(phone), 5);
});

test("ASVS 2.4.1: 30 sends per client address per hour across accounts; the 31st is refused", async () => {
  const users = await Promise.all([0, 1, 2, 3].map(() => createActiveUser(ctx.sql, { method: "email" })));
  let count = 0;
  let refusedAt = 0;
  for (const user of users) {
    const browser = ctx.browser();
    await toEmailCode(browser, user);
    count += 1;
    for (let i = 1; i < 8 && !refusedAt; i++) {
      const page = await browser.post("/login/email/send");
      if (page.status === 429) refusedAt = count + 1;
      else count += 1;
    }
    if (refusedAt) break;
  }
  assert.is(refusedAt, 31, "the 31st send from one address is refused");
  useFreshAddress(ctx);
  const fresh = await createActiveUser(ctx.sql, { method: "email" });
  await toEmailCode(ctx.browser(), fresh);
  assert.is(await sent(fresh.email), 1, "another address is not affected");
});

test("ASVS 6.6.3: Forgot your password? past the limits answers the same and sends nothing", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const answers = new Set<string>();
  for (let i = 0; i < 12; i++) {
    const page = await ctx.browser().post("/forgot-password", { email: user.email });
    answers.add(`${page.status} ${page.url}`);
  }
  assert.equal([...answers], ["200 /forgot-password/code"], "one answer for all 12");
  assert.is(await sent(user.email), 10, "10 emails per account per hour");
});

test("ASVS 6.6.3: the limits live in Postgres: two app instances on one database share them", async () => {
  const other = await createTestContext({ env: { SIGNIN_SEND_LIMIT: "30/1h" } });
  other.deps.remoteAddress = ctx.deps.remoteAddress;
  const user = await createActiveUser(ctx.sql, { method: "phone" });
  const a = ctx.browser();
  await toSmsCode(a, user);
  await a.post("/login/phone/send");
  await a.post("/login/phone/send");
  const b = other.browser();
  await toSmsCode(b, user);
  assert.is((await b.post("/login/phone/send")).status, 200, "the 5th, on the other instance");
  assert.is((await b.post("/login/phone/send")).status, 429, "the 6th is refused by the other instance");
  assert.is((await a.post("/login/phone/send")).status, 429, "and by the first");
});

test("ASVS 6.6.3 (SMS pumping): premium-rate, shared-cost, toll-free, N11, extension and non-US numbers are refused before any send", async () => {
  const invitation = await invite(ctx, uniqueEmail("pumping"));
  const browser = ctx.browser();
  await registerUpToTerms(ctx, browser, invitation, "phone");
  const numbers: Array<[string, string]> = [
    ["1-900-555-0100", "+19005550100"],
    ["(212) 976-1234", "+12129761234"],
    ["(800) 555-0100", "+18005550100"],
    ["(888) 555-0100", "+18885550100"],
    ["(415) 411-1234", "+14154111234"],
    ["911", "+1911"],
    ["(415) 555-0100 ext. 12", "+14155550100"],
    ["+44 20 7946 0958", "+442079460958"],
    ["+1 (876) 555-0100", "+18765550100"], // Jamaica shares +1 but is not the US
    ["+1 (604) 555-0100", "+16045550100"], // Canada
  ];
  for (const [typed, e164] of numbers) {
    for (const channel of ["sms", "voice"]) {
      const page = await browser.post("/register/phone/send", { phone: typed, channel });
      assert.is(page.status, 422, `${typed} by ${channel}`);
      assert.is(await sent(e164), 0, `nothing sent to ${e164}`);
      const [codes] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from codes where destination = ${e164}`;
      assert.is(codes!.n, 0, `no code for ${e164}`);
      const [bucket] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from rate_limits where key like ${"send:%:to:" + e164}`;
      assert.is(bucket!.n, 0, `refused before the send limits for ${e164}`);
    }
  }
  // A real direct line is accepted (the control).
  assert.is((await browser.post("/register/phone/send", { phone: "(415) 555-0143", channel: "sms" })).url, "/register/phone?sent=1");
});

test.run();
