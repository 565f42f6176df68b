/**
 * Administration › Applications (/admin/applications) without JavaScript and as htmx: list,
 * add an OIDC client (secret shown once, kept hashed) or a forward-auth application, field
 * errors with a 400, edit, rotate a secret, remove. Administrators only.
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
  const [app] = await ctx.sql<{ id: string }[]>`insert into applications (name, kind, client_id, redirect_uris) values ('Guarded', 'oidc', ${`guarded${Date.now()}`}, '{https://g.example.org/cb}') returning id`;
  assert.is((await provider.get(`/admin/applications/${app!.id}/edit`)).status, 403);
  const edit = await provider.post(`/admin/applications/${app!.id}/edit`, { name: "Taken over", redirect_uris: "https://evil.example.org/cb" });
  assert.is(edit.status, 403);
  const [row] = await ctx.sql<{ name: string }[]>`select name from applications where id = ${app!.id}`;
  assert.is(row!.name, "Guarded", "unchanged");
  assert.is((await ctx.browser().get(`/admin/applications/${app!.id}/edit`)).url, "/login");
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

test("add with a back-channel logout URL; a bad one is refused at its field", async () => {
  const { browser } = await signedInAdmin(ctx);
  const name = unique();
  const bad = await browser.post("/admin/applications/oidc", { name, redirect_uris: "https://demo.example.org/cb", backchannel_logout_uri: "http://demo.example.org/logout" });
  assert.is(bad.status, 400);
  assert.match(texts(bad, "#field-backchannel_logout_uri-error").join(" "), /must start with https:\/\//);
  assert.is(bad.document.querySelector("#field-backchannel_logout_uri")?.getAttribute("value"), "http://demo.example.org/logout", "what was typed is kept");
  assert.ok(bad.document.querySelector('[data-error-summary] a[href="#field-backchannel_logout_uri"]'), "the error summary links the field");
  const good = await browser.post("/admin/applications/oidc", { name, redirect_uris: "https://demo.example.org/cb", backchannel_logout_uri: "https://demo.example.org/logout" });
  assert.is(good.status, 200);
  const [row] = await ctx.sql<{ uri: string }[]>`select backchannel_logout_uri as uri from applications where name = ${name}`;
  assert.is(row!.uri, "https://demo.example.org/logout");
  assert.ok(texts(good, "tbody td").some((text) => text.includes("Back-channel logout: https://demo.example.org/logout")));
});

test("edit an OpenID Connect application: Edit from the list, the form filled in, Save changes, back at the list; client id and secret kept; audited", async () => {
  const { browser, admin } = await signedInAdmin(ctx);
  const name = unique();
  const created = await browser.post("/admin/applications/oidc", { name, redirect_uris: "https://old.example.org/cb", post_logout_redirect_uris: "https://old.example.org/bye" });
  const clientId = created.document.querySelector('output[name="client-id"]')!.textContent!;
  const [before] = await ctx.sql<{ id: string; hash: Uint8Array }[]>`select id, client_secret_hash as hash from applications where client_id = ${clientId}`;

  const link = created.document.querySelector(`a[href="/admin/applications/${before!.id}/edit"]`);
  assert.is(link?.textContent?.replace(/\s+/g, " ").trim(), `Edit ${name}`, "the Edit link names its application");
  const form = await browser.get(`/admin/applications/${before!.id}/edit`);
  assert.is(form.status, 200);
  assert.is(form.document.querySelector("h1")?.textContent?.trim(), `Edit ${name}`);
  assert.is(form.document.querySelector("#field-name")?.getAttribute("value"), name);
  assert.is(form.document.querySelector("#field-redirect_uris")?.textContent, "https://old.example.org/cb");
  assert.is(form.document.querySelector("#field-post_logout_redirect_uris")?.textContent, "https://old.example.org/bye");
  assert.is(form.document.querySelector("label[for=field-backchannel_logout_uri]")?.textContent, "Back-channel logout URL (optional)");
  assert.ok(form.document.querySelector(`form[method=post][action="/admin/applications/${before!.id}/edit"]`), "a plain POST form (works without JavaScript)");

  const renamed = `${name} renamed`;
  const saved = await browser.post(`/admin/applications/${before!.id}/edit`, {
    name: renamed,
    redirect_uris: "https://new.example.org/cb\r\nhttps://new.example.org/cb2",
    post_logout_redirect_uris: "",
    backchannel_logout_uri: "https://new.example.org/backchannel",
  });
  assert.is(saved.url, "/admin/applications?done=edited");
  assert.ok(texts(saved, "#admin-status").join(" ").includes("Changes saved."));
  assert.ok(texts(saved, "tbody th").includes(renamed));
  const [after] = await ctx.sql<{ name: string; clientId: string; hash: Uint8Array; uris: string[]; post: string[]; bc: string }[]>`
    select name, client_id as "clientId", client_secret_hash as hash, redirect_uris as uris, post_logout_redirect_uris as post, backchannel_logout_uri as bc
    from applications where id = ${before!.id}`;
  assert.is(after!.name, renamed);
  assert.is(after!.clientId, clientId, "the client id stays");
  assert.equal(Buffer.from(after!.hash), Buffer.from(before!.hash), "the secret stays");
  assert.equal(after!.uris, ["https://new.example.org/cb", "https://new.example.org/cb2"]);
  assert.equal(after!.post, []);
  assert.is(after!.bc, "https://new.example.org/backchannel");
  const [event] = await ctx.sql<{ actor: string; detail: { application: string; changed: string[] } }[]>`
    select actor_id as actor, detail from audit_events where event = 'admin.application_edited' and detail->>'application' = ${before!.id}`;
  assert.is(event!.actor, admin.id);
  assert.equal(event!.detail.changed, ["name", "redirectUris", "postLogoutRedirectUris", "backchannelLogoutUri"]);

  const cleared = await browser.post(`/admin/applications/${before!.id}/edit`, { name: renamed, redirect_uris: "https://new.example.org/cb", backchannel_logout_uri: "" }, { htmx: true });
  assert.ok(cleared.status < 400);
  const [none] = await ctx.sql<{ bc: string | null }[]>`select backchannel_logout_uri as bc from applications where id = ${before!.id}`;
  assert.is(none!.bc, null, "an emptied field takes the URL away");
});

test("edit refused: a 400 with the error summary linking each field, what was typed kept, nothing changed", async () => {
  const { browser } = await signedInAdmin(ctx);
  const name = unique();
  await browser.post("/admin/applications/oidc", { name, redirect_uris: "https://keep.example.org/cb" });
  const [app] = await ctx.sql<{ id: string }[]>`select id from applications where name = ${name}`;
  const page = await browser.post(`/admin/applications/${app!.id}/edit`, { name: "", redirect_uris: "http://keep.example.org/cb", backchannel_logout_uri: "nope" });
  assert.is(page.status, 400);
  const links = [...page.document.querySelectorAll("[data-error-summary] a")].map((a) => a.getAttribute("href"));
  assert.equal(links.sort(), ["#field-backchannel_logout_uri", "#field-name", "#field-redirect_uris"]);
  assert.is(page.document.querySelector("[autofocus]"), page.document.querySelector("[data-error-summary]"), "focus starts on the summary");
  assert.is(page.document.querySelector("#field-redirect_uris")?.textContent, "http://keep.example.org/cb");
  assert.is(page.document.querySelector("#field-backchannel_logout_uri")?.getAttribute("value"), "nope");
  const [row] = await ctx.sql<{ name: string; uris: string[] }[]>`select name, redirect_uris as uris from applications where id = ${app!.id}`;
  assert.is(row!.name, name);
  assert.equal(row!.uris, ["https://keep.example.org/cb"]);
  const gone = await browser.post("/admin/applications/00000000-0000-4000-8000-000000000000/edit", { name: "x" });
  assert.is(gone.url, "/admin/applications?done=gone");
  assert.is((await browser.get("/admin/applications/not-an-id/edit")).url, "/admin/applications?done=gone");
});

test("edit an application behind a proxy: name, URL and group; the proxy's next request is judged by them", async () => {
  const { browser } = await signedInAdmin(ctx);
  const name = unique();
  await browser.post("/admin/applications/forward-auth", { fa_name: name, url: "https://old-ehr.example.org/", group: "" });
  const [app] = await ctx.sql<{ id: string }[]>`select id from applications where name = ${name}`;
  const form = await browser.get(`/admin/applications/${app!.id}/edit`);
  assert.is(form.document.querySelector("#field-url")?.getAttribute("value"), "https://old-ehr.example.org/");
  assert.not.ok(form.document.querySelector("#field-redirect_uris"), "no OIDC fields for a forward-auth application");
  const bad = await browser.post(`/admin/applications/${app!.id}/edit`, { name, url: "https://x.example.org/?q=1", group: "" });
  assert.is(bad.status, 400);
  assert.ok(texts(bad, "#field-url-error").length);
  const saved = await browser.post(`/admin/applications/${app!.id}/edit`, { name, url: "https://ehr.example.org/charts", group: "admin" });
  assert.is(saved.url, "/admin/applications?done=edited");
  const [row] = await ctx.sql<{ url: string; origin: string; group: string }[]>`
    select forward_auth_url as url, forward_auth_origin as origin, allowed_group as group from applications where id = ${app!.id}`;
  assert.equal(row, { url: "https://ehr.example.org/charts", origin: "https://ehr.example.org", group: "admin" });
});

test.run();
