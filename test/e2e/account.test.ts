/**
 * The account page in Chromium, JavaScript on and off (product.md §8): a provider signs out
 * another session, changes their phone number and their password; each change asks Confirm it's
 * you first (their own phone: Send Code) and emails a notice; then the new password signs in and
 * Login with Phone reaches the new number. This suite runs its own app with REAUTH_TTL=0 (every
 * change asks, whatever the time since the sign-in), so a real clock cannot skip a confirmation.
 * The Sign-in methods section: Add an authenticator app (Confirm it's you first, the recovery codes
 * of a first strong factor), then Remove on its own page.
 */
import { suite } from "uvu";
import type { Browser, BrowserContext } from "playwright-core";
import { startApp, type RunningApp } from "./support/app.ts";
import { AxeReplay, launchBrowser } from "./support/browser.ts";
import { SHOTS_DIR, type E2E } from "./support/e2e.ts";
import { Journey, type Mode } from "./support/journey.ts";
import { generateHOTP } from "@oslojs/otp";
import { decodeBase32IgnorePadding } from "@oslojs/encoding";
import { registeredByEmail, registeredByPhone, signedInBanner, signInWith, signOut, type Person } from "./support/steps.ts";
import type { Inbox } from "./support/outbox.ts";

const s = suite("e2e: account page");

let app: RunningApp;
let browser: Browser;
let env: E2E;

s.before(async () => {
  [app, browser] = await Promise.all([startApp({ REAUTH_TTL: "0" }), launchBrowser()]);
  env = { app, browser, axe: new AxeReplay(browser), shotsDir: SHOTS_DIR, stats: { pages: 0, violations: 0, screenshots: 0, paths: 0 } };
});

s.after(async () => {
  await env?.axe.close().catch(() => {});
  await browser?.close().catch(() => {});
  await app?.stop().catch((error) => console.error("stopping the account app:", error));
  if (env) console.log(`\n  e2e account: ${env.stats.paths} path runs, axe on ${env.stats.pages} pages: ${env.stats.violations} violations`);
});

function path(title: string, run: (j: Journey, mode: Mode) => Promise<void>) {
  for (const mode of ["js", "nojs"] as Mode[]) {
    s(`${title} (${mode === "js" ? "JavaScript on" : "JavaScript off"})`, async () => {
      const journey = await Journey.open(env, `account ${title}`, mode);
      try {
        await run(journey, mode);
        journey.assertClean();
      } catch (error) {
        throw await journey.explain(error);
      } finally {
        env.stats.paths++;
        await journey.close();
      }
    });
  }
}

/** Another browser (its own cookies) signed in as `person` with Login with Email: a second session. */
async function signedInElsewhere(person: Person, mode: Mode): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL: app.url, javaScriptEnabled: mode === "js", extraHTTPHeaders: { "X-Forwarded-For": "10.250.0.7" } });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByRole("button", { name: "Login with Email", exact: true }).click();
  await page.getByLabel("Email Address", { exact: true }).fill(person.email);
  await page.getByLabel("Password", { exact: true }).fill(person.password!);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await person.inbox.mark();
  await page.getByRole("button", { name: "Send Verification Code", exact: true }).click();
  await page.getByLabel("Verification Code", { exact: true }).fill(await person.inbox.code("email"));
  await page.getByRole("button", { name: "Verify Code", exact: true }).click();
  await page.getByRole("button", { name: "Continue", exact: true }).click();
  await page.getByRole("heading", { name: "Home", level: 1 }).waitFor();
  return context;
}

/** Confirm it's you with the person's own phone (Send Code, the SMS, Verify Code), up to `next`. */
async function confirmItsYou(j: Journey, phoneInbox: Inbox, next: Parameters<Journey["see"]>[0], label: string) {
  await j.see(j.heading("Confirm it's you"), 'the heading "Confirm it\'s you" (a second factor first)');
  await phoneInbox.mark();
  await j.press("Send Code", "confirm it's you: code sent", j.field("Verification Code"));
  await j.fill("Verification Code", await phoneInbox.code("sms"));
  await j.press("Verify Code", label, next);
}

