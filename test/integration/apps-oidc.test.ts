/**
 * The OpenID Connect provider against a real relying party: openid-client v6 over real HTTP,
 * the portal served on a loopback port, a portal session made directly (the sign-in pages are
 * tested in their own files). Code + PKCE, ID token claims, userinfo, refresh rotation and
 * reuse, RP-initiated logout, and what portal sign-out and Disable do to tokens.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import * as client from "openid-client";
import { parseHTML } from "linkedom";
import { HttpBrowser, serveTestApp, signInDirectly, type ServedApp } from "../support/apps.ts";
import { createActiveUser, type ActiveUser } from "../support/users.ts";
import { createOidcApplication } from "../../src/apps/registry.ts";
import { ACR_MFA } from "../../src/apps/provider.ts";
import { rotateSigningKeys } from "../../src/apps/keys.ts";

const test = suite("apps-oidc");
const REDIRECT = "http://127.0.0.1:9/callback";
const AFTER_LOGOUT = "http://127.0.0.1:9/signed-out";

let served: ServedApp;
let rp: client.Configuration;
let clientId: string;
let clientSecret: string;

test.before(async () => {
  served = await serveTestApp();
  const created = await createOidcApplication(served.sql, { name: "Demo", redirectUris: [REDIRECT], postLogoutRedirectUris: [AFTER_LOGOUT] });
  assert.ok(created.ok);
  if (!created.ok) return;
  clientId = created.value.clientId;
  clientSecret = created.value.clientSecret!;
  rp = await client.discovery(new URL(served.url), clientId, clientSecret, undefined, { execute: [client.allowInsecureRequests] });
});

test.after(async () => {
  await served.close();
});

interface Started {
  url: URL;
  verifier: string;
  state: string;
  nonce: string;
}

async function authorizationRequest(extra: Record<string, string> = {}): Promise<Started> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(rp, {
    redirect_uri: REDIRECT,
    scope: "openid email profile offline_access",
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
    ...extra,
  });
  return { url, verifier, state, nonce };
}

/**
 * A person with a portal session that began `ageMs` ago. The provider keeps real time, so the
 * portal's clock is set to real time around it (never moved past it).
 */
async function signedIn(ageMs = 5000): Promise<{ person: ActiveUser; browser: HttpBrowser; sessionId: string }> {
  const person = await createActiveUser(served.sql, { method: "phone", name: "Dana Reyes" });
  const browser = new HttpBrowser(served.url);
  served.clock.set(new Date(Date.now() - ageMs));
  const sessionId = await signInDirectly(served, browser, person.id);
  served.clock.set(new Date());
  return { person, browser, sessionId };
}

const atSignIn = (url: URL) => url.pathname === "/login";

async function codeFlow(browser: HttpBrowser, extra: Record<string, string> = {}) {
  const started = await authorizationRequest(extra);
  const back = await browser.get(started.url.toString());
  assert.ok(back.url.startsWith(REDIRECT), `expected the way back to the redirect URI, got ${back.url} (${back.status}) ${back.text.slice(0, 300)}`);
  const tokens = await client.authorizationCodeGrant(rp, new URL(back.url), {
    pkceCodeVerifier: started.verifier,
    expectedState: started.state,
    expectedNonce: started.nonce,
  });
  return { tokens, callback: back.url };
}

test("discovery names the portal as issuer, S256 only, code only, and endpoints under PUBLIC_URL", async () => {
  const meta = rp.serverMetadata();
  assert.is(meta.issuer, served.url);
  assert.equal(meta.code_challenge_methods_supported, ["S256"]);
  assert.equal(meta.response_types_supported, ["code"]);
  assert.ok(meta.end_session_endpoint?.startsWith(`${served.url}/oidc/`));
  assert.ok(meta.revocation_endpoint?.startsWith(`${served.url}/oidc/`));
  const jwks = (await (await fetch(meta.jwks_uri!)).json()) as { keys: Record<string, unknown>[] };
  assert.ok(jwks.keys.length >= 1);
  for (const key of jwks.keys) assert.is(key.d, undefined, "no private part is ever published");
});

