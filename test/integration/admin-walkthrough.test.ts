/**
 * The "must show", through the app as people use it: an administrator invited the way
 * `npm run invite -- --admin` does it registers, signs in, opens Administration, creates a
 * provider, resends their link (the first link now fails), and the provider registers from the
 * second link; the list shows each step of the provider's registration as it happens.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, texts, uniqueEmail, type Browser, type TestContext } from "../support/harness.ts";
import { TEST_PASSWORD, uniquePhone } from "../support/users.ts";
import { latestCode, latestLink, messagesTo, press, rowOf, signInWithEmail } from "../support/admin.ts";
import { inviteUser } from "../../src/flows/invitation.ts";

let ctx: TestContext;

test.before(async () => {
  ctx = await createTestContext();
  ctx.deps.remoteAddress = () => "10.61.0.5";
});

test.after(async () => {
  await ctx.outbox.stop();
});

/** Registers through the wizard from an emailed link with the Email method; ends on /home. */
async function registerWithEmail(browser: Browser, link: string, email: string) {
  assert.equal((await browser.get(link)).url, "/register/method");
  assert.equal((await browser.post("/register/method", { method: "email" })).url, "/register/email");
  await browser.post("/register/email/send", {});
  const verified = await browser.post("/register/email/verify", { code: await latestCode(browser, email) });
  assert.equal(verified.url, "/register/email");
  const terms = await browser.post("/register/password", { password: TEST_PASSWORD, confirm: TEST_PASSWORD });
  assert.equal(terms.url, "/register/terms");
  return browser.post("/register/terms", { agree: "on" });
}

/** The provider's State cell on the admin page. */
async function stateShown(admin: Browser, email: string): Promise<string> {
  const page = await admin.get(`/admin?q=${encodeURIComponent(email)}`);
  const row = rowOf(page, email);
  assert.ok(row, email);
  return (row!.querySelectorAll("td")[4]!.textContent ?? "").trim();
}

test("invited admin registers and administers; a provider registers from the second link after the first died", async () => {
  // What `npm run invite -- --email … --admin` does.
  const adminEmail = uniqueEmail("first-admin");
  const invited = await inviteUser(ctx.deps, { email: adminEmail, name: "First Admin", role: "admin" });
  assert.ok(invited.ok);
  const admin = ctx.browser();
  const home = await registerWithEmail(admin, new URL(invited.ok ? invited.link : "").pathname, adminEmail);
  assert.equal(home.url, "/home");
  await admin.post("/logout", {});

  const signedIn = await signInWithEmail(admin, adminEmail, TEST_PASSWORD);
  assert.equal(signedIn.url, "/home");
  const link = signedIn.document.querySelector("a[href='/admin']");
  assert.equal(link?.textContent, "Administration");
  const adminPage = await admin.get("/admin");
  assert.equal(texts(adminPage, "h1")[0], "Administration");

  const providerEmail = uniqueEmail("walkthrough-provider");
  const created = await admin.post("/admin/users", { email: providerEmail, name: "Walk Through", role: "provider" });
  assert.equal(texts(created, "#admin-status")[0], `Created ${providerEmail}. The registration link was emailed to them.`);
  const firstLink = await latestLink(admin, providerEmail);
  assert.equal(await stateShown(admin, providerEmail), "Invited");

  await press(admin, await admin.get(`/admin?q=${encodeURIComponent(providerEmail)}`), `Resend registration link ${providerEmail}`);
  const secondLink = await latestLink(admin, providerEmail);
  assert.not.equal(secondLink, firstLink);
  const dead = await ctx.browser().get(firstLink);
  assert.ok(dead.url.startsWith("/register/error"), `the first link fails (${dead.url})`);

  // The provider registers from the second link with the Phone method; the list follows along.
  const provider = ctx.browser();
  assert.equal((await provider.get(secondLink)).url, "/register/method");
  await provider.post("/register/method", { method: "phone" });
  await provider.post("/register/email/send", {});
  await provider.post("/register/email/verify", { code: await latestCode(provider, providerEmail) });
  assert.equal(await stateShown(admin, providerEmail), "Email verified");
  const phoneStep = await provider.post("/register/password", { password: TEST_PASSWORD, confirm: TEST_PASSWORD });
  assert.equal(phoneStep.url, "/register/phone");
  assert.equal(await stateShown(admin, providerEmail), "Password set");
  const phone = uniquePhone();
  await provider.post("/register/phone/send", { phone: phone.slice(2), channel: "sms" });
  const sms = (await messagesTo(provider, phone))[0]!;
  const code = /(\d{6})/.exec(sms.text)![1]!;
  const terms = await provider.post("/register/phone/verify", { code });
  assert.equal(terms.url, "/register/terms");
  assert.equal(await stateShown(admin, providerEmail), "Phone verified");
  const providerHome = await provider.post("/register/terms", { agree: "on" });
  assert.equal(providerHome.url, "/home");
  assert.equal(texts(providerHome, "h1")[0], "Home");
  assert.equal(providerHome.document.querySelector("a[href='/admin']"), null, "a provider has no Administration link");

  const listed = await admin.get(`/admin?q=${encodeURIComponent(providerEmail)}`);
  const cells = texts(listed, `tbody tr td`);
  assert.equal(cells.slice(1, 5), ["Provider", "Phone", `(•••) •••-${phone.slice(-4)}`, "Active"]);
  assert.not.equal(cells[5], "Never", "the last sign-in is shown");
});

test.run();
