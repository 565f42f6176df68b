/**
 * Stronger factors in Chromium (product.md §8), JavaScript on and off: a provider registers with
 * Authenticator App (the secret read off the page, the code computed from it as an app would),
 * signs in with Login with Authenticator App, is refused the same code twice, and uses a recovery
 * code once (the same code fails the second time).
 */
import { generateHOTP } from "@oslojs/otp";
import { decodeBase32IgnorePadding } from "@oslojs/encoding";
import { e2eSuite, path } from "./support/e2e.ts";
import { suite } from "uvu";
import { startApp } from "./support/app.ts";
import { AxeReplay, launchBrowser } from "./support/browser.ts";
import { SHOTS_DIR, type E2E } from "./support/e2e.ts";
import { Journey, type Mode } from "./support/journey.ts";
import { invited, openRegistrationLink, registeredByEmail, signedInBanner, TERMS, verifyEmail, type Person } from "./support/steps.ts";

const s = e2eSuite("e2e: authenticator app and recovery codes");

/** The code an authenticator app shows for `step` (RFC 6238 time step; now when omitted). */
function appCode(key: Uint8Array, step = currentStep()): string {
  return generateHOTP(key, BigInt(step), 6);
}

function currentStep(): number {
  return Math.floor(Date.now() / 30_000);
}

/** Registration with Authenticator App up to Home: the key from the page, the step its code used, the recovery codes shown. */
async function registerWithApp(j: Journey, person: Person): Promise<{ key: Uint8Array; usedStep: number; codes: string[] }> {
  await openRegistrationLink(j, person.link);
  await j.see(j.button("Authenticator App"), 'the button "Authenticator App" beside Phone and Email');
  await j.press("Authenticator App", "method chosen: authenticator app", j.button("Send Verification Code"));
  await verifyEmail(j, person);
  person.password ??= j.password();
  await j.fill("New Password", person.password);
  await j.fill("Confirm New Password", person.password);
  await j.press("Create", "password created: set up the app", j.field("Verification Code"));
  await j.see(j.page.getByRole("img", { name: "QR code to scan with your authenticator app" }), "the QR code");
  if ((await j.page.locator(".qr-code svg").count()) !== 1) j.problem("the QR code is not an inline SVG");
  const secret = ((await j.page.locator('output[name="totp-secret"]').textContent()) ?? "").replace(/\s+/g, "");
  const key = decodeBase32IgnorePadding(secret);
  if (key.length !== 20) throw new Error(`the secret on the page is ${key.length * 8} bits, not 160`);
  const usedStep = currentStep();
  await j.fill("Verification Code", appCode(key, usedStep));
  await j.press("Verify Code", "app verified: terms of use", j.heading("Terms of Use"));
  await j.check(TERMS);
  await j.press("Continue", "terms accepted: recovery codes", j.heading("Save your recovery codes"));
  const list = j.page.getByRole("list", { name: "Recovery codes" });
  await j.see(list, 'the list "Recovery codes"');
  const codes = (await list.getByRole("listitem").allTextContents()).map((t) => t.trim());
  if (codes.length !== 10) throw new Error(`${codes.length} recovery codes shown, not 10`);
  await j.check("I have saved my recovery codes");
  await j.press("Continue", "recovery codes saved: home", j.heading("Home"));
  await signedInBanner(j);
  return { key, usedStep, codes };
}

async function toAppCode(j: Journey, person: Person): Promise<void> {
  await j.goto("/login", "sign-in page", j.button("Login with Authenticator App"));
  await j.press("Login with Authenticator App", "Login with Authenticator App: credentials", j.field("Password"));
  await j.fill("Email Address", person.email);
  await j.fill("Password", person.password!);
  await j.press("Sign in", "password accepted: the app's code", j.field("Verification Code"));
}

async function signOut(j: Journey): Promise<void> {
  await j.press("Sign out", "signed out", j.button("Login with Authenticator App"));
}

