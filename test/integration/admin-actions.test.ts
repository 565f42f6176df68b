/**
 * Each administrator action, pressed by its button's name on the admin page, and what it does to
 * the user's ability to sign in: disable (the generic refusal) and enable, reset MFA (sessions
 * and Remember Me end, the emailed link leads to the method choice), unlock, resend (the first
 * link dies, the second works), role change (the Administration link comes and goes). Every
 * action leaves an audit event naming the administrator, the user, the address and the browser.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, texts, uniqueEmail, type TestContext } from "../support/harness.ts";
import { createActiveUser } from "../support/users.ts";
import { browserSignedInAs, formOfButton, latestLink, messagesTo, press, pressConfirmed, rowOf, signedInAdmin, signInWithEmail } from "../support/admin.ts";
import { createRememberToken } from "../../src/auth/remember-me.ts";
import { SIGN_IN_REFUSED } from "../../src/flows/login.ts";
import { LOCKOUT_MS } from "../../src/auth/lockout.ts";
import type { Browser } from "../support/harness.ts";
import { cookieName } from "../../src/web/cookies.ts";

const CLIENT_IP = "10.61.0.1";
let ctx: TestContext;
let adminBrowser: Browser;
let adminId: string;

test.before(async () => {
  ctx = await createTestContext();
  // This file's own client address, so its sign-ins and sends fill no rate-limit bucket of another file.
  ctx.deps.remoteAddress = () => CLIENT_IP;
  const { admin, browser } = await signedInAdmin(ctx);
  adminBrowser = browser;
  adminId = admin.id;
});

test.after(async () => {
  await ctx.outbox.stop();
});

/** The admin page searched down to one user, so their row (and its buttons) is on it. */
async function adminPageFor(email: string) {
  const page = await adminBrowser.get(`/admin?q=${encodeURIComponent(email)}`);
  assert.equal(page.status, 200);
  assert.ok(rowOf(page, email), `row of ${email} on the page`);
  return page;
}

async function lastAdminEvent(userId: string) {
  const [row] = await ctx.sql<{ event: string; actorId: string; ip: string; userAgent: string }[]>`
    select event, actor_id as "actorId", ip, user_agent as "userAgent" from audit_events
    where user_id = ${userId} and event like 'admin.%' order by id desc limit 1`;
  return row;
}

test("Disable: the user's sessions end and sign-in gets the generic refusal; Enable: sign-in works again", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const userBrowser = ctx.browser();
  assert.equal((await signInWithEmail(userBrowser, user.email, user.password)).url, "/home");
  const other = await browserSignedInAs(ctx, user.id);

  const page = await adminPageFor(user.email);
  const done = await pressConfirmed(adminBrowser, page, `Disable ${user.email}`);
  assert.equal(done.redirects, [303]);
  assert.ok(done.url.startsWith("/admin?"), done.url);
  assert.ok(done.url.includes(`q=${encodeURIComponent(user.email)}`), "the search is kept after the redirect");
  assert.equal(texts(done, "#admin-status")[0], `${user.email} was disabled and signed out everywhere.`);
  assert.equal(texts(done, `#user-${user.id} td`)[4], "Disabled");
  assert.ok(texts(done, "button").includes(`Enable ${user.email}`));

  assert.equal((await userBrowser.get("/home")).url, "/login", "the signed-in browser was signed out");
  assert.equal((await other.get("/home")).url, "/login");
  const refused = await signInWithEmail(ctx.browser(), user.email, user.password);
  assert.equal(refused.status, 401);
  assert.ok(refused.text.includes(SIGN_IN_REFUSED), "the same answer as a wrong password");
  const wrong = await signInWithEmail(ctx.browser(), user.email, "not-the-password-at-all");
  assert.equal(wrong.status, refused.status);

  const event = await lastAdminEvent(user.id);
  assert.equal(event, { event: "admin.user_disabled", actorId: adminId, ip: CLIENT_IP, userAgent: "test-browser" });

  const enabled = await press(adminBrowser, await adminPageFor(user.email), `Enable ${user.email}`);
  assert.equal(texts(enabled, "#admin-status")[0], `${user.email} was enabled.`);
  assert.equal(texts(enabled, `#user-${user.id} td`)[4], "Active");
  assert.equal((await signInWithEmail(ctx.browser(), user.email, user.password)).url, "/home");
  assert.equal((await lastAdminEvent(user.id))!.event, "admin.user_enabled");
});

