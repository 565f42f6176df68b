/**
 * Emailed link tokens (registration, registration reset, resume): at least 128 random bits,
 * only a hash at rest, single use, expiring, killed by a newer one, useless for anything else;
 * the landing answers Referrer-Policy: no-referrer and redirects to a URL without the token;
 * links are built from PUBLIC_URL, never from the request's Host. ASVS 6.4.1, 11.5.1, 14.2.1.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { createTestContext, PUBLIC_URL, type TestContext } from "../support/harness.ts";
import { useFreshAddress } from "../support/sign-in.ts";
import { DAY, SECOND } from "../../src/clock.ts";
import { randomString } from "../../src/auth/tokens.ts";
import { createSession } from "../../src/auth/sessions.ts";
import { resendRegistrationLink } from "../../src/flows/invitation.ts";
import { invite, lastBody, linkPath, registerUpToTerms, REGISTRATION_PASSWORD } from "./support/registration.ts";

let ctx: TestContext;

test.before(async () => {
  ctx = await createTestContext();
});

test.before.each(() => {
  useFreshAddress(ctx);
});

async function flowsOf(userId: string): Promise<number> {
  const [row] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from flows where user_id = ${userId} and kind = 'registration' and state <> 'failed'`;
  return row!.n;
}

test("ASVS 6.4.1, 11.5.1: a link token carries 160 random bits and the database keeps only its SHA-256", async () => {
  const invitation = await invite(ctx);
  assert.match(invitation.token, /^[a-z2-7]{32}$/, "32 base32 characters = 160 bits");
  const [row] = await ctx.sql<{ hash: Buffer; text: string }[]>`
    select token_hash as hash, concat_ws(' ', id, user_id, purpose, encode(token_hash, 'hex'), encode(token_hash, 'escape')) as text
    from link_tokens where user_id = ${invitation.userId}`;
  assert.equal(Buffer.from(row!.hash), createHash("sha256").update(invitation.token).digest());
  assert.not.ok(row!.text.includes(invitation.token));
});

test("ASVS 6.4.1: an expired registration link is refused and continues nothing (2 days − 1 s still works)", async () => {
  const early = await invite(ctx);
  ctx.clock.advance(2 * DAY - SECOND);
  assert.is((await ctx.browser().get(early.path)).url, "/register/method", "still valid one second before");
  const late = await invite(ctx);
  ctx.clock.advance(2 * DAY);
  const browser = ctx.browser();
  const page = await browser.get(late.path);
  assert.is(page.url, "/register/error?reason=expired");
  assert.is(await flowsOf(late.userId), 0, "no registration flow was opened");
  assert.is((await browser.get("/register/method")).url, "/register/error?reason=session", "no step is reachable");
});

test("ASVS 6.4.1: a used link is dead: a second opening (another browser) is refused and cannot continue the first one's registration", async () => {
  const invitation = await invite(ctx);
  const first = ctx.browser();
  assert.is((await first.get(invitation.path)).url, "/register/method");
  const second = ctx.browser();
  assert.is((await second.get(invitation.path)).url, "/register/error?reason=used");
  assert.is((await second.post("/register/method", { method: "email" })).url, "/register/error?reason=session");
  assert.is((await first.post("/register/method", { method: "email" })).url, "/register/email", "the first browser goes on");
});

test("ASVS 6.4.1: forged, malformed and foreign tokens are refused as invalid, never a 500, and tell nothing about a user", async () => {
  const { token: sessionToken } = await createSession(ctx.sql, ctx.clock, (await invite(ctx)).userId, "email");
  const cases = [
    randomString(20), // well-formed, never issued
    "A".repeat(32),
    "a".repeat(33),
    "x".repeat(5000),
    "' or 1=1 --",
    "%00%ff",
    sessionToken, // a session token is not a link
    encodeURIComponent("<script>alert(1)</script>"),
  ];
  for (const token of cases) {
    const browser = ctx.browser();
    const page = await browser.get(`/register/link/${token.replace(/\//g, "%2F")}`);
    assert.ok(page.status < 500, `no 500 for ${token.slice(0, 40)}`);
    assert.ok(page.url === "/register/error?reason=invalid" || page.status === 404, `refused: ${token.slice(0, 40)} → ${page.status} ${page.url}`);
    assert.not.ok(browser.cookies.has("flow"), "no flow cookie that could name a user");
  }
});

test("ASVS 6.4.1: a newer link (Resend) kills the older one of the same purpose", async () => {
  const invitation = await invite(ctx);
  const resent = await resendRegistrationLink(ctx.deps, { userId: invitation.userId });
  assert.ok(resent.ok);
  assert.is((await ctx.browser().get(invitation.path)).url, "/register/error?reason=used");
  assert.is((await ctx.browser().get(new URL(resent.ok ? resent.link : "").pathname)).url, "/register/method");
});

test("ASVS 6.4.1: a registration link cannot reopen a finished registration (purpose spent)", async () => {
  const invitation = await invite(ctx);
  const browser = ctx.browser();
  await registerUpToTerms(ctx, browser, invitation);
  assert.is((await browser.post("/register/terms", { agree: "on" })).url, "/home");
  const resent = await ctx.sql`select count(*)::int as n from link_tokens where user_id = ${invitation.userId} and used_at is null and revoked_at is null`;
  assert.is(resent[0]!.n, 0, "no usable link remains");
  const again = await ctx.browser().get(invitation.path);
  assert.is(again.url, "/register/error?reason=used");
});

test("ASVS 14.2.1, 6.4.1: the link landing answers Referrer-Policy: no-referrer and redirects to a URL without the token", async () => {
  const fresh = await invite(ctx);
  const raw = await ctx.app.request(fresh.path);
  assert.is(raw.status, 303);
  assert.is(raw.headers.get("referrer-policy"), "no-referrer");
  const location = raw.headers.get("location") ?? "";
  assert.not.ok(location.includes(fresh.token), `the redirect (${location}) carries no token`);
  const page = await ctx.browser().get(fresh.path);
  assert.not.ok(page.url.includes(fresh.token));
  assert.not.ok(page.text.includes(fresh.token), "the page shows no token");
});

test("ASVS 14.2.1: emailed links are built from PUBLIC_URL, never from the Host or X-Forwarded-Host of the request", async () => {
  const invitation = await invite(ctx);
  const browser = ctx.browser();
  await registerUpToTerms(ctx, browser, invitation);
  // Having trouble logging in? from a request that names another host.
  const response = await ctx.app.request("http://evil.example/trouble", {
    method: "POST",
    headers: {
      host: "evil.example",
      "x-forwarded-host": "evil.example",
      "x-forwarded-proto": "https",
      origin: PUBLIC_URL,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ email: invitation.email, password: REGISTRATION_PASSWORD }).toString(),
  });
  assert.is(response.status, 303);
  const mail = await lastBody(ctx, invitation.email);
  assert.ok(mail.includes(`${PUBLIC_URL}/register/link/`), mail);
  assert.not.ok(mail.includes("evil.example"));
  // And the resume link works, once, and resumes at the first unfinished step.
  const resumed = ctx.browser();
  assert.is((await resumed.get(linkPath(mail))).url, "/register/terms");
  assert.is((await ctx.browser().get(linkPath(mail))).url, "/register/error?reason=used");
});

test("ASVS 6.4.1: a registration reset link expires after 20 minutes", async () => {
  const invitation = await invite(ctx);
  ctx.clock.advance(2 * DAY + SECOND);
  const browser = ctx.browser();
  assert.is((await browser.get(invitation.path)).url, "/register/error?reason=expired");
  assert.is((await browser.post("/register/reset")).url, "/register/reset/sent");
  const reset = linkPath(await lastBody(ctx, invitation.email));
  ctx.clock.advance(20 * 60 * SECOND);
  assert.is((await ctx.browser().get(reset)).url, "/register/error?reason=expired");
});

test.run();
