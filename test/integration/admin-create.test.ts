/**
 * Create user (Email Address, Name, Role → Create user): the registration link is emailed and the
 * new user registers from it; a duplicate address, a malformed or staff address and a bad role are
 * refused with a message next to the field, the values kept; the audit log names the administrator.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, texts, uniqueEmail, type TestContext, type Browser } from "../support/harness.ts";
import { createActiveUser } from "../support/users.ts";
import { latestLink, messagesTo, rowOf, signedInAdmin } from "../support/admin.ts";
import { INVITE_REFUSALS } from "../../src/flows/invitation.ts";

let ctx: TestContext;
let browser: Browser;
let adminId: string;

test.before(async () => {
  ctx = await createTestContext();
  ctx.deps.remoteAddress = () => "10.61.0.3";
  const signedIn = await signedInAdmin(ctx);
  browser = signedIn.browser;
  adminId = signedIn.admin.id;
});

test.after(async () => {
  await ctx.outbox.stop();
});

test("the Create user form: labelled Email Address, Name, Role (Provider/Administrator) and a Create user button", async () => {
  const page = await browser.get("/admin");
  const form = page.document.querySelector('form[action="/admin/users"]')!;
  assert.equal(form.getAttribute("method"), "post");
  assert.equal(form.getAttribute("hx-post"), "/admin/users");
  const labels = [...form.querySelectorAll("label")].map((label) => [label.textContent, label.getAttribute("for")]);
  assert.equal(labels, [
    ["Email Address", "field-email"],
    ["Name", "field-name"],
    ["Role", "field-role"],
  ]);
  assert.equal(
    [...form.querySelectorAll("#field-role option")].map((option) => [option.getAttribute("value"), option.textContent]),
    [
      ["provider", "Provider"],
      ["admin", "Administrator"],
    ],
  );
  assert.equal(texts(page, 'form[action="/admin/users"] button'), ["Create user"]);
});

test("Create user emails the registration link; the user shows as Invited; the link starts registration", async () => {
  const email = uniqueEmail("created");
  const page = await browser.post("/admin/users", { email, name: "Dana Created", role: "provider" });
  assert.equal(page.redirects, [303]);
  assert.equal(texts(page, "#admin-status")[0], `Created ${email}. The registration link was emailed to them.`);
  const row = rowOf(page, email);
  assert.ok(row, "the new user is on the first page (newest first)");
  const [user] = await ctx.sql<{ id: string; role: string; status: string; name: string }[]>`
    select id, role, status, name from users where email_normalized = ${email.toLowerCase()}`;
  assert.equal({ role: user!.role, status: user!.status, name: user!.name }, { role: "provider", status: "invited", name: "Dana Created" });
  assert.equal(texts(page, `#user-${user!.id} td`)[4], "Invited");

  const mails = await messagesTo(browser, email);
  assert.equal(mails.length, 1);
  assert.match(mails[0]!.subject ?? "", /Register/);
  const landing = await ctx.browser().get(await latestLink(browser, email));
  assert.equal(landing.url, "/register/method");

  const events = await ctx.sql<{ event: string; actorId: string; ip: string }[]>`
    select event, actor_id as "actorId", ip from audit_events where user_id = ${user!.id} order by id`;
  assert.ok(events.some((event) => event.event === "admin.user_created" && event.actorId === adminId && event.ip === "10.61.0.3"));
  assert.ok(events.some((event) => event.event === "registration.invited" && event.actorId === adminId));
});

test("Role Administrator creates an invited administrator", async () => {
  const email = uniqueEmail("new-admin");
  await browser.post("/admin/users", { email, name: "New Admin", role: "admin" });
  const [user] = await ctx.sql<{ role: string; status: string }[]>`select role, status from users where email_normalized = ${email.toLowerCase()}`;
  assert.equal(user, { role: "admin", status: "invited" });
});

test("a duplicate address is refused with a message, in any case, whether active or still invited", async () => {
  const active = await createActiveUser(ctx.sql, { method: "email" });
  const invited = uniqueEmail("dup");
  await browser.post("/admin/users", { email: invited, name: "First", role: "provider" });
  for (const email of [active.email.toUpperCase(), ` ${invited} `]) {
    const before = (await messagesTo(browser, email.trim())).length;
    const page = await browser.post("/admin/users", { email, name: "Second", role: "admin" });
    assert.equal(page.status, 409, email);
    assert.equal(
      texts(page, "#field-email-error")[0],
      "Error: A user with this email address already exists. To send them a new registration link, use Resend registration link on their row.",
    );
    assert.equal(page.document.querySelector("#field-email")?.getAttribute("aria-invalid"), "true");
    assert.equal(page.document.querySelector("#field-email")?.getAttribute("value"), email.trim(), "the typed value is kept");
    assert.ok(page.document.querySelector("#field-email[autofocus]"), "focus goes to the field in error");
    assert.ok(page.document.querySelector("[role=alert]"));
    assert.equal((await messagesTo(browser, email.trim())).length, before, "nothing was sent");
  }
  const [row] = await ctx.sql<{ role: string; name: string }[]>`select role, name from users where email_normalized = ${invited.toLowerCase()}`;
  assert.equal(row, { role: "provider", name: "First" }, "the existing user is unchanged");
});

test("malformed, empty and staff addresses and a bad role are refused next to their field", async () => {
  const cases: Array<[Record<string, string>, string, string]> = [
    [{ email: "not-an-address", name: "X", role: "provider" }, "email", INVITE_REFUSALS.invalid_email],
    [{ email: "", name: "X", role: "provider" }, "email", "Enter the user's email address."],
    [{ email: "someone@kepro.com", name: "X", role: "provider" }, "email", INVITE_REFUSALS.staff_email],
    [{ email: uniqueEmail(), name: "X", role: "superuser" }, "role", "Choose Provider or Administrator."],
    [{ email: uniqueEmail(), name: "x".repeat(201), role: "provider" }, "name", "Enter a name of at most 200 characters."],
  ];
  for (const [fields, field, message] of cases) {
    const page = await browser.post("/admin/users", fields);
    assert.equal(page.status, 400, JSON.stringify(fields));
    assert.equal(texts(page, `#field-${field}-error`)[0], `Error: ${message}`);
  }
  const repeated = await browser.post("/admin/users", new URLSearchParams([["email", uniqueEmail()], ["email", uniqueEmail()], ["name", "X"], ["role", "provider"]]));
  assert.equal(repeated.status, 400, "a repeated field is a 400, not a 500");
  const json = await browser.post("/admin/users", JSON.stringify({ email: uniqueEmail() }), { contentType: "application/json" });
  assert.equal(json.status, 400);
});

test("with htmx, Create user answers the page's content as a fragment (the 303 is followed with HX-Request)", async () => {
  const email = uniqueEmail("htmx");
  const page = await browser.post("/admin/users", { email, name: "Via Htmx", role: "provider" }, { htmx: true });
  assert.equal(page.redirects, [303]);
  assert.not.ok(page.text.includes("<html"));
  assert.equal(page.headers.get("hx-replace-url"), "/admin", "the message's query does not stay in the address bar");
  assert.equal(texts(page, "#admin-status")[0], `Created ${email}. The registration link was emailed to them.`);
  const refused = await browser.post("/admin/users", { email, name: "Again", role: "provider" }, { htmx: true });
  assert.equal(refused.status, 409);
  assert.not.ok(refused.text.includes("<html"));
});

test.run();
