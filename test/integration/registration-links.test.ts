/**
 * The emailed links of registration: each refused one second after its time and accepted one
 * second before (registration 2 days, reset 20 minutes, resume 20 minutes); Registration error →
 * Reset; Having trouble logging in? → resume at the first unfinished step; and the answers of
 * Reset and /trouble that are the same whatever the account (ASVS 6.3.8, 6.4.1).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { TestContext } from "../support/harness.ts";
import { texts, uniqueEmail } from "../support/harness.ts";
import {
  ClientBrowser,
  GOOD_PASSWORD,
  auditEvents,
  flowOf,
  invite,
  lastMessage,
  linkIn,
  messageCount,
  registrationContext,
  startWizard,
  verifyEmailAndCreatePassword,
} from "../support/registration.ts";
import { createActiveUser } from "../support/users.ts";
import { SECOND } from "../../src/clock.ts";
import { inviteUser, resendRegistrationLink } from "../../src/flows/invitation.ts";

let ctx: TestContext;

test.before(async () => {
  ctx = await registrationContext();
});

test.after(async () => {
  await ctx.outbox.stop();
});

/** Opens an expired registration link: the browser ends on the Registration error page, holding whom Reset emails. */
async function expiredRegistration() {
  const invited = await invite(ctx);
  const browser = new ClientBrowser(ctx);
  ctx.clock.advance(ctx.config.ttl.registrationLink + SECOND);
  const error = await browser.get(invited.path);
  assert.equal(error.url, "/register/error?reason=expired");
  return { invited, browser, error };
}

/** A registrant who verified the email and created a password, then left (phone method, on the phone step). */
async function halfRegistered(method: "phone" | "email" = "phone") {
  const invited = await invite(ctx);
  const browser = new ClientBrowser(ctx);
  await startWizard(ctx, browser, invited, method);
  const page = await verifyEmailAndCreatePassword(ctx, browser, invited);
  assert.equal(page.url, method === "phone" ? "/register/phone" : "/register/terms");
  return { invited, browser };
}

test("registration link: accepted 1 s before REGISTRATION_LINK_TTL (2 days)", async () => {
  const invited = await invite(ctx);
  ctx.clock.advance(ctx.config.ttl.registrationLink - SECOND);
  const page = await new ClientBrowser(ctx).get(invited.path);
  assert.equal(page.url, "/register/method");
});

test("registration link: refused 1 s after REGISTRATION_LINK_TTL with the Registration error page and Reset", async () => {
  const { error } = await expiredRegistration();
  assert.equal(error.redirects, [303]);
  assert.equal(texts(error, "h1"), ["Registration error"]);
  assert.ok(texts(error, "button").includes("Reset"));
  assert.match(error.text, /expired/);
});

test("registration link: works once; a second opening is a Registration error", async () => {
  const invited = await invite(ctx);
  await new ClientBrowser(ctx).get(invited.path);
  const again = await new ClientBrowser(ctx).get(invited.path);
  assert.equal(again.url, "/register/error?reason=used");
  assert.equal(texts(again, "h1"), ["Registration error"]);
});

test("a new invitation kills the older link and the browser half-way through it", async () => {
  const invited = await invite(ctx);
  const browser = new ClientBrowser(ctx);
  await startWizard(ctx, browser, invited, "email");
  const unopened = await resendRegistrationLink(ctx.deps, { userId: invited.userId });
  assert.ok(unopened.ok);
  const third = await inviteUser(ctx.deps, { email: invited.email });
  assert.ok(third.ok && !third.created, "an invited address gets a fresh invitation");
  const stale = await new ClientBrowser(ctx).get(new URL((unopened as { link: string }).link).pathname);
  assert.equal(stale.url, "/register/error?reason=used", "the previous link died");
  const halfway = await browser.get("/register/email");
  assert.equal(halfway.url, "/register/error?reason=session", "the older flow ended");
  const fresh = await new ClientBrowser(ctx).get(new URL((third as { link: string }).link).pathname);
  assert.equal(fresh.url, "/register/method");
});

