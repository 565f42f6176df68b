/**
 * The admin area's edge: one guard for every path under /admin, and POST forms checked by their
 * schema before anything runs, a form that fails coming back as a 400 page that says what is
 * wrong (never a 500, never a change). And Disable ending flows of every kind.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, texts, uniqueEmail, type TestContext } from "../support/harness.ts";
import { createActiveUser } from "../support/users.ts";
import { browserSignedInAs, signedInAdmin } from "../support/admin.ts";
import { createFlow } from "../../src/flows/flow-store.ts";
import { OUTCOMES } from "../../templates/admin/labels.ts";
import type { Browser } from "../support/harness.ts";

let ctx: TestContext;
let adminBrowser: Browser;

test.before(async () => {
  ctx = await createTestContext();
  ctx.deps.remoteAddress = () => "10.62.0.1";
  adminBrowser = (await signedInAdmin(ctx)).browser;
});

test.after(async () => {
  await ctx.outbox.stop();
});

const UNREADABLE = OUTCOMES.form_unreadable("");

test("the guard covers every path under /admin, including ones that do not exist", async () => {
  const provider = await createActiveUser(ctx.sql, { method: "email" });
  const providerBrowser = await browserSignedInAs(ctx, provider.id);
  for (const path of ["/admin/nothing-here", "/admin/users/00000000-0000-4000-8000-000000000000/nothing"]) {
    const anonymous = await ctx.browser().get(path);
    assert.equal([anonymous.redirects[0], anonymous.url], [303, "/login"], path);
    assert.equal((await providerBrowser.get(path)).status, 403, path);
    assert.equal((await adminBrowser.get(path)).status, 404, path);
  }
});

test("Create user: control characters in the name are refused at the field, and nothing is created", async () => {
  const email = uniqueEmail("ctl");
  for (const name of ["Nul\u0000Name", "Bell\u0007Name"]) {
    const page = await adminBrowser.post("/admin/users", { email, name, role: "provider" });
    assert.equal(page.status, 400, JSON.stringify(name));
    assert.equal(texts(page, "#field-name-error")[0], "Error: Remove the special characters from this field.");
    assert.equal(page.document.querySelector<HTMLInputElement>("#field-email")?.getAttribute("value"), email, "the typed address is shown again");
  }
  const rows = await ctx.sql`select 1 from users where email_normalized = ${email}`;
  assert.is(rows.length, 0);
});

test("Create user: a field sent twice is named at its field", async () => {
  const page = await adminBrowser.post("/admin/users", new URLSearchParams([["email", uniqueEmail()], ["name", "A"], ["name", "B"], ["role", "provider"]]));
  assert.equal(page.status, 400);
  assert.equal(texts(page, "#field-name-error")[0], "Error: This field was sent more than once. Fill in the form again.");
});

test("a multipart body that does not parse is a 400 page, not a 500", async () => {
  const target = await createActiveUser(ctx.sql, { method: "email" });
  const body = "--xyz\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nbroken";
  for (const path of ["/admin/users", `/admin/users/${target.id}/disable`]) {
    const page = await adminBrowser.post(path, body, { contentType: "multipart/form-data; boundary=xyz" });
    assert.equal(page.status, 400, path);
    assert.ok(page.text.includes(UNREADABLE), path);
  }
  const [row] = await ctx.sql<{ status: string }[]>`select status from users where id = ${target.id}`;
  assert.equal(row!.status, "active");
});

test("an error thrown inside the admin area still reaches the app's error pages (the area's own handler takes only unparsable forms)", async () => {
  // A NUL in the audit filter's address reaches Postgres, which refuses it: the app's 400 page.
  const page = await adminBrowser.get("/admin/audit?user=a%00b%40example.com");
  assert.equal(page.status, 400);
  assert.equal(texts(page, "h1")[0], "Request not understood");
});

test("Make administrator without a role: a 400 that says so, on the page it came from, and the role is unchanged", async () => {
  const target = await createActiveUser(ctx.sql, { method: "email" });
  const list = await adminBrowser.post(`/admin/users/${target.id}/role`, { from: "list", return: "" });
  assert.equal(list.status, 400);
  assert.equal(texts(list, "h1")[0], "Administration");
  assert.equal(texts(list, "#admin-status")[0], UNREADABLE);

  const own = await adminBrowser.post(`/admin/users/${target.id}/role`, { from: "user", role: "superuser" });
  assert.equal(own.status, 400);
  assert.equal(texts(own, "h1")[0], "User details");
  assert.equal(texts(own, "#admin-status")[0], UNREADABLE);

  // With htmx from the list: the row comes back in place, the message into the status region.
  const row = await adminBrowser.post(`/admin/users/${target.id}/role`, { from: "list", role: ["admin", "admin"] }, { htmx: true });
  assert.equal(row.status, 400);
  assert.not.ok(row.text.includes("<html"));
  assert.ok(row.document.querySelector(`tr#user-${target.id}`), "the user's row");
  assert.ok(row.document.querySelector(`#u-${target.id}-role[autofocus]`), "focus back on the role button");
  assert.equal(texts(row, "hx-partial .error-message")[0], UNREADABLE);

  const [stored] = await ctx.sql<{ role: string }[]>`select role from users where id = ${target.id}`;
  assert.equal(stored!.role, "provider");
});

test("a mangled `from` or `return` does not stop an action: it answers as from the list", async () => {
  const target = await createActiveUser(ctx.sql, { method: "email" });
  const page = await adminBrowser.post(`/admin/users/${target.id}/disable`, { from: "elsewhere", return: "state=nonsense&q=%00" });
  assert.equal(page.status, 200);
  assert.equal(page.url.split("?")[0], "/admin");
  assert.equal(texts(page, "#admin-status")[0], OUTCOMES.disabled(target.email));
});

test("Disable ends the user's flows of every kind", async () => {
  const target = await createActiveUser(ctx.sql, { method: "email" });
  for (const kind of ["registration", "login", "password_reset"] as const) {
    await createFlow(ctx.sql, ctx.clock, { kind, userId: target.id, state: "invited", ttlMs: 60_000 });
  }
  const before = await ctx.sql`select 1 from flows where user_id = ${target.id}`;
  assert.is(before.length, 3);
  const page = await adminBrowser.post(`/admin/users/${target.id}/disable`, { from: "list" });
  assert.equal(page.status, 200);
  const after = await ctx.sql<{ kind: string }[]>`select kind from flows where user_id = ${target.id}`;
  assert.equal(after.map((row) => row.kind), []);
});

test.run();