test("a signed-in person goes straight back with a code; the ID token holds sub, amr pwd+mfa, acr and auth_time", async () => {
  const { person, browser, sessionId } = await signedIn();
  const { tokens } = await codeFlow(browser);
  const claims = tokens.claims()!;
  assert.is(claims.sub, person.id, "sub is the stable user id, never the email");
  assert.ok(Array.isArray(claims.amr) && (claims.amr as string[]).includes("pwd") && (claims.amr as string[]).includes("mfa"));
  assert.is(claims.acr, ACR_MFA);
  assert.type(claims.auth_time, "number");
  const [session] = await served.sql<{ createdAt: Date }[]>`select created_at as "createdAt" from sessions where id = ${sessionId}`;
  assert.is(claims.auth_time, Math.floor(session!.createdAt.getTime() / 1000));
  const info = await client.fetchUserInfo(rp, tokens.access_token, person.id);
  assert.is(info.email, person.email);
  assert.is(info.email_verified, true);
  assert.is(info.name, "Dana Reyes");
  assert.equal(info.groups, ["provider"], "groups: the role (and the person's organizations, none here)");
});

test("nobody signed in: the authorization request goes to the portal's sign-in with rd, and comes back after it", async () => {
  const person = await createActiveUser(served.sql, { method: "email" });
  const browser = new HttpBrowser(served.url);
  const started = await authorizationRequest();
  const page = await browser.get(started.url.toString());
  const shown = new URL(page.url);
  assert.is(shown.pathname, "/login");
  const rd = shown.searchParams.get("rd")!;
  assert.match(rd, /^\/interaction\/[\w-]+\/signed-in$/);
  assert.is(shown.searchParams.get("prompt"), null);
  // The sign-in itself (tested elsewhere) ends at rd with a fresh session.
  served.clock.set(new Date(Date.now() + 1000));
  await signInDirectly(served, browser, person.id);
  const handBack = await browser.get(rd);
  assert.is(handBack.status, 200, "after a sign-in form, a page hands back (CSP form-action would block a redirect chain)");
  const { document } = parseHTML(handBack.text);
  const refresh = document.querySelector('meta[http-equiv="refresh"]')?.getAttribute("content") ?? "";
  const link = document.querySelector("main a")?.getAttribute("href") ?? "";
  assert.ok(refresh.endsWith(link) && link.startsWith(`${served.url}/oidc/auth/`), `${refresh} / ${link}`);
  const back = await browser.get(link);
  assert.ok(back.url.startsWith(REDIRECT));
  const tokens = await client.authorizationCodeGrant(rp, new URL(back.url), { pkceCodeVerifier: started.verifier, expectedState: started.state, expectedNonce: started.nonce });
  assert.is(tokens.claims()!.sub, person.id);
});

test("prompt=login sends even a signed-in person through the sign-in again (prompt=login passed on)", async () => {
  const { browser } = await signedIn();
  const started = await authorizationRequest({ prompt: "login" });
  const page = await browser.get(started.url.toString(), {}, atSignIn);
  const shown = new URL(page.url);
  assert.is(shown.pathname, "/login");
  assert.is(shown.searchParams.get("prompt"), "login");
});

test("max_age: a sign-in older than max_age asks again; a recent one goes straight back", async () => {
  const { browser } = await signedIn(120_000);
  const old = await authorizationRequest({ max_age: "60" });
  const page = await browser.get(old.url.toString(), {}, atSignIn);
  assert.is(new URL(page.url).pathname, "/login");
  assert.is(new URL(page.url).searchParams.get("prompt"), "login");
  const { tokens } = await codeFlow(browser, { max_age: "600" });
  assert.type(tokens.claims()!.auth_time, "number");
});