test("inviteUser refuses an active account, a bad address and a staff address", async () => {
  const active = await createActiveUser(ctx.sql, { method: "email" });
  assert.equal(await inviteUser(ctx.deps, { email: active.email.toUpperCase() }), { ok: false, reason: "duplicate" });
  assert.equal(await inviteUser(ctx.deps, { email: "not an address" }), { ok: false, reason: "invalid_email" });
  assert.equal(await inviteUser(ctx.deps, { email: `someone@${ctx.config.staffEmailDomains[0]}` }), { ok: false, reason: "staff_email" });
  assert.equal(await resendRegistrationLink(ctx.deps, { userId: active.id }), { ok: false, reason: "duplicate" });
});

test("Reset: emails the registered address a link valid 20 minutes that continues the registration", async () => {
  const { invited, browser } = await expiredRegistration();
  const before = await messageCount(ctx, invited.email);
  const sent = await browser.post("/register/reset", {});
  assert.equal(sent.url, "/register/reset/sent");
  assert.equal(texts(sent, "h1"), ["Check your email"]);
  assert.equal(await messageCount(ctx, invited.email), before + 1);
  const mail = await lastMessage(ctx, invited.email);
  assert.match(mail.body, /20 minutes/);
  const resumed = await browser.get(linkIn(mail.body));
  assert.equal(resumed.url, "/register/method", "nothing was done before: it starts at the first step");
  assert.ok((await auditEvents(ctx, invited.userId)).includes("registration.reset_sent"));
});

test("Reset link: accepted 1 s before REGISTRATION_RESET_LINK_TTL, refused 1 s after", async () => {
  for (const [offset, expected] of [
    [-SECOND, "/register/method"],
    [SECOND, "/register/error?reason=expired"],
  ] as const) {
    const { invited, browser } = await expiredRegistration();
    await browser.post("/register/reset", {});
    const link = linkIn((await lastMessage(ctx, invited.email)).body);
    ctx.clock.advance(ctx.config.ttl.registrationResetLink + offset);
    const page = await browser.get(link);
    assert.equal(page.url, expected, `offset ${offset}`);
  }
});

test("Reset link continues at the first unfinished step of the earlier progress", async () => {
  const { invited } = await halfRegistered("phone");
  // The person's browser session ended; a used link brings the Registration error page and Reset.
  const other = new ClientBrowser(ctx);
  const error = await other.get(invited.path);
  assert.equal(error.url, "/register/error?reason=used");
  await other.post("/register/reset", {});
  const page = await other.get(linkIn((await lastMessage(ctx, invited.email)).body));
  assert.equal(page.url, "/register/phone", "email verified and password created: the phone step is next");
  assert.equal((await flowOf(ctx, invited.userId))?.state, "password_set");
});

test("Having trouble logging in?: email + password bring a resume link that continues at the first unfinished step", async () => {
  const { invited } = await halfRegistered("email");
  const browser = new ClientBrowser(ctx);
  const form = await browser.get("/trouble");
  assert.ok(texts(form, "label").includes("Email Address") && texts(form, "label").includes("Password"));
  assert.ok(texts(form, "button").includes("Send Registration Link"));
  const before = await messageCount(ctx, invited.email);
  const sent = await browser.post("/trouble", { email: invited.email, password: GOOD_PASSWORD });
  assert.equal(sent.url, "/trouble/sent");
  assert.equal(await messageCount(ctx, invited.email), before + 1);
  const mail = await lastMessage(ctx, invited.email);
  assert.match(mail.body, /20 minutes/);
  const resumed = await browser.get(linkIn(mail.body));
  assert.equal(resumed.url, "/register/terms", "email method with a password: the Terms of Use are next");
  const home = await browser.post("/register/terms", { agree: "on" });
  assert.equal(home.url, "/home");
});

