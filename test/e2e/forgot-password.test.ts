import { e2eSuite, path } from "./support/e2e.ts";
import type { Journey } from "./support/journey.ts";
import { registeredByEmail, registeredByPhone, signOut, type Person, signedInBanner } from "./support/steps.ts";

const s = e2eSuite("e2e: forgot password");

/** Sign-in page → a Login button → Forgot your password? → the email code → Email verified → Continue. */
async function resetUpToContinue(j: Journey, person: Person, option: "Login with Phone" | "Login with Email") {
  await j.goto("/login", "sign-in page", j.button(option));
  await j.press(option, `${option}: credentials`, j.link("Forgot your password?"));
  await j.follow("Forgot your password?", "forgot your password?", j.field("Email Address"));
  await j.fill("Email Address", person.email);
  await j.press("Send verification code", "reset code sent", j.field("Verification code"));
  await j.fill("Verification code", await person.inbox.code("email"));
  await j.press("Verify code", "email verified", j.button("Continue"));
}

async function chooseNewPassword(j: Journey, person: Person) {
  await j.see(j.field("New Password"), 'the field "New Password"');
  person.password = j.password();
  await j.fill("New Password", person.password);
  await j.fill("Confirm New Password", person.password);
  await j.press("Continue", "password changed: home", j.heading("Home"));
  await signedInBanner(j);
}

/** The new password works: Sign out, then it passes the password step. */
async function newPasswordWorks(j: Journey, person: Person, option: "Login with Phone" | "Login with Email", next: string) {
  await j.quietly(async () => {
    await signOut(j);
    await j.goto("/login", "sign-in page", j.button(option));
    await j.press(option, "credentials", j.field("Password"));
    await j.fill("Email Address", person.email);
    await j.fill("Password", person.password!);
    await j.press("Sign in", "new password accepted", j.button(next));
  });
}

path(s, "forgot password: phone user", async (j) => {
  const person = await registeredByPhone(j);
  await resetUpToContinue(j, person, "Login with Phone");
  const phoneInbox = j.inbox(person.phone!);
  await phoneInbox.mark();
  await j.press("Continue", "phone step", j.button("Send Code"));
  await j.see(j.button("Call Me"), 'the button "Call Me"');
  await j.press("Send Code", "text message sent", j.field("Verification Code"));
  await j.fill("Verification Code", await phoneInbox.code("sms"));
  await j.press("Verify Code", "phone verified: choose a new password", j.field("New Password"));
  await chooseNewPassword(j, person);
  await newPasswordWorks(j, person, "Login with Phone", "Send Code");
});

path(s, "forgot password: email-only user", async (j) => {
  const person = await registeredByEmail(j);
  await resetUpToContinue(j, person, "Login with Email");
  // Email-only: no phone step, straight to the new password.
  await j.press("Continue", "choose a new password", j.field("New Password"));
  await chooseNewPassword(j, person);
  await newPasswordWorks(j, person, "Login with Email", "Send Verification Code");
});

s.run();
