/**
 * Administration › Applications (/admin/applications) without JavaScript and as htmx: list,
 * add an OIDC client (secret shown once, kept hashed) or a forward-auth application, field
 * errors with a 400, rotate a secret, remove. Administrators only.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { createTestContext, texts, type TestContext } from "../support/harness.ts";
import { browserSignedInAs, press, signedInAdmin } from "../support/admin.ts";
import { createActiveUser } from "../support/users.ts";

const test = suite("apps-admin");
let ctx: TestContext;

test.before(async () => {
  ctx = await createTestContext();
});

const unique = () => `App ${process.pid} ${Math.random().toString(36).slice(2, 8)}`;

test("only administrators: signed out goes to the sign-in, a provider gets 403", async () => {
  const anonymous = await ctx.browser().get("/admin/applications");
  assert.is(anonymous.url, "/login");
  const person = await createActiveUser(ctx.sql, { method: "email" });
  const provider = await browserSignedInAs(ctx, person.id);
  const page = await provider.get("/admin/applications");
  assert.is(page.status, 403);
  const post = await provider.post("/admin/applications/oidc", { name: "x", redirect_uris: "https://x.example.org/cb" });
  assert.is(post.status, 403);
});

test("add an OpenID Connect application: the secret is shown once, stored only as its hash, then listed", async () => {
  const { browser } = await signedInAdmin(ctx);
  const name = unique();
  const page = await browser.post("/admin/applications/oidc", {
    name,
    redirect_uris: "https://demo.example.org/callback\r\nhttp://localhost:8080/cb",
    post_logout_redirect_uris: "",
  });
  assert.is(page.status, 200);
  const clientId = page.document.querySelector('output[name="client-id"]')?.textContent ?? "";
  const secret = page.document.querySelector('output[name="client-secret"]')?.textContent ?? "";
  assert.match(clientId, /^[a-z2-7]{24}$/);
  assert.ok(secret.length >= 40);
  const [row] = await ctx.sql<{ hash: Uint8Array; uris: string[] }[]>`select client_secret_hash as hash, redirect_uris as uris from applications where client_id = ${clientId}`;
  assert.equal(Buffer.from(row!.hash), createHash("sha256").update(secret).digest());
  assert.equal(row!.uris, ["https://demo.example.org/callback", "http://localhost:8080/cb"]);
  const list = await browser.get("/admin/applications");
  assert.ok(texts(list, "tbody th").includes(name));
  assert.not.ok(list.text.includes(secret), "never shown again");
});

test("bad input: a 400 with the message at the field, what was typed kept", async () => {
  const { browser } = await signedInAdmin(ctx);
  const page = await browser.post("/admin/applications/oidc", { name: "Demo", redirect_uris: "http://demo.example.org/cb" });
  assert.is(page.status, 400);
  assert.match(texts(page, "#field-redirect_uris-error").join(" "), /https:\/\//);
  assert.is(page.document.querySelector("#field-redirect_uris")?.textContent, "http://demo.example.org/cb");
  const empty = await browser.post("/admin/applications/forward-auth", { fa_name: "", url: "ftp://x" });
  assert.is(empty.status, 400);
  assert.ok(texts(empty, "#field-fa_name-error").length && texts(empty, "#field-url-error").length);
  const garbage = await browser.post("/admin/applications/oidc", "%%%", { contentType: "text/plain" });
  assert.is(garbage.status, 400);
});

test("add a forward-auth application with a group, rotate an OIDC secret (old one dead), remove both", async () => {
  const { browser } = await signedInAdmin(ctx);
  const name = unique();
  const added = await browser.post("/admin/applications/forward-auth", { fa_name: name, url: "https://ehr.example.org/charts", group: "admin" });
  assert.is(added.url, "/admin/applications?done=added");
  assert.ok(texts(added, "tbody th").includes(name));

  const oidcName = unique();
  const created = await browser.post("/admin/applications/oidc", { name: oidcName, redirect_uris: "https://demo.example.org/cb" });
  const first = created.document.querySelector('output[name="client-secret"]')!.textContent!;
  const rotated = await press(browser, created, `Rotate secret of ${oidcName}`);
  const second = rotated.document.querySelector('output[name="client-secret"]')?.textContent ?? "";
  assert.ok(second && second !== first);
  const [row] = await ctx.sql<{ hash: Uint8Array }[]>`select client_secret_hash as hash from applications where name = ${oidcName}`;
  assert.equal(Buffer.from(row!.hash), createHash("sha256").update(second).digest());

  const removed = await press(browser, rotated, `Remove ${oidcName}`);
  assert.is(removed.url, "/admin/applications?done=removed");
  assert.not.ok(texts(removed, "tbody th").includes(oidcName));
  const htmx = await press(browser, removed, `Remove ${name}`, { htmx: true });
  assert.not.ok(htmx.text.includes("<html"), "a fragment for htmx");
  assert.not.ok(texts(htmx, "tbody th").includes(name));
  const audit = await ctx.sql`select event from audit_events where event like 'admin.application_%'`;
  assert.ok(audit.length >= 4);
});

test.run();
