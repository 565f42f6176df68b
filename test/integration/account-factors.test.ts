/**
 * The account page's Sign-in methods (product.md §8, security.md "Factors": adding or removing a
 * factor asks a second factor within REAUTH_TTL first, a notice after; ASVS 7.5.1, 6.3.7): the one
 * list (phone or email factor, authenticator app, passkeys by name, recovery codes left), Confirm
 * it's you in front of every POST under /account/factors (the injected clock moved past
 * REAUTH_TTL), Remove on a page of its own (the last factor refused), Confirm it's you with the
 * authenticator app or a recovery code (used once), and an administrator's Reset MFA ending the
 * app, passkeys and recovery codes at once.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { generateHOTP } from "@oslojs/otp";
import { createTestContext, PUBLIC_URL, texts, type Browser, type Page, type TestContext } from "../support/harness.ts";
import { createActiveUser, type ActiveUser } from "../support/users.ts";
import { codeIn, latestMessage, press, signIn, useFreshAddress, STALE, postJson } from "../support/sign-in.ts";
import { browserSignedInAs, pressConfirmed, signedInAdmin } from "../support/admin.ts";
import { makeMember, makeOrganization } from "../support/orgs.ts";
import { createSession } from "../../src/auth/sessions.ts";
import { cookieName } from "../../src/web/cookies.ts";
import { addSoftPasskey } from "../support/webauthn.ts";
import { MINUTE } from "../../src/clock.ts";
import { addFactor } from "../../src/auth/users.ts";
import { replaceRecoveryCodes } from "../../src/auth/recovery-codes.ts";
import { createRememberToken } from "../../src/auth/remember-me.ts";
import { newSealedTotpKey, openTotpKey, sealedTotpBytes, timeStep } from "../../src/flows/factors/totp.ts";
import { FACTOR_GONE, LAST_FACTOR } from "../../src/flows/account-factors.ts";
import { RECOVERY_WRONG } from "../../src/flows/account.ts";

const test = suite("account: sign-in methods");
let ctx: TestContext;

test.before(async () => {
  ctx = await createTestContext();
});

test.before.each(() => {
  useFreshAddress(ctx);
});

const main = (page: Page) => (page.document.querySelector("main")?.textContent ?? page.text).replace(/\s+/g, " ");

/** An authenticator app on the account (as set-up leaves it); its key, to compute codes as the app would. */
async function withApp(userId: string): Promise<Uint8Array> {
  const sealed = newSealedTotpKey(ctx.config.secretKey);
  await addFactor(ctx.sql, ctx.clock, userId, { kind: "totp", destination: null, secret: sealedTotpBytes(sealed) });
  return openTotpKey(ctx.config.secretKey, sealed)!;
}

const codeAt = (key: Uint8Array, offset = 0) => generateHOTP(key, BigInt(timeStep(ctx.clock) + offset), 6);

async function factorsOf(userId: string): Promise<{ id: string; kind: string; label: string }[]> {
  return ctx.sql<{ id: string; kind: string; label: string }[]>`select id, kind, label from user_factors where user_id = ${userId} order by created_at, id`;
}

/** Everything a factor change could touch: the factors, the recovery codes, the set-up flows. */
async function snapshot(userId: string): Promise<string> {
  const factors = await factorsOf(userId);
  const codes = await ctx.sql`select code_hash, used_at from recovery_codes where user_id = ${userId} order by code_hash`;
  const flows = await ctx.sql`select id from flows where user_id = ${userId} and kind = 'factor_setup'`;
  return JSON.stringify({ factors, codes: codes.map((c) => [Buffer.from(c.code_hash as Uint8Array).toString("hex"), c.used_at]), flows: flows.length });
}

/** An email account holding an app, a passkey and ten recovery codes, signed in now. */
async function fullySetUp(): Promise<{ account: ActiveUser; browser: Browser; key: Uint8Array; codes: string[]; passkeyId: string }> {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const key = await withApp(account.id);
  await addSoftPasskey(ctx.sql, ctx.clock, account.id, { label: "Old laptop" });
  const codes = await replaceRecoveryCodes(ctx.sql, ctx.clock, ctx.config.secretKey, account.id);
  const browser = ctx.browser();
  await signIn(ctx, browser, account);
  const passkeyId = (await factorsOf(account.id)).find((f) => f.kind === "passkey")!.id;
  return { account, browser, key, codes, passkeyId };
}

/** A session of `userId` whose sign-in (a password and the app) was just now, on a new browser. */
async function freshSession(userId: string): Promise<Browser> {
  const { token } = await createSession(ctx.sql, ctx.clock, userId, "totp", { amr: ["pwd", "otp", "mfa"], authenticatedAt: ctx.clock.now() });
  const browser = ctx.browser();
  browser.cookies.set(cookieName(ctx.config, "session"), token);
  return browser;
}


