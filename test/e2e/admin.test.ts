import { e2eSuite, path } from "./support/e2e.ts";
import { acceptTerms, createPassword, openRegistrationLink, registeredByEmail, signOut, verifyEmail, type Person } from "./support/steps.ts";

const s = e2eSuite("e2e: admin creates a user");

path(s, "admin creates a user who then registers", async (j) => {
  await registeredByEmail(j, { tag: "admin", admin: true, staySignedIn: true });
  await j.goto("/home", "admin: home", j.link("Administration"));
  await j.follow("Administration", "administration", j.heading("Administration"));

  const email = j.email("new");
  const newcomer: Person = { email, inbox: j.inbox(email), link: "" };
  await j.fill("Email Address", email);
  await j.fill("Name", "Riley Newcomer");
  await j.press("Create user", "user created", j.page.getByText(email).first());
  newcomer.link = await newcomer.inbox.link();

  await j.goto("/home", "admin: back home", j.button("Sign out"));
  await signOut(j);
  await openRegistrationLink(j, newcomer.link);
  await j.press("Email", "newcomer: method chosen: email", j.button("Send Verification Code"));
  await verifyEmail(j, newcomer);
  await createPassword(j, newcomer, "terms");
  await acceptTerms(j);
  const who = await j.page.getByRole("main").textContent();
  if (!who?.includes("Riley Newcomer")) throw new Error("Home does not name the new user (Riley Newcomer)");
});

s.run();
