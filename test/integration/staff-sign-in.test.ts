/**
 * Staff sign-in (product.md §6) against a local OpenID Connect issuer started here: Staff Login
 * → the issuer → /staff/callback → /home, with the account made just in time from the ID token
 * (issuer + sub), its role from the groups claim, and every way the answer can be refused:
 * a tampered state, a replayed callback, a wrong nonce, an issuer mismatch, no MFA in amr.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, texts, type Browser, type Page, type TestContext, PUBLIC_URL } from "../support/harness.ts";
import { startStaffIssuer, STAFF_CLIENT_ID, STAFF_CLIENT_SECRET, type StaffIssuer } from "../support/staff-issuer.ts";
import { MINUTE } from "../../src/clock.ts";
import { STAFF_MESSAGES } from "../../src/flows/staff-sign-in.ts";
import { STAFF_REFUSED } from "../../src/flows/login.ts";

let issuer: StaffIssuer;
let ctx: TestContext;

test.before(async () => {
  issuer = await startStaffIssuer();
  ctx = await createTestContext({ env: issuer.env({ STAFF_OIDC_ADMIN_GROUP: "portal-admins" }) });
});

test.after(async () => {
  await issuer.stop();
});

test.before.each(() => {
  // A minute on per test: the per-address buckets of Staff Login and the callback refill.
  ctx.clock.advance(MINUTE);
  issuer.claims = {};
});

let people = 0;
/** A staff member as the issuer knows them: a stable sub and an address of STAFF_EMAIL_DOMAINS. */
function staffPerson(extra: Record<string, unknown> = {}) {
  people += 1;
  const tag = `${Date.now().toString(36)}${process.pid}${people}`;
  return { sub: `staff-sub-${tag}`, email: `staff.${tag}@kepro.com`, name: `Staff Member ${people}`, amr: ["pwd", "mfa"], ...extra };
}

function main(page: Page): string {
  return page.document.querySelector("main")?.textContent?.replace(/\s+/g, " ") ?? page.text.replace(/\s+/g, " ");
}

/** GET /staff/login (or the given path): the portal's answer is a redirect to the issuer's authorization endpoint. */
async function pressStaffLogin(browser: Browser, path = "/staff/login"): Promise<URL> {
  const page = await browser.get(path, { follow: false });
  assert.is(page.status, 303, "Staff Login redirects to the issuer");
  const location = new URL(page.headers.get("location")!);
  assert.is(location.origin, new URL(issuer.url).origin, "to the issuer's origin");
  return location;
}

/** The issuer's authorization endpoint, as the browser would load it: it answers with the redirect back. */
async function atIssuer(authorize: URL): Promise<URL> {
  const response = await fetch(authorize, { redirect: "manual" });
  assert.is(response.status, 302, `the issuer sends the browser back (${await response.clone().text()})`);
  return new URL(response.headers.get("location")!);
}

/** The browser arriving back at the portal's callback. */
function backAtPortal(browser: Browser, callback: URL): Promise<Page> {
  assert.is(callback.origin + callback.pathname, `${PUBLIC_URL}/staff/callback`);
  return browser.get(callback.pathname + callback.search);
}

async function signInAsStaff(browser: Browser, claims: Record<string, unknown>): Promise<Page> {
  issuer.claims = claims;
  return backAtPortal(browser, await atIssuer(await pressStaffLogin(browser)));
}

interface StaffRow {
  id: string;
  email: string;
  name: string;
  role: string;
  status: string;
  staffIssuer: string | null;
  staffSubject: string | null;
  passwordHash: string | null;
  mfaMethod: string | null;
}

async function staffRows(sub: string): Promise<StaffRow[]> {
  return ctx.sql<StaffRow[]>`
    select id, email, name, role, status, staff_issuer as "staffIssuer", staff_subject as "staffSubject",
      password_hash as "passwordHash", mfa_method as "mfaMethod"
    from users where staff_subject = ${sub}`;
}

