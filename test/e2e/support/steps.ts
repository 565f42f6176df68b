/**
 * The wizard's steps as a person does them, by role and accessible name (product.md's bold words).
 * Each function starts where the previous step left the page and checks the step it reaches.
 */
import type { Locator } from "playwright-core";
import type { Journey } from "./journey.ts";
import { answerCall, type Inbox, type OutboxEntry } from "./outbox.ts";

export const TERMS = "I have read and agree to these terms of use.";

export interface Person {
  email: string;
  inbox: Inbox;
  link: string;
  password?: string;
  phone?: string;
}

/** An invited person (npm run invite) with their registration link. */
export async function invited(j: Journey, options: { tag?: string; name?: string; admin?: boolean } = {}): Promise<Person> {
  return j.invite(options);
}

/** Opens the registration link: the method step (Phone or Email). */
export async function openRegistrationLink(j: Journey, link: string): Promise<void> {
  await j.goto(link, "registration link: choose a method", j.button("Email"));
  await j.see(j.button("Phone"), 'the button "Phone"');
}

/** Email Address → Send Verification Code → Verification Code → Verify Code → the password fields. */
export async function verifyEmail(j: Journey, person: Person): Promise<void> {
  const address = j.field("Email Address");
  await j.see(address, 'the field "Email Address"');
  const shown = await address.inputValue();
  if (shown.toLowerCase() !== person.email.toLowerCase()) throw new Error(`Email Address is prefilled with "${shown}", not the invited ${person.email}`);
  await j.press("Send Verification Code", "email code sent", j.field("Verification Code"));
  const code = await person.inbox.code("email");
  await j.fill("Verification Code", code);
  await j.press("Verify Code", "email verified: create a password", j.field("New Password"));
}

/** New Password + Confirm New Password → Create. */
export async function createPassword(j: Journey, person: Person, expectNext: "phone" | "terms"): Promise<void> {
  person.password ??= j.password();
  await j.fill("New Password", person.password);
  await j.fill("Confirm New Password", person.password);
  const next = expectNext === "phone" ? j.field("Phone Number") : j.page.getByRole("checkbox", { name: TERMS, exact: true });
  await j.press("Create", expectNext === "phone" ? "password created: phone step" : "password created: terms of use", next);
}

/** Terms of Use: the checkbox and Continue → Home. */
export async function acceptTerms(j: Journey): Promise<void> {
  await j.see(j.heading("Terms of Use"), 'the heading "Terms of Use"');
  await j.check(TERMS);
  await j.press("Continue", "terms accepted: home", j.heading("Home"));
  await j.see(j.button("Sign out"), 'the button "Sign out"');
  await signedInBanner(j);
}

/** A signed-in page's banner has the Account navigation (Home, and Administration for admins). */
export async function signedInBanner(j: Journey): Promise<void> {
  if ((await j.page.getByRole("navigation", { name: "Account" }).count()) === 0) {
    j.problem("signed in, but the banner has no Account navigation (the header of the signed-out page stayed: the sign-in ended with an htmx swap of <main> instead of a page load)");
  }
}

/** Phone Number → Send Code → the SMS code → Verify Code → Terms of Use. */
export async function verifyPhoneBySms(j: Journey, person: Person, next: "terms" | "none" = "terms"): Promise<void> {
  person.phone ??= j.phone();
  await j.fill("Phone Number", person.phone);
  const phoneInbox = j.inbox(person.phone);
  await phoneInbox.mark();
  await j.press("Send Code", "text message sent", j.field("Verification Code"));
  const code = await phoneInbox.code("sms");
  await j.fill("Verification Code", code);
  await j.press("Verify Code", "phone verified", next === "terms" ? j.heading("Terms of Use") : undefined);
}

/**
 * Call Me: the page shows the keypad code in <output name="keypad-code">; the call is answered
 * with that code and #. With JavaScript the page moves on by itself (htmx polling); without it
 * Continue checks. `expectNext` is what the step after the call shows.
 */
