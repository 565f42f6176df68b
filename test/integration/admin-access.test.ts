/**
 * Who may open the administration pages (ASVS 8.2.1, 8.3.1): administrators with a session (which
 * exists only after MFA); a signed-in provider gets 403; an anonymous visitor is sent to sign in;
 * every admin action is a POST that a cross-origin request cannot make (ASVS 3.5.1).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, texts, uniqueEmail, type TestContext } from "../support/harness.ts";
import { createActiveUser } from "../support/users.ts";
import { browserSignedInAs, signedInAdmin } from "../support/admin.ts";

let ctx: TestContext;

test.before(async () => {
  ctx = await createTestContext();
});

test.after(async () => {
  await ctx.outbox.stop();
});

const ADMIN_PATHS = ["/admin", "/admin/audit", "/admin/users/00000000-0000-4000-8000-000000000000"];

test("anonymous: every admin page answers 303 to /login (ASVS 8.3.1)", async () => {
  const browser = ctx.browser();
  for (const path of ADMIN_PATHS) {
    const page = await browser.get(path, {});
    assert.equal(page.redirects[0], 303, path);
    assert.equal(page.url, "/login", path);
  }
  const post = await browser.post("/admin/users", { email: uniqueEmail(), name: "X", role: "admin" });
  assert.equal(post.redirects[0], 303);
  assert.equal(post.url, "/login");
});

test("anonymous htmx request: HX-Redirect to /login instead of a sign-in form inside a table row", async () => {
  const browser = ctx.browser();
  const page = await browser.post("/admin/users/00000000-0000-4000-8000-000000000000/disable", { from: "list" }, { htmx: true });
  assert.equal(page.status, 204);
  assert.equal(page.headers.get("hx-redirect"), "/login");
});

test("signed-in provider: 403 Access denied on every admin page and action (ASVS 8.2.1)", async () => {
  const provider = await createActiveUser(ctx.sql, { method: "email" });
  const target = await createActiveUser(ctx.sql, { method: "email" });
  const browser = await browserSignedInAs(ctx, provider.id);
  for (const path of ADMIN_PATHS) {
    const page = await browser.get(path);
    assert.equal(page.status, 403, path);
    assert.equal(texts(page, "h1")[0], "Access denied");
  }
  const home = await browser.get("/admin");
  assert.not.ok(texts(home, "a").includes("Administration"), "no Administration link for a provider");
  for (const action of ["disable", "reset-mfa", "unlock", "enable"]) {
    const page = await browser.post(`/admin/users/${target.id}/${action}`, { from: "list" });
    assert.equal(page.status, 403, action);
  }
  const promote = await browser.post(`/admin/users/${provider.id}/role`, { from: "list", role: "admin" });
  assert.equal(promote.status, 403);
  const [row] = await ctx.sql<{ role: string; status: string }[]>`select role, status from users where id = ${provider.id}`;
  assert.equal(row, { role: "provider", status: "active" });
  const [other] = await ctx.sql<{ status: string }[]>`select status from users where id = ${target.id}`;
  assert.equal(other!.status, "active");
});

test("administrator: /admin shows Administration with the users table", async () => {
  const { browser } = await signedInAdmin(ctx);
  const page = await browser.get("/admin");
  assert.equal(page.status, 200);
  assert.equal(texts(page, "h1")[0], "Administration");
  assert.ok(page.document.querySelector("table caption"));
  assert.equal(page.headers.get("cache-control"), "no-store");
  assert.ok(texts(page, "a").includes("Administration"), "the header links Administration for an admin");
});

test("a session that ended (signed out) no longer opens /admin", async () => {
  const { admin, browser } = await signedInAdmin(ctx);
  await ctx.sql`delete from sessions where user_id = ${admin.id}`;
  const page = await browser.get("/admin");
  assert.equal(page.url, "/login");
});

test("cross-origin POST to an admin action is refused with 403 and changes nothing (ASVS 3.5.1)", async () => {
  const { browser } = await signedInAdmin(ctx);
  const target = await createActiveUser(ctx.sql, { method: "email" });
  const evil = await browser.post(`/admin/users/${target.id}/disable`, { from: "list" }, { origin: "https://evil.example" });
  assert.equal(evil.status, 403);
  const none = await browser.post(`/admin/users/${target.id}/disable`, { from: "list" }, { origin: null });
  assert.equal(none.status, 403);
  const create = await browser.post("/admin/users", { email: uniqueEmail(), name: "X", role: "admin" }, { origin: "https://evil.example" });
  assert.equal(create.status, 403);
  const [row] = await ctx.sql<{ status: string }[]>`select status from users where id = ${target.id}`;
  assert.equal(row!.status, "active");
});

test("no admin action is reachable with GET", async () => {
  const { browser } = await signedInAdmin(ctx);
  const target = await createActiveUser(ctx.sql, { method: "email" });
  for (const action of ["disable", "reset-mfa", "unlock", "enable", "role", "resend"]) {
    const page = await browser.get(`/admin/users/${target.id}/${action}`);
    assert.equal(page.status, 404, action);
  }
  const [row] = await ctx.sql<{ status: string }[]>`select status from users where id = ${target.id}`;
  assert.equal(row!.status, "active");
});

test.run();