/** Confirm it's you with the emailed code, from the page it shows. */
async function confirmByEmail(browser: Browser, page: Page, account: ActiveUser): Promise<Page> {
  assert.match(page.url, /^\/account\/confirm/);
  page = await press(browser, page, "Send Verification Code");
  assert.is(page.url, "/account/confirm/code");
  return press(browser, page, "Verify Code", { code: codeIn(await latestMessage(ctx, account.email, "email")) });
}

test("one list on the account page: the email factor, the app, passkeys by name with when added and last used, each with Remove, the recovery codes left; /account/factors goes there", async () => {
  const { browser, passkeyId } = await fullySetUp();
  const page = await browser.get("/account");
  const section = main(page);
  assert.ok(texts(page, "main h2").includes("Sign-in methods"));
  for (const heading of ["Authenticator app", "Passkeys", "Recovery codes"]) assert.ok(texts(page, "main h3").includes(heading), heading);
  assert.match(section, "Email code to");
  assert.match(section, "An authenticator app is set up: added");
  assert.equal(texts(page, ".passkey-table tbody td:first-child"), ["Old laptop"]);
  assert.equal(texts(page, ".passkey-table thead th").slice(0, 3), ["Name", "Added", "Last used"]);
  assert.match(section, "10 recovery codes left");
  const removes = [...page.document.querySelectorAll("main a.remove-link")].map((a) => [a.textContent!.replace(/\s+/g, " ").trim(), a.getAttribute("href")]);
  assert.is(removes.length, 2);
  assert.equal(removes[1], ["Remove the passkey Old laptop", `/account/factors/${passkeyId}/remove`]);
  const buttons = texts(page, "main button");
  for (const name of ["Replace the authenticator app", "Generate new recovery codes"]) assert.ok(buttons.includes(name), name);
  // Without JavaScript no passkey button: the note says why, and the script's slot waits hidden.
  assert.not.ok(buttons.includes("Add a passkey"));
  assert.match(section, "Passkeys need JavaScript");
  assert.ok(page.document.querySelector("[data-passkey-add][hidden]"));
  assert.ok(page.document.querySelector('script[src*="passkey"]'), "the page loads the passkey script");
  assert.is((await browser.get("/account/factors")).url, "/account");
});

test("ASVS 7.5.1: a stale session (past REAUTH_TTL) posting any change of the sign-in methods is sent to Confirm it's you, and nothing changes", async () => {
  const { account, browser, key, passkeyId } = await fullySetUp();
  ctx.clock.advance(STALE);
  const before = await snapshot(account.id);
  for (const path of ["/account/factors/app", "/account/factors/recovery-codes/new", `/account/factors/${passkeyId}/remove`, "/account/factors/recovery-codes"]) {
    const page = await browser.post(path, path.endsWith("recovery-codes") ? { saved: "on" } : {});
    assert.is(page.url, "/account/confirm", path);
    assert.match(main(page), "Before you change your sign-in methods, confirm it's you");
  }
  const verify = await browser.post("/account/factors/app/verify", { code: codeAt(key) });
  assert.is(verify.url, "/account/confirm");
  const passkey = await postJson(browser, "/account/factors/passkey/options", { name: "New phone" });
  assert.is(passkey.status, 403);
  assert.is(passkey.json.redirect, "/account/confirm", "the passkey script is sent to confirm too");
  assert.not.ok(passkey.json.options, "no creation options (no challenge) before the confirmation");
  assert.is(await snapshot(account.id), before, "nothing changed");
});

test("after Confirm it's you the change asked for goes ahead: Generate new recovery codes shows the new ones; within the confirmation the next change needs none", async () => {
  const { account, browser, codes } = await fullySetUp();
  ctx.clock.advance(STALE);
  const asked = await browser.post("/account/factors/recovery-codes/new");
  const fresh = await confirmByEmail(browser, asked, account);
  assert.is(fresh.url, "/account/factors/recovery-codes", "back to the change asked for, done");
  const newCodes = texts(fresh, "ul.recovery-codes li");
  assert.is(newCodes.length, 10);
  assert.not.ok(newCodes.includes(codes[0]!));
  const saved = await press(browser, fresh, "Continue", { saved: "on" });
  assert.is(saved.url, "/account?done=codes_saved");
  // Confirmed a moment ago: Add an authenticator app goes straight to its set-up.
  const app = await browser.post("/account/factors/app");
  assert.is(app.url, "/account/factors/app");
  assert.ok(app.document.querySelector("output[name=totp-secret]"));
});

