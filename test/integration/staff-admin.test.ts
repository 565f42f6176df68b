/**
 * Staff accounts on the Administration page: listed as staff with their issuer, no Reset MFA
 * (their factors live at the issuer), and a forged Reset MFA POST refused without a link sent.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, texts, type TestContext } from "../support/harness.ts";
import { signedInAdmin, rowOf } from "../support/admin.ts";
import { startStaffIssuer, type StaffIssuer } from "../support/staff-issuer.ts";

let issuer: StaffIssuer;
let ctx: TestContext;

test.before(async () => {
  issuer = await startStaffIssuer();
  ctx = await createTestContext({ env: issuer.env() });
});

test.after(async () => {
  await issuer.stop();
});

async function staffAccount(): Promise<{ id: string; email: string }> {
  const tag = `${Date.now().toString(36)}${process.pid}`;
  issuer.claims = { sub: `admin-list-${tag}`, email: `listed.${tag}@kepro.com`, name: "Listed Staff", amr: ["mfa"] };
  const browser = ctx.browser();
  const start = await browser.get("/staff/login", { follow: false });
  const back = await fetch(start.headers.get("location")!, { redirect: "manual" });
  const callback = new URL(back.headers.get("location")!);
  const home = await browser.get(callback.pathname + callback.search);
  assert.is(home.url, "/home");
  const [row] = await ctx.sql<{ id: string; email: string }[]>`select id, email from users where staff_subject = ${`admin-list-${tag}`}`;
  return row!;
}

test("the admin list shows a staff account as staff, with its issuer, and offers no Reset MFA", async () => {
  const staff = await staffAccount();
  const { browser } = await signedInAdmin(ctx);
  const page = await browser.get(`/admin?q=${encodeURIComponent(staff.email)}`);
  const row = rowOf(page, staff.email);
  assert.ok(row, "the staff account is listed");
  const cells = [...row!.querySelectorAll("td")].map((cell) => cell.textContent?.trim());
  assert.ok(cells.includes(`Staff sign-in (${new URL(issuer.url).host})`), `staff with the issuer: ${cells.join(" | ")}`);
  const buttons = [...row!.querySelectorAll("button")].map((b) => b.textContent?.replace(/\s+/g, " ").trim() ?? "");
  assert.not.ok(buttons.some((name) => name.startsWith("Reset MFA")), "no Reset MFA for staff");
  assert.ok(buttons.some((name) => name.startsWith("Disable")), "Disable is still there");

  const details = await browser.get(`/admin/users/${staff.id}`);
  assert.match(texts(details, "dd").join(" | "), `Staff sign-in at ${issuer.url}`);
});

test("a Reset MFA POST for a staff account is refused and emails nothing", async () => {
  const staff = await staffAccount();
  const { browser } = await signedInAdmin(ctx);
  const page = await browser.post(`/admin/users/${staff.id}/reset-mfa`, { from: "user" });
  assert.match(page.document.body?.textContent?.replace(/\s+/g, " ") ?? "", "signs in through their organization's sign-in");
  const [sent] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from outbox where recipient = ${staff.email}`;
  assert.is(sent!.n, 0);
  const [links] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from link_tokens where user_id = ${staff.id}`;
  assert.is(links!.n, 0);
});

test.run();