async function eventsOf(userId: string): Promise<string[]> {
  const rows = await ctx.sql<{ event: string }[]>`select event from audit_events where user_id = ${userId} order by id`;
  return rows.map((row) => row.event);
}

async function lastRefusal(): Promise<Record<string, unknown>> {
  const [row] = await ctx.sql<{ detail: Record<string, unknown> }[]>`
    select detail from audit_events where event = 'staff.refused' order by id desc limit 1`;
  return row?.detail ?? {};
}

function assertNotSignedIn(browser: Browser, page: Page) {
  assert.not.ok(browser.cookies.has("session"), "no session cookie");
  assert.is(texts(page, "h1")[0], "Staff sign-in");
  assert.ok(page.document.querySelector('form[action="/staff/login"] button'), "Staff Login is offered again");
}

test("without the STAFF_OIDC settings the page reads as today, /staff is not there, a staff address is refused as before", async () => {
  const plain = await createTestContext();
  const browser = plain.browser();
  const page = await browser.get("/login");
  assert.not.ok(page.document.querySelector('section[aria-labelledby="staff-heading"]'), "no Staff section");
  assert.not.ok(texts(page, "button").includes("Staff Login"));
  assert.match(main(page), "Staff members with a staff email address do not sign in here; they use the staff sign-in.");
  assert.match(page.headers.get("content-security-policy")!, /form-action 'self';/);
  assert.is((await browser.get("/staff/login")).status, 404);
  assert.is((await browser.get("/staff/callback?code=x&state=y")).status, 404);
  await browser.post("/login", { option: "email" });
  const refused = await browser.post("/login/credentials", { email: "someone@kepro.com", password: "whatever-password-1" });
  assert.is(refused.status, 400);
  assert.match(main(refused), STAFF_REFUSED);
});

test("the sign-in page has a Staff section whose Staff Login is a plain GET form to /staff/login", async () => {
  const page = await ctx.browser().get("/login");
  assert.is(page.status, 200);
  const section = page.document.querySelector('section[aria-labelledby="staff-heading"]');
  assert.ok(section, "a Staff section");
  assert.is(section!.querySelector("h2")?.textContent, "Staff");
  const form = section!.querySelector("form")!;
  assert.is(form.getAttribute("method"), "get");
  assert.is(form.getAttribute("action"), "/staff/login");
  assert.not.ok(form.getAttribute("hx-post") ?? form.getAttribute("hx-get"), "no htmx: the browser itself goes to the issuer");
  assert.is(form.querySelector("button")?.textContent?.trim(), "Staff Login");
  assert.ok(texts(page, "button").includes("Login with Phone"), "the Customer/Provider section is still there");
  assert.match(page.headers.get("content-security-policy")!, `form-action 'self' ${new URL(issuer.url).origin}`);
});

test("Staff Login asks the issuer for a code with PKCE (S256), state, nonce and the callback at PUBLIC_URL", async () => {
  const browser = ctx.browser();
  const authorize = await pressStaffLogin(browser);
  const q = authorize.searchParams;
  assert.is(q.get("response_type"), "code");
  assert.is(q.get("client_id"), STAFF_CLIENT_ID);
  assert.is(q.get("redirect_uri"), `${PUBLIC_URL}/staff/callback`);
  assert.is(q.get("code_challenge_method"), "S256");
  assert.match(q.get("code_challenge") ?? "", /^[A-Za-z0-9_-]{43}$/);
  assert.match(q.get("scope") ?? "", /\bopenid\b/);
  assert.ok((q.get("state") ?? "").length >= 32, "a random state");
  assert.ok((q.get("nonce") ?? "").length >= 32, "a random nonce");
  assert.is(q.get("login_hint"), null, "no address known, no hint");
  assert.ok(browser.cookies.get("staff"), "the request is bound to this browser by a cookie");
  const [stored] = await ctx.sql<{ state: string; codeVerifier: string }[]>`
    select state, code_verifier as "codeVerifier" from staff_sign_ins where state = ${q.get("state")}`;
  assert.ok(stored, "state, nonce and verifier are stored server-side");
  assert.is.not(stored!.codeVerifier, q.get("code_challenge"), "only the challenge leaves the portal");

  const other = await pressStaffLogin(ctx.browser());
  assert.is.not(other.searchParams.get("state"), q.get("state"), "each press has its own state");
  assert.is.not(other.searchParams.get("nonce"), q.get("nonce"), "and its own nonce");
});