test("a fresh session changes without asking: the app's set-up starts and a passkey's options come", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await signIn(ctx, browser, account);
  assert.is((await browser.post("/account/factors/app")).url, "/account/factors/app");
  const passkey = await postJson(browser, "/account/factors/passkey/options", { name: "New phone" });
  assert.is(passkey.status, 200);
  assert.ok((passkey.json.options as { challenge?: string }).challenge);
});

test("Remove a passkey: a page of its own in the warning style, then Remove; audited in plain words, a notice emailed, Recent activity says so", async () => {
  const { account, browser, passkeyId } = await fullySetUp();
  const list = await browser.get("/account");
  const href = [...list.document.querySelectorAll("main a.remove-link")].find((a) => a.textContent!.includes("Old laptop"))!.getAttribute("href")!;
  const confirm = await browser.get(href);
  assert.is(confirm.status, 200);
  assert.equal(texts(confirm, "main h1"), ["Remove the passkey “Old laptop”?"]);
  assert.ok(confirm.document.querySelector("[data-confirm] .warning-text"));
  assert.ok(confirm.document.querySelector("button.button.warning"));
  assert.ok(texts(confirm, "main a").includes("Cancel: change nothing"));
  const done = await press(browser, confirm, "Remove the passkey “Old laptop”");
  assert.is(done.url, "/account?done=factor_removed");
  assert.match(main(done), "The sign-in method was removed");
  assert.match(main(done), "Passkey removed");
  assert.not.ok((await factorsOf(account.id)).some((f) => f.id === passkeyId));
  const [event] = await ctx.sql`select detail from audit_events where user_id = ${account.id} and event = 'factor.removed'`;
  assert.equal(event!.detail, { kind: "passkey" });
  const notice = await latestMessage(ctx, account.email, "email");
  assert.match(notice.subject ?? "", "sign-in method was removed");
  assert.match(notice.text, "The passkey Old laptop was just removed");
  // Again: it is gone (404, nothing else removed).
  const again = await browser.post(href);
  assert.is(again.status, 404);
  assert.match(main(again), FACTOR_GONE);
});

test("Remove the authenticator app ends its Remember Me; another person's factor or a mangled id is not found and nothing changes", async () => {
  const { account, browser } = await fullySetUp();
  const other = await fullySetUp();
  await createRememberToken(ctx.sql, ctx.clock, account.id, "totp", 60 * MINUTE);
  const appId = (await factorsOf(account.id)).find((f) => f.kind === "totp")!.id;
  const theirs = (await factorsOf(other.account.id)).find((f) => f.kind === "totp")!.id;
  const before = await snapshot(other.account.id);
  for (const path of [`/account/factors/${theirs}/remove`, "/account/factors/not-an-id/remove"]) {
    assert.is((await browser.get(path)).status, 404, path);
    assert.is((await browser.post(path)).status, 404, path);
  }
  assert.is(await snapshot(other.account.id), before);
  const done = await browser.post(`/account/factors/${appId}/remove`);
  assert.is(done.url, "/account?done=factor_removed");
  assert.not.ok((await factorsOf(account.id)).some((f) => f.kind === "totp"));
  const [remembered] = await ctx.sql`select 1 from remember_tokens where user_id = ${account.id} and login_option = 'totp'`;
  assert.not.ok(remembered, "Login with Authenticator App's Remember Me ended with the app");
});

test("the last factor cannot be removed: the page says why without a button, a POST is 409 and nothing changes; recovery codes alone are no factor", async () => {
  // Registered with Authenticator App: the app is the account's only factor (its recovery codes do not count).
  const account = await createActiveUser(ctx.sql, { method: "totp" });
  await withApp(account.id);
  await replaceRecoveryCodes(ctx.sql, ctx.clock, ctx.config.secretKey, account.id);
  const browser = await freshSession(account.id);
  const appId = (await factorsOf(account.id))[0]!.id;
  const page = await browser.get(`/account/factors/${appId}/remove`);
  assert.match(main(page), "This is the only sign-in method on your account");
  assert.not.ok(texts(page, "main button").some((name) => name.startsWith("Remove")));
  const before = await snapshot(account.id);
  const refused = await browser.post(`/account/factors/${appId}/remove`);
  assert.is(refused.status, 409);
  assert.match(main(refused), LAST_FACTOR);
  assert.is(await snapshot(account.id), before);
  // With a passkey beside it the app can go; then the passkey is the last one.
  await addSoftPasskey(ctx.sql, ctx.clock, account.id, { label: "Phone" });
  assert.is((await browser.post(`/account/factors/${appId}/remove`)).url, "/account?done=factor_removed");
  const passkeyId = (await factorsOf(account.id))[0]!.id;
  assert.is((await browser.post(`/account/factors/${passkeyId}/remove`)).status, 409);
  assert.equal((await factorsOf(account.id)).map((f) => f.kind), ["passkey"]);
});

