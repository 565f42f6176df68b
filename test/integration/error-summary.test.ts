/**
 * The GOV.UK error summary on every form (issue 17): after a failed submit the page starts with
 * "There is a problem", lists every error at once, links each one to its field (the link's
 * target exists on the page), and takes focus (the first autofocus in the document). Read with
 * linkedom from the server's HTML, as a browser without JavaScript gets it; one case with htmx.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Page, TestContext } from "../support/harness.ts";
import { ClientBrowser, GOOD_PASSWORD, codeIn, invite, lastMessage, pressButton, registrationContext, startWizard, verifyEmailAndCreatePassword } from "../support/registration.ts";
import { createActiveUser } from "../support/users.ts";

let ctx: TestContext;

test.before(async () => {
  ctx = await registrationContext();
});

test.after(async () => {
  await ctx.outbox.stop();
});

function otherCode(code: string): string {
  return String((Number(code) + 1) % 1_000_000).padStart(6, "0");
}

/**
 * The summary's structure: its heading, its items, a link to each field in `fields` (and to every
 * field the page marks invalid), every link's target on the page, and focus on it first.
 */
function assertSummary(page: Page, fields: string[], where: string): void {
  assert.ok(page.status >= 400 && page.status < 500, `${where}: a 4xx (got ${page.status})`);
  const summaries = page.document.querySelectorAll("[data-error-summary]");
  assert.is(summaries.length, 1, `${where}: one error summary`);
  const summary = summaries[0]!;
  assert.is(summary.querySelector("h2")?.textContent?.trim(), "There is a problem", `${where}: the summary's heading`);
  assert.is(summary.getAttribute("aria-labelledby"), summary.querySelector("h2")?.id, `${where}: the summary is named by its heading`);
  assert.ok(summary.querySelector('[role="alert"]'), `${where}: read out on arrival`);
  const items = [...summary.querySelectorAll("li, p")];
  assert.ok(items.length >= Math.max(1, fields.length), `${where}: an item per error`);
  for (const item of items) assert.ok((item.textContent ?? "").trim().length > 0, `${where}: no empty item`);
  const hrefs = [...summary.querySelectorAll("a")].map((a) => a.getAttribute("href") ?? "");
  for (const href of hrefs) {
    assert.match(href, /^#/, `${where}: a link within the page`);
    assert.ok(page.document.getElementById(href.slice(1)), `${where}: the link ${href} leads to an element on the page`);
  }
  for (const field of fields) assert.ok(hrefs.includes(`#field-${field}`), `${where}: a link to the field ${field} (links: ${hrefs.join(", ")})`);
  for (const invalid of page.document.querySelectorAll('#main [aria-invalid="true"], main [aria-invalid="true"]')) {
    assert.ok(hrefs.includes(`#${invalid.id}`), `${where}: the field ${invalid.id} in error is linked from the summary`);
  }
  assert.is(summary.getAttribute("tabindex"), "-1", `${where}: the summary can take focus`);
  assert.is(page.document.querySelector("[autofocus]"), summary, `${where}: focus starts on the summary`);
}

test("sign-in: no Login button of ours, both credentials empty, a wrong emailed code", async () => {
  const browser = new ClientBrowser(ctx);
  assertSummary(await browser.post("/login", {}), [], "POST /login without an option");

  await browser.post("/login", { option: "email" });
  const credentials = await browser.post("/login/credentials", { email: "", password: "" });
  assertSummary(credentials, ["email", "password"], "credentials, both empty (every error at once)");
  const htmx = await browser.post("/login/credentials", { email: "not-an-address", password: "" }, { htmx: true });
  assertSummary(htmx, ["email", "password"], "credentials with htmx");

  const account = await createActiveUser(ctx.sql, { method: "email" });
  const right = await browser.post("/login/credentials", { email: account.email, password: account.password });
  assert.is(right.url, "/login/email");
  const sent = await pressButton(browser, right, "Send Verification Code");
  const code = codeIn((await lastMessage(ctx, account.email)).body);
  assertSummary(await pressButton(browser, sent, "Verify Code", { code: otherCode(code) }), ["code"], "login email code, wrong (the summary shows it too)");
  assertSummary(await pressButton(browser, sent, "Verify Code", { code: "12" }), ["code"], "login email code, too short");
});

test("sign-in by phone: a wrong SMS code", async () => {
  const browser = new ClientBrowser(ctx);
  const account = await createActiveUser(ctx.sql, { method: "phone" });
  await browser.post("/login", { option: "phone" });
  const choose = await browser.post("/login/credentials", { email: account.email, password: account.password });
  assert.is(choose.url, "/login/phone");
  const sent = await pressButton(browser, choose, "Send Code");
  const code = codeIn((await lastMessage(ctx, account.phone!)).body);
  assertSummary(await pressButton(browser, sent, "Verify Code", { code: otherCode(code) }), ["code"], "login SMS code, wrong");
});

test("Forgot your password?: an empty address, a wrong code, new passwords that differ", async () => {
  const browser = new ClientBrowser(ctx);
  assertSummary(await browser.post("/forgot-password", { email: "" }), ["email"], "forgot-password, empty");
  const account = await createActiveUser(ctx.sql, { method: "email" });
  const codePage = await browser.post("/forgot-password", { email: account.email });
  assert.is(codePage.url, "/forgot-password/code");
  const code = codeIn((await lastMessage(ctx, account.email)).body);
  assertSummary(await pressButton(browser, codePage, "Verify code", { code: otherCode(code) }), ["code"], "reset code, wrong");
  let page = await pressButton(browser, codePage, "Verify code", { code });
  if (page.url === "/forgot-password/verified") page = await pressButton(browser, page, "Continue");
  assert.is(page.url, "/forgot-password/new-password");
  assertSummary(await pressButton(browser, page, "Continue", { password: "", confirm: "" }), ["password"], "new password, empty");
  assertSummary(await pressButton(browser, page, "Continue", { password: GOOD_PASSWORD, confirm: `${GOOD_PASSWORD}x` }), ["confirm"], "new passwords that differ");
  assertSummary(await pressButton(browser, page, "Continue", { password: "short", confirm: "other" }), ["password", "confirm"], "a weak new password that differs: both at once");
});

test("registration: a wrong email code, a short password and no confirmation, a bad phone number, a wrong SMS code, terms not agreed", async () => {
  const browser = new ClientBrowser(ctx);
  const invited = await invite(ctx);
  const email = await startWizard(ctx, browser, invited, "phone");
  const sent = await pressButton(browser, email, "Send Verification Code");
  const code = codeIn((await lastMessage(ctx, invited.email)).body);
  assertSummary(await pressButton(browser, sent, "Verify Code", { code: otherCode(code) }), ["code"], "registration email code, wrong");
  const verified = await pressButton(browser, sent, "Verify Code", { code });
  assert.is(verified.document.querySelector("h1")?.textContent?.trim(), "Create a password", "the password step's h1 says what it asks");
  assert.match(verified.document.querySelector(".step-indicator")?.textContent ?? "", /Step 3 of 5/);
  assertSummary(await pressButton(browser, verified, "Create", { password: "short", confirm: "" }), ["confirm"], "registration password, no confirmation");
  assertSummary(await pressButton(browser, verified, "Create", { password: "short", confirm: "shorter" }), ["password", "confirm"], "registration password short and differing: both at once");

  const phone = await pressButton(browser, verified, "Create", { password: GOOD_PASSWORD, confirm: GOOD_PASSWORD });
  assert.is(phone.url, "/register/phone");
  assertSummary(await pressButton(browser, phone, "Send Code", { phone: "12" }), ["phone"], "registration phone number, bad");

  const other = new ClientBrowser(ctx);
  const second = await invite(ctx);
  await startWizard(ctx, other, second, "email");
  const terms = await verifyEmailAndCreatePassword(ctx, other, second);
  assert.is(terms.url, "/register/terms");
  assert.match(terms.document.querySelector(".step-indicator")?.textContent ?? "", /Step 4 of 4/, "the email method has four steps");
  assertSummary(await pressButton(other, terms, "Continue", {}), ["agree"], "registration terms, not agreed");
});

test("Having trouble logging in? and Multi-Factor Authentication Help", async () => {
  const browser = new ClientBrowser(ctx);
  assertSummary(await browser.post("/trouble", { email: "", password: "" }), ["email", "password"], "trouble, both empty");
  const help = await browser.get("/help/mfa?asked=1");
  const link = help.document.querySelector("[data-error-summary] a");
  assert.ok(link, "the help page's summary links to the choices");
  assert.ok(help.document.getElementById((link!.getAttribute("href") ?? "").slice(1))?.matches('input[type="radio"]'), "the link leads to the first choice");
});

test("a page without errors has no summary", async () => {
  const browser = new ClientBrowser(ctx);
  for (const path of ["/login", "/forgot-password", "/trouble", "/help/mfa"]) {
    const page = await browser.get(path);
    assert.is(page.document.querySelectorAll("[data-error-summary]").length, 0, `${path}: no summary`);
  }
});

test.run();
