/**
 * The Organizations page (portal Administrators): the list, Add organization (at the top level
 * or in a group), Add a provider to a group, an organization's members and Invite a member; the
 * refusals at their fields; a Provider Group Administrator adds providers to their own groups
 * only; Provider Administrators and staff get 403. And
 * listUserOrganizationNames, the person's organizations for Remote-Groups and the OIDC groups
 * claim (issue 14 item 6): their own organizations and their providers' group.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, texts, uniqueEmail, type Browser, type TestContext } from "../support/harness.ts";
import { browserSignedInAs, latestLink, signedInAdmin } from "../support/admin.ts";
import { makeMember, makeOrganization } from "../support/orgs.ts";
import { findOrganizationByName } from "../../src/orgs/organizations.ts";
import { listUserOrganizationNames } from "../../src/orgs/memberships.ts";

let ctx: TestContext;
let browser: Browser;
const TAG = Date.now().toString(36);

test.before(async () => {
  ctx = await createTestContext();
  ({ browser } = await signedInAdmin(ctx));
});

test.after(async () => {
  await ctx.outbox.stop();
});

test("Add organization, a provider in it, Add a provider to a group: the list says what each is", async () => {
  const page = await browser.get("/admin/organizations");
  assert.equal(page.status, 200);
  assert.equal(texts(page, "h1"), ["Organizations"]);
  assert.equal(texts(page, 'form[action="/admin/organizations"] label'), ["Name", "Provider group"]);
  assert.equal(texts(page, 'form[action="/admin/organizations/join"] label'), ["Provider", "Group"]);

  const added = await browser.post("/admin/organizations", { name: `Eastside Group ${TAG}`, parent: "" });
  assert.equal(added.redirects, [303]);
  assert.equal(texts(added, "#admin-status")[0], `Added Eastside Group ${TAG}.`);
  const group = (await findOrganizationByName(ctx.sql, `Eastside Group ${TAG}`))!;
  await browser.post("/admin/organizations", { name: `Eastside Clinic ${TAG}`, parent: group.id });
  await browser.post("/admin/organizations", { name: `Lone Clinic ${TAG}`, parent: "" });
  const lone = (await findOrganizationByName(ctx.sql, `Lone Clinic ${TAG}`))!;
  const joined = await browser.post("/admin/organizations/join", { provider: lone.id, group: group.id });
  assert.equal(texts(joined, "#admin-status")[0], `Lone Clinic ${TAG} is now a provider of its group.`);
  const rowText = (name: string) => [...joined.document.querySelectorAll("tbody tr")].find((row) => row.querySelector("th")?.textContent === name)?.textContent ?? "";
  assert.match(rowText(`Eastside Group ${TAG}`), /Provider group \(2 providers\)/);
  assert.match(rowText(`Lone Clinic ${TAG}`), new RegExp(`Provider of Eastside Group ${TAG}`));
});

test("refusals at their field: a name in use (409), an empty name, a provider as a group, a group with providers joining another", async () => {
  const group = await makeOrganization(ctx.sql, ctx.clock, "Refusal Group");
  const provider = await makeOrganization(ctx.sql, ctx.clock, "Refusal Clinic", group);
  const other = await makeOrganization(ctx.sql, ctx.clock, "Refusal Other");
  const duplicate = await browser.post("/admin/organizations", { name: group.name.toUpperCase(), parent: "" });
  assert.equal(duplicate.status, 409);
  assert.equal(texts(duplicate, "#field-name-error")[0], "Error: An organization with this name already exists.");
  const empty = await browser.post("/admin/organizations", { name: "  ", parent: "" });
  assert.equal(empty.status, 400);
  assert.match(texts(empty, "#field-name-error")[0]!, /Enter a name/);
  const nested = await browser.post("/admin/organizations", { name: `Nested ${TAG}`, parent: provider.id });
  assert.equal(nested.status, 400);
  assert.match(texts(nested, "#field-parent-error")[0]!, /providers cannot have providers/);
  const groupJoins = await browser.post("/admin/organizations/join", { provider: group.id, group: other.id });
  assert.equal(groupJoins.status, 409);
  assert.match(texts(groupJoins, "#field-provider-error")[0]!, /provider group with providers of its own/);
  const [{ n }] = (await ctx.sql`select count(*)::int as n from organizations where parent_id = ${other.id}`) as unknown as [{ n: number }];
  assert.equal(n, 0);
});

test("an organization's page: its members, and Invite a member sends the registration link; the member is in the organization", async () => {
  const clinic = await makeOrganization(ctx.sql, ctx.clock, "Members Clinic");
  const staff = await makeMember(ctx.sql, ctx.clock, clinic, "provider_staff", "active", "listed");
  const page = await browser.get(`/admin/organizations/${clinic.id}`);
  assert.equal(texts(page, "h1"), [clinic.name]);
  assert.ok(texts(page, "tbody td").includes(staff.email));
  const email = uniqueEmail("invited-member");
  const invited = await browser.post(`/admin/organizations/${clinic.id}/members`, { email, name: "Ivy Invited", role: "provider_admin" });
  assert.equal(invited.redirects, [303]);
  assert.match(texts(invited, "#admin-status")[0]!, /invitation was emailed/);
  const cells = texts(invited, "tbody td");
  assert.ok(cells.includes(email));
  assert.ok(cells.includes("Provider Administrator"));
  assert.match(await latestLink(browser, email), /^\/register\/link\//);
  const bad = await browser.post(`/admin/organizations/${clinic.id}/members`, { email: "nope", name: "", role: "provider_staff" });
  assert.equal(bad.status, 400);
  assert.match(texts(bad, "#field-email-error")[0]!, /valid email address/);
  assert.equal((await browser.get("/admin/organizations/00000000-0000-0000-0000-000000000000")).status, 404);
});

test("a Provider Group Administrator adds providers to their group, sees only their group's organizations, and joins nothing", async () => {
  const group = await makeOrganization(ctx.sql, ctx.clock, "Own Group");
  const elsewhere = await makeOrganization(ctx.sql, ctx.clock, "Not Theirs");
  const admin = await makeMember(ctx.sql, ctx.clock, group, "group_admin", "active", "group-admin");
  const theirs = await browserSignedInAs(ctx, admin.id);
  assert.ok(texts(await theirs.get("/admin"), "nav a").includes("Organizations"));
  const page = await theirs.get("/admin/organizations");
  assert.equal(page.status, 200);
  assert.equal(texts(page, "tbody th"), [group.name]);
  assert.equal(page.document.querySelector('form[action="/admin/organizations/join"]'), null);
  assert.equal(
    [...page.document.querySelectorAll("#field-parent option")].map((option) => option.getAttribute("value")),
    [group.id],
    "only their group, no None",
  );
  const added = await theirs.post("/admin/organizations", { name: `Own Group Clinic ${TAG}`, parent: group.id });
  assert.equal(added.redirects, [303]);
  assert.equal(texts(added, "tbody th").sort(), [group.name, `Own Group Clinic ${TAG}`].sort());
  for (const parent of ["", elsewhere.id]) {
    const refused = await theirs.post("/admin/organizations", { name: `Sneaky Top ${TAG} ${parent.length}`, parent });
    assert.equal(refused.status, 400);
    assert.equal(texts(refused, "#field-parent-error")[0], "Error: Choose one of your provider groups.");
    assert.equal(await findOrganizationByName(ctx.sql, `Sneaky Top ${TAG} ${parent.length}`), null);
  }
  assert.equal((await theirs.post("/admin/organizations/join", { provider: elsewhere.id, group: group.id })).status, 403);
  assert.equal((await theirs.get(`/admin/organizations/${elsewhere.id}`)).status, 404);
  const clinic = (await findOrganizationByName(ctx.sql, `Own Group Clinic ${TAG}`))!;
  assert.equal((await theirs.get(`/admin/organizations/${clinic.id}`)).status, 200);
});

test("Provider Administrators and staff cannot open the Organizations page (403)", async () => {
  const clinic = await makeOrganization(ctx.sql, ctx.clock, "Forbidden Clinic");
  for (const role of ["provider_admin", "provider_staff"] as const) {
    const member = await makeMember(ctx.sql, ctx.clock, clinic, role, "active", role);
    const theirs = await browserSignedInAs(ctx, member.id);
    assert.equal((await theirs.get("/admin/organizations")).status, 403, role);
    assert.equal((await theirs.post("/admin/organizations", { name: `Sneaky ${role} ${TAG}`, parent: "" })).status, 403, role);
  }
  assert.equal(await findOrganizationByName(ctx.sql, `Sneaky provider_admin ${TAG}`), null);
});

test("listUserOrganizationNames: the person's organizations and the group of each provider they are in, by name", async () => {
  const group = await makeOrganization(ctx.sql, ctx.clock, "Names Group");
  const clinic = await makeOrganization(ctx.sql, ctx.clock, "Names Clinic", group);
  const lone = await makeOrganization(ctx.sql, ctx.clock, "Names Lone");
  const person = await makeMember(ctx.sql, ctx.clock, clinic, "provider_staff", "active", "names");
  await ctx.sql`insert into memberships (organization_id, user_id, role, created_at) values (${lone.id}, ${person.id}, 'provider_admin', now())`;
  assert.equal(await listUserOrganizationNames(ctx.sql, person.id), [clinic.name, group.name, lone.name].sort());
  const nobody = await makeMember(ctx.sql, ctx.clock, null, "provider_staff", "active", "nobody");
  assert.equal(await listUserOrganizationNames(ctx.sql, nobody.id), []);
});

test.run();