test("happy path: Staff Login → the issuer → /home signed in; the account is made just in time from the token", async () => {
  const person = staffPerson();
  const browser = ctx.browser();
  const page = await signInAsStaff(browser, person);
  assert.is(page.status, 200);
  assert.is(page.url, "/home");
  assert.is(texts(page, "h1")[0], "Home");
  assert.ok(browser.cookies.get("session"), "signed in");
  assert.not.ok(browser.cookies.has("staff"), "the request cookie is gone");

  const [row, ...more] = await staffRows(person.sub);
  assert.is(more.length, 0);
  assert.equal(
    { email: row!.email, name: row!.name, role: row!.role, status: row!.status, issuer: row!.staffIssuer, password: row!.passwordHash, mfa: row!.mfaMethod },
    { email: person.email, name: person.name, role: "provider", status: "active", issuer: issuer.url, password: null, mfa: null },
  );
  assert.equal(await eventsOf(row!.id), ["staff.account_created", "staff.signed_in"]);
  const basic = Buffer.from(`${STAFF_CLIENT_ID}:${STAFF_CLIENT_SECRET}`).toString("base64");
  assert.is(issuer.lastTokenAuthorization, `Basic ${basic}`, "the code was exchanged with client_secret_basic");
  const [session] = await ctx.sql<{ loginOption: string | null }[]>`select login_option as "loginOption" from sessions where user_id = ${row!.id}`;
  assert.ok(session, "a session row for the staff member");
  assert.is(session!.loginOption, null, "no Customer/Provider login option");
  const [signedIn] = await ctx.sql<{ detail: { amr: string[]; created: boolean } }[]>`
    select detail from audit_events where user_id = ${row!.id} and event = 'staff.signed_in'`;
  assert.equal(signedIn!.detail.amr, ["pwd", "mfa"], "the issuer's amr is recorded");
});

test("a later sign-in finds the same account by issuer + sub (never by email) and refreshes its name and email", async () => {
  const person = staffPerson();
  await signInAsStaff(ctx.browser(), person);
  const [before] = await staffRows(person.sub);
  const renamed = { ...person, name: "Renamed Staff", email: `renamed.${person.email}` };
  const page = await signInAsStaff(ctx.browser(), renamed);
  assert.is(page.url, "/home");
  const rows = await staffRows(person.sub);
  assert.is(rows.length, 1, "no second account");
  assert.is(rows[0]!.id, before!.id);
  assert.is(rows[0]!.name, "Renamed Staff");
  assert.is(rows[0]!.email, renamed.email);

  // Another sub with the first account's (new) address is another person: refused, never merged.
  const impostor = staffPerson({ email: renamed.email });
  const refusedPage = await signInAsStaff(ctx.browser(), impostor);
  assert.is(refusedPage.status, 403);
  assert.match(main(refusedPage), STAFF_MESSAGES.email_taken);
  assert.is((await staffRows(impostor.sub)).length, 0);
});

test("two first sign-ins of the same person at once make one account, and both sign in", async () => {
  const person = staffPerson();
  issuer.claims = person;
  const browsers = [ctx.browser(), ctx.browser(), ctx.browser()];
  const callbacks = await Promise.all(browsers.map(async (browser) => atIssuer(await pressStaffLogin(browser))));
  const pages = await Promise.all(browsers.map((browser, i) => backAtPortal(browser, callbacks[i]!)));
  assert.equal(pages.map((page) => page.url), ["/home", "/home", "/home"]);
  const rows = await staffRows(person.sub);
  assert.is(rows.length, 1);
  assert.equal((await eventsOf(rows[0]!.id)).filter((event) => event === "staff.account_created"), ["staff.account_created"]);
});