path(s, "authenticator app: register, sign in with a computed code, the same code refused twice", async (j) => {
  const person = await invited(j, { tag: "totp" });
  const { key, usedStep } = await registerWithApp(j, person);
  await signOut(j);

  // The code registration used is refused: each time step once.
  await toAppCode(j, person);
  await j.fill("Verification Code", appCode(key, usedStep));
  await j.press("Verify Code", "the registration's code again: refused", j.page.getByRole("alert"));
  if ((await j.page.getByRole("heading", { name: "Home" }).count()) > 0) throw new Error("the registration's code signed in again");

  // The next step's code (one step of skew is allowed) signs in.
  const next = appCode(key, usedStep + 1);
  await j.fill("Verification Code", next);
  await j.press("Verify Code", "the next code: home", j.heading("Home"));
  await signOut(j);

  // That code again, in a new sign-in: refused.
  await toAppCode(j, person);
  await j.fill("Verification Code", next);
  await j.press("Verify Code", "the same code twice: refused", j.page.getByRole("alert"));
  const alert = (await j.page.getByRole("alert").first().textContent()) ?? "";
  if (!/can no longer be used/.test(alert)) throw new Error(`the replayed code got "${alert.trim()}"`);
});

path(s, "recovery code: works once, the same code fails the second time", async (j) => {
  const person = await invited(j, { tag: "recovery" });
  const { codes } = await registerWithApp(j, person);
  await signOut(j);
  await toAppCode(j, person);
  await j.follow("Use a recovery code", "use a recovery code", j.field("Recovery Code"));
  await j.fill("Recovery Code", codes[0]!);
  await j.press("Verify Code", "recovery code accepted: home", j.heading("Home"));
  const notice = await person.inbox.expect("email");
  if (!/recovery code was used/.test(notice.subject ?? "")) throw new Error(`no recovery-code notice: "${notice.subject}"`);
  await signOut(j);
  await toAppCode(j, person);
  await j.follow("Use a recovery code", "use a recovery code again", j.field("Recovery Code"));
  await j.fill("Recovery Code", codes[0]!);
  await j.press("Verify Code", "the same recovery code: refused", j.page.getByRole("alert"));
  if ((await j.page.getByRole("heading", { name: "Home" }).count()) > 0) throw new Error("a used recovery code signed in again");
});

s.run();

/* ── Passkeys: an app of their own on http://localhost:… (a domain, as WebAuthn's RP ID must be) ── */

const p = suite("e2e: passkeys");
let passkeyEnv: E2E;

p.before(async () => {
  const [app, browser] = await Promise.all([startApp({}, { host: "localhost" }), launchBrowser()]);
  passkeyEnv = { app, browser, axe: new AxeReplay(browser), shotsDir: SHOTS_DIR, stats: { pages: 0, violations: 0, screenshots: 0, paths: 0 } };
});

p.after(async () => {
  await passkeyEnv?.axe.close().catch(() => {});
  await passkeyEnv?.browser.close().catch(() => {});
  await passkeyEnv?.app.stop().catch((error) => console.error("stopping the passkey app:", error));
  if (passkeyEnv) console.log(`\n  e2e passkeys: ${passkeyEnv.stats.paths} path runs, axe on ${passkeyEnv.stats.pages} pages: ${passkeyEnv.stats.violations} violations`);
});

function passkeyPath(title: string, run: (j: Journey) => Promise<void>, mode: Mode) {
  p(`${title} (${mode === "js" ? "JavaScript on" : "JavaScript off"})`, async () => {
    const journey = await Journey.open(passkeyEnv, `passkey ${title}`, mode);
    try {
      await run(journey);
      journey.assertClean();
    } catch (error) {
      throw await journey.explain(error);
    } finally {
      passkeyEnv.stats.paths++;
      await journey.close();
    }
  });
}

/**
 * Chromium's virtual authenticator (DevTools protocol WebAuthn domain): a platform authenticator
 * with resident keys and user verification, as a phone or laptop with a fingerprint reader.
 */
async function virtualAuthenticator(j: Journey, options: { isUserVerified?: boolean } = {}) {
  const cdp = await j.context.newCDPSession(j.page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: options.isUserVerified ?? true, automaticPresenceSimulation: true },
  });
  return { cdp, authenticatorId };
}

