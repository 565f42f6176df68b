/**
 * Back-channel logout (OpenID Connect Back-Channel Logout 1.0, product.md §5) against real parts:
 * the portal over real HTTP, openid-client as the relying party, and a small HTTP server on a
 * loopback port as the client's back-channel logout endpoint. Portal sign-out, an administrator's
 * Disable or Reset MFA, and RP-initiated logout each send a logout token that verifies against the portal's
 * JWKS; a client without a URI gets nothing; an endpoint that never answers or is not there does
 * not hold up or break the sign-out.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import * as client from "openid-client";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from "jose";
import { parseHTML } from "linkedom";
import { HttpBrowser, serveTestApp, signInDirectly, type ServedApp } from "../support/apps.ts";
import { createActiveUser } from "../support/users.ts";
import { createOidcApplication } from "../../src/apps/registry.ts";

const test = suite("apps-backchannel");
const EVENT = "http://schemas.openid.net/event/backchannel-logout";

/** The relying party's back-channel logout endpoint: records each POST, answers as told. */
class Endpoint {
  received: { contentType: string; body: URLSearchParams }[] = [];
  answer: "ok" | "hang" = "ok";
  private hanging: ServerResponse[] = [];
  server: Server;
  constructor() {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let text = "";
      req.on("data", (chunk) => (text += chunk));
      req.on("end", () => {
        this.received.push({ contentType: req.headers["content-type"] ?? "", body: new URLSearchParams(text) });
        if (this.answer === "hang") this.hanging.push(res);
        else res.writeHead(200, { "cache-control": "no-store" }).end();
      });
    });
  }
  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/backchannel-logout`;
  }
  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

interface Rp {
  clientId: string;
  config: client.Configuration;
  redirect: string;
}

let served: ServedApp;
let endpoint: Endpoint;
let told: Rp; // registered a back-channel logout URI
let untold: Rp; // did not

async function register(name: string, backchannelLogoutUri: string | null): Promise<Rp> {
  const redirect = `http://127.0.0.1:9/${name}/callback`;
  const created = await createOidcApplication(served.sql, { name, redirectUris: [redirect], postLogoutRedirectUris: [`http://127.0.0.1:9/${name}/signed-out`], backchannelLogoutUri });
  if (!created.ok) throw new Error(created.reason);
  const config = await client.discovery(new URL(served.url), created.value.clientId, created.value.clientSecret!, undefined, { execute: [client.allowInsecureRequests] });
  return { clientId: created.value.clientId, config, redirect };
}

test.before(async () => {
  served = await serveTestApp();
  endpoint = new Endpoint();
  told = await register("Told", await endpoint.listen());
  untold = await register("Untold", null);
});

test.after(async () => {
  await served.logouts.drain();
  await endpoint.close();
  await served.close();
});

