/**
 * A staff session works everywhere a provider session does (issue 13): Staff Login and home realm
 * discovery carry `rd` through the organization's issuer (kept with the staff_sign_ins row,
 * checked again at the callback), a foreign `rd` is dropped, and the staff session passes
 * forward-auth and the OIDC provider, whose ID token reports the issuer's amr. Real HTTP: the
 * portal on a loopback port, a local issuer, openid-client as the relying party.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import * as client from "openid-client";
import { parseHTML } from "linkedom";
import { HttpBrowser, serveTestApp, type HttpAnswer, type ServedApp } from "../support/apps.ts";
import { startStaffIssuer, type StaffIssuer } from "../support/staff-issuer.ts";
import { createForwardAuthApplication, createOidcApplication } from "../../src/apps/registry.ts";

const test = suite("staff-return-to");
const REDIRECT = "http://127.0.0.1:9/callback";
const host = `staff-fa-${process.pid}-${Date.now().toString(36)}.example.org`;
const APP = `https://${host}/`;

let issuer: StaffIssuer;
let served: ServedApp;
let rp: client.Configuration;

test.before(async () => {
  issuer = await startStaffIssuer();
  served = await serveTestApp(issuer.env());
  const oidcApp = await createOidcApplication(served.sql, { name: "Demo", redirectUris: [REDIRECT], postLogoutRedirectUris: [] });
  const forward = await createForwardAuthApplication(served.sql, { name: "EHR", url: APP });
  assert.ok(oidcApp.ok && forward.ok);
  if (!oidcApp.ok) return;
  rp = await client.discovery(new URL(served.url), oidcApp.value.clientId, oidcApp.value.clientSecret!, undefined, { execute: [client.allowInsecureRequests] });
});

test.after(async () => {
  await served.close();
  await issuer.stop();
});

test.before.each(() => {
  // The provider and the issuer keep real time: so does the portal here.
  served.clock.set(new Date());
});

let people = 0;
function staffPerson(amr: string[] = ["pwd", "mfa"]) {
  people += 1;
  const tag = `${Date.now().toString(36)}${process.pid}${people}`;
  return { sub: `rd-sub-${tag}`, email: `rd.${tag}@kepro.com`, name: `Staff Return ${people}`, amr };
}

/** From a portal URL that leads to the issuer: through the issuer and back to the callback, followed within the portal. */
async function throughIssuer(browser: HttpBrowser, start: string, claims: Record<string, unknown>, post?: Record<string, string>): Promise<HttpAnswer> {
  issuer.claims = claims;
  const left = post ? await browser.post(start, post) : await browser.get(start);
  const authorize = new URL(left.url);
  assert.is(authorize.origin, new URL(issuer.url).origin, `the browser left for the issuer (at ${left.url}, ${left.status})`);
  const response = await fetch(authorize, { redirect: "manual" });
  assert.is(response.status, 302);
  const callback = new URL(response.headers.get("location")!);
  assert.is(callback.pathname, "/staff/callback");
  return browser.get(callback.pathname + callback.search);
}

/** The Continue page's way on (a link and a refresh to the same address). */
function continueLink(page: HttpAnswer): string {
  const { document } = parseHTML(page.text);
  const refresh = document.querySelector('meta[http-equiv="refresh"]')?.getAttribute("content") ?? "";
  const link = document.querySelector("main a")?.getAttribute("href") ?? "";
  assert.ok(link && refresh.endsWith(link), `${refresh} / ${link}`);
  return link;
}

test("the sign-in page's Staff Login form carries rd (and prompt=login) as hidden fields", async () => {
  const browser = new HttpBrowser(served.url);
  const page = await browser.get(`/login?rd=${encodeURIComponent("/account")}&prompt=login`);
  const { document } = parseHTML(page.text);
  const form = document.querySelector('form[action="/staff/login"]');
  assert.ok(form, "the Staff Login form");
  assert.is(form!.querySelector('input[name="rd"]')?.getAttribute("value"), "/account");
  assert.is(form!.querySelector('input[name="prompt"]')?.getAttribute("value"), "login");
});

