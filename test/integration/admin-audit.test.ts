/**
 * A user's page (details, actions, their audit events) and the Audit Log page with its filters
 * (user email, event type, from/to day) and paging. Events are written with a clock set to fixed
 * past days so the date filters have exact edges.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, texts, type TestContext, type Browser, type Page } from "../support/harness.ts";
import { createActiveUser } from "../support/users.ts";
import { press, pressConfirmed, signedInAdmin } from "../support/admin.ts";
import { appendAudit } from "../../src/auth/audit.ts";
import { createManualClock } from "../../src/clock.ts";

let ctx: TestContext;
let browser: Browser;
let adminEmail: string;

test.before(async () => {
  ctx = await createTestContext();
  ctx.deps.remoteAddress = () => "10.61.0.4";
  const signedIn = await signedInAdmin(ctx);
  browser = signedIn.browser;
  adminEmail = signedIn.admin.email;
});

test.after(async () => {
  await ctx.outbox.stop();
});

/** The Event column of an events table. */
/** The stored event names of the rows (the cell shows them in plain words, issue 17). */
function eventNames(page: Page): string[] {
  return [...page.document.querySelectorAll("tbody tr td[data-event]")].map((cell) => cell.getAttribute("data-event") ?? "");
}

test("a user's page: details with the masked phone, actions that come back to it, and their audit events", async () => {
  const user = await createActiveUser(ctx.sql, { method: "phone", name: "Pat Details", phone: "+14155550123" });
  const page = await browser.get(`/admin/users/${user.id}`);
  assert.equal(page.status, 200);
  assert.equal(texts(page, "h1")[0], "User details");
  const details = Object.fromEntries(
    [...page.document.querySelectorAll("dl dt")].map((dt) => [dt.textContent, dt.nextElementSibling?.textContent]),
  );
  assert.equal(details.Name, "Pat Details");
  assert.equal(details.Email, user.email);
  assert.equal(details.Role, "Provider");
  assert.equal(details.State, "Active");
  assert.equal(details["MFA method"], "Phone");
  assert.equal(details.Phone, "(•••) •••-0123");
  assert.not.ok(page.text.includes("5550123"), "never the full number");

  const disabled = await pressConfirmed(browser, page, `Disable ${user.email}`);
  assert.equal(disabled.url, `/admin/users/${user.id}?done=disabled&user=${user.id}`);
  assert.equal(texts(disabled, "#admin-status")[0], `${user.email} was disabled and signed out everywhere.`);
  assert.equal(eventNames(disabled)[0], "admin.user_disabled");
  assert.equal(texts(disabled, "tbody tr td[data-event]")[0], "User disabled by an administrator", "in plain words");
  const row = disabled.document.querySelector("tbody tr")!;
  assert.ok(row.textContent!.includes(adminEmail), "the event names the administrator");
  assert.ok(row.textContent!.includes("10.61.0.4"));
  assert.ok(row.textContent!.includes("test-browser"));
  // On this page the forms swap the whole page content, not a row.
  assert.equal(disabled.document.querySelector(`form[action$="/enable"]`)?.getAttribute("hx-target"), "#main");
});

test("a user's page for an unknown or malformed id is a 404 page", async () => {
  assert.equal((await browser.get("/admin/users/00000000-0000-4000-8000-000000000000")).status, 404);
  assert.equal((await browser.get("/admin/users/not-an-id")).status, 404);
});