/** The newest email is the notice whose subject says `what`. */
async function noticeEmailed(person: Person, what: RegExp) {
  const message = await person.inbox.expect("email");
  if (!what.test(message.subject ?? "")) throw new Error(`expected a notice "${what}", got "${message.subject}"`);
}

/** Login with Email (the emailed code) up to Home: sign-ins that leave the hour's few SMS to the changes. */
async function signInByEmail(j: Journey, person: Person) {
  await signInWith(j, person, "Login with Email", j.button("Send Verification Code"));
  await person.inbox.mark();
  await j.press("Send Verification Code", "sign-in code sent", j.field("Verification Code"));
  await j.fill("Verification Code", await person.inbox.code("email"));
  await j.press("Verify Code", "email verified", j.button("Continue"));
  await j.press("Continue", "signed in: home", j.heading("Home"));
  await signedInBanner(j);
}

// Two people, two paths: at most 5 SMS or calls per account per hour (security.md), and one
// journey through all three changes and a phone sign-in would need more.
path("sign out another session, then change the password (each confirmed first, each noticed); the new password signs in", async (j, mode) => {
  const person = await registeredByPhone(j);
  const phone = j.inbox(person.phone!);
  const elsewhere = await signedInElsewhere(person, mode);
  try {
    await signInByEmail(j, person);

    // Sessions: the other browser's session, signed out from here.
    await j.follow("Account", "the account page", j.heading("Account"));
    await j.see(j.heading("Sessions", 2), 'the heading "Sessions"');
    await j.see(j.page.getByText("(this session)"), "the current session marked");
    await j.press("Sign out", "sign out the other session", j.heading("Confirm it's you"));
    await person.inbox.mark();
    await confirmItsYou(j, phone, j.page.getByText("Signed out. We emailed you a notice."), "confirmed: the other session signed out");
    await noticeEmailed(person, /signed out/);
    const other = elsewhere.pages()[0]!;
    await other.goto("/home");
    if (!new URL(other.url()).pathname.startsWith("/login")) throw new Error(`the signed-out browser still reaches ${other.url()}`);

    // Change password: confirmed with the phone first.
    await j.follow("Change password", "change password: confirm first", j.heading("Confirm it's you"));
    await confirmItsYou(j, phone, j.heading("Change password"), "confirmed: the password form");
    const newPassword = j.password();
    await j.fill("Current Password", person.password!);
    await j.fill("New Password", newPassword);
    await j.fill("Confirm New Password", newPassword);
    await person.inbox.mark();
    await j.press("Change password", "password changed", j.page.getByText(/Your password was changed/));
    await noticeEmailed(person, /password was changed/);
    person.password = newPassword;

    await j.follow("Home", "home", j.heading("Home"));
    await signOut(j);
    await signInByEmail(j, person);
  } finally {
    await elsewhere.close().catch(() => {});
  }
});

path("change the phone number (confirmed with the old phone, the new one proved by SMS, noticed); Login with Phone then reaches the new number", async (j) => {
  const person = await registeredByPhone(j);
  const oldPhone = j.inbox(person.phone!);
  await signInByEmail(j, person);
  await j.follow("Account", "the account page", j.heading("Account"));
  await j.follow("Change phone number", "change phone: confirm first", j.heading("Confirm it's you"));
  await confirmItsYou(j, oldPhone, j.heading("Change phone number"), "confirmed: the new number's form");
  const newNumber = j.phone();
  const newPhone = j.inbox(newNumber);
  await newPhone.mark();
  await j.fill("Phone Number", newNumber);
  await person.inbox.mark();
  await j.press("Send Code", "a code to the new number", j.field("Verification Code"));
  await j.fill("Verification Code", await newPhone.code("sms"));
  await j.press("Verify Code", "the new number proved", j.page.getByText(/Your phone number was changed/));
  await noticeEmailed(person, /phone number was changed/);

  await j.follow("Home", "home", j.heading("Home"));
  await signOut(j);
  await signInWith(j, person, "Login with Phone", j.button("Send Code"));
  await newPhone.mark();
  await j.press("Send Code", "a sign-in code to the new number", j.field("Verification Code"));
  await j.fill("Verification Code", await newPhone.code("sms"));
  await j.press("Verify Code", "signed in through the new number", j.heading("Home"));
});

