/**
 * ASVS 8.2.1, 8.2.2, 8.3.1: the matrix of every administrator role × every administration
 * action × own organization, own group's provider, another organization. Each cell goes through
 * HTTP (the guard, the scope, the flow) without JavaScript and checks the status; every refusal
 * leaves every table exactly as it was (a digest of each table before and after), and every
 * success changed something (so a refusal that only looks like one cannot pass).
 *
 * The organizations: group G with providers P1 and P2; provider Q in no group.
 *   Portal Administrator          everything
 *   Provider Group Administrator  of G: G's users and those of P1 and P2
 *   Provider Administrator        of P1: P1's users
 *   Provider Staff                of P1: no administration at all (403)
 * "own" is the actor's organization (G for the group administrator, P1 otherwise), "group's
 * provider" is P2, "other" is Q. The table is printed (it is the note's table).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createTestContext, type Browser, type TestContext } from "../support/harness.ts";
import { browserSignedInAs, rowOf, signedInAdmin } from "../support/admin.ts";
import { makeMember, makeOrganization, snapshot, type MemberState } from "../support/orgs.ts";
import type { Organization } from "../../src/orgs/organizations.ts";
import type { MembershipRole } from "../../src/orgs/memberships.ts";
import { SECOND } from "../../src/clock.ts";

let ctx: TestContext;
let G: Organization, P1: Organization, P2: Organization, Q: Organization;

type ActorRole = "portal-admin" | "group-admin" | "provider-admin" | "provider-staff";
type Target = "own" | "group's provider" | "other";
const ACTORS: ActorRole[] = ["portal-admin", "group-admin", "provider-admin", "provider-staff"];
const TARGETS: Target[] = ["own", "group's provider", "other"];
const browsers = new Map<ActorRole, Browser>();

interface Cell {
  /** The state the target user must be in for the action to make sense. */
  state: MemberState;
  /** What the action sends; the status is what the test judges. `target` is the target user. */
  run: (browser: Browser, target: { id: string; email: string }, org: Organization) => Promise<{ status: number; shown?: boolean }>;
}

/** As htmx posts an action from the list (the answer is the row, with the action's own status). */
const post = (browser: Browser, path: string, fields: Record<string, string> = {}) => browser.post(path, { from: "list", return: "", ...fields }, { htmx: true, follow: false });

const ACTIONS: Record<string, Cell> = {
  "list (row shown?)": {
    state: "active",
    run: async (b, t) => {
      const page = await b.get(`/admin?q=${encodeURIComponent(t.email)}`);
      return { status: page.status, shown: rowOf(page, t.email) !== null };
    },
  },
  "search by state (row shown?)": {
    state: "locked",
    run: async (b, t) => {
      const page = await b.get(`/admin?state=locked&q=${encodeURIComponent(t.email)}`);
      return { status: page.status, shown: rowOf(page, t.email) !== null };
    },
  },
  "user page and audit": { state: "active", run: async (b, t) => ({ status: (await b.get(`/admin/users/${t.id}`)).status }) },
  "audit log for the user": { state: "active", run: async (b, t) => ({ status: (await b.get(`/admin/audit?user=${encodeURIComponent(t.email)}`)).status }) },
  "create in the organization": {
    state: "active",
    run: async (b, t, org) => {
      const email = `new.${t.id.slice(0, 8)}@clinic.example`;
      return { status: (await b.post("/admin/users", { email, name: "New", role: "provider_staff", organization: org.id }, { follow: false })).status };
    },
  },
  "download the user's audit": {
    state: "active",
    run: async (b, t) => ({ status: (await b.get(`/admin/audit.csv?user=${encodeURIComponent(t.email)}`)).status }),
  },
  "import into the organization": {
    state: "active",
    run: async (b, t, org) => {
      const boundary = "----matrix";
      const csv = `email,name,role\r\nimp.${t.id.slice(0, 8)}@clinic.example,Imported,provider-staff\r\n`;
      const body =
        `--${boundary}\r\nContent-Disposition: form-data; name="organization"\r\n\r\n${org.id}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\nContent-Type: text/csv\r\n\r\n${csv}\r\n--${boundary}--\r\n`;
      return { status: (await b.post("/admin/import", body, { contentType: `multipart/form-data; boundary=${boundary}`, follow: false })).status };
    },
  },
  resend: { state: "invited", run: async (b, t) => ({ status: (await post(b, `/admin/users/${t.id}/resend`)).status }) },
  "reset MFA": { state: "active", run: async (b, t) => ({ status: (await post(b, `/admin/users/${t.id}/reset-mfa`)).status }) },
  unlock: { state: "locked", run: async (b, t) => ({ status: (await post(b, `/admin/users/${t.id}/unlock`)).status }) },
  disable: { state: "active", run: async (b, t) => ({ status: (await post(b, `/admin/users/${t.id}/disable`)).status }) },
  enable: { state: "disabled", run: async (b, t) => ({ status: (await post(b, `/admin/users/${t.id}/enable`)).status }) },
  "make portal Administrator": { state: "active", run: async (b, t) => ({ status: (await post(b, `/admin/users/${t.id}/role`, { role: "admin" })).status }) },
  "make Provider Administrator": {
    state: "active",
    run: async (b, t, org) => ({ status: (await post(b, `/admin/users/${t.id}/membership`, { organization: org.id, role: "provider_admin" })).status }),
  },
  "make Provider Group Administrator": {
    state: "active",
    run: async (b, t, org) => ({ status: (await post(b, `/admin/users/${t.id}/membership`, { organization: org.id, role: "group_admin" })).status }),
  },
};

