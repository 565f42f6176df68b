import { e2eSuite, path } from "./support/e2e.ts";
import { answerCallMe, registeredByEmail, registeredByPhone, signInWith, signedInBanner } from "./support/steps.ts";

const s = e2eSuite("e2e: sign in");

path(s, "login with phone (SMS)", async (j) => {
  const person = await registeredByPhone(j);
  await signInWith(j, person, "Login with Phone", j.button("Send Code"));
  await j.see(j.button("Call Me"), 'the button "Call Me"');
  const phoneInbox = j.inbox(person.phone!);
  await phoneInbox.mark();
  await j.press("Send Code", "text message sent", j.field("Verification Code"));
  await j.fill("Verification Code", await phoneInbox.code("sms"));
  await j.press("Verify Code", "signed in: home", j.heading("Home"));
  await signedInBanner(j);
});

path(s, "login with phone (Call Me)", async (j) => {
  const person = await registeredByPhone(j);
  await signInWith(j, person, "Login with Phone", j.button("Call Me"));
  await answerCallMe(j, person.phone!, { what: 'the heading "Home"', locator: j.heading("Home") });
  await j.see(j.button("Sign out"), 'the button "Sign out"');
  await signedInBanner(j);
});

path(s, "login with phone (Call Me), a wrong code keyed first", async (j) => {
  const person = await registeredByPhone(j);
  await signInWith(j, person, "Login with Phone", j.button("Call Me"));
  await answerCallMe(j, person.phone!, { what: 'the heading "Home"', locator: j.heading("Home") }, { wrongFirst: true });
});

path(s, "login with email", async (j) => {
  const person = await registeredByEmail(j);
  await signInWith(j, person, "Login with Email", j.button("Send Verification Code"));
  const shown = await j.field("Email Address").inputValue();
  if (shown.toLowerCase() !== person.email.toLowerCase()) throw new Error(`the email step shows "${shown}", not ${person.email}`);
  await j.press("Send Verification Code", "email code sent", j.field("Verification Code"));
  await j.fill("Verification Code", await person.inbox.code("email"));
  await j.press("Verify Code", "email verified", j.button("Continue"));
  await j.see(j.page.getByRole("status").filter({ hasText: /verified/i }), "a message confirming verification");
  await j.press("Continue", "signed in: home", j.heading("Home"));
  await signedInBanner(j);
});

s.run();
