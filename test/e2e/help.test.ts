import { e2eSuite, path } from "./support/e2e.ts";

const s = e2eSuite("e2e: help pages");

/** The pages around the paths (footer links, help, a page that does not exist): axe and reflow on each. */
path(s, "help pages and the footer links", async (j) => {
  await j.goto("/login", "sign-in page", j.heading("Sign in"));
  await j.follow("Help", "help", j.heading("Help"));
  await j.follow("What is MFA and how it works", "what is MFA", j.link("All help pages"));
  await j.follow("All help pages", "help again", j.link("Remember Me and setting up your browser"));
  await j.follow("Remember Me and setting up your browser", "Remember Me set-up", j.link("All help pages"));
  await j.follow("All help pages", "help again", j.link("Authenticator apps"));
  await j.follow("Authenticator apps", "authenticator apps", j.heading("Authenticator apps"));
  await j.follow("All help pages", "help again", j.link("Passkeys"));
  await j.follow("Passkeys", "passkeys", j.heading("Passkeys"));
  await j.follow("All help pages", "help again", j.link("Recovery codes"));
  await j.follow("Recovery codes", "recovery codes", j.heading("Recovery codes"));
  await j.follow("All help pages", "help again", j.heading("Help"));
  await j.follow("Multi-Factor Authentication Help", "MFA help: what went wrong?", j.heading("Multi-Factor Authentication Help"));

  // Continue with nothing selected asks again; then an answer.
  await j.press("Continue", "MFA help: nothing selected", j.page.getByRole("alert"));
  await j.page.getByRole("radio", { name: "I forgot my password", exact: true }).check();
  await j.press("Continue", "MFA help: forgot my password", j.heading("I forgot my password", 2));
  await j.follow("Reset your password", "forgot your password?", j.heading("Forgot your password?"));

  await j.follow("Having trouble logging in?", "having trouble logging in? (footer)", j.button("Send Registration Link"));
  await j.goto("/no-such-page", "page not found", j.heading("Page not found"));
  await j.goto("/register/link/not-a-real-token", "a made-up registration link", j.heading("Registration error"));
});

s.run();