/**
 * What each cell must answer. Actions are posted as htmx does from the list, so the answer is
 * the row with the action's status: 200 done. 404: not theirs (as
 * for an id that does not exist). 403: a role above their own, or no administration at all.
 * 400: the audit filter / Create user answer "no such user / not your organization".
 */
function expected(actor: ActorRole, action: string, target: Target): string {
  // Staff administer nothing: every page is 403; an htmx action gets HX-Redirect to that page (204).
  if (actor === "provider-staff") return ACTIONS[action]!.state && isAction(action) ? "204" : "403";
  const reaches = actor === "portal-admin" || (actor === "group-admin" && target !== "other") || (actor === "provider-admin" && target === "own");
  const list = (status: string) => (action.includes("row shown") ? `200 ${reaches ? "shown" : "hidden"}` : status);
  if (action.includes("row shown")) return list("");
  if (action === "user page and audit") return reaches ? "200" : "404";
  if (action === "audit log for the user" || action === "download the user's audit") return reaches ? "200" : "400";
  if (action === "create in the organization" || action === "import into the organization") return reaches ? "303" : "400";
  if (!reaches) return "404";
  if (action === "make portal Administrator") return actor === "portal-admin" ? "200" : "403";
  if (action === "make Provider Group Administrator") {
    // Only at the top level (G, Q), never in a group's provider, and only by someone of that rank or above.
    const org = targetOrg(actor, target);
    if (org === P1 || org === P2) return "403";
    return actor === "provider-admin" ? "403" : "200";
  }
  return "200";
}

function isAction(action: string): boolean {
  return !action.includes("row shown") && !["user page and audit", "audit log for the user", "download the user's audit", "create in the organization", "import into the organization"].includes(action);
}

/** The organization the target user is a member of. */
function targetOrg(actor: ActorRole, target: Target): Organization {
  if (target === "other") return Q;
  if (target === "group's provider") return P2;
  return actor === "group-admin" ? G : P1;
}

