/**
 * Stronger factors in Chromium (product.md §8), JavaScript on and off: a provider registers with
 * Authenticator App (the secret read off the page, the code computed from it as an app would),
 * signs in with Login with Authenticator App, is refused the same code twice, and uses a recovery
 * code once (the same code fails the second time).
 */
import { generateHOTP } from "@oslojs/otp";
import { decodeBase32IgnorePadding } from "@oslojs/encoding";
import { e2eSuite, path } from "./support/e2e.ts";
import type { Journey } from "./support/journey.ts";
import { createPassword, invited, openRegistrationLink, signedInBanner, TERMS, verifyEmail, type Person } from "./support/steps.ts";

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
