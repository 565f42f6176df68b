/**
 * The home page (heading Home, Sign out, Administration for admins, the last sign-ins), sign-out
 * ending the session at the server, the session's idle and absolute lifetimes through HTTP
 * (ASVS 7.3.1, 7.3.2, 7.4.1), and the help pages.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, texts, buttonNames, type TestContext, type Page } from "../support/harness.ts";
import { createActiveUser } from "../support/users.ts";
import { signIn, useFreshAddress } from "../support/sign-in.ts";
import { MINUTE, HOUR } from "../../src/clock.ts";

let ctx: TestContext;

test.before(async () => {
  ctx = await createTestContext();
});

test.before.each(() => {
  useFreshAddress(ctx);
});

function links(page: Page, scope = "main"): Array<[string, string | null]> {
  return [...page.document.querySelectorAll(`${scope} a`)].map((a) => [(a.textContent ?? "").replace(/\s+/g, " ").trim(), a.getAttribute("href")]);
}

function mainText(page: Page): string {
  return (page.document.querySelector("main")?.textContent ?? "").replace(/\s+/g, " ");
}

test("/home without a session is a 303 to the sign-in page", async () => {
  const page = await ctx.browser().get("/home");
  assert.equal(page.redirects, [303]);
  assert.is(page.url, "/login");
});

test("home: heading Home, a Sign out button in a POST form, no Administration link for a provider, never cached", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email", name: "Dana Provider" });
  const browser = ctx.browser();
  await signIn(ctx, browser, account);
  const page = await browser.get("/home");
  assert.is(texts(page, "h1")[0], "Home");
  assert.match(mainText(page), "Dana Provider");
  const button = [...page.document.querySelectorAll("main button")].find((b) => b.textContent?.trim() === "Sign out");
  assert.ok(button, "a Sign out button");
  const form = button!.closest("form")!;
  assert.is(form.getAttribute("method"), "post");
  assert.is(form.getAttribute("action"), "/logout");
  assert.not.ok(links(page, "body").some(([text]) => text === "Administration"), "no Administration link for providers");
  assert.is(page.headers.get("cache-control"), "no-store");
});

test("home: an administrator has an Administration link to /admin", async () => {
  const admin = await createActiveUser(ctx.sql, { method: "phone", role: "admin" });
  const browser = ctx.browser();
  await signIn(ctx, browser, admin);
  const page = await browser.get("/home");
  const adminLinks = links(page, "body").filter(([text]) => text === "Administration");
  assert.equal(adminLinks, [["Administration", "/admin"]], "exactly one Administration link, to /admin");
});

test("home lists the person's last sign-ins, newest first: time, option and client address (failed attempts are not sign-ins)", async () => {
  const account = await createActiveUser(ctx.sql, { method: "phone" });
  const first = useFreshAddress(ctx);
  await signIn(ctx, ctx.browser(), account, { option: "phone" });
  ctx.clock.advance(MINUTE);
  const second = useFreshAddress(ctx);
  const browser = ctx.browser();
  await signIn(ctx, browser, account, { option: "email" });
  const page = await browser.get("/home");
  const rows = [...page.document.querySelectorAll("main tbody tr")].map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent?.trim() ?? ""));
  assert.is(rows.length, 2);
  assert.is(rows[0]![1], "Login with Email");
  assert.is(rows[0]![2], second);
  assert.is(rows[1]![1], "Login with Phone");
  assert.is(rows[1]![2], first);
  const times = [...page.document.querySelectorAll("main tbody time")].map((t) => t.getAttribute("datetime"));
  assert.is(times[0], ctx.clock.now().toISOString());
});

test("sign out ends the session at the server: a copy of the old cookie no longer works", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await signIn(ctx, browser, account);
  const cookie = browser.cookies.get("session")!;
  const page = await browser.post("/logout");
  assert.is(page.url, "/login?signed-out=1");
  assert.match(mainText(page), "You are signed out.");
  assert.not.ok(browser.cookies.has("session"));
  const [rows] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from sessions where user_id = ${account.id}`;
  assert.is(rows!.n, 0);
  const replay = ctx.browser();
  replay.cookies.set("session", cookie);
  assert.is((await replay.get("/home")).url, "/login", "the old cookie is dead");
  const events = await ctx.sql`select 1 from audit_events where user_id = ${account.id} and event = 'signout'`;
  assert.is(events.length, 1);
});

test("sign out with htmx is a full-page redirect to the sign-in page", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await signIn(ctx, browser, account);
  const page = await browser.post("/logout", {}, { htmx: true });
  assert.is(page.status, 204);
  assert.is(page.headers.get("hx-redirect"), "/login?signed-out=1");
  assert.is((await browser.get("/home")).url, "/login");
});

test("ASVS 7.3.1: a session idle for SESSION_IDLE_TTL (30 minutes) ends at the server; activity keeps it alive", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await signIn(ctx, browser, account);
  ctx.clock.advance(29 * MINUTE);
  assert.is((await browser.get("/home")).url, "/home", "29 minutes idle: still signed in");
  ctx.clock.advance(29 * MINUTE);
  assert.is((await browser.get("/home")).url, "/home", "the last request restarted the idle time");
  ctx.clock.advance(30 * MINUTE);
  const page = await browser.get("/home");
  assert.is(page.url, "/login", "30 minutes idle: signed out");
  const [rows] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from sessions where user_id = ${account.id}`;
  assert.is(rows!.n, 0, "the row is gone");
});

test("ASVS 7.3.2: a session ends after SESSION_MAX_TTL (12 hours) however active", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await signIn(ctx, browser, account);
  for (let elapsed = 20 * MINUTE; elapsed < 12 * HOUR; elapsed += 20 * MINUTE) {
    ctx.clock.advance(20 * MINUTE);
    const page = await browser.get("/home");
    assert.is(page.url, "/home", `still signed in after ${elapsed / MINUTE} minutes`);
  }
  ctx.clock.advance(20 * MINUTE);
  assert.is((await browser.get("/home")).url, "/login", "12 hours after sign-in: signed out");
});

test("every page's footer links Having trouble logging in? and Multi-Factor Authentication Help", async () => {
  const browser = ctx.browser();
  for (const path of ["/login", "/help", "/help/mfa", "/forgot-password"]) {
    const page = await browser.get(path);
    const footer = links(page, "footer");
    assert.ok(footer.some(([text, href]) => text === "Having trouble logging in?" && href === "/trouble"), `${path}: trouble link`);
    assert.ok(footer.some(([text, href]) => text === "Multi-Factor Authentication Help" && href === "/help/mfa"), `${path}: MFA help link`);
  }
});

test("signed in: the footer keeps Multi-Factor Authentication Help but not Having trouble logging in?; home's advice links the account page", async () => {
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const browser = ctx.browser();
  await signIn(ctx, browser, account);
  const page = await browser.get("/home");
  const footer = links(page, "footer");
  assert.not.ok(footer.some(([text]) => text === "Having trouble logging in?"), "no sign-in trouble while signed in");
  assert.ok(footer.some(([text, href]) => text === "Multi-Factor Authentication Help" && href === "/help/mfa"));
  assert.ok(links(page, "main").some(([text, href]) => text === "change your password" && href === "/account"));
});

test("help index links every help page", async () => {
  const page = await ctx.browser().get("/help");
  assert.is(texts(page, "h1")[0], "Help");
  const hrefs = links(page).map(([, href]) => href);
  for (const href of ["/help/what-is-mfa", "/help/remember-me", "/help/authenticator-app", "/help/passkeys", "/help/recovery-codes", "/help/mfa", "/trouble", "/forgot-password"]) {
    assert.ok(hrefs.includes(href), href);
  }
});

test("the stronger factors' help pages: which authenticator apps work, what a passkey needs, what to do with recovery codes", async () => {
  const app = await ctx.browser().get("/help/authenticator-app");
  assert.is(app.status, 200);
  assert.is(texts(app, "h1")[0], "Authenticator apps");
  let text = mainText(app);
  for (const name of ["Google Authenticator", "Microsoft Authenticator", "Authy", "1Password"]) assert.match(text, name);
  assert.match(text, "RFC 6238");
  assert.match(text, "Login with Authenticator App");
  assert.match(text, "Each code works once.");

  const passkeys = await ctx.browser().get("/help/passkeys");
  assert.is(texts(passkeys, "h1")[0], "Passkeys");
  text = mainText(passkeys);
  assert.match(text, "JavaScript turned on");
  assert.match(text, "A device and browser that support passkeys");
  assert.match(text, "Sign in with a passkey");
  assert.match(text, "Add a passkey");

  const recovery = await ctx.browser().get("/help/recovery-codes");
  assert.is(texts(recovery, "h1")[0], "Recovery codes");
  text = mainText(recovery);
  assert.match(text, "Print them, or write them down");
  assert.match(text, "Each code works once.");
  assert.match(text, "Generate new recovery codes");
  assert.match(text, "Use a recovery code");

  for (const page of [app, passkeys, recovery]) {
    // Inside <article>: the help pages' measure (max-width 40rem) keeps lines readable.
    assert.ok(page.document.querySelector("main article h1"), `${page.url}: an article`);
    assert.ok(links(page).some(([text, href]) => text === "All help pages" && href === "/help"), `${page.url}: All help pages`);
  }
});

// The app's set-up and the recovery codes pages link theirs too (test/support/factors.ts, registerWithApp).
test("the sign-in page links the help of the authenticator app and of passkeys", async () => {
  const signInPage = await ctx.browser().get("/login");
  const hrefs = links(signInPage).map(([, href]) => href);
  assert.ok(hrefs.includes("/help/authenticator-app"), "sign-in: authenticator apps");
  assert.ok(hrefs.includes("/help/passkeys"), "sign-in: passkeys");
});

test("What is MFA and how it works, in the guide's words", async () => {
  const page = await ctx.browser().get("/help/what-is-mfa");
  assert.is(page.status, 200);
  const text = mainText(page);
  assert.match(text, "Multi-Factor authentication (MFA) is an authentication method that requires users to verify identity using multiple independent methods.");
  assert.match(text, "Even if one factor is compromised, there are still more barriers to breach.");
  assert.match(text, "Only the correct password combined with the correct number from the additional authentication factor would give a user access.");
});

test("Remember Me help: 4 hours, not on a shared device, and the browser set-up for Chrome and Edge as the guide says, plus Firefox and Safari", async () => {
  const page = await ctx.browser().get("/help/remember-me");
  const text = mainText(page);
  assert.match(text, "4 hours");
  assert.match(text, "You should NOT use this option if you use a shared device.");
  assert.match(text, "You must use the same login option (Login with Phone or Login with Email)");
  const headings = texts(page, "h2");
  for (const name of ["Chrome configuration", "Edge configuration", "Firefox configuration", "Safari configuration"]) assert.ok(headings.includes(name), name);
  const steps = (heading: string) => {
    const h2 = [...page.document.querySelectorAll("h2")].find((h) => h.textContent === heading)!;
    let element = h2.nextElementSibling;
    while (element && element.tagName !== "OL") element = element.nextElementSibling;
    return [...element!.querySelectorAll("li")].map((li) => li.textContent!.replace(/\s+/g, " ").trim());
  };
  for (const browser of ["Chrome configuration", "Edge configuration"]) {
    const list = steps(browser);
    assert.match(list[0]!, "three (3) menu dots in the upper right corner of the browser");
    assert.match(list[1]!, "Settings");
    assert.match(list[2]!, "On startup in the left menu");
    assert.match(list[3]!, "Continue where you left off");
  }
  assert.match(steps("Firefox configuration").join(" "), /Settings.*General.*Startup.*Open previous windows and tabs/);
  assert.match(steps("Safari configuration").join(" "), /Settings.*General.*Safari opens with.*All windows from last session/);
});

test("Multi-Factor Authentication Help asks what went wrong (a radio group and Continue that work without JavaScript) and leads to the fix", async () => {
  const browser = ctx.browser();
  let page = await browser.get("/help/mfa");
  assert.is(texts(page, "h1")[0], "Multi-Factor Authentication Help");
  const form = page.document.querySelector("main form")!;
  assert.is(form.getAttribute("method"), "get");
  assert.is(form.querySelector("legend")?.textContent, "What went wrong?");
  assert.ok(form.querySelectorAll("input[type=radio][name=problem]").length >= 6);
  for (const radio of form.querySelectorAll("input[type=radio]")) {
    assert.ok(form.querySelector(`label[for="${radio.getAttribute("id")}"]`), "each choice has a label");
  }
  assert.equal(buttonNames(page).filter((name) => name === "Continue"), ["Continue"]);

  const expectations: Array<[string, (page: Page) => void]> = [
    ["link_expired", (p) => { assert.match(mainText(p), "portal administrator"); assert.match(mainText(p), "Reset"); assert.match(mainText(p), "2 days"); }],
    ["unfinished", (p) => assert.ok(links(p).some(([, href]) => href === "/trouble"))],
    ["forgot_password", (p) => assert.ok(links(p).some(([, href]) => href === "/forgot-password"))],
    ["lost_phone", (p) => { assert.match(mainText(p), "reset your multi-factor authentication"); assert.match(mainText(p), "portal administrator"); }],
    ["locked", (p) => { assert.match(mainText(p), "15 minutes"); assert.ok(links(p).some(([, href]) => href === "/forgot-password")); }],
    ["email_code_expired", (p) => { assert.match(mainText(p), "Send New Code"); assert.match(mainText(p), "30 seconds"); }],
  ];
  for (const [problem, check] of expectations) {
    page = await browser.get(`/help/mfa?asked=1&problem=${problem}`);
    assert.is(page.status, 200, problem);
    assert.is(page.document.querySelector(`#problem-${problem}`)?.hasAttribute("checked"), true, `${problem} stays selected`);
    assert.ok(page.document.querySelector("#answer-heading"), `${problem}: an answer`);
    check(page);
  }
  page = await browser.get("/help/mfa?asked=1");
  assert.is(page.status, 400, "Continue with nothing selected asks again");
  assert.match(mainText(page), "Select what went wrong");
  page = await browser.get("/help/mfa?asked=1&problem=nonsense");
  assert.is(page.status, 400);
});

test("help pages answer htmx with a fragment of <main>", async () => {
  const page = await ctx.browser().get("/help/mfa", { htmx: true });
  assert.not.match(page.text, "<html");
  assert.match(page.text, "Multi-Factor Authentication Help");
});

test.run();