test.before(async () => {
  ctx = await createTestContext();
  G = await makeOrganization(ctx.sql, ctx.clock, "Matrix Group");
  P1 = await makeOrganization(ctx.sql, ctx.clock, "Matrix Clinic One", G);
  P2 = await makeOrganization(ctx.sql, ctx.clock, "Matrix Clinic Two", G);
  Q = await makeOrganization(ctx.sql, ctx.clock, "Matrix Other Clinic");
  const { browser } = await signedInAdmin(ctx);
  browsers.set("portal-admin", browser);
  const roles: [ActorRole, Organization, MembershipRole][] = [
    ["group-admin", G, "group_admin"],
    ["provider-admin", P1, "provider_admin"],
    ["provider-staff", P1, "provider_staff"],
  ];
  for (const [actor, org, role] of roles) {
    const member = await makeMember(ctx.sql, ctx.clock, org, role, "active", actor);
    browsers.set(actor, await browserSignedInAs(ctx, member.id));
  }
  // A second administrator in every organization, so no cell meets the last-administrator rule.
  for (const org of [G, P1, P2, Q]) await makeMember(ctx.sql, ctx.clock, org, org === G ? "group_admin" : "provider_admin", "active", "spare-admin");
});

test.after(async () => {
  await ctx.outbox.stop();
});

test("every role × every action × own, group's provider, other organization: the status, and nothing changed when refused", async () => {
  const rows: string[] = [];
  const failures: string[] = [];
  for (const actor of ACTORS) {
    for (const [action, cell] of Object.entries(ACTIONS)) {
      const statuses: string[] = [];
      for (const target of TARGETS) {
        const org = targetOrg(actor, target);
        const user = await makeMember(ctx.sql, ctx.clock, org, "provider_staff", cell.state, "target");
        await ctx.outbox.drain();
        const before = await snapshot(ctx.sql);
        const answer = await cell.run(browsers.get(actor)!, user, org);
        await ctx.outbox.drain();
        const after = await snapshot(ctx.sql);
        const got = answer.shown === undefined || answer.status !== 200 ? String(answer.status) : `${answer.status} ${answer.shown ? "shown" : "hidden"}`;
        const want = expected(actor, action, target);
        statuses.push(got);
        if (got !== want) failures.push(`${actor} × ${action} × ${target}: ${got}, expected ${want}`);
        const changed = Object.keys(before).filter((table) => before[table] !== after[table]);
        const refused = !/^(200|303)/.test(got);
        const reads = answer.shown !== undefined || action.startsWith("user page") || action.includes("audit");
        if (refused && changed.length) failures.push(`${actor} × ${action} × ${target}: refused (${got}) but changed ${changed.join(", ")}`);
        if (!refused && !reads && !changed.length) failures.push(`${actor} × ${action} × ${target}: ${got} but nothing changed`);
        if (reads && changed.length) failures.push(`${actor} × ${action} × ${target}: a read changed ${changed.join(", ")}`);
      }
      rows.push(`| ${actor} | ${action} | ${statuses.join(" | ")} |`);
    }
  }
  console.log(["", "| role | action | own | group's provider | other |", "|---|---|---|---|---|", ...rows].join("\n"));
  assert.equal(failures, []);
});

test("an organization administrator's list holds only their organizations' users, and never a portal Administrator", async () => {
  const member = await makeMember(ctx.sql, ctx.clock, P1, "provider_admin", "active", "lister");
  const browser = await browserSignedInAs(ctx, member.id);
  // Newer than the matrix's many members of P1 (all made at one instant): the list is newest
  // first, 50 a page, and a tie is ordered by the random id, which put "inside" on page 2 now and then.
  ctx.clock.advance(SECOND);
  const inside = await makeMember(ctx.sql, ctx.clock, P1, "provider_staff", "active", "inside");
  const outside = await makeMember(ctx.sql, ctx.clock, P2, "provider_staff", "active", "outside");
  const nobody = await makeMember(ctx.sql, ctx.clock, null, "provider_staff", "active", "nobody");
  const page = await browser.get("/admin");
  assert.equal(page.status, 200);
  assert.ok(page.text.includes(inside.email));
  assert.not.ok(page.text.includes(outside.email));
  assert.not.ok(page.text.includes(nobody.email));
  const [{ count }] = (await ctx.sql`select count(*)::int as count from users where role = 'admin'`) as unknown as [{ count: number }];
  assert.ok(count > 0);
  for (const row of page.document.querySelectorAll("tbody tr")) assert.not.match(row.textContent ?? "", /Administrator;|^Administrator$/);
});

test.run();