test("refresh tokens rotate; the old one used again fails and ends the grant (the new one dies too)", async () => {
  const { browser } = await signedIn();
  const { tokens } = await codeFlow(browser);
  const first = tokens.refresh_token!;
  assert.ok(first);
  const rotated = await client.refreshTokenGrant(rp, first);
  assert.ok(rotated.refresh_token && rotated.refresh_token !== first, "a new refresh token each time");
  assert.ok(rotated.access_token);
  const reuse = await client.refreshTokenGrant(rp, first).catch((error: unknown) => error);
  assert.instance(reuse, client.ResponseBodyError);
  assert.is((reuse as client.ResponseBodyError).error, "invalid_grant");
  const after = await client.refreshTokenGrant(rp, rotated.refresh_token!).catch((error: unknown) => error);
  assert.instance(after, client.ResponseBodyError, "reuse detection revoked the whole grant");
});

test("a code works once; replaying it fails and revokes what the first use issued", async () => {
  const { browser } = await signedIn();
  const started = await authorizationRequest();
  const back = await browser.get(started.url.toString());
  const checks = { pkceCodeVerifier: started.verifier, expectedState: started.state, expectedNonce: started.nonce };
  const tokens = await client.authorizationCodeGrant(rp, new URL(back.url), checks);
  const replay = await client.authorizationCodeGrant(rp, new URL(back.url), checks).catch((error: unknown) => error);
  assert.instance(replay, client.ResponseBodyError);
  assert.is((replay as client.ResponseBodyError).error, "invalid_grant");
  const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!).catch((error: unknown) => error);
  assert.instance(refreshed, client.ResponseBodyError);
});

test("signing out at the portal revokes the person's refresh tokens and ends their OIDC session", async () => {
  const { browser } = await signedIn();
  const { tokens } = await codeFlow(browser);
  const out = await browser.post("/logout", {});
  assert.is(new URL(out.url).pathname, "/login");
  const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!).catch((error: unknown) => error);
  assert.instance(refreshed, client.ResponseBodyError);
  const again = await authorizationRequest();
  const page = await browser.get(again.url.toString());
  assert.is(new URL(page.url).pathname, "/login", "no single sign-on after signing out");
});

test("a disabled person's refresh token stops working", async () => {
  const { person, browser } = await signedIn();
  const { tokens } = await codeFlow(browser);
  await served.sql`update users set status = 'disabled' where id = ${person.id}`;
  const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!).catch((error: unknown) => error);
  assert.instance(refreshed, client.ResponseBodyError);
  assert.is((refreshed as client.ResponseBodyError).error, "invalid_grant");
});

test("RP-initiated logout: confirm page, Sign out ends the portal session too, then back to the registered address", async () => {
  const { browser, sessionId } = await signedIn();
  const { tokens } = await codeFlow(browser);
  const logoutUrl = client.buildEndSessionUrl(rp, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: AFTER_LOGOUT, state: "bye" });
  const confirm = await browser.get(logoutUrl.toString());
  assert.is(confirm.status, 200);
  const { document } = parseHTML(confirm.text);
  const form = document.querySelector("form#op\\.logoutForm");
  assert.ok(form, confirm.text.slice(0, 500));
  const fields: Record<string, string> = { logout: "yes" };
  for (const input of form!.querySelectorAll("input")) fields[input.getAttribute("name")!] = input.getAttribute("value") ?? "";
  const done = await browser.post(form!.getAttribute("action")!, fields);
  assert.is(done.status, 200);
  const href = parseHTML(done.text).document.querySelector("main a")?.getAttribute("href") ?? "";
  assert.ok(href.startsWith(`${AFTER_LOGOUT}?state=bye`), href);
  const rows = await served.sql`select 1 from sessions where id = ${sessionId}`;
  assert.is(rows.length, 0, "the portal session ended");
  const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!).catch((error: unknown) => error);
  assert.instance(refreshed, client.ResponseBodyError);
});

