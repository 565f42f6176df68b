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

path(s, "admin: a Create user error, then Disable confirmed on its own page", async (j) => {
  await registeredByEmail(j, { tag: "admin", admin: true, staySignedIn: true });
  const target = await j.invite({ tag: "target", name: "Dana Target" });
  await j.goto(`/admin?q=${encodeURIComponent(target.email)}`, "administration: the user to disable", j.heading("Administration"));

  // Create user with no address: the error summary, its link to the field.
  await j.press("Create user", "create user without an address: the error summary", j.page.getByRole("heading", { name: "There is a problem" }));
  await j.see(j.link("Enter the user's email address."), "the summary's link to the field");

  await j.press(`Disable ${target.email}`, "disable: the confirmation page", j.heading(`Disable ${target.email}?`));
  await j.see(j.link("Cancel: change nothing"), "a way back");
  await j.press(`Disable ${target.email}`, "disabled", j.page.getByText(`${target.email} was disabled and signed out everywhere.`));
});

s.run();