test("STAFF_OIDC_ADMIN_GROUP in groups makes an administrator; without it at the next sign-in the role is gone", async () => {
  const person = staffPerson({ groups: ["everyone", "portal-admins"] });
  const browser = ctx.browser();
  const home = await signInAsStaff(browser, person);
  assert.ok(texts(home, "a").includes("Administration"), "the home page links Administration");
  assert.is((await staffRows(person.sub))[0]!.role, "admin");
  const admin = await browser.get("/admin");
  assert.is(admin.status, 200, "the staff session works on the admin page");
  assert.is(texts(admin, "h1")[0], "Administration");

  const later = ctx.browser();
  await signInAsStaff(later, { ...person, groups: ["everyone"] });
  const [row] = await staffRows(person.sub);
  assert.is(row!.role, "provider", "the group was removed at the issuer");
  assert.is((await later.get("/admin")).status, 403);
  assert.ok((await eventsOf(row!.id)).includes("staff.role_changed"));
});

test("a tampered state is refused, and the request it belonged to is used up", async () => {
  const person = staffPerson();
  const browser = ctx.browser();
  issuer.claims = person;
  const callback = await atIssuer(await pressStaffLogin(browser));
  const tampered = new URL(callback);
  tampered.searchParams.set("state", "x" + callback.searchParams.get("state")!.slice(1));
  const tokenCalls = issuer.tokenRequests;
  const page = await backAtPortal(browser, tampered);
  assert.is(page.status, 400);
  assertNotSignedIn(browser, page);
  assert.match(main(page), STAFF_MESSAGES.state_mismatch);
  assert.is(issuer.tokenRequests, tokenCalls, "the code was never exchanged");
  assert.is((await lastRefusal()).reason, "state_mismatch");

  const genuine = await backAtPortal(browser, callback);
  assert.is(genuine.status, 400, "the real answer cannot be used after the tampered one took the request");
  assert.match(main(genuine), STAFF_MESSAGES.not_started);
  assert.is((await staffRows(person.sub)).length, 0, "no account made");
});

test("a replayed callback is refused: in the same browser (even with its old cookie) and in another", async () => {
  const person = staffPerson();
  const browser = ctx.browser();
  issuer.claims = person;
  const authorize = await pressStaffLogin(browser);
  const cookie = browser.cookies.get("staff")!;
  const callback = await atIssuer(authorize);
  const first = await backAtPortal(browser, callback);
  assert.is(first.url, "/home");
  const tokenCalls = issuer.tokenRequests;

  const attacker = ctx.browser();
  attacker.cookies.set("staff", cookie);
  const replay = await backAtPortal(attacker, callback);
  assert.is(replay.status, 400);
  assertNotSignedIn(attacker, replay);
  assert.match(main(replay), STAFF_MESSAGES.not_started);
  const bare = await backAtPortal(ctx.browser(), callback);
  assert.is(bare.status, 400);
  assert.is(issuer.tokenRequests, tokenCalls, "no replay reached the token endpoint");
});

