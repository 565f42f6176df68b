import { e2eSuite, path } from "./support/e2e.ts";
import { acceptTerms, createPassword, invited, openRegistrationLink, verifyEmail } from "./support/steps.ts";

const s = e2eSuite("e2e: registration by email");

path(s, "registration by email", async (j) => {
  const person = await invited(j);
  await openRegistrationLink(j, person.link);
  await j.press("Email", "method chosen: email", j.button("Send Verification Code"));
  await verifyEmail(j, person);
  await createPassword(j, person, "terms");
  await acceptTerms(j);
});

s.run();