test("Staff Login with rd=/interaction/… (an OIDC sign-in) ends there; the ID token's amr is the issuer's", async () => {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(rp, {
    redirect_uri: REDIRECT,
    scope: "openid email profile",
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  const browser = new HttpBrowser(served.url);
  const atLogin = await browser.get(url.href, {}, (u) => u.pathname === "/login");
  const rd = new URL(atLogin.url).searchParams.get("rd")!;
  assert.match(rd, /^\/interaction\/[\w-]+\/signed-in$/);

  const person = staffPerson(["pwd", "otp"]);
  const handBack = await throughIssuer(browser, `/staff/login?rd=${encodeURIComponent(rd)}`, person);
  assert.is(new URL(handBack.url).pathname, rd, "the staff sign-in ended at rd, not /home");
  const back = await browser.get(continueLink(handBack));
  assert.ok(back.url.startsWith(REDIRECT), `back at the relying party, got ${back.url}`);
  const tokens = await client.authorizationCodeGrant(rp, new URL(back.url), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
  const claims = tokens.claims()!;
  const [account] = await served.sql<{ id: string }[]>`select id from users where staff_subject = ${person.sub}`;
  assert.is(claims.sub, account!.id, "the staff account signed in");
  assert.equal(claims.amr, ["pwd", "otp"], "amr as the staff issuer reported it");
});

test("Staff Login with rd under a forward-auth application ends there, and the staff session passes auth-request", async () => {
  const browser = new HttpBrowser(served.url);
  const person = staffPerson();
  const target = `${APP}charts/7`;
  const page = await throughIssuer(browser, `/staff/login?rd=${encodeURIComponent(target)}`, person);
  assert.is(new URL(page.url).pathname, "/login/continue");
  assert.is(continueLink(page), target);
  const cookie = `session=${browser.cookies.get("session")}`;
  const res = await fetch(`${served.url}/api/authz/auth-request`, { headers: { "x-original-url": target, cookie } });
  assert.is(res.status, 200);
  assert.is(res.headers.get("remote-user"), person.email);
  assert.is(res.headers.get("remote-name"), person.name);
});

test("a foreign rd is dropped: the staff sign-in ends at /home", async () => {
  const browser = new HttpBrowser(served.url);
  const page = await throughIssuer(browser, `/staff/login?rd=${encodeURIComponent("https://evil.example.net/steal")}`, staffPerson());
  assert.is(new URL(page.url).pathname, "/home");
  const [row] = await served.sql<{ n: number }[]>`select count(*)::int as n from staff_sign_ins where return_to like '%evil%'`;
  assert.is(row!.n, 0, "never stored");
});

test("home realm discovery carries the login flow's rd through Staff Login to the end", async () => {
  const browser = new HttpBrowser(served.url);
  const person = staffPerson();
  const target = `${APP}notes`;
  const credentials = await browser.post("/login", { option: "email", rd: target });
  assert.is(new URL(credentials.url).pathname, "/login/credentials");
  const page = await throughIssuer(browser, "/login/credentials", person, { email: person.email, password: "anything" });
  assert.is(new URL(page.url).pathname, "/login/continue");
  assert.is(continueLink(page), target);
});

test("signed in already, Staff Login goes straight to rd; a foreign one to /home", async () => {
  const browser = new HttpBrowser(served.url);
  await throughIssuer(browser, "/staff/login", staffPerson());
  const direct = await browser.get(`/staff/login?rd=${encodeURIComponent("/account")}`);
  assert.is(new URL(direct.url).pathname, "/account");
  const foreign = await browser.get(`/staff/login?rd=${encodeURIComponent("https://evil.example.net/")}`);
  assert.is(new URL(foreign.url).pathname, "/home");
});

test.run();