test("Disable also ends Remember Me, so the remembered Login button asks for everything again", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const token = await createRememberToken(ctx.sql, ctx.clock, user.id, "email", ctx.config.ttl.rememberMe);
  await pressConfirmed(adminBrowser, await adminPageFor(user.email), `Disable ${user.email}`);
  const [count] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from remember_tokens where user_id = ${user.id}`;
  assert.equal(count!.n, 0);
  const browser = ctx.browser();
  browser.cookies.set(cookieName(ctx.config, "remember"), token);
  const page = await browser.post("/login", { option: "email", remember: "on" });
  assert.equal(page.url, "/login/credentials");
});

test("a disabled user who was still registering cannot finish with their old link, and comes back invited", async () => {
  const email = uniqueEmail();
  const created = await adminBrowser.post("/admin/users", { email, name: "Still Registering", role: "provider" });
  const link = await latestLink(adminBrowser, email);
  const [row] = await ctx.sql<{ id: string }[]>`select id from users where email_normalized = ${email.toLowerCase()}`;
  assert.equal(created.url, `/admin?done=created&user=${row!.id}`);
  await pressConfirmed(adminBrowser, await adminPageFor(email), `Disable ${email}`);
  const landing = await ctx.browser().get(link);
  assert.not.equal(landing.url, "/register/method", "the old link no longer starts a registration");
  const enabled = await press(adminBrowser, await adminPageFor(email), `Enable ${email}`);
  assert.equal(texts(enabled, `#user-${row!.id} td`)[4], "Invited");
  assert.ok(texts(enabled, "button").includes(`Resend registration link ${email}`));
});

test("Reset MFA: sessions and Remember Me end at once; the emailed link lands on the method choice", async () => {
  const user = await createActiveUser(ctx.sql, { method: "phone" });
  const session = await browserSignedInAs(ctx, user.id);
  assert.equal((await session.get("/home")).status, 200);
  await createRememberToken(ctx.sql, ctx.clock, user.id, "phone", ctx.config.ttl.rememberMe);
  const before = (await messagesTo(adminBrowser, user.email)).length;

  const done = await pressConfirmed(adminBrowser, await adminPageFor(user.email), `Reset MFA ${user.email}`);
  assert.match(texts(done, "#admin-status")[0]!, /Multi-factor authentication was reset for/);
  assert.equal((await session.get("/home")).url, "/login", "their session ended");
  const [remembered] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from remember_tokens where user_id = ${user.id}`;
  assert.equal(remembered!.n, 0);

  const mails = await messagesTo(adminBrowser, user.email);
  assert.equal(mails.length, before + 1);
  assert.match(mails[0]!.subject ?? "", /multi-factor authentication again/i);
  const landing = await ctx.browser().get(await latestLink(adminBrowser, user.email));
  assert.equal(landing.url, "/register/method");
  assert.equal(texts(landing, "h1")[0], "Set up multi-factor authentication again");
  assert.ok(texts(landing, "button").includes("Phone") && texts(landing, "button").includes("Email"));
  assert.equal((await lastAdminEvent(user.id))!.event, "admin.mfa_reset");
});

test("Reset MFA is not offered for, and refused on, a user who has not registered", async () => {
  const email = uniqueEmail();
  await adminBrowser.post("/admin/users", { email, name: "New", role: "provider" });
  const page = await adminPageFor(email);
  assert.not.ok(texts(page, "button").includes(`Reset MFA ${email}`));
  const [row] = await ctx.sql<{ id: string }[]>`select id from users where email_normalized = ${email.toLowerCase()}`;
  const refused = await adminBrowser.post(`/admin/users/${row!.id}/reset-mfa`, { from: "list" });
  assert.match(texts(refused, "#admin-status")[0]!, /has not finished registering/);
});

test("Unlock: a locked account signs in again at once", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  await ctx.sql`update users set locked_until = ${new Date(ctx.clock.now().getTime() + LOCKOUT_MS)} where id = ${user.id}`;
  const locked = await signInWithEmail(ctx.browser(), user.email, user.password);
  assert.equal(locked.status, 401, "locked: even the right password gets the generic refusal");

  const page = await adminPageFor(user.email);
  assert.equal(texts(page, `#user-${user.id} td`)[4], "Locked");
  const done = await press(adminBrowser, page, `Unlock ${user.email}`);
  assert.equal(texts(done, "#admin-status")[0], `${user.email} was unlocked and can sign in again.`);
  assert.equal(texts(done, `#user-${user.id} td`)[4], "Active");
  assert.not.ok(texts(done, "button").includes(`Unlock ${user.email}`));
  assert.equal((await signInWithEmail(ctx.browser(), user.email, user.password)).url, "/home");
  assert.equal((await lastAdminEvent(user.id))!.event, "admin.user_unlocked");
});