test("Audit log: filter by user email, by event type (exact or a whole family), by day; page with Older events", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const other = await createActiveUser(ctx.sql, { method: "email" });
  const clock = createManualClock(new Date("2020-02-29T23:59:59Z"));
  const write = (event: string, userId: string) => appendAudit(ctx.sql, clock, { event, userId, ip: "10.0.0.9", userAgent: "ua" });
  await write("signin.success", user.id); // 02-29, just before the range
  clock.set(new Date("2020-03-01T00:00:00Z"));
  await write("signin.password_failed", user.id); // first moment of the range
  await write("signin.success", other.id);
  clock.set(new Date("2020-03-02T23:59:59Z"));
  await write("code.failed", user.id); // last moment of the range
  clock.set(new Date("2020-03-03T00:00:00Z"));
  await write("signin.success", user.id); // just after

  const byUser = await browser.get(`/admin/audit?user=${encodeURIComponent(user.email.toUpperCase())}`);
  assert.equal(byUser.status, 200);
  assert.equal(texts(byUser, "h1")[0], "Audit log");
  assert.equal(eventNames(byUser), ["signin.success", "code.failed", "signin.password_failed", "signin.success"]);

  const range = await browser.get(`/admin/audit?user=${encodeURIComponent(user.email)}&from=2020-03-01&to=2020-03-02`);
  assert.equal(eventNames(range), ["code.failed", "signin.password_failed"]);
  assert.equal(texts(range, "tbody th time")[0], "2020-03-02 23:59 UTC");

  const exact = await browser.get(`/admin/audit?event=signin.success&from=2020-02-29&to=2020-03-03`);
  assert.equal(eventNames(exact), ["signin.success", "signin.success", "signin.success"]);
  const family = await browser.get(`/admin/audit?user=${encodeURIComponent(user.email)}&event=signin.*`);
  assert.equal(eventNames(family), ["signin.success", "signin.password_failed", "signin.success"]);

  // The filter form: labelled fields, the choices of event types that occur, values kept.
  const labels = texts(range, "form[method=get] label");
  assert.equal(labels, ["User email", "Event type", "From", "To"]);
  const options = [...range.document.querySelectorAll("#field-event option")].map((option) => option.getAttribute("value"));
  for (const value of ["", "signin.*", "signin.success", "code.failed"]) assert.ok(options.includes(value), value);
  assert.equal(range.document.querySelector("#field-from")?.getAttribute("value"), "2020-03-01");
  assert.equal(range.document.querySelector("#field-from")?.getAttribute("type"), "date");

  for (let i = 0; i < 55; i++) await write("code.failed", other.id);
  const first = await browser.get(`/admin/audit?user=${encodeURIComponent(other.email)}`);
  assert.equal(eventNames(first).length, 50);
  const older = first.document.querySelector("a[rel=next]")!;
  assert.equal(older.textContent, "Older events");
  assert.ok(older.getAttribute("href")!.includes(`user=${encodeURIComponent(other.email)}`), "the filter travels with the page");
  const second = await browser.get(older.getAttribute("href")!);
  assert.equal(eventNames(second), [...Array(5).fill("code.failed"), "signin.success"]);
  assert.equal(second.document.querySelector("a[rel=next]"), null);
});

test("Audit log: an unknown user, a bad day or a range that ends before it starts is a 400 with the message at the field", async () => {
  const unknown = await browser.get("/admin/audit?user=nobody-at-all%40nowhere.example");
  assert.equal(unknown.status, 400);
  assert.equal(texts(unknown, "#field-user-error")[0], "Error: No user has this email address.");
  assert.equal(unknown.document.querySelectorAll("tbody tr").length, 1, "only the 'No events.' row");
  const badDay = await browser.get("/admin/audit?from=2020-02-30");
  assert.equal(badDay.status, 400);
  assert.equal(texts(badDay, "#field-from-error")[0], "Error: Enter a date like 2026-01-31.");
  const backwards = await browser.get("/admin/audit?from=2020-03-02&to=2020-03-01");
  assert.equal(backwards.status, 400);
  assert.match(texts(backwards, "#field-to-error")[0]!, /cannot be before/);
  const junk = await browser.get("/admin/audit?event=%3Cscript%3E&before=abc");
  assert.equal(junk.status, 200, "a malformed event type or cursor is dropped");
  assert.not.ok(junk.text.includes("<script>"));
});

test("every admin action appears in the Audit log under admin.*, with the acting administrator", async () => {
  const user = await createActiveUser(ctx.sql, { method: "email" });
  const page = await browser.get(`/admin?q=${encodeURIComponent(user.email)}`);
  await press(browser, page, `Make administrator ${user.email}`);
  const log = await browser.get(`/admin/audit?user=${encodeURIComponent(user.email)}&event=admin.*`);
  assert.equal(eventNames(log), ["admin.role_changed"]);
  const cells = texts(log, "tbody tr td");
  assert.ok(cells.includes(adminEmail));
  assert.ok(cells.some((cell) => cell.includes("from: provider") && cell.includes("to: admin")));
});

test.run();