export async function answerCallMe(j: Journey, phone: string, expectNext: { what: string; locator: ReturnType<Journey["heading"]> }, options: { wrongFirst?: boolean } = {}): Promise<void> {
  const phoneInbox = j.inbox(phone);
  await phoneInbox.mark();
  await j.press("Call Me", "calling: key in the code", j.button("Continue"));
  const output = j.page.locator('output[name="keypad-code"]');
  await j.see(output, 'the keypad code in <output name="keypad-code">');
  const keypad = ((await output.textContent()) ?? "").replace(/\D/g, "");
  if (!/^\d{4,8}$/.test(keypad)) throw new Error(`the keypad code on the call page is "${keypad}"`);
  const call = await phoneInbox.expect("voice");
  if (options.wrongFirst) await keyWrongCode(j, call, keypad);
  const answered = await answerCall(j.env.app, call, `${keypad}#`);
  if (!/confirmed/i.test(answered)) throw new Error(`answering the call with ${keypad}# gave "${answered}"`);
  if (j.js) {
    // No click: the page's own polling must bring the next step.
    await j.see(expectNext.locator, `${expectNext.what} (the page should move on by itself after the call)`, 20_000);
    await j.checkpoint("call confirmed: the page moved on by itself");
  } else {
    await j.press("Continue", "call confirmed: Continue", expectNext.locator);
  }
}

/**
 * A wrong code keyed on the call first (the call asks again): the page must say so in its error
 * summary, by itself with JavaScript (the poll), after Continue without it.
 */
async function keyWrongCode(j: Journey, call: OutboxEntry, keypad: string): Promise<void> {
  const wrong = keypad === "000000" ? "111111" : "000000";
  const answered = await answerCall(j.env.app, call, `${wrong}#`);
  if (answered !== "wrong") throw new Error(`answering the call with a wrong code gave "${answered}"`);
  const alert = j.page.getByRole("alert").filter({ hasText: "The code you entered on the phone was not correct." });
  if (j.js) {
    await j.see(alert, "the error summary saying the code keyed on the phone was wrong (the poll should bring it)", 20_000);
    await j.checkpoint("wrong code keyed on the call: the page says so");
  } else {
    await j.press("Continue", "wrong code keyed on the call: Continue", alert);
  }
}

/** From the sign-in page: a Login button, then Email Address + Password → Sign in, up to `next`. */
export async function signInWith(j: Journey, person: Person, option: "Login with Phone" | "Login with Email", next: Locator) {
  await j.goto("/login", "sign-in page", j.button(option));
  await j.see(j.heading("Customer/Provider", 2), 'the heading "Customer/Provider"');
  await j.press(option, `${option}: credentials`, j.field("Password"));
  await j.fill("Email Address", person.email);
  await j.fill("Password", person.password!);
  await j.press("Sign in", "password accepted", next);
}

/** Sign out from Home → the sign-in page. */
export async function signOut(j: Journey): Promise<void> {
  await j.press("Sign out", "signed out", j.button("Login with Email"));
}

/** A complete registration by email, as set-up for another path (no checks). */
export async function registeredByEmail(j: Journey, options: { tag?: string; admin?: boolean; staySignedIn?: boolean } = {}): Promise<Person> {
  const person = await invited(j, options);
  await j.quietly(async () => {
    await openRegistrationLink(j, person.link);
    await j.press("Email", "method: email", j.field("Email Address"));
    await verifyEmail(j, person);
    await createPassword(j, person, "terms");
    await acceptTerms(j);
    if (!options.staySignedIn) await signOut(j);
  });
  return person;
}

/** A complete registration by phone (SMS), as set-up for another path (no checks). */
export async function registeredByPhone(j: Journey, options: { tag?: string } = {}): Promise<Person> {
  const person = await invited(j, options);
  await j.quietly(async () => {
    await openRegistrationLink(j, person.link);
    await j.press("Phone", "method: phone", j.field("Email Address"));
    await verifyEmail(j, person);
    await createPassword(j, person, "phone");
    await verifyPhoneBySms(j, person);
    await acceptTerms(j);
    await signOut(j);
  });
  return person;
}
