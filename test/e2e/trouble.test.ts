import { e2eSuite, path } from "./support/e2e.ts";
import { acceptTerms, createPassword, invited, openRegistrationLink, verifyEmail, verifyPhoneBySms } from "./support/steps.ts";

const s = e2eSuite("e2e: Having trouble logging in? → resume");

path(s, "Having trouble logging in? → resume", async (j) => {
  const person = await invited(j);
  await openRegistrationLink(j, person.link);
  await j.press("Phone", "method chosen: phone", j.button("Send Verification Code"));
  await verifyEmail(j, person);
  await createPassword(j, person, "phone");

  // They stop here, and come back another day in a browser that kept nothing.
  await j.context.clearCookies();
  await j.goto("/login", "back another day: sign-in page", j.link("Having trouble logging in?"));
  await j.follow("Having trouble logging in?", "having trouble logging in?", j.field("Password"));
  await j.fill("Email Address", person.email);
  await j.fill("Password", person.password!);
  await j.press("Send Registration Link", "registration link sent: check your email", j.heading("Check your email"));
  const resume = await person.inbox.link();

  // The link resumes at the first unfinished step: the phone.
  await j.goto(resume, "resume link: the phone step", j.field("Phone Number"));
  await verifyPhoneBySms(j, person);
  await acceptTerms(j);
});

s.run();