test("token revocation: a revoked refresh token no longer refreshes", async () => {
  const { browser } = await signedIn();
  const { tokens } = await codeFlow(browser);
  await client.tokenRevocation(rp, tokens.refresh_token!);
  const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!).catch((error: unknown) => error);
  assert.instance(refreshed, client.ResponseBodyError);
});

test("refused: an unregistered redirect_uri (an error page, never a redirect there), no PKCE, plain PKCE", async () => {
  const { browser } = await signedIn();
  const verifier = client.randomPKCECodeVerifier();
  const challenge = await client.calculatePKCECodeChallenge(verifier);
  const base = { client_id: clientId, response_type: "code", scope: "openid", state: "s", nonce: "n" };
  const auth = (params: Record<string, string>) => `${served.url}/oidc/auth?${new URLSearchParams({ ...base, ...params })}`;

  const foreign = await browser.get(auth({ redirect_uri: "https://evil.example.net/cb", code_challenge: challenge, code_challenge_method: "S256" }));
  assert.is(foreign.status, 400);
  assert.ok(foreign.url.startsWith(served.url), "stays at the portal");
  assert.match(foreign.text, /Cannot continue to the application/);
  assert.match(foreign.headers.get("content-security-policy") ?? "", /default-src 'none'/);

  const prefix = await browser.get(auth({ redirect_uri: `${REDIRECT}/extra`, code_challenge: challenge, code_challenge_method: "S256" }));
  assert.is(prefix.status, 400, "exact match only");

  const attempts: Record<string, string>[] = [{ redirect_uri: REDIRECT }, { redirect_uri: REDIRECT, code_challenge: verifier, code_challenge_method: "plain" }];
  for (const params of attempts) {
    const back = await browser.get(auth(params));
    assert.ok(back.url.startsWith(REDIRECT), back.url);
    const answer = new URL(back.url).searchParams;
    assert.is(answer.get("error"), "invalid_request", JSON.stringify(params));
    assert.is(answer.get("code"), null);
    assert.is(answer.get("state"), "s", "state passed back untouched");
  }
});

test("the token endpoint refuses a wrong client secret and a wrong PKCE verifier", async () => {
  const { browser } = await signedIn();
  const started = await authorizationRequest();
  const back = await browser.get(started.url.toString());
  const code = new URL(back.url).searchParams.get("code")!;
  const post = (auth: string, verifier: string) =>
    fetch(`${served.url}/oidc/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${Buffer.from(`${clientId}:${auth}`).toString("base64")}` },
      body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: REDIRECT, code_verifier: verifier }),
    });
  const wrongSecret = await post("not-the-secret", started.verifier);
  assert.is(wrongSecret.status, 401);
  assert.is(((await wrongSecret.json()) as { error: string }).error, "invalid_client");
  const wrongVerifier = await post(clientSecret, client.randomPKCECodeVerifier());
  assert.is(wrongVerifier.status, 400);
  assert.is(((await wrongVerifier.json()) as { error: string }).error, "invalid_grant");
});

test("rotate-keys: new ID tokens are signed with the new key, the old key stays published so old tokens verify", async () => {
  const { browser } = await signedIn();
  const before = await codeFlow(browser);
  const oldKid = JSON.parse(Buffer.from(before.tokens.id_token!.split(".")[0]!, "base64url").toString()).kid as string;
  const { kid } = await rotateSigningKeys(served.sql, served.config.secretKey, served.clock);
  served.clock.advance(61_000); // running instances look for a new key at most once a minute
  await fetch(`${served.url}/.well-known/openid-configuration`);
  const jwksUri = rp.serverMetadata().jwks_uri!;
  const published = ((await (await fetch(jwksUri)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
  assert.ok(published.includes(kid) && published.includes(oldKid), published.join(","));
  assert.is(published[0], kid, "the new key signs");
  const fresh = await signedIn();
  const after = await codeFlow(fresh.browser);
  const newKid = JSON.parse(Buffer.from(after.tokens.id_token!.split(".")[0]!, "base64url").toString()).kid as string;
  assert.is(newKid, kid);
  served.clock.set(new Date());
});

test.run();