passkeyPath(
  "passkey: add a passkey on the account page, then sign in with it alone",
  async (j) => {
    const person = await registeredByEmail(j, { tag: "passkey", staySignedIn: true });
    const { cdp, authenticatorId } = await virtualAuthenticator(j);
    await j.goto("/account", "sign-in methods", j.heading("Sign-in methods", 2));
    await j.see(j.button("Add a passkey"), 'the button "Add a passkey" (made by the script)');
    if ((await j.page.getByText("Passkeys need JavaScript").count()) > 0) j.problem("the note that passkeys need JavaScript stayed with JavaScript on");
    await j.fill("Passkey name", "Test laptop");
    await j.press("Add a passkey", "passkey added: recovery codes (the first strong factor)", j.heading("Save your recovery codes"));
    await j.check("I have saved my recovery codes");
    await j.press("Continue", "recovery codes saved: sign-in methods", j.heading("Sign-in methods", 2));
    await j.see(j.page.getByRole("cell", { name: "Test laptop", exact: true }), "the passkey listed by its name");
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    if (credentials.length !== 1 || !credentials[0]!.isResidentCredential) throw new Error("no discoverable credential on the authenticator");

    await j.goto("/home", "home", j.button("Sign out"));
    await j.press("Sign out", "signed out", j.button("Login with Email"));
    await j.see(j.button("Sign in with a passkey"), 'the button "Sign in with a passkey"');
    // No email, no password: the passkey alone.
    await j.press("Sign in with a passkey", "signed in with the passkey", j.heading("Home"));
    await signedInBanner(j);

    // Remove it again (the sign-in just now was the second factor): a page of its own, then the email factor is left.
    await j.goto("/account", "the account page", j.heading("Sign-in methods", 2));
    await j.follow("Remove the passkey Test laptop", "remove the passkey: its own page", j.heading("Remove the passkey “Test laptop”?"));
    await j.press("Remove the passkey “Test laptop”", "passkey removed", j.page.getByText(/The sign-in method was removed/));
    if ((await j.page.getByRole("cell", { name: "Test laptop", exact: true }).count()) !== 0) throw new Error("the removed passkey is still listed");
    void person;
  },
  "js",
);

passkeyPath(
  "passkey: refused when user verification fails (a clear message, no session)",
  async (j) => {
    await registeredByEmail(j, { tag: "passkey-uv", staySignedIn: true });
    const { cdp, authenticatorId } = await virtualAuthenticator(j);
    // Adding one is the path above; here it is set-up.
    await j.quietly(async () => {
      await j.goto("/account", "sign-in methods", j.heading("Sign-in methods", 2));
      await j.fill("Passkey name", "Test laptop");
      await j.press("Add a passkey", "passkey added", j.heading("Save your recovery codes"));
      await j.check("I have saved my recovery codes");
      await j.press("Continue", "recovery codes saved", j.heading("Sign-in methods", 2));
      await j.goto("/home", "home", j.button("Sign out"));
      await j.press("Sign out", "signed out", j.button("Login with Email"));
    });
    // The fingerprint, face or PIN is not recognised from now on.
    await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: false });
    await j.see(j.button("Sign in with a passkey"), 'the button "Sign in with a passkey"');
    // No page load and no htmx request follow a refusal: click, then wait for the message.
    await j.button("Sign in with a passkey").click();
    const alert = j.page.getByRole("alert").filter({ hasText: /passkey/i });
    await j.see(alert, "the message that the passkey did not sign in");
    await j.checkpoint("passkey refused: user verification failed");
    const message = ((await alert.first().textContent()) ?? "").trim();
    // Chromium itself refuses a required user verification that failed (NotAllowedError); were
    // an answer without it sent, the server refuses it (test/security/factors.test.ts).
    if (!/could not confirm it is you|could not sign you in/.test(message)) throw new Error(`the refusal says "${message}"`);
    if ((await j.page.getByRole("heading", { name: "Home" }).count()) > 0) throw new Error("signed in without user verification");
    // No session: Home sends to the sign-in page.
    await j.goto("/home", "home without a session: the sign-in page", j.heading("Sign in"));
  },
  "js",
);

passkeyPath(
  "passkeys need JavaScript: without it the buttons are absent and the account page says so",
  async (j) => {
    await registeredByEmail(j, { tag: "nojs-passkey", staySignedIn: true });
    await j.goto("/account", "sign-in methods", j.heading("Sign-in methods", 2));
    await j.see(j.page.getByText("Passkeys need JavaScript", { exact: false }), "the note that passkeys need JavaScript");
    if ((await j.button("Add a passkey").count()) !== 0) throw new Error("Add a passkey is there without JavaScript");
    await j.goto("/home", "home", j.button("Sign out"));
    await j.press("Sign out", "signed out", j.button("Login with Email"));
    if ((await j.button("Sign in with a passkey").count()) !== 0) throw new Error("Sign in with a passkey is there without JavaScript");
  },
  "nojs",
);

p.run();