test("a request not answered within 10 minutes is refused, and Staff Login starts a new one", async () => {
  const person = staffPerson();
  const browser = ctx.browser();
  issuer.claims = person;
  const callback = await atIssuer(await pressStaffLogin(browser));
  ctx.clock.advance(10 * MINUTE);
  const late = await backAtPortal(browser, callback);
  assert.is(late.status, 400);
  assertNotSignedIn(browser, late);
  assert.match(main(late), STAFF_MESSAGES.not_started);
  const [left] = await ctx.sql<{ n: number }[]>`
    select count(*)::int as n from staff_sign_ins where state = ${callback.searchParams.get("state")}`;
  assert.is(left!.n, 1, "the expired request is left for the purge (not taken)");
  ctx.clock.advance(MINUTE);
  assert.is((await signInAsStaff(browser, person)).url, "/home");
  const [after] = await ctx.sql<{ n: number }[]>`
    select count(*)::int as n from staff_sign_ins where state = ${callback.searchParams.get("state")}`;
  assert.is(after!.n, 0, "a later Staff Login purged the expired request");
});

test("a wrong nonce in the ID token is refused", async () => {
  const person = staffPerson();
  const browser = ctx.browser();
  issuer.claims = person;
  const authorize = await pressStaffLogin(browser);
  // The issuer signs whatever nonce it was given: an attacker's request, not this browser's.
  authorize.searchParams.set("nonce", "a-nonce-this-browser-never-made-0123456789");
  const page = await backAtPortal(browser, await atIssuer(authorize));
  assert.is(page.status, 400);
  assertNotSignedIn(browser, page);
  assert.match(main(page), STAFF_MESSAGES.invalid_response);
  const refusal = await lastRefusal();
  assert.is(refusal.reason, "invalid_response");
  assert.match(String(refusal.error), /nonce/i);
  assert.is((await staffRows(person.sub)).length, 0);
});

test("an ID token from another issuer, or an answer naming another issuer, is refused", async () => {
  const person = staffPerson({ iss: "http://impostor.example" });
  const browser = ctx.browser();
  const page = await signInAsStaff(browser, person);
  assert.is(page.status, 400);
  assertNotSignedIn(browser, page);
  const refusal = await lastRefusal();
  assert.is(refusal.reason, "invalid_response");
  assert.match(String(refusal.error), /iss/i);
  assert.is((await staffRows(person.sub)).length, 0);

  // RFC 9207: an `iss` on the authorization response must be the issuer's.
  issuer.claims = staffPerson();
  const mixUp = ctx.browser();
  const callback = await atIssuer(await pressStaffLogin(mixUp));
  callback.searchParams.set("iss", "http://impostor.example");
  const mixed = await backAtPortal(mixUp, callback);
  assert.is(mixed.status, 400);
  assertNotSignedIn(mixUp, mixed);
  assert.is((await lastRefusal()).reason, "invalid_response");
});

test("an ID token for another client (audience) is refused", async () => {
  const person = staffPerson({ aud: "some-other-client" });
  const page = await signInAsStaff(ctx.browser(), person);
  assert.is(page.status, 400);
  assert.match(String((await lastRefusal()).error), /aud/i);
  assert.is((await staffRows(person.sub)).length, 0);
});

test("a token whose amr shows no MFA is refused with a message; pwd + otp counts as MFA", async () => {
  const person = staffPerson({ amr: ["pwd"] });
  const browser = ctx.browser();
  const page = await signInAsStaff(browser, person);
  assert.is(page.status, 403);
  assertNotSignedIn(browser, page);
  assert.match(main(page), STAFF_MESSAGES.mfa_missing);
  assert.is((await lastRefusal()).reason, "mfa_missing");
  assert.is((await staffRows(person.sub)).length, 0, "no account for a refused token");

  const noAmr = staffPerson({ amr: undefined });
  assert.is((await signInAsStaff(ctx.browser(), noAmr)).status, 403, "no amr at all is no MFA either");

  const twoFactors = staffPerson({ amr: ["pwd", "otp"] });
  assert.is((await signInAsStaff(ctx.browser(), twoFactors)).url, "/home");
});

