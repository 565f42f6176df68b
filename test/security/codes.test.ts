/**
 * One-time codes through HTTP (security.md "Secrets at rest and in transit"): 6 CSPRNG digits
 * kept only as an HMAC, usable once, dead when resent, living only their lifetime, bound to the
 * flow, purpose and user that asked for them.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, type TestContext } from "../support/harness.ts";
import { createActiveUser } from "../support/users.ts";
import { useFreshAddress } from "../support/sign-in.ts";
import { SECOND } from "../../src/clock.ts";
import { codeHmac } from "../../src/auth/codes.ts";
import { lastCode, sessionCount, toEmailCode, toSmsCode } from "./support/steps.ts";

let ctx: TestContext;

test.before(async () => {
  ctx = await createTestContext();
});

test.before.each(() => {
  useFreshAddress(ctx);
});

test("ASVS 6.5.3, 6.5.4, 6.5.2: a code is 6 digits and the database keeps only HMAC-SHA-256(SECRET_KEY, code)", async () => {
  const user = await createActiveUser(ctx.sql, { method: "phone" });
  await toSmsCode(ctx.browser(), user);
  const code = await lastCode(ctx, user.phone!, "sms");
  assert.match(code, /^\d{6}$/);
  const [row] = await ctx.sql<{ codeHmac: Uint8Array; text: string }[]>`
    select code_hmac as "codeHmac",
      concat_ws(' ', id, flow_id, user_id, purpose, channel, destination, encode(code_hmac, 'hex'), encode(code_hmac, 'base64')) as text
    from codes where user_id = ${user.id} order by created_at desc limit 1`;
  assert.equal(Buffer.from(row!.codeHmac), Buffer.from(codeHmac(ctx.config.secretKey, code)), "HMAC keyed with SECRET_KEY");
  assert.not.ok(row!.text.includes(code), "the code itself is stored nowhere in the row");
  assert.is.not(Buffer.from(row!.codeHmac).toString("hex"), Buffer.from(codeHmac("another-key-of-32-characters-or-more!!", code)).toString("hex"));
});

test("ASVS 6.5.1: a used code is dead: replaying the winning request with the same cookies makes no second session", async () => {
  const user = await createActiveUser(ctx.sql, { method: "phone" });
  const browser = ctx.browser();
  await toSmsCode(browser, user);
  const code = await lastCode(ctx, user.phone!, "sms");
  const replay = ctx.browser();
  replay.cookies = new Map(browser.cookies);
  assert.is((await browser.post("/login/phone/code", { code })).url, "/home");
  const again = await replay.post("/login/phone/code", { code });
  assert.is.not(again.url, "/home");
  assert.is(replay.cookies.has("session"), false, "no session cookie for the replay");
  assert.is(await sessionCount(ctx.sql, user.id), 1, "exactly one session");
  const [row] = await ctx.sql<{ live: number }[]>`select count(*)::int as live from codes where user_id = ${user.id} and consumed_at is null`;
  assert.is(row!.live, 0, "no live code is left (the flow and its codes are gone)");
});

test("ASVS 6.5.1, 6.6.2: Send New Code kills the earlier code", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await toEmailCode(browser, user);
  const first = await lastCode(ctx, user.email, "email");
  assert.is((await browser.post("/login/email/send")).url, "/login/email/code");
  const second = await lastCode(ctx, user.email, "email");
  if (first !== second) {
    const old = await browser.post("/login/email/code", { code: first });
    assert.is(old.status, 401, "the first code no longer works");
  }
  const [row] = await ctx.sql<{ live: number }[]>`
    select count(*)::int as live from codes where user_id = ${user.id} and consumed_at is null`;
  assert.is(row!.live, 1, "only the newest code is alive");
  assert.is((await browser.post("/login/email/code", { code: second })).url, "/login/email/verified");
});

test("ASVS 6.5.5: the emailed sign-in code lives EMAIL_LOGIN_CODE_TTL (30 seconds); an SMS code 10 minutes", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await toEmailCode(browser, user);
  const code = await lastCode(ctx, user.email, "email");
  ctx.clock.advance(30 * SECOND);
  const late = await browser.post("/login/email/code", { code });
  assert.is(late.status, 400);
  assert.match(late.text, /expired/);

  const phoneUser = await createActiveUser(ctx.sql, { method: "phone" });
  const phone = ctx.browser();
  await toSmsCode(phone, phoneUser);
  const sms = await lastCode(ctx, phoneUser.phone!, "sms");
  ctx.clock.advance(10 * 60 * SECOND);
  const expired = await phone.post("/login/phone/code", { code: sms });
  assert.is.not(expired.url, "/home");
  assert.match(expired.text, /expired/);
  assert.is(await sessionCount(ctx.sql, phoneUser.id), 0);
});

test("ASVS 6.6.2: a code is bound to its flow and user: another browser's or another person's live code is wrong here", async () => {
  const user = await createActiveUser(ctx.sql, { method: "phone" });
  const other = await createActiveUser(ctx.sql, { method: "phone" });
  const a = ctx.browser();
  const b = ctx.browser();
  const c = ctx.browser();
  await toSmsCode(a, user);
  const codeA = await lastCode(ctx, user.phone!, "sms");
  await toSmsCode(b, user);
  const codeB = await lastCode(ctx, user.phone!, "sms");
  await toSmsCode(c, other);
  const codeC = await lastCode(ctx, other.phone!, "sms");
  if (codeA !== codeB) assert.is((await b.post("/login/phone/code", { code: codeA })).status, 401, "the same person's code from another browser");
  if (codeC !== codeB) assert.is((await b.post("/login/phone/code", { code: codeC })).status, 401, "another person's code");
  assert.is((await a.post("/login/phone/code", { code: codeA })).url, "/home", "each code works in its own flow");
  assert.is((await b.post("/login/phone/code", { code: codeB })).url, "/home");
});

test("ASVS 6.6.2: a code is bound to its purpose: a live sign-in code does not pass the password reset, nor the reset code the sign-in", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const login = ctx.browser();
  await toEmailCode(login, user);
  const loginCode = await lastCode(ctx, user.email, "email");
  const reset = ctx.browser();
  assert.is((await reset.post("/forgot-password", { email: user.email })).url, "/forgot-password/code");
  const resetCode = await lastCode(ctx, user.email, "email");
  if (loginCode !== resetCode) {
    assert.is((await reset.post("/forgot-password/code", { code: loginCode })).status, 401, "a sign-in code at the reset");
    assert.is((await login.post("/login/email/code", { code: resetCode })).status, 401, "a reset code at the sign-in");
  }
  assert.is((await login.post("/login/email/code", { code: loginCode })).url, "/login/email/verified");
  assert.is((await reset.post("/forgot-password/code", { code: resetCode })).url, "/forgot-password/verified");
});

test.run();
