import { e2eSuite, path } from "./support/e2e.ts";
import type { Journey } from "./support/journey.ts";
import { registeredByPhone, signedInBanner } from "./support/steps.ts";

const s = e2eSuite("e2e: Remember Me");

/**
 * The session ends (idle timeout, or the browser reopened with "Continue where you left off")
 * while the Remember Me cookie stays: modelled by dropping only the session cookie.
 */
async function sessionEnds(j: Journey) {
  const cookies = await j.context.cookies();
  const session = cookies.filter((c) => /(^|-)session$/.test(c.name));
  if (!session.length) throw new Error(`no session cookie to end (cookies: ${cookies.map((c) => c.name).join(", ") || "none"})`);
  if (!cookies.some((c) => /(^|-)remember$/.test(c.name))) throw new Error(`no Remember Me cookie after signing in with Remember Me checked (cookies: ${cookies.map((c) => c.name).join(", ")})`);
  for (const c of session) await j.context.clearCookies({ name: c.name });
}

path(s, "Remember Me: the same option skips, the other option asks", async (j) => {
  const person = await registeredByPhone(j);
  const phoneInbox = j.inbox(person.phone!);

  // Sign in with Remember Me checked and Login with Phone.
  await j.goto("/login", "sign-in page", j.button("Login with Phone"));
  await j.check("Remember Me");
  await j.press("Login with Phone", "Remember Me + Login with Phone: credentials", j.field("Password"));
  await j.fill("Email Address", person.email);
  await j.fill("Password", person.password!);
  await j.press("Sign in", "password accepted", j.button("Send Code"));
  await phoneInbox.mark();
  await j.press("Send Code", "text message sent", j.field("Verification Code"));
  await j.fill("Verification Code", await phoneInbox.code("sms"));
  await j.press("Verify Code", "signed in: home", j.heading("Home"));

  // Same option: straight to Home, no password, no code.
  await sessionEnds(j);
  await j.goto("/login", "session ended: sign-in page", j.button("Login with Phone"));
  // product.md §9: the box already stands checked; pressing the same button untouched is all it takes.
  if (!(await j.page.getByRole("checkbox", { name: "Remember Me", exact: true }).isChecked())) {
    throw new Error("the Remember Me box is not checked on the sign-in page while this browser holds a live token");
  }
  await phoneInbox.mark();
  await j.press("Login with Phone", "Remember Me, same option, box untouched: home at once", j.heading("Home"));
  await signedInBanner(j);
  const sent = await phoneInbox.expect("sms", 1_000).then(
    () => true,
    () => false,
  );
  if (sent) throw new Error("Remember Me with the same option still sent a text message");

  // The other option asks for everything.
  await sessionEnds(j);
  await j.goto("/login", "session ended again: sign-in page", j.button("Login with Email"));
  await j.press("Login with Email", "Remember Me, other option: asks for the password", j.field("Password"));
  await j.see(j.button("Sign in"), 'the button "Sign in"');
});

s.run();