test("a stale Remove: Confirm it's you first, then the removal is done (the request it was)", async () => {
  const { account, browser, passkeyId } = await fullySetUp();
  ctx.clock.advance(STALE);
  const asked = await browser.post(`/account/factors/${passkeyId}/remove`);
  assert.ok((await factorsOf(account.id)).some((f) => f.id === passkeyId), "not before the confirmation");
  const done = await confirmByEmail(browser, asked, account);
  assert.is(done.url, "/account?done=factor_removed");
  assert.not.ok((await factorsOf(account.id)).some((f) => f.id === passkeyId));
});

test("Confirm it's you offers the authenticator app: a wrong code is refused and counted, the right one goes back to the change", async () => {
  const { account, browser, key } = await fullySetUp();
  ctx.clock.advance(STALE);
  const page = await browser.get("/account/password");
  assert.is(page.url, "/account/confirm?for=password");
  assert.ok(texts(page, "main h2").includes("Or use your authenticator app"));
  assert.ok(texts(page, "main a").includes("Use a recovery code"));
  const wrongCode = String((Number(codeAt(key)) + 1) % 1e6).padStart(6, "0");
  const wrong = await press(browser, page, "Verify Code", { code: wrongCode });
  assert.is(wrong.status, 401);
  assert.match(main(wrong), "not right");
  const [row] = await ctx.sql<{ n: number }[]>`select failed_attempts as n from users where id = ${account.id}`;
  assert.is(row!.n, 1, "counted toward the lockout");
  const done = await press(browser, wrong, "Verify Code", { code: codeAt(key) });
  assert.is(done.url, "/account/password");
  const [event] = await ctx.sql`select detail from audit_events where user_id = ${account.id} and event = 'account.reauthenticated' order by id desc limit 1`;
  assert.is((event!.detail as { channel: string }).channel, "totp");
});

test("an account whose only factor is the authenticator app can confirm with it (no phone, no email factor)", async () => {
  const account = await createActiveUser(ctx.sql, { method: "totp" });
  const key = await withApp(account.id);
  const browser = await freshSession(account.id);
  ctx.clock.advance(STALE);
  const page = await browser.get("/account/password");
  assert.is(page.url, "/account/confirm?for=password");
  assert.is(page.status, 200);
  assert.not.ok(texts(page, "main button").includes("Send Verification Code"), "no email factor to send to");
  const done = await press(browser, page, "Verify Code", { code: codeAt(key) });
  assert.is(done.url, "/account/password");
  // The same code again (a new confirmation in the same time step): refused, a replay.
  await ctx.sql`update sessions set reauthenticated_at = ${new Date(ctx.clock.now().getTime() - STALE)}, reauth_for = null where user_id = ${account.id}`;
  const again = await browser.get("/account/password");
  assert.is(again.url, "/account/confirm?for=password");
  const replay = await press(browser, again, "Verify Code", { code: codeAt(key) });
  assert.is(replay.status, 400);
  assert.match(main(replay), "can no longer be used");
});

test("Use a recovery code on Confirm it's you: it confirms once and emails a notice; the same code fails the second time", async () => {
  const { account, browser, codes } = await fullySetUp();
  ctx.clock.advance(STALE);
  let page = await browser.get("/account/password");
  const link = [...page.document.querySelectorAll("main a")].find((a) => a.textContent === "Use a recovery code")!.getAttribute("href")!;
  page = await browser.get(link);
  assert.is(page.url, "/account/confirm/recovery?for=password");
  assert.is(page.document.querySelector("label[for=field-recovery]")!.textContent, "Recovery Code");
  const done = await press(browser, page, "Verify Code", { code: codes[0]! });
  assert.is(done.url, "/account/password");
  const notice = await latestMessage(ctx, account.email, "email");
  assert.match(notice.subject ?? "", "recovery code was used");
  assert.match(notice.text, "9 of your recovery codes are left");

  ctx.clock.advance(16 * MINUTE);
  page = await browser.get(link);
  const reused = await press(browser, page, "Verify Code", { code: codes[0]! });
  assert.is(reused.status, 401);
  assert.match(main(reused), RECOVERY_WRONG);
  assert.is((await press(browser, reused, "Verify Code", { code: codes[1]! })).url, "/account/password", "the next code works");
  const [{ n }] = (await ctx.sql<{ n: number }[]>`select count(*)::int as n from recovery_codes where user_id = ${account.id} and used_at is null`) as unknown as [{ n: number }];
  assert.is(n, 8);
});

