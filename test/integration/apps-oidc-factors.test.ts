/**
 * What the ID token says the person proved (product.md §5, RFC 8176 `amr`), after a real sign-in
 * through the portal's pages with each stronger factor, against openid-client v6 over real HTTP
 * (as apps-oidc.test.ts does): Login with Authenticator App gives pwd, otp and mfa; Sign in with
 * a passkey (no password) gives swk for a synced passkey, hwk for one bound to its device, and mfa.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import * as client from "openid-client";
import { parseHTML } from "linkedom";
import { generateHOTP } from "@oslojs/otp";
import { HttpBrowser, serveTestApp, type ServedApp } from "../support/apps.ts";
import { createActiveUser } from "../support/users.ts";
import { addSoftPasskey } from "../support/webauthn.ts";
import { createOidcApplication } from "../../src/apps/registry.ts";
import { addFactor } from "../../src/auth/users.ts";
import { newSealedTotpKey, openTotpKey, sealedTotpBytes, timeStep } from "../../src/flows/factors/totp.ts";

const test = suite("apps-oidc: amr of the stronger factors");
const REDIRECT = "http://127.0.0.1:9/callback";

let served: ServedApp;
let rp: client.Configuration;

test.before(async () => {
  served = await serveTestApp();
  const created = await createOidcApplication(served.sql, { name: "Factors demo", redirectUris: [REDIRECT], postLogoutRedirectUris: [] });
  assert.ok(created.ok);
  if (!created.ok) return;
  rp = await client.discovery(new URL(served.url), created.value.clientId, created.value.clientSecret!, undefined, { execute: [client.allowInsecureRequests] });
});

test.after(async () => {
  await served.close();
});

/** The authorization request up to the portal's sign-in page: its rd, and what the code exchange needs. */
async function toSignIn(browser: HttpBrowser) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(rp, {
    redirect_uri: REDIRECT,
    scope: "openid email",
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  // The provider keeps real time: the portal's clock too.
  served.clock.set(new Date());
  const page = await browser.get(url.toString());
  const shown = new URL(page.url);
  assert.is(shown.pathname, "/login");
  return { rd: shown.searchParams.get("rd")!, verifier, state, nonce };
}

/** After the sign-in: the page that hands back to the provider, then the code, then the ID token's claims. */
async function finish(browser: HttpBrowser, started: Awaited<ReturnType<typeof toSignIn>>, after: string) {
  const handBack = await browser.get(after);
  const link = parseHTML(handBack.text).document.querySelector("main a")?.getAttribute("href") ?? "";
  assert.ok(link.startsWith(`${served.url}/oidc/auth/`), `a hand-back page, got ${handBack.url} (${handBack.status})`);
  const back = await browser.get(link);
  assert.ok(back.url.startsWith(REDIRECT), back.url);
  const tokens = await client.authorizationCodeGrant(rp, new URL(back.url), { pkceCodeVerifier: started.verifier, expectedState: started.state, expectedNonce: started.nonce });
  return tokens.claims()!;
}

async function postJson(browser: HttpBrowser, path: string, body: unknown): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json", origin: served.url };
  if (browser.cookies.size) headers.cookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  const response = await fetch(new URL(path, served.url), { method: "POST", headers, body: JSON.stringify(body) });
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const index = pair!.indexOf("=");
    browser.cookies.set(pair!.slice(0, index).trim(), pair!.slice(index + 1).trim());
  }
  return (await response.json()) as Record<string, unknown>;
}

test("Login with Authenticator App: the ID token's amr holds pwd, otp and mfa", async () => {
  const person = await createActiveUser(served.sql, { method: "totp" });
  const sealed = newSealedTotpKey(served.config.secretKey);
  await addFactor(served.sql, served.clock, person.id, { kind: "totp", destination: null, secret: sealedTotpBytes(sealed) });
  const key = openTotpKey(served.config.secretKey, sealed)!;
  const browser = new HttpBrowser(served.url);
  const started = await toSignIn(browser);
  const credentials = await browser.post("/login", { option: "totp", rd: started.rd });
  assert.is(new URL(credentials.url).pathname, "/login/credentials");
  const step = await browser.post("/login/credentials", { email: person.email, password: person.password });
  assert.is(new URL(step.url).pathname, "/login/app");
  const signedIn = await browser.post("/login/app", { code: generateHOTP(key, BigInt(timeStep(served.clock)), 6) });
  const claims = await finish(browser, started, signedIn.url);
  assert.is(claims.sub, person.id);
  const amr = [...(claims.amr as string[])].sort();
  assert.equal(amr, ["mfa", "otp", "pwd"]);
});

for (const synced of [true, false]) {
  test(`Sign in with a passkey (${synced ? "synced" : "bound to its device"}): amr ${synced ? "swk" : "hwk"} and mfa, no pwd (none was typed)`, async () => {
    const person = await createActiveUser(served.sql, { method: "email" });
    const passkey = await addSoftPasskey(served.sql, served.clock, person.id, { synced });
    const browser = new HttpBrowser(served.url);
    const started = await toSignIn(browser);
    const options = await postJson(browser, "/login/passkey/options", { rd: started.rd });
    const answer = passkey.answer((options.options as { challenge: string }).challenge, served.url);
    const done = await postJson(browser, "/login/passkey/verify", answer);
    assert.type(done.redirect, "string", JSON.stringify(done));
    const claims = await finish(browser, started, done.redirect as string);
    assert.is(claims.sub, person.id);
    assert.equal([...(claims.amr as string[])].sort(), synced ? ["mfa", "swk"] : ["hwk", "mfa"]);
  });
}

test.run();
