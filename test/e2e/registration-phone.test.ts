import { e2eSuite, path } from "./support/e2e.ts";
import { acceptTerms, answerCallMe, createPassword, invited, openRegistrationLink, verifyEmail, verifyPhoneBySms } from "./support/steps.ts";

const s = e2eSuite("e2e: registration by phone");

path(s, "registration by phone with SMS", async (j) => {
  const person = await invited(j);
  await openRegistrationLink(j, person.link);
  await j.press("Phone", "method chosen: phone", j.button("Send Verification Code"));
  await verifyEmail(j, person);
  await createPassword(j, person, "phone");
  await verifyPhoneBySms(j, person);
  await acceptTerms(j);
});

path(s, "registration by phone with Call Me", async (j) => {
  const person = await invited(j);
  await openRegistrationLink(j, person.link);
  await j.press("Phone", "method chosen: phone", j.button("Send Verification Code"));
  await verifyEmail(j, person);
  await createPassword(j, person, "phone");
  person.phone = j.phone();
  await j.fill("Phone Number", person.phone);
  // JavaScript on: the page moves on by itself once the call confirms; off: Continue.
  await answerCallMe(j, person.phone, { what: 'the heading "Terms of Use"', locator: j.heading("Terms of Use") });
  await acceptTerms(j);
});

path(s, "registration by phone with Call Me, a wrong code keyed first", async (j) => {
  const person = await invited(j);
  await j.quietly(async () => {
    await openRegistrationLink(j, person.link);
    await j.press("Phone", "method chosen: phone", j.button("Send Verification Code"));
    await verifyEmail(j, person);
    await createPassword(j, person, "phone");
  });
  person.phone = j.phone();
  await j.fill("Phone Number", person.phone);
  await answerCallMe(j, person.phone, { what: 'the heading "Terms of Use"', locator: j.heading("Terms of Use") }, { wrongFirst: true });
});

s.run();