test("Reset MFA (an administrator) removes the authenticator app, passkeys and recovery codes at once: the old code and passkey no longer sign in", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const key = await withApp(account.id);
  const passkey = await addSoftPasskey(ctx.sql, ctx.clock, account.id, { label: "Laptop" });
  const codes = await replaceRecoveryCodes(ctx.sql, ctx.clock, ctx.config.secretKey, account.id);
  const { browser: adminBrowser } = await signedInAdmin(ctx);
  const done = await pressConfirmed(adminBrowser, await adminBrowser.get(`/admin/users/${account.id}`), `Reset MFA ${account.email}`);
  assert.ok(done.status < 400, `reset: ${done.status} ${done.url}`);
  assert.equal((await factorsOf(account.id)).map((f) => f.kind), ["email"], "only the email factor, until the new one is set up");
  const [{ n }] = (await ctx.sql<{ n: number }[]>`select count(*)::int as n from recovery_codes where user_id = ${account.id}`) as unknown as [{ n: number }];
  assert.is(n, 0);

  // Login with Authenticator App: the account has none now.
  const browser = ctx.browser();
  await press(browser, await browser.get("/login"), "Login with Authenticator App");
  const noApp = await browser.post("/login/credentials", { email: account.email, password: account.password });
  assert.is(noApp.url, "/login/no-app");
  void codeAt(key);
  // The recovery codes died with them.
  const start = await browser.post("/login", { option: "email" });
  assert.is(start.url, "/login/credentials");
  await browser.post("/login/credentials", { email: account.email, password: account.password });
  const used = await browser.post("/login/recovery", { code: codes[0]! });
  assert.is(used.status, 401);
  // Sign in with a passkey: refused.
  const options = await postJson(browser, "/login/passkey/options", {});
  const answer = passkey.answer((options.json.options as { challenge: string }).challenge, PUBLIC_URL);
  const refused = await postJson(browser, "/login/passkey/verify", answer);
  assert.is(refused.status, 401);
  assert.not.ok(refused.json.redirect);
});

test("an organization's administrator's Reset MFA (the org-scoped admin) ends the member's app, passkeys and codes too; another organization's administrator finds no such user", async () => {
  const org = await makeOrganization(ctx.sql, ctx.clock, "Factors clinic");
  const elsewhere = await makeOrganization(ctx.sql, ctx.clock, "Other clinic");
  const actor = await makeMember(ctx.sql, ctx.clock, org, "provider_admin", "active", "orgadmin");
  const stranger = await makeMember(ctx.sql, ctx.clock, elsewhere, "provider_admin", "active", "stranger");
  const member = await makeMember(ctx.sql, ctx.clock, org, "provider_staff", "active", "staffer");
  await addFactor(ctx.sql, ctx.clock, member.id, { kind: "email", destination: member.email });
  await withApp(member.id);
  await addSoftPasskey(ctx.sql, ctx.clock, member.id);
  await replaceRecoveryCodes(ctx.sql, ctx.clock, ctx.config.secretKey, member.id);
  const before = await snapshot(member.id);
  const refused = await (await browserSignedInAs(ctx, stranger.id)).post(`/admin/users/${member.id}/reset-mfa`, { from: "user" });
  assert.is(refused.status, 404);
  assert.is(await snapshot(member.id), before, "another organization's administrator changed nothing");
  const done = await (await browserSignedInAs(ctx, actor.id)).post(`/admin/users/${member.id}/reset-mfa`, { from: "user" });
  assert.ok(done.status < 400, `reset: ${done.status}`);
  assert.equal((await factorsOf(member.id)).map((f) => f.kind), ["email"]);
  const [{ n }] = (await ctx.sql<{ n: number }[]>`select count(*)::int as n from recovery_codes where user_id = ${member.id}`) as unknown as [{ n: number }];
  assert.is(n, 0);
});

test("a passkey that was not removed signs in (the software passkey's answer is a real one)", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const passkey = await addSoftPasskey(ctx.sql, ctx.clock, account.id);
  const browser = ctx.browser();
  const options = await postJson(browser, "/login/passkey/options", {});
  const signedIn = await postJson(browser, "/login/passkey/verify", passkey.answer((options.json.options as { challenge: string }).challenge, PUBLIC_URL));
  assert.is(signedIn.status, 200, JSON.stringify(signedIn.json));
  assert.is(signedIn.json.redirect, "/home");
});

test.run();
