import { e2eSuite, path } from "./support/e2e.ts";
import { acceptTerms, createPassword, invited, openRegistrationLink, verifyEmail } from "./support/steps.ts";

const s = e2eSuite("e2e: Registration error → Reset");

path(s, "Registration error → Reset", async (j) => {
  const person = await invited(j);
  await openRegistrationLink(j, person.link);
  await j.press("Email", "method chosen: email", j.button("Send Verification Code"));
  await verifyEmail(j, person);

  // The same link again (opened from the email a second time): it was used.
  await j.goto(person.link, "used link: Registration error", j.heading("Registration error"));
  await j.press("Reset", "reset: check your email", j.heading("Check your email"));
  const resetLink = await person.inbox.link();
  if (resetLink === person.link) throw new Error("the Reset email carries the old registration link");

  // The reset link continues where the registration stopped: the email is verified, so the password.
  await j.goto(resetLink, "reset link: continues at the password", j.field("New Password"));
  await createPassword(j, person, "terms");
  await acceptTerms(j);
});

s.run();
