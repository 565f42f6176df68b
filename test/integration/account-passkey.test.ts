/**
 * Confirm it's you with a passkey (product.md §8, security.md: a second factor within REAUTH_TTL
 * before an account change; ASVS 7.5.1, 6.3.7): the JSON calls static/passkey.js makes, answered
 * by a software passkey. A stale session confirms with its own passkey and the change goes on;
 * another account's passkey, a used challenge and a replayed answer are refused and nothing
 * changes; an account without a passkey is told so. The options name only the person's own
 * passkeys and require user verification.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, PUBLIC_URL, type Browser, type TestContext } from "../support/harness.ts";
import { createActiveUser, type ActiveUser } from "../support/users.ts";
import { signIn, useFreshAddress, STALE, postJson } from "../support/sign-in.ts";
import { addSoftPasskey, type SoftPasskey } from "../support/webauthn.ts";
import { replaceRecoveryCodes } from "../../src/auth/recovery-codes.ts";
import { NO_PASSKEY_MESSAGE, PASSKEY_NOT_CONFIRMED } from "../../src/flows/account.ts";

const test = suite("account: Confirm with a passkey");
let ctx: TestContext;

test.before(async () => {
  ctx = await createTestContext();
});

test.before.each(() => {
  useFreshAddress(ctx);
});


/** An email account with a passkey and recovery codes, signed in, its sign-in now older than REAUTH_TTL. */
async function staleWithPasskey(): Promise<{ account: ActiveUser; browser: Browser; passkey: SoftPasskey }> {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const passkey = await addSoftPasskey(ctx.sql, ctx.clock, account.id, { label: "Laptop" });
  await replaceRecoveryCodes(ctx.sql, ctx.clock, ctx.config.secretKey, account.id);
  const browser = ctx.browser();
  await signIn(ctx, browser, account);
  ctx.clock.advance(STALE);
  return { account, browser, passkey };
}

const challengeOf = (options: { json: Record<string, unknown> }) => (options.json.options as { challenge: string }).challenge;

/** What a confirmation could change: the recovery codes, and the session's last Confirm it's you. */
async function snapshot(userId: string): Promise<string> {
  const codes = await ctx.sql`select code_hash, used_at from recovery_codes where user_id = ${userId} order by code_hash`;
  const sessions = await ctx.sql`select reauthenticated_at, reauth_for from sessions where user_id = ${userId} order by id`;
  return JSON.stringify({ codes: codes.map((c) => [Buffer.from(c.code_hash as Uint8Array).toString("hex"), c.used_at]), sessions });
}

async function reauthEvents(userId: string): Promise<unknown[]> {
  const rows = await ctx.sql<{ detail: unknown }[]>`select detail from audit_events where user_id = ${userId} and event = 'account.reauthenticated' order by at`;
  return rows.map((r) => r.detail);
}

test("the Confirm it's you page holds a hidden passkey slot for a person with a passkey (the script shows it), and none for one without", async () => {
  const { browser } = await staleWithPasskey();
  const page = await browser.get("/account/confirm?for=password");
  assert.is(page.status, 200);
  const slot = page.document.querySelector("[data-passkey-confirm]");
  assert.ok(slot, "the slot is drawn");
  assert.ok(slot!.hasAttribute("hidden"), "hidden until static/passkey.js shows it (absent without JavaScript)");
  assert.is(slot!.getAttribute("data-for"), "password");
  assert.ok(page.document.querySelector('script[src*="passkey"]'), "the page loads the passkey script");

  const other = await createActiveUser(ctx.sql, { method: "email" });
  const plain = ctx.browser();
  await signIn(ctx, plain, other);
  ctx.clock.advance(STALE);
  const without = await plain.get("/account/confirm?for=password");
  assert.is(without.status, 200);
  assert.not.ok(without.document.querySelector("[data-passkey-confirm]"), "no passkey, no slot");
});

test("a stale session confirms with its own passkey: the options name only its passkeys and require user verification, and the change asked for goes ahead", async () => {
  const { account, browser, passkey } = await staleWithPasskey();
  await addSoftPasskey(ctx.sql, ctx.clock, (await createActiveUser(ctx.sql, { method: "email" })).id);
  const before = await snapshot(account.id);
  // Generate new recovery codes asks for Confirm it's you first.
  const asked = await browser.post("/account/factors/recovery-codes/new");
  assert.is(asked.url, "/account/confirm");
  assert.is(await snapshot(account.id), before, "nothing changed yet");

  const options = await postJson(browser, "/account/confirm/passkey/options", {});
  assert.is(options.status, 200, JSON.stringify(options.json));
  const sent = options.json.options as { userVerification: string; allowCredentials: { id: string }[] };
  assert.is(sent.userVerification, "required");
  assert.equal(
    sent.allowCredentials.map((c) => c.id),
    [passkey.credentialId],
    "only this person's own passkey",
  );

  const done = await postJson(browser, "/account/confirm/passkey/verify", passkey.answer(challengeOf(options), PUBLIC_URL));
  assert.is(done.status, 200, JSON.stringify(done.json));
  assert.is(done.json.redirect, "/account/factors/recovery-codes", "back to the change, done");
  assert.is.not(await snapshot(account.id), before, "new recovery codes, and the confirmation recorded");
  assert.equal(await reauthEvents(account.id), [{ change: "factors", channel: "passkey" }]);
  const shown = await browser.get("/account/factors/recovery-codes");
  assert.is(shown.document.querySelectorAll("ul.recovery-codes li").length, 10);
});

