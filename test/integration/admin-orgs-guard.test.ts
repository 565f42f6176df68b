/**
 * Organizations and the admin guard: an organization keeps at least one active administrator,
 * also when its two administrators act on each other at the same moment (the check and the
 * change are one transaction under the admin guard lock; run it on a real Postgres with
 * DATABASE_URL); and an organization administrator's list is limited in SQL, reading users
 * through indexes only (no sequential scan of users), with 5,000 users in 100 organizations.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, type TestContext } from "../support/harness.ts";
import { browserSignedInAs, rowOf } from "../support/admin.ts";
import { makeMember, makeOrganization } from "../support/orgs.ts";
import { disable, changeMembershipRole, explainListUsers, listUsers, type AccountState } from "../../src/flows/admin.ts";
import type { Scope } from "../../src/orgs/scope.ts";

let ctx: TestContext;

test.before(async () => {
  ctx = await createTestContext();
  ctx.deps.remoteAddress = () => "10.62.0.2";
});

test.after(async () => {
  await ctx.outbox.stop();
});

const scopeOf = (actorId: string): Scope => ({ kind: "organizations", actorId });
const actor = (id: string) => ({ actorId: id, ip: "10.62.0.2", userAgent: "test-browser", scope: scopeOf(id) });

async function activeAdmins(organizationId: string): Promise<number> {
  const [row] = await ctx.sql<{ n: number }[]>`
    select count(*)::int as n from memberships m join users u on u.id = m.user_id
    where m.organization_id = ${organizationId} and m.role in ('group_admin', 'provider_admin') and u.status = 'active'`;
  return row!.n;
}

test("the only administrator of an organization can neither disable themself nor become staff; the page says why", async () => {
  const clinic = await makeOrganization(ctx.sql, ctx.clock, "Lonely Clinic");
  const admin = await makeMember(ctx.sql, ctx.clock, clinic, "provider_admin", "active", "lonely");
  const browser = await browserSignedInAs(ctx, admin.id);
  const disabled = await browser.post(`/admin/users/${admin.id}/disable`, { from: "list", return: "" }, { htmx: true });
  assert.equal(disabled.status, 409);
  assert.match(disabled.text, /last active administrator of their organization/);
  const demoted = await browser.post(`/admin/users/${admin.id}/membership`, { from: "list", return: "", organization: clinic.id, role: "provider_staff" }, { htmx: true });
  assert.equal(demoted.status, 409);
  assert.equal(await activeAdmins(clinic.id), 1);
  assert.equal((await browser.get("/admin")).status, 200, "still their organization's administrator");
});

test("the portal Administrator cannot leave an organization without an administrator either", async () => {
  const clinic = await makeOrganization(ctx.sql, ctx.clock, "Portal Cannot Empty");
  const admin = await makeMember(ctx.sql, ctx.clock, clinic, "provider_admin", "active", "only");
  const result = await disable(ctx.deps, { actorId: admin.id, ip: "10.62.0.2", userAgent: "test" }, admin.id);
  assert.equal(result, { ok: false, reason: "last_org_admin" });
});

test("two administrators of one organization disabling each other at the same moment: exactly one succeeds (20 rounds)", async () => {
  let raced = 0;
  for (let round = 0; round < 20; round++) {
    const clinic = await makeOrganization(ctx.sql, ctx.clock, "Race Clinic");
    const a = await makeMember(ctx.sql, ctx.clock, clinic, "provider_admin", "active", "race-a");
    const b = await makeMember(ctx.sql, ctx.clock, clinic, "provider_admin", "active", "race-b");
    const [browserA, browserB] = [await browserSignedInAs(ctx, a.id), await browserSignedInAs(ctx, b.id)];
    const [resultA, resultB] = await Promise.all([
      browserA.post(`/admin/users/${b.id}/disable`, { from: "list", return: "" }, { htmx: true }),
      browserB.post(`/admin/users/${a.id}/disable`, { from: "list", return: "" }, { htmx: true }),
    ]);
    // The loser is refused by the guard (409) when both got past the sign-in check together, or
    // finds itself signed out (the winner's Disable ended its session: HX-Redirect, 204).
    const statuses = [resultA.status, resultB.status].sort();
    assert.equal(statuses[0], 200, `round ${round}: ${statuses}`);
    assert.ok([204, 409].includes(statuses[1]!), `round ${round}: ${statuses}`);
    if (statuses[1] === 409) raced += 1;
    assert.equal(await activeAdmins(clinic.id), 1, `round ${round}`);
  }
  console.log(`disable against disable: ${raced} of 20 rounds met inside the guard (409), the rest after a sign-out (204)`);
});

test("a disable racing a demotion to staff in one organization: exactly one succeeds, one administrator is left (20 rounds)", async () => {
  for (let round = 0; round < 20; round++) {
    const clinic = await makeOrganization(ctx.sql, ctx.clock, "Race Clinic Two");
    const a = await makeMember(ctx.sql, ctx.clock, clinic, "provider_admin", "active", "race-c");
    const b = await makeMember(ctx.sql, ctx.clock, clinic, "provider_admin", "active", "race-d");
    const results = await Promise.all([disable(ctx.deps, actor(a.id), b.id), changeMembershipRole(ctx.deps, actor(b.id), a.id, clinic.id, "provider_staff")]);
    assert.equal(results.filter((result) => result.ok).length, 1, `round ${round}: ${JSON.stringify(results.map((r) => (r.ok ? "ok" : r.reason)))}`);
    assert.equal(await activeAdmins(clinic.id), 1, `round ${round}`);
  }
});

test("the scoped list is limited in SQL and reads users through indexes (5,000 users, 100 organizations, no Seq Scan on users)", async () => {
  const group = await makeOrganization(ctx.sql, ctx.clock, "Plan Group");
  const now = ctx.clock.now();
  const tag = `plan${Date.now().toString(36)}`;
  const orgs = await ctx.sql<{ id: string }[]>`
    insert into organizations (name, name_normalized, parent_id, created_at)
    select ${tag} || ' clinic ' || g, ${tag} || ' clinic ' || g, case when g <= 3 then ${group.id}::uuid end, ${now}
    from generate_series(1, 100) g returning id`;
  await ctx.sql`
    insert into users (email, email_normalized, name, role, status, created_at, updated_at)
    select ${tag} || '-' || g || '@plan.example', ${tag} || '-' || g || '@plan.example', 'Plan ' || g, 'provider',
      case when g % 7 = 0 then 'invited' else 'active' end, ${now}::timestamptz - g * interval '1 second', ${now}
    from generate_series(1, 5000) g`;
  await ctx.sql`
    insert into memberships (organization_id, user_id, role, created_at)
    select (${ctx.sql.array(orgs.map((o) => o.id))}::uuid[])[1 + split_part(split_part(u.email, '-', 2), '@', 1)::int % 100], u.id, 'provider_staff', ${now}
    from users u where u.email_normalized like ${tag + "-%"}`;
  const admin = await makeMember(ctx.sql, ctx.clock, group, "group_admin", "active", "plan-admin");
  await ctx.sql`analyze users`;
  await ctx.sql`analyze memberships`;
  await ctx.sql`analyze organizations`;
  const scope = scopeOf(admin.id);
  const page = await listUsers(ctx.sql, ctx.clock, { pageSize: 200 }, scope);
  // The group's three providers hold 150 of the 5,000 (g % 100 in 1..3 → orgs 2..4: the first three rows are orgs 1..3).
  const [{ expected }] = (await ctx.sql`
    select count(*)::int as expected from memberships m join organizations o on o.id = m.organization_id
    where o.parent_id = ${group.id} or o.id = ${group.id}`) as unknown as [{ expected: number }];
  assert.equal(page.users.length, Math.min(200, expected));
  assert.ok(page.users.every((user) => user.email.startsWith(tag) || user.id === admin.id));
  const plans: Record<string, string> = {};
  const queries: [string, { q?: string; state?: AccountState }][] = [
    ["first page", {}],
    ["search", { q: `${tag}-1` }],
    ["state filter", { state: "invited" }],
  ];
  for (const [name, query] of queries) {
    const plan = await explainListUsers(ctx.sql, ctx.clock, query, scope);
    plans[name] = plan;
    if (process.env.PRINT_PLANS) console.log(`${name}:\n${plan}\n`);
    assert.not.match(plan, /Seq Scan on users/, `${name}:\n${plan}`);
  }
  const browser = await browserSignedInAs(ctx, admin.id);
  const outsider = await ctx.sql<{ email: string }[]>`
    select u.email from users u join memberships m on m.user_id = u.id join organizations o on o.id = m.organization_id
    where u.email_normalized like ${tag + "-%"} and o.parent_id is null limit 1`;
  const searched = await browser.get(`/admin?q=${encodeURIComponent(outsider[0]!.email)}`);
  assert.equal(rowOf(searched, outsider[0]!.email), null, "another organization's user is not found by search");
});

test.run();