test("resume link: accepted 1 s before RESUME_LINK_TTL, refused 1 s after", async () => {
  for (const [offset, expected] of [
    [-SECOND, "/register/phone"],
    [SECOND, "/register/error?reason=expired"],
  ] as const) {
    const { invited } = await halfRegistered("phone");
    const browser = new ClientBrowser(ctx);
    await browser.post("/trouble", { email: invited.email, password: GOOD_PASSWORD });
    const link = linkIn((await lastMessage(ctx, invited.email)).body);
    ctx.clock.advance(ctx.config.ttl.resumeLink + offset);
    const page = await browser.get(link);
    assert.equal(page.url, expected, `offset ${offset}`);
  }
});

test("/trouble answers the same status and body for unknown, known, wrong-password and unfinished accounts (ASVS 6.3.8)", async () => {
  const { invited } = await halfRegistered("phone");
  const fresh = await invite(ctx); // invited, no password yet
  const active = await createActiveUser(ctx.sql, { method: "email" });
  const cases = [
    { email: uniqueEmail("nobody"), password: GOOD_PASSWORD },
    { email: invited.email, password: "wrong-password-entirely-99" },
    { email: invited.email, password: GOOD_PASSWORD },
    { email: fresh.email, password: GOOD_PASSWORD },
    { email: active.email, password: active.password },
  ];
  const answers: string[] = [];
  for (const fields of cases) {
    const response = await ctx.app.request("/trouble", {
      method: "POST",
      headers: { origin: "http://portal.test", "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": "198.19.1.1" },
      body: new URLSearchParams(fields).toString(),
    });
    answers.push(`${response.status} ${response.headers.get("location")} ${await response.text()}`);
  }
  assert.equal(new Set(answers).size, 1, answers.join("\n"));
  assert.match(answers[0]!, /^303 \/trouble\/sent/);
  // Only the unfinished registration with the right password got an email.
  assert.equal(await messageCount(ctx, active.email), 0);
  assert.ok((await auditEvents(ctx, invited.userId)).includes("registration.resume_sent"));
});

test("Reset answers the same for an expired link, a used link, an unknown link, an active account and no cookie at all", async () => {
  const active = await createActiveUser(ctx.sql, { method: "email" });
  const { createLinkToken } = await import("../../src/auth/links.ts");
  const activeToken = await createLinkToken(ctx.sql, ctx.clock, { userId: active.id, purpose: "registration", ttlMs: SECOND });
  ctx.clock.advance(2 * SECOND);
  const expired = (await expiredRegistration()).browser;
  const used = new ClientBrowser(ctx);
  const usedInvite = await invite(ctx);
  await new ClientBrowser(ctx).get(usedInvite.path);
  await used.get(usedInvite.path);
  const unknown = new ClientBrowser(ctx);
  await unknown.get("/register/link/abcdefghijklmnopqrstuvwxyz234567");
  const activeBrowser = new ClientBrowser(ctx);
  await activeBrowser.get(`/register/link/${activeToken}`);
  const nobody = new ClientBrowser(ctx);
  const errorPages = new Set<string>();
  const answers = new Set<string>();
  for (const browser of [expired, used, unknown, activeBrowser, nobody]) {
    const page = await browser.post("/register/reset", {}, { follow: false });
    answers.add(`${page.status} ${page.headers.get("location")} ${page.text}`);
    const shown = await browser.get("/register/reset/sent");
    errorPages.add(shown.text);
  }
  assert.equal(answers.size, 1, [...answers].join("\n"));
  assert.equal(errorPages.size, 1);
  assert.equal(await messageCount(ctx, active.email), 0, "no email for an account that is already active");
});

test("a link of another kind (or garbage) is a Registration error that names no account", async () => {
  for (const token of ["short", "A".repeat(32), "x".repeat(500), "%00%0a"]) {
    const page = await new ClientBrowser(ctx).get(`/register/link/${token}`);
    assert.equal(page.url, "/register/error?reason=invalid", token);
    assert.equal(texts(page, "h1"), ["Registration error"]);
  }
});

test.run();