test("from a change's own page (?for=password): Confirm with a passkey starts the confirmation and goes on to Change password", async () => {
  const { browser, passkey } = await staleWithPasskey();
  assert.is((await browser.get("/account/password")).url, "/account/confirm?for=password", "asks first");
  const options = await postJson(browser, "/account/confirm/passkey/options?for=password", {});
  assert.is(options.status, 200, JSON.stringify(options.json));
  const done = await postJson(browser, "/account/confirm/passkey/verify?for=password", passkey.answer(challengeOf(options), PUBLIC_URL));
  assert.is(done.status, 200, JSON.stringify(done.json));
  assert.is(done.json.redirect, "/account/password");
  const page = await browser.get("/account/password");
  assert.is(page.url, "/account/password", "the change page itself now");
  assert.ok(page.document.querySelector("input[name=current]"));
});

test("another account's passkey does not confirm it's you: refused, and nothing changes", async () => {
  const { account, browser } = await staleWithPasskey();
  const stranger = await createActiveUser(ctx.sql, { method: "email" });
  const theirs = await addSoftPasskey(ctx.sql, ctx.clock, stranger.id);
  await browser.post("/account/factors/recovery-codes/new");
  const before = await snapshot(account.id);
  const options = await postJson(browser, "/account/confirm/passkey/options", {});
  assert.is(options.status, 200);
  const refused = await postJson(browser, "/account/confirm/passkey/verify", theirs.answer(challengeOf(options), PUBLIC_URL));
  assert.is(refused.status, 401);
  assert.is(refused.json.message, PASSKEY_NOT_CONFIRMED);
  assert.not.ok(refused.json.redirect);
  assert.is(await snapshot(account.id), before, "nothing changed");
  assert.equal(await reauthEvents(account.id), []);
  // Still not confirmed: the change asks again.
  assert.is((await browser.post("/account/factors/recovery-codes/new")).url, "/account/confirm");
});

test("a challenge works once: after an answer used it (even a refused one) the right answer to it is refused; a replayed answer is refused and nothing is done twice", async () => {
  const { account, browser, passkey } = await staleWithPasskey();
  await browser.post("/account/factors/recovery-codes/new");
  const before = await snapshot(account.id);
  const first = await postJson(browser, "/account/confirm/passkey/options", {});
  const challenge = challengeOf(first);
  // An answer for another site uses the challenge up; the genuine answer to it then finds none.
  assert.is((await postJson(browser, "/account/confirm/passkey/verify", passkey.answer(challenge, "https://elsewhere.example"))).status, 401);
  const late = await postJson(browser, "/account/confirm/passkey/verify", passkey.answer(challenge, PUBLIC_URL));
  assert.is(late.status, 401, JSON.stringify(late.json));
  assert.is(await snapshot(account.id), before, "nothing changed");

  // New options, a genuine answer: confirmed. The same answer again (same challenge) is refused.
  const second = await postJson(browser, "/account/confirm/passkey/options", {});
  const answer = passkey.answer(challengeOf(second), PUBLIC_URL);
  const done = await postJson(browser, "/account/confirm/passkey/verify", answer);
  assert.is(done.status, 200, JSON.stringify(done.json));
  const after = await snapshot(account.id);
  const replayed = await postJson(browser, "/account/confirm/passkey/verify", answer);
  assert.ok(replayed.status >= 400 && replayed.status < 500, `replay: ${replayed.status}`);
  assert.not.ok(replayed.json.redirect === "/account/factors/recovery-codes");
  assert.is(await snapshot(account.id), after, "nothing done twice");
  assert.is((await reauthEvents(account.id)).length, 1);
});

test("without a passkey the options are refused with a clear message (400), and no confirmation starts", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await signIn(ctx, browser, account);
  ctx.clock.advance(STALE);
  const refused = await postJson(browser, "/account/confirm/passkey/options?for=password", {});
  assert.is(refused.status, 400);
  assert.is(refused.json.message, NO_PASSKEY_MESSAGE);
  assert.not.ok(refused.json.options);
  const flows = await ctx.sql`select id from flows where user_id = ${account.id} and kind = 'account'`;
  assert.is(flows.length, 0);
  // Not JSON: a clear 400 too, never a 500.
  const bad = await browser.post("/account/confirm/passkey/verify", "not json", { contentType: "application/json", headers: { accept: "application/json" } });
  assert.is(bad.status, 400);
});

test.run();
