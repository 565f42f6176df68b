/**
 * Keyboard only: Tab, Shift+Tab, Space and Enter (and typing into fields), never the mouse.
 * At every Tab stop focus must be visible (an outline or a box-shadow); after every htmx swap it
 * must be on the new step's heading, its error summary or the first field in error; a page loaded with an error
 * must start on the error summary.
 */
import { e2eSuite, path } from "./support/e2e.ts";
import { TERMS, invited, registeredByEmail, signedInBanner } from "./support/steps.ts";

const s = e2eSuite("e2e: keyboard only");

path(s, "registration by email, keyboard only", async (j) => {
  const person = await invited(j);
  j.keyboard = true;
  await j.goto(person.link, "registration link: choose a method", j.button("Email"));
  await j.tabToButton("Email");
  await j.key("Enter", "method chosen: email", j.button("Send Verification Code"));
  await j.tabToButton("Send Verification Code");
  await j.key("Space", "email code sent", j.field("Verification Code"));
  const code = await person.inbox.code("email");

  // A wrong code first: focus must land on the error summary (its link leads to the field).
  const wrong = code === "000000" ? "111111" : "000000";
  await j.typeInto("Verification Code", wrong);
  await j.tabToButton("Verify Code");
  await j.key("Enter", "wrong code: the error", j.page.getByRole("alert"));
  await j.typeInto("Verification Code", code);
  await j.tabToButton("Verify Code");
  await j.key("Enter", "email verified: create a password", j.field("New Password"));

  person.password = j.password();
  await j.typeInto("New Password", person.password);
  await j.typeInto("Confirm New Password", person.password);
  await j.tabToButton("Create");
  await j.key("Enter", "password created: terms of use", j.heading("Terms of Use"));

  // Past the checkbox to Continue, Shift+Tab back to it, Space to check it.
  const agree = j.page.getByRole("checkbox", { name: TERMS, exact: true });
  await j.tabToButton("Continue");
  await j.tabTo(agree, "the terms checkbox", { back: true });
  await j.page.keyboard.press(" ");
  if (!(await agree.isChecked())) throw new Error("Space did not check the terms checkbox");
  await j.tabToButton("Continue");
  await j.key("Enter", "terms accepted: home", j.heading("Home"));
  await signedInBanner(j);
});

path(s, "login with email, keyboard only", async (j) => {
  const person = await registeredByEmail(j);
  j.keyboard = true;
  await j.goto("/login", "sign-in page", j.button("Login with Email"));
  await j.tabToButton("Login with Email");
  await j.key("Enter", "Login with Email: credentials", j.field("Password"));
  await j.typeInto("Email Address", person.email);
  await j.typeInto("Password", person.password!);
  await j.tabToButton("Sign in");
  await j.key("Enter", "password accepted", j.button("Send Verification Code"));
  await j.tabToButton("Send Verification Code");
  await j.key("Space", "email code sent", j.field("Verification Code"));
  await j.typeInto("Verification Code", await person.inbox.code("email"));
  await j.key("Enter", "email verified", j.button("Continue"));
  await j.tabToButton("Continue");
  await j.key("Enter", "signed in: home", j.heading("Home"));
  await signedInBanner(j);
});

s.run();