path("sign-in methods: add an authenticator app (confirmed first, recovery codes shown), then remove it on a page of its own", async (j, mode) => {
  const person = await registeredByEmail(j, { tag: "methods", staySignedIn: true });
  await j.goto("/account", "the account page", j.heading("Account"));
  await j.see(j.heading("Sign-in methods", 2), 'the section "Sign-in methods"');
  await j.see(j.page.getByText("0 recovery codes left"), "the recovery codes left (none before a strong factor)");
  if (mode === "js") {
    await j.see(j.button("Add a passkey"), 'the button "Add a passkey" (made by the script)');
  } else {
    await j.see(j.page.getByText("Passkeys need JavaScript", { exact: false }), "the note that passkeys need JavaScript");
    if ((await j.button("Add a passkey").count()) !== 0) j.problem("Add a passkey is there without JavaScript");
  }

  await j.press("Add an authenticator app", "add an app: confirm first", j.heading("Confirm it's you"));
  await person.inbox.mark();
  await j.press("Send Verification Code", "confirm it's you: code sent", j.field("Verification Code"));
  await j.fill("Verification Code", await person.inbox.code("email"));
  const secret = j.page.locator('output[name="totp-secret"]');
  await j.press("Verify Code", "confirmed: the app's set-up", secret);
  const key = decodeBase32IgnorePadding(((await secret.textContent()) ?? "").replace(/\s+/g, ""));
  await j.fill("Verification Code", generateHOTP(key, BigInt(Math.floor(Date.now() / 30_000)), 6));
  await j.press("Verify Code", "app verified: recovery codes (the first strong factor)", j.heading("Save your recovery codes"));
  await j.check("I have saved my recovery codes");
  await j.press("Continue", "recovery codes saved: the account page", j.page.getByText("Your new recovery codes are saved."));
  await j.see(j.page.getByText("10 recovery codes left"), "ten recovery codes left");

  // Confirm it's you now offers the app: the next time step's code (the set-up used this one's).
  await j.follow("Change password", "change password: confirm first", j.heading("Confirm it's you"));
  await j.see(j.heading("Or use your authenticator app", 2), "the authenticator app offered beside the email code");
  await j.see(j.link("Use a recovery code"), "Use a recovery code offered");
  await j.fill("Verification Code", generateHOTP(key, BigInt(Math.floor(Date.now() / 30_000) + 1), 6));
  await j.press("Verify Code", "confirmed with the app: the password form", j.heading("Change password"));
  await j.goto("/account", "the account page", j.heading("Sign-in methods", 2));

  await j.follow("Remove the authenticator app", "remove: its own page", j.heading("Remove the authenticator app?"));
  await j.see(j.link("Cancel: change nothing"), "a way back that changes nothing");
  // The last confirmation was for the password: Confirm it's you again, and the removal is done.
  await j.press("Remove the authenticator app", "remove: confirm first", j.heading("Confirm it's you"));
  await person.inbox.mark();
  // The page already holds the app's Verification Code field: wait for the email's step instead.
  await j.press("Send Verification Code", "confirm it's you: code sent", j.page.getByText(/We sent a 6-digit code to/));
  await j.fill("Verification Code", await person.inbox.code("email"));
  await person.inbox.mark();
  await j.press("Verify Code", "confirmed: the app removed", j.page.getByText(/The sign-in method was removed/));
  await noticeEmailed(person, /sign-in method was removed/);
  if ((await j.link("Remove the authenticator app").count()) !== 0) throw new Error("the app is still listed");
});

s.run();
