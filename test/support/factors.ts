/**
 * The stronger factors, as tests use them: an account registered with Authenticator App through
 * the pages (its key read back from the page's secret, its recovery codes from the list), and the
 * app's code at the clock's time step. Shared by the factor tests of integration and security.
 */
import * as assert from "uvu/assert";
import { generateHOTP } from "@oslojs/otp";
import { decodeBase32IgnorePadding } from "@oslojs/encoding";
import { timeStep } from "../../src/flows/factors/totp.ts";
import { texts, type Page, type TestContext } from "./harness.ts";
import { ClientBrowser, GOOD_PASSWORD, invite, pressButton, verifyEmailAndCreatePassword, type Invited } from "./registration.ts";

/** The key behind the set-up page's secret (shown as text in <output name=totp-secret>). */
export function secretOf(page: Page): Uint8Array {
  const output = page.document.querySelector("output[name=totp-secret]");
  assert.ok(output, "the secret key is shown as text in <output name=totp-secret>");
  return decodeBase32IgnorePadding((output!.textContent ?? "").replace(/\s+/g, ""));
}

/** The app's code for the context's clock, `offset` time steps away. */
export function codeAt(ctx: TestContext, key: Uint8Array, offset = 0): string {
  return generateHOTP(key, BigInt(timeStep(ctx.clock) + offset), 6);
}

/** Invitation → Authenticator App → email code → password → the app's page. */
export async function toAppStep(ctx: TestContext, browser: ClientBrowser, invited: Invited, htmx = false): Promise<Page> {
  const landing = await browser.get(invited.path, { htmx });
  const method = await pressButton(browser, landing, "Authenticator App", {}, { htmx });
  assert.is(method.url, "/register/email");
  const page = await verifyEmailAndCreatePassword(ctx, browser, invited, htmx);
  assert.is(page.url, "/register/app");
  return page;
}

/** The whole registration with the app: returns the key and the recovery codes shown. */
export async function registerWithApp(
  ctx: TestContext,
  browser = new ClientBrowser(ctx),
): Promise<{ invited: Invited; key: Uint8Array; codes: string[]; browser: ClientBrowser }> {
  const invited = await invite(ctx);
  const app = await toAppStep(ctx, browser, invited);
  const key = secretOf(app);
  assert.ok(app.document.querySelector('main a[href="/help/authenticator-app"]'), "the set-up links the authenticator apps' help");
  const terms = await pressButton(browser, app, "Verify Code", { code: codeAt(ctx, key) });
  assert.is(terms.url, "/register/terms");
  const recovery = await pressButton(browser, terms, "Continue", { agree: "on" });
  assert.is(recovery.url, "/register/recovery-codes");
  const codes = texts(recovery, "ul.recovery-codes li");
  assert.ok(recovery.document.querySelector('main a[href="/help/recovery-codes"]'), "the codes' page links the recovery codes' help");
  const home = await pressButton(browser, recovery, "Continue", { saved: "on" });
  assert.is(home.url, "/home");
  return { invited, key, codes, browser };
}

/** Sign out from a signed-in page. */
export async function signOut(browser: ClientBrowser, page: Page): Promise<Page> {
  const out = await pressButton(browser, page, "Sign out");
  assert.match(out.url, /^\/login/);
  return out;
}

/** Login with Authenticator App → credentials → the app's code step. */
export async function toAppCode(browser: ClientBrowser, email: string, remember = false): Promise<Page> {
  const start = await browser.get("/login");
  const credentials = await pressButton(browser, start, "Login with Authenticator App", remember ? { remember: "on" } : {});
  assert.is(credentials.url, "/login/credentials");
  const step = await pressButton(browser, credentials, "Sign in", { email, password: GOOD_PASSWORD });
  assert.is(step.url, "/login/app");
  return step;
}