test("Resend registration link: the first link now fails and the second one works", async () => {
  const email = uniqueEmail();
  await adminBrowser.post("/admin/users", { email, name: "Resend Me", role: "provider" });
  const first = await latestLink(adminBrowser, email);
  const done = await press(adminBrowser, await adminPageFor(email), `Resend registration link ${email}`);
  assert.equal(texts(done, "#admin-status")[0], `A new registration link was emailed to ${email}. Earlier links no longer work.`);
  const second = await latestLink(adminBrowser, email);
  assert.not.equal(second, first);

  const old = await ctx.browser().get(first);
  assert.not.equal(old.url, "/register/method");
  assert.ok(old.status >= 400 || old.url.startsWith("/register/error"), `first link refused (${old.status} ${old.url})`);
  const fresh = await ctx.browser().get(second);
  assert.equal(fresh.url, "/register/method");
  assert.equal(texts(fresh, "h1")[0], "Multi-factor authentication registration");
  const [row] = await ctx.sql<{ id: string }[]>`select id from users where email_normalized = ${email.toLowerCase()}`;
  assert.equal((await lastAdminEvent(row!.id))!.event, "admin.registration_link_resent");
});

test("Make administrator / Make provider: the Administration link appears and disappears", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  const home = await signInWithEmail(browser, user.email, user.password);
  assert.equal(home.url, "/home");
  assert.not.ok(texts(home, "a").includes("Administration"));
  assert.equal((await browser.get("/admin")).status, 403);

  const promoted = await press(adminBrowser, await adminPageFor(user.email), `Make administrator ${user.email}`);
  assert.equal(texts(promoted, "#admin-status")[0], `${user.email} is now an administrator.`);
  assert.equal(texts(promoted, `#user-${user.id} td`)[1], "Administrator");
  const asAdmin = await browser.get("/home");
  assert.ok(texts(asAdmin, "a").includes("Administration"));
  assert.equal((await browser.get("/admin")).status, 200);

  const demoted = await press(adminBrowser, await adminPageFor(user.email), `Make provider ${user.email}`);
  assert.equal(texts(demoted, "#admin-status")[0], `${user.email} is now a provider.`);
  assert.not.ok(texts(await browser.get("/home"), "a").includes("Administration"));
  assert.equal((await browser.get("/admin")).status, 403);
  const [event] = await ctx.sql<{ detail: unknown }[]>`
    select detail from audit_events where user_id = ${user.id} and event = 'admin.role_changed' order by id desc limit 1`;
  assert.equal(event!.detail, { from: "admin", to: "provider" });
});