test("with STAFF_OIDC_REQUIRE_MFA=0 a token without MFA evidence signs in", async () => {
  const lax = await createTestContext({ env: issuer.env({ STAFF_OIDC_REQUIRE_MFA: "0" }) });
  const person = staffPerson({ amr: ["pwd"] });
  issuer.claims = person;
  const browser = lax.browser();
  const start = await browser.get("/staff/login", { follow: false });
  const callback = await atIssuer(new URL(start.headers.get("location")!));
  const home = await browser.get(callback.pathname + callback.search);
  assert.is(home.url, "/home");
  assert.is((await staffRows(person.sub)).length, 1);
});

test("a disabled staff account is refused at its next sign-in", async () => {
  const person = staffPerson();
  await signInAsStaff(ctx.browser(), person);
  await ctx.sql`update users set status = 'disabled' where staff_subject = ${person.sub}`;
  const browser = ctx.browser();
  const page = await signInAsStaff(browser, person);
  assert.is(page.status, 403);
  assertNotSignedIn(browser, page);
  assert.match(main(page), STAFF_MESSAGES.disabled);
  assert.is((await staffRows(person.sub))[0]!.status, "disabled", "still disabled");
});

test("the issuer cancelling (error=access_denied) is refused with a message, not a 500", async () => {
  const browser = ctx.browser();
  const callback = await atIssuer(await pressStaffLogin(browser));
  const denied = new URL(callback);
  denied.searchParams.delete("code");
  denied.searchParams.set("error", "access_denied");
  const page = await backAtPortal(browser, denied);
  assert.is(page.status, 400);
  assert.match(main(page), STAFF_MESSAGES.issuer_error);
});

test("a callback without a started sign-in, or with junk, answers 400 with the way to start again", async () => {
  const junk = ["%00", "%FF%FE", "<script>alert(1)</script>", "x".repeat(10_000), "a&state=b&state=c"];
  const queries = ["", "?code=abc&state=def", ...junk.flatMap((value) => [`?code=${value}&state=${value}`, `?error=${value}&state=${value}`, `?iss=${value}`])];
  for (const query of queries) {
    const browser = ctx.browser();
    browser.cookies.set("staff", "not-a-token");
    const page = await browser.get(`/staff/callback${query}`);
    assert.is(page.status, 400, query);
    assertNotSignedIn(browser, page);
  }
});

test("Staff Login with junk in login_hint still goes to the issuer, without the hint", async () => {
  for (const hint of ["%00", "%FF", "<b>x</b>@kepro.com", "x".repeat(10_000), "a%40b.example%0d%0aSet-Cookie:%20x=1"]) {
    const authorize = await pressStaffLogin(ctx.browser(), `/staff/login?login_hint=${hint}`);
    assert.is(authorize.searchParams.get("login_hint"), null, hint.slice(0, 40));
  }
});

test("the issuer's error text never reaches the audit log as given", async () => {
  const browser = ctx.browser();
  const callback = await atIssuer(await pressStaffLogin(browser));
  const denied = new URL(callback);
  denied.searchParams.set("error", "access_denied\u0000<script>");
  assert.is((await backAtPortal(browser, denied)).status, 400);
  assert.is((await lastRefusal()).error, "access_deniedscript");
});

test("the callback is rate limited per client address", async () => {
  let last: Page | null = null;
  for (let i = 0; i < 31; i++) last = await ctx.browser().get("/staff/callback?code=x&state=y");
  assert.is(last!.status, 429);
  assert.ok(Number(last!.headers.get("retry-after")) >= 1);
  ctx.clock.advance(MINUTE);
  assert.is((await ctx.browser().get("/staff/callback?code=x&state=y")).status, 400, "open again a minute later");
});

