/**
 * Sign in with a passkey at the HTTP edge (security.md "Factors", ASVS 6.7.x): options for a
 * discoverable credential with userVerification required and the RP ID of PUBLIC_URL; the
 * challenge is used up by the first answer (a second answer on the same flow is refused);
 * an answer naming no stored credential is refused like any other; junk is a 400, never a 500.
 * (The ceremony itself is proved in Chromium with a virtual authenticator: test/e2e/factors.test.ts.)
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, PUBLIC_URL, type TestContext } from "../support/harness.ts";

const test = suite("factors: passkey sign-in edge");
let ctx: TestContext;

test.before(async () => {
  ctx = await createTestContext();
});

async function post(path: string, body: unknown, cookie = ""): Promise<{ status: number; json: any; cookie: string }> {
  const response = await ctx.app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", origin: PUBLIC_URL, cookie },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const set = response.headers.getSetCookie().map((line) => line.split(";")[0]).join("; ");
  return { status: response.status, json: await response.json().catch(() => null), cookie: set || cookie };
}

const b64 = (text: string) => Buffer.from(text).toString("base64url");
const fakeAnswer = (challenge: string) => ({
  id: "bm90LWEtc3RvcmVkLWNyZWRlbnRpYWw",
  rawId: "bm90LWEtc3RvcmVkLWNyZWRlbnRpYWw",
  type: "public-key",
  response: {
    clientDataJSON: b64(JSON.stringify({ type: "webauthn.get", challenge, origin: PUBLIC_URL })),
    authenticatorData: b64("x".repeat(37)),
    signature: b64("signature"),
  },
  clientExtensionResults: {},
});

test("the sign-in page names the WebAuthn scripts for app.js to load on demand instead of loading them for everyone; the account page loads them", async () => {
  const page = await (await ctx.app.request("/login")).text();
  const scripts = [...page.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]!);
  assert.not.ok(scripts.some((src) => /webauthn|passkey/.test(src)), `no WebAuthn script loaded by /login: ${scripts.join(" ")}`);
  const named = /<meta name="passkey-scripts" content="([^"]+)"/.exec(page)?.[1]?.split(" ") ?? [];
  assert.is(named.length, 2, "the library and passkey.js are named");
  assert.match(named[0]!, /webauthn/);
  assert.match(named[1]!, /passkey/);
  for (const src of named) {
    const response = await ctx.app.request(src);
    assert.is(response.status, 200, src);
    assert.match(response.headers.get("content-type") ?? "", "javascript");
  }
});

test("the options: a challenge, userVerification required, RP ID = PUBLIC_URL's host, no credential named (discoverable)", async () => {
  const started = await post("/login/passkey/options", {});
  assert.is(started.status, 200);
  const options = started.json.options;
  assert.is(options.rpId, new URL(PUBLIC_URL).hostname);
  assert.is(options.userVerification, "required");
  assert.equal(options.allowCredentials ?? [], []);
  assert.ok(options.challenge.length >= 32);
});

test("the challenge is single use: the first answer uses it up (refused: no such credential), a second on the same flow finds none", async () => {
  const started = await post("/login/passkey/options", {});
  const answer = fakeAnswer(started.json.options.challenge);
  const first = await post("/login/passkey/verify", answer, started.cookie);
  assert.is(first.status, 401);
  assert.match(first.json.message, "could not sign you in");
  const second = await post("/login/passkey/verify", answer, started.cookie);
  assert.is(second.status, 409);
});

test("an answer without a flow, or one that is not an answer, is a 4xx with a message (never a 500)", async () => {
  const started = await post("/login/passkey/options", {});
  assert.is((await post("/login/passkey/verify", fakeAnswer("x"))).status, 409);
  for (const junk of ["{", "[]", { id: 1 }, { ...fakeAnswer("x"), type: "password" }, { ...fakeAnswer("x"), id: "not base64url!" }]) {
    const answer = await post("/login/passkey/verify", junk, started.cookie);
    assert.is(answer.status, 400, JSON.stringify(junk));
    assert.ok(answer.json?.message);
  }
  // Adding a passkey is for a signed-in person only.
  const add = await post("/account/factors/passkey/options", { name: "x" });
  assert.is(add.status, 303);
});

test.run();
