/**
 * The stronger factors under attack (security.md "Factors", issue 16 item 7): an authenticator
 * app's code replayed, even within its window (ASVS 6.5.1); a passkey's challenge replayed, an
 * assertion made for another origin or RP ID, one without user verification, one of a removed
 * passkey (ASVS 6.7.x). The passkey answers are real ones, signed by a software authenticator
 * (test/support/webauthn.ts) over a passkey added through the account page's own endpoints.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { SECOND } from "../../src/clock.ts";
import { removeFactorsOfKind } from "../../src/auth/users.ts";
import { PUBLIC_URL, type Browser, type TestContext } from "../support/harness.ts";
import { createActiveUser, type ActiveUser } from "../support/users.ts";
import { signIn, useFreshAddress } from "../support/sign-in.ts";
import { codeAt, registerWithApp, signOut, toAppCode } from "../support/factors.ts";
import { pressButton, registrationContext } from "../support/registration.ts";
import { SoftwareAuthenticator, type AnswerOptions } from "../support/webauthn.ts";

const test = suite("security: factors");
let ctx: TestContext;

test.before(async () => {
  ctx = await registrationContext();
});

test.before.each(() => {
  useFreshAddress(ctx);
});

async function postJson(browser: Browser, path: string, body: unknown): Promise<{ status: number; json: any }> {
  const page = await browser.post(path, JSON.stringify(body), { contentType: "application/json", follow: false });
  return { status: page.status, json: JSON.parse(page.text || "null") };
}

async function sessionCount(userId: string): Promise<number> {
  const [row] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from sessions where user_id = ${userId}`;
  return row!.n;
}

/** An account that added a passkey on its account page (Add a passkey), answered by `authenticator`. */
async function accountWithPasskey(authenticator: SoftwareAuthenticator): Promise<ActiveUser> {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await signIn(ctx, browser, account);
  const started = await postJson(browser, "/account/factors/passkey/options", { name: "Laptop" });
  assert.is(started.status, 200, "the creation options");
  const added = await postJson(browser, "/account/factors/passkey/verify", authenticator.register(started.json.options));
  assert.is(added.status, 200, `the passkey is added: ${JSON.stringify(added.json)}`);
  assert.ok(added.json.redirect);
  const [row] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from user_factors where user_id = ${account.id} and kind = 'passkey'`;
  assert.is(row!.n, 1);
  return account;
}

/** Sign in with a passkey in a new browser: the options, then the authenticator's answer (bent as asked). */
async function passkeySignIn(authenticator: SoftwareAuthenticator, bend: AnswerOptions = {}) {
  const browser = ctx.browser();
  const started = await postJson(browser, "/login/passkey/options", {});
  assert.is(started.status, 200);
  const answer = authenticator.assert(started.json.options, bend);
  const result = await postJson(browser, "/login/passkey/verify", answer);
  return { ...result, browser, answer, options: started.json.options };
}

async function signedIn(browser: Browser): Promise<boolean> {
  return (await browser.get("/home")).url === "/home";
}

test("the software authenticator's genuine answer signs in (the baseline the refusals below bend)", async () => {
  const authenticator = new SoftwareAuthenticator(PUBLIC_URL);
  const account = await accountWithPasskey(authenticator);
  const result = await passkeySignIn(authenticator);
  assert.is(result.status, 200, JSON.stringify(result.json));
  assert.is(result.json.redirect, "/home");
  assert.ok(await signedIn(result.browser));
  const [session] = await ctx.sql<{ amr: string[] }[]>`select amr from sessions where user_id = ${account.id} and login_option = 'passkey'`;
  assert.ok(session!.amr.includes("hwk"), `a device-bound passkey: hwk (${session!.amr})`);
});

test("ASVS 6.5.1: an app's code is accepted once; replayed within its window it is refused, and so is the window's earlier code", async () => {
  const { invited, key, browser } = await registerWithApp(ctx);
  await signOut(browser, await browser.get("/home"));
  ctx.clock.advance(30 * SECOND);
  const code = codeAt(ctx, key);
  const home = await pressButton(browser, await toAppCode(browser, invited.email), "Verify Code", { code });
  assert.is(home.url, "/home");
  await signOut(browser, home);

  // Still inside the same 30-second step (and so inside the ±1 window): the same code again.
  ctx.clock.advance(5 * SECOND);
  const replay = await pressButton(browser, await toAppCode(browser, invited.email), "Verify Code", { code });
  assert.is(replay.status, 400, "the same code is refused the second time");
  assert.is(replay.url, "/login/app");
  assert.match(replay.text, "That code can no longer be used.");
  // The previous step's code is inside the window too, but older than the one used: refused.
  const earlier = await pressButton(browser, replay, "Verify Code", { code: codeAt(ctx, key, -1) });
  assert.is(earlier.status, 400);
  assert.match(earlier.text, "That code can no longer be used.");
  assert.not.ok(await signedIn(browser.inner));
  // The next step's code is new: it passes.
  ctx.clock.advance(30 * SECOND);
  assert.is((await pressButton(browser, earlier, "Verify Code", { code: codeAt(ctx, key) })).url, "/home");
});

test("ASVS 6.7: a passkey challenge is single use: the same answer again is refused, on its flow and on a new one", async () => {
  // A synced passkey keeps no signature counter (0), so only the challenge can stop the replay.
  const authenticator = new SoftwareAuthenticator(PUBLIC_URL, { counting: false, synced: true });
  const account = await accountWithPasskey(authenticator);
  const first = await passkeySignIn(authenticator);
  assert.is(first.status, 200, JSON.stringify(first.json));
  const sessions = await sessionCount(account.id);

  // The same answer on the same flow (its cookie): the flow moved on, the challenge is gone.
  const again = await postJson(first.browser, "/login/passkey/verify", first.answer);
  assert.ok(again.status >= 400 && again.status < 500, `refused: ${again.status}`);
  // The same answer on a new flow: its challenge is not the new one.
  const other = ctx.browser();
  assert.is((await postJson(other, "/login/passkey/options", {})).status, 200);
  const replayed = await postJson(other, "/login/passkey/verify", first.answer);
  assert.is(replayed.status, 401);
  assert.match(replayed.json.message, "could not sign you in");
  assert.not.ok(await signedIn(other));
  assert.is(await sessionCount(account.id), sessions, "no new session");
});

test("ASVS 6.7: an assertion made for another origin, or for another RP ID, is refused", async () => {
  const authenticator = new SoftwareAuthenticator(PUBLIC_URL);
  const account = await accountWithPasskey(authenticator);
  for (const bend of [{ origin: "https://portal.evil.example" }, { origin: "http://portal.test:8080" }, { rpId: "evil.example" }]) {
    const result = await passkeySignIn(authenticator, bend);
    assert.is(result.status, 401, JSON.stringify(bend));
    assert.match(result.json.message, "could not sign you in");
    assert.not.ok(await signedIn(result.browser));
  }
  assert.is(await sessionCount(account.id), 1, "only the sign-in that added the passkey");
  // The same authenticator, answering genuinely, still signs in (the refusals were for the origin).
  assert.is((await passkeySignIn(authenticator)).status, 200);
});

test("ASVS 6.7: an assertion without user verification (UV flag missing) is refused: a passkey must be two factors", async () => {
  const authenticator = new SoftwareAuthenticator(PUBLIC_URL);
  const account = await accountWithPasskey(authenticator);
  const result = await passkeySignIn(authenticator, { userVerified: false });
  assert.is(result.status, 401);
  assert.match(result.json.message, "could not sign you in");
  assert.not.ok(await signedIn(result.browser));
  assert.is(await sessionCount(account.id), 1);
});

test("a removed passkey signs in no more", async () => {
  const authenticator = new SoftwareAuthenticator(PUBLIC_URL);
  const account = await accountWithPasskey(authenticator);
  assert.is((await passkeySignIn(authenticator)).status, 200);
  const sessions = await sessionCount(account.id);
  await removeFactorsOfKind(ctx.sql, account.id, "passkey");
  const result = await passkeySignIn(authenticator);
  assert.is(result.status, 401);
  assert.match(result.json.message, "could not sign you in");
  assert.not.ok(await signedIn(result.browser));
  assert.is(await sessionCount(account.id), sessions);
});

test("a passkey added with no user verification is not added", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await signIn(ctx, browser, account);
  const started = await postJson(browser, "/account/factors/passkey/options", { name: "Laptop" });
  const added = await postJson(browser, "/account/factors/passkey/verify", new SoftwareAuthenticator(PUBLIC_URL).register(started.json.options, { userVerified: false }));
  assert.ok(added.status >= 400 && added.status < 500, `refused: ${added.status}`);
  const [row] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from user_factors where user_id = ${account.id} and kind = 'passkey'`;
  assert.is(row!.n, 0);
});

test.run();