test("Disable and Reset MFA are confirmed on a page of their own (no JavaScript needed), with a warning button; one click changes nothing", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const page = await adminPageFor(user.email);
  for (const name of ["Disable", "Reset MFA"]) {
    const button = [...page.document.querySelectorAll(`#user-${user.id} button`)].find((b) => (b.textContent ?? "").replace(/\s+/g, " ").trim() === `${name} ${user.email}`);
    assert.ok(button?.classList.contains("warning"), `${name}: styled as a warning`);
    assert.is(button!.closest("form")?.getAttribute("method"), "get", `${name}: its button only opens the confirmation page`);
    assert.not.ok(button!.closest("form")?.hasAttribute("hx-post"), `${name}: no one-click htmx post`);
    const confirm = await press(adminBrowser, page, `${name} ${user.email}`);
    assert.is(confirm.status, 200);
    assert.ok(confirm.document.querySelector("[data-confirm]"), `${name}: the confirmation page`);
    assert.match(texts(confirm, "h1")[0]!, user.email);
    assert.ok(confirm.document.querySelector("button.warning"), `${name}: the confirming button is a warning`);
    assert.ok([...confirm.document.querySelectorAll("a")].some((a) => a.textContent?.startsWith("Cancel")), `${name}: a way back`);
    const [row] = await ctx.sql<{ status: string }[]>`select status from users where id = ${user.id}`;
    assert.is(row!.status, "active", `${name}: nothing changed yet`);
    assert.is((await messagesTo(adminBrowser, user.email)).length, 0, `${name}: nothing sent yet`);
  }
  const form = formOfButton(page, `Disable ${user.email}`);
  assert.is(form.action, `/admin/users/${user.id}/disable/confirm`);
  const done = await pressConfirmed(adminBrowser, page, `Disable ${user.email}`);
  assert.match(texts(done, "#admin-status")[0]!, "was disabled");
});

test("with htmx an action answers its table row and the status message, not a page", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const page = await adminPageFor(user.email);
  // Disable and Reset MFA go through their confirmation page; the other actions swap their row.
  const fragment = await press(adminBrowser, page, `Make administrator ${user.email}`, { htmx: true });
  assert.equal(fragment.status, 200);
  assert.equal(fragment.redirects, []);
  assert.not.ok(fragment.text.includes("<html"), "a fragment, not a document");
  assert.match(fragment.text, /^<hx-partial hx-target="#admin-status" hx-swap="innerHTML">/);
  const row = fragment.document.querySelector(`tr#user-${user.id}`);
  assert.ok(row, "the row is in the answer");
  assert.ok(texts(fragment, "button").includes(`Make provider ${user.email}`));
  const focused = fragment.document.querySelector("button[autofocus]");
  assert.equal(focused?.getAttribute("id"), `u-${user.id}-role`, "focus stays on the button's place in the row");
  assert.ok(fragment.text.includes(`${user.email} is now an administrator.`));
  // The form carries what htmx needs to replace its own row.
  const form = page.document.querySelector(`#user-${user.id} form[action$="/role"]`)!;
  assert.equal(form.getAttribute("hx-target"), "closest tr");
  assert.equal(form.getAttribute("hx-swap"), "outerHTML");
});

test("the message after a redirect comes from a fixed list: free text in the query is never shown", async () => {
  const page = await adminBrowser.get(`/admin?done=${encodeURIComponent("<b>pwned</b>")}&user=${adminId}`);
  assert.equal(texts(page, "#admin-status")[0], "");
  assert.not.ok(page.text.includes("pwned"));
  const bogus = await adminBrowser.get(`/admin?done=disabled&user=${encodeURIComponent("<script>")}`);
  assert.equal(texts(bogus, "#admin-status")[0], "");
});

test.run();