test("home realm discovery: a staff address typed into Login with Email goes to Staff Login with login_hint, no password asked", async () => {
  const browser = ctx.browser();
  await browser.post("/login", { option: "email" });
  const typed = await browser.post("/login/credentials", { email: " Someone@Kepro.com ", password: "" }, { follow: false });
  assert.is(typed.status, 303);
  assert.is(typed.headers.get("location"), "/staff/login?login_hint=Someone%40Kepro.com");
  const authorize = await pressStaffLogin(browser, typed.headers.get("location")!);
  assert.is(authorize.searchParams.get("login_hint"), "Someone@Kepro.com");

  // With htmx: the browser itself must load Staff Login (its fetch cannot follow a redirect to the issuer).
  const htmx = ctx.browser();
  await htmx.post("/login", { option: "phone" }, { htmx: true });
  const answer = await htmx.post("/login/credentials", { email: "someone@kepro.com", password: "anything" }, { htmx: true });
  assert.is(answer.status, 204);
  assert.is(answer.headers.get("hx-redirect"), "/staff/login?login_hint=someone%40kepro.com");
  const followed = await htmx.get("/staff/login?login_hint=someone%40kepro.com", { htmx: true });
  assert.is(followed.status, 204);
  assert.is(followed.headers.get("hx-redirect"), "/staff/login?login_hint=someone%40kepro.com");

  // The whole way, as a staff member would go it.
  const person = staffPerson();
  issuer.claims = person;
  const walker = ctx.browser();
  await walker.post("/login", { option: "email" });
  const start = await walker.post("/login/credentials", { email: person.email, password: "" }, { follow: false });
  const home = await backAtPortal(walker, await atIssuer(await pressStaffLogin(walker, start.headers.get("location")!)));
  assert.is(home.url, "/home");
  assert.is((await staffRows(person.sub)).length, 1);
});

test("an address outside STAFF_EMAIL_DOMAINS is not sent to Staff Login", async () => {
  const browser = ctx.browser();
  await browser.post("/login", { option: "email" });
  const page = await browser.post("/login/credentials", { email: "someone@clinic.example", password: "" }, { follow: false });
  assert.is(page.status, 400, "the password is asked for as before");
});

test("a staff account is answered as an unknown address by Login with Email, Forgot your password and Having trouble", async () => {
  // An issuer may hand out addresses outside STAFF_EMAIL_DOMAINS: the account itself must not answer.
  const person = staffPerson({ email: `staff.${Date.now()}.${process.pid}@partner.example` });
  await signInAsStaff(ctx.browser(), person);
  const [row] = await staffRows(person.sub);
  assert.ok(row);

  const login = ctx.browser();
  await login.post("/login", { option: "email" });
  const refused = await login.post("/login/credentials", { email: person.email, password: "any-password-at-all-1" });
  assert.is(refused.status, 401, "the same refusal as an unknown address");

  const reset = ctx.browser();
  await reset.post("/forgot-password", { email: person.email });
  const [sent] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from outbox where recipient = ${person.email}`;
  assert.is(sent!.n, 0, "no password reset code goes to a staff account");
  const [requested] = await ctx.sql<{ detail: { account: string } }[]>`
    select detail from audit_events where event = 'password_reset.requested' order by id desc limit 1`;
  assert.is(requested!.detail.account, "unknown");

  await ctx.browser().post("/trouble", { email: person.email, password: "any-password-at-all-1" });
  const [after] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from outbox where recipient = ${person.email}`;
  assert.is(after!.n, 0, "no registration link either");
});

test("the database refuses a staff account with a password or a phone", async () => {
  const person = staffPerson();
  await signInAsStaff(ctx.browser(), person);
  let error: unknown = null;
  try {
    await ctx.sql`update users set password_hash = 'x' where staff_subject = ${person.sub}`;
  } catch (caught) {
    error = caught;
  }
  assert.match(String((error as { constraint_name?: string } | null)?.constraint_name), "users_staff_no_local_factors_check");
});

test("the issuer unreachable: Staff Login answers 503 with a message, and works again once it is back", async () => {
  const away = await startStaffIssuer();
  const env = away.env();
  await away.stop();
  const down = await createTestContext({ env });
  const page = await down.browser().get("/staff/login");
  assert.is(page.status, 503);
  assert.match(main(page), STAFF_MESSAGES.unavailable);
});

test.run();