/** A code + PKCE sign-in of `rp` through the portal, for a browser that holds a portal session. */
async function codeFlow(rp: Rp, browser: HttpBrowser) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(rp.config, {
    redirect_uri: rp.redirect,
    scope: "openid email offline_access",
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  const back = await browser.get(url.toString());
  assert.ok(back.url.startsWith(rp.redirect), `back at the redirect URI, got ${back.url} (${back.status})`);
  return client.authorizationCodeGrant(rp.config, new URL(back.url), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
}

/** A person signed in at the portal and at both clients; the ID token of the told one. */
async function signedInToBoth() {
  const person = await createActiveUser(served.sql, { method: "phone" });
  const browser = new HttpBrowser(served.url);
  served.clock.set(new Date(Date.now() - 5000));
  await signInDirectly(served, browser, person.id);
  served.clock.set(new Date());
  const tokens = await codeFlow(told, browser);
  await codeFlow(untold, browser);
  return { person, browser, idToken: tokens.claims()! };
}

/** The logout token the endpoint got, verified as an RP must (section 2.6): signature by the JWKS, iss, aud, iat, typ. */
async function verifiedLogoutToken(index: number): Promise<JWTPayload> {
  const got = endpoint.received[index];
  assert.ok(got, `logout token number ${index + 1} arrived`);
  assert.is(got!.contentType, "application/x-www-form-urlencoded");
  const token = got!.body.get("logout_token");
  assert.ok(token, "posted as logout_token=");
  const jwks = (await (await fetch(told.config.serverMetadata().jwks_uri!)).json()) as { keys: never[] };
  const { payload, protectedHeader } = await jwtVerify(token!, createLocalJWKSet(jwks), {
    issuer: served.url,
    audience: told.clientId,
    algorithms: ["RS256"],
    typ: "logout+jwt",
    maxTokenAge: "2 minutes",
  });
  assert.is(decodeProtectedHeader(token!).kid, protectedHeader.kid);
  return payload;
}

function assertLogoutToken(payload: JWTPayload, sub: string, sid: unknown): void {
  assert.is(payload.sub, sub, "sub: the person");
  assert.is(payload.aud, told.clientId, "aud: the client alone");
  assert.equal(payload.events, { [EVENT]: {} }, "the back-channel logout event");
  assert.type(payload.jti, "string");
  assert.type(payload.iat, "number");
  assert.is(payload.nonce, undefined, "a logout token never holds a nonce");
  assert.type(sid, "string", "the ID token carried sid (a client with a back-channel URI is given it)");
  assert.is(payload.sid, sid, "sid: the session the ID token named");
}

test("portal sign-out: the client with a back-channel URI gets a signed logout token, the other gets nothing", async () => {
  const { person, browser, idToken } = await signedInToBoth();
  const before = endpoint.received.length;
  const out = await browser.post("/logout", {});
  assert.is(new URL(out.url).pathname, "/login");
  await served.logouts.drain();
  assert.is(endpoint.received.length, before + 1, "one token: only the client that registered a URI is told");
  assertLogoutToken(await verifiedLogoutToken(before), person.id, idToken.sid);
  const owed = await served.sql`select 1 from backchannel_logouts`;
  assert.is(owed.length, 0, "nothing left owed");
});

test("an administrator's Disable sends the logout token too", async () => {
  const { person, idToken } = await signedInToBoth();
  const admin = await createActiveUser(served.sql, { method: "email", role: "admin" });
  const adminBrowser = new HttpBrowser(served.url);
  await signInDirectly(served, adminBrowser, admin.id);
  const before = endpoint.received.length;
  const disabled = await adminBrowser.post(`/admin/users/${person.id}/disable`, { from: "user" });
  assert.ok(disabled.status < 400, `Disable answered ${disabled.status}`);
  const [row] = await served.sql<{ status: string }[]>`select status from users where id = ${person.id}`;
  assert.is(row!.status, "disabled");
  await served.logouts.drain();
  assert.is(endpoint.received.length, before + 1);
  assertLogoutToken(await verifiedLogoutToken(before), person.id, idToken.sid);
});

test("an administrator's Reset MFA sends the logout token too", async () => {
  const { person, idToken } = await signedInToBoth();
  const admin = await createActiveUser(served.sql, { method: "email", role: "admin" });
  const adminBrowser = new HttpBrowser(served.url);
  await signInDirectly(served, adminBrowser, admin.id);
  const before = endpoint.received.length;
  const reset = await adminBrowser.post(`/admin/users/${person.id}/reset-mfa`, { from: "user" });
  assert.ok(reset.status < 400, `Reset MFA answered ${reset.status}`);
  await served.logouts.drain();
  assert.is(endpoint.received.length, before + 1);
  assertLogoutToken(await verifiedLogoutToken(before), person.id, idToken.sid);
});

test("RP-initiated logout from the other client tells the client with a back-channel URI", async () => {
  const person = await createActiveUser(served.sql, { method: "phone" });
  const browser = new HttpBrowser(served.url);
  served.clock.set(new Date(Date.now() - 5000));
  await signInDirectly(served, browser, person.id);
  served.clock.set(new Date());
  const toldTokens = await codeFlow(told, browser);
  const untoldTokens = await codeFlow(untold, browser);
  const logoutUrl = client.buildEndSessionUrl(untold.config, { id_token_hint: untoldTokens.id_token!, post_logout_redirect_uri: `http://127.0.0.1:9/Untold/signed-out` });
  const confirm = await browser.get(logoutUrl.toString());
  const form = parseHTML(confirm.text).document.querySelector("form#op\\.logoutForm");
  assert.ok(form, confirm.text.slice(0, 300));
  const fields: Record<string, string> = { logout: "yes" };
  for (const input of form!.querySelectorAll("input")) fields[input.getAttribute("name")!] = input.getAttribute("value") ?? "";
  const before = endpoint.received.length;
  const done = await browser.post(form!.getAttribute("action")!, fields);
  assert.is(done.status, 200);
  await served.logouts.drain();
  assert.is(endpoint.received.length, before + 1, "told once (the provider's session and the portal's sign-out do not both send it)");
  assertLogoutToken(await verifiedLogoutToken(before), person.id, toldTokens.claims()!.sid);
});

test("an endpoint that never answers does not hold up the sign-out; the failure is logged and audited", async () => {
  const { person, browser } = await signedInToBoth();
  endpoint.answer = "hang";
  const before = endpoint.received.length;
  try {
    const out = await browser.post("/logout", {});
    assert.is(new URL(out.url).pathname, "/login", "signed out while the client's endpoint still holds the request");
    await served.logouts.drain(); // gives up after the short timeout
    assert.is(endpoint.received.length, before + 1, "the token was sent; no answer came");
  } finally {
    endpoint.answer = "ok";
  }
  const audits = await served.sql<{ detail: { client_id: string; error: string } }[]>`
    select detail from audit_events where event = 'application.backchannel_logout_failed' and user_id = ${person.id}`;
  assert.is(audits.length, 1);
  assert.is(audits[0]!.detail.client_id, told.clientId);
  assert.match(audits[0]!.detail.error, /no answer within/);
});

test("an endpoint that is not there: sign-out works, the failure is audited", async () => {
  const gone = new Endpoint();
  const uri = await gone.listen();
  await gone.close(); // nothing listens on that port any more
  const rp = await register("Gone", uri);
  const person = await createActiveUser(served.sql, { method: "phone" });
  const browser = new HttpBrowser(served.url);
  served.clock.set(new Date(Date.now() - 5000));
  await signInDirectly(served, browser, person.id);
  served.clock.set(new Date());
  await codeFlow(rp, browser);
  const out = await browser.post("/logout", {});
  assert.is(out.status, 200);
  assert.is(new URL(out.url).pathname, "/login");
  await served.logouts.drain();
  const audits = await served.sql`select 1 from audit_events where event = 'application.backchannel_logout_failed' and user_id = ${person.id}`;
  assert.is(audits.length, 1);
});

test("discovery says back-channel logout is supported, with sid", async () => {
  const meta = told.config.serverMetadata() as Record<string, unknown>;
  assert.is(meta.backchannel_logout_supported, true);
  assert.is(meta.backchannel_logout_session_supported, true);
});

test.run();
