import { Hono, type Context, type Next } from "hono";
import { z } from "zod";
import type { AppDeps, AppEnv } from "../env.ts";
import { redirectTo, render } from "../render.tsx";
import { checkForm, CREATE_REFUSAL_FIELDS, createRefusalText, scopeOf } from "./admin-env.ts";
import { forbiddenPage, notFoundPage } from "./admin-pages.tsx";
import {
  createOrganization,
  findOrganizationById,
  listOrganizations,
  MAX_ORGANIZATION_NAME,
  ORGANIZATION_REFUSALS,
  setOrganizationParent,
  type OrganizationSummary,
} from "../../orgs/organizations.ts";
import { listOrganizationMembers, MEMBERSHIP_ROLES, type MembershipRole } from "../../orgs/memberships.ts";
import { findManagedOrganization, grantableRoles, listManagedOrganizations, type ManagedOrganization } from "../../orgs/scope.ts";
import { createUser, type Actor } from "../../flows/admin.ts";
import { MembersPage, OrganizationsPage, type OrganizationsPageProps } from "../../../templates/admin/organizations.tsx";
import type { FieldErrors } from "../../../templates/components.tsx";

/**
 * The Organizations page: for portal Administrators every organization, Add organization, Add a
 * provider to a group, and one organization's members with Invite a member. A Provider Group
 * Administrator gets the same page for their groups: their groups and providers listed, Add
 * organization only as a provider of one of their groups (product.md §7: they add providers to
 * the group), no joining of other organizations, and the members of what they manage (anything
 * else is 404). Provider Administrators and staff: 403. Mounted inside the admin area, after
 * its guard.
 */
export function organizationsRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  app.use(requirePortalAdmin(deps));
  app.get("/", (c) => showOrganizations(deps, c));
  app.post(
    "/",
    checkForm(addForm, (c, raw, errors) => showOrganizations(deps, c, { status: 400, add: { values: typed(raw, ["name", "parent"]), errors } })),
    (c) => addOrganization(deps, c, c.req.valid("form")),
  );
  app.post(
    "/join",
    checkForm(joinForm, (c, raw, errors) => showOrganizations(deps, c, { status: 400, join: { values: typed(raw, ["provider", "group"]), errors } })),
    (c) => joinGroup(deps, c, c.req.valid("form")),
  );
  app.get("/:id", (c) => showMembers(deps, c, c.req.param("id")));
  app.post(
    "/:id/members",
    checkForm(inviteForm, (c, raw, errors) => showMembers(deps, c, c.req.param("id") ?? "", { status: 400, invite: { values: typed(raw, ["email", "name", "role"]), errors } })),
    (c) => inviteMember(deps, c, c.req.param("id")!, c.req.valid("form")),
  );
  return app;
}

type Ctx = Context<AppEnv>;
type Message = { text: string; problem: boolean } | null;

/** The groups an actor administers as a Provider Group Administrator (all top-level ones for the portal's). */
async function administeredGroups(deps: AppDeps, c: Ctx): Promise<ManagedOrganization[]> {
  return (await listManagedOrganizations(deps.sql, scopeOf(c))).filter((org) => org.topLevel && org.rank >= 3);
}

function requirePortalAdmin(deps: AppDeps) {
  return async (c: Ctx, next: Next) => {
    if (scopeOf(c).kind === "portal") return next();
    if (!c.req.path.endsWith("/join") && (await administeredGroups(deps, c)).length) return next();
    return forbiddenPage(deps, c);
  };
}

/** What the viewer may see of the list: everything, or their groups and those groups' providers. */
async function visibleOrganizations(deps: AppDeps, c: Ctx): Promise<OrganizationSummary[]> {
  const all = await listOrganizations(deps.sql);
  if (scopeOf(c).kind === "portal") return all;
  const groups = new Set((await administeredGroups(deps, c)).map((org) => org.id));
  return all.filter((org) => groups.has(org.id) || (org.parentId !== null && groups.has(org.parentId)));
}

const CONTROL = /[\p{Cc}\uFFFD]/u;
const id = z.string().regex(/^[0-9a-f-]{36}$/i, "Choose one from the list.");
const addForm = z.object({
  name: z
    .string({ error: ORGANIZATION_REFUSALS.invalid_name })
    .trim()
    .min(1, ORGANIZATION_REFUSALS.invalid_name)
    .max(MAX_ORGANIZATION_NAME, ORGANIZATION_REFUSALS.invalid_name)
    .refine((name) => !CONTROL.test(name), ORGANIZATION_REFUSALS.invalid_name),
  parent: z.union([z.literal(""), id], { error: "Choose a provider group, or None." }).default(""),
});
const joinForm = z.object({ provider: id, group: id });
const inviteForm = z.object({
  email: z.string({ error: "Enter the member's email address." }).trim().min(1, "Enter the member's email address.").max(254, "Enter a valid email address, like name@example.com."),
  name: z.string().trim().max(200, "Enter a name of at most 200 characters.").refine((name) => !CONTROL.test(name), "Remove the special characters from this field.").default(""),
  role: z.enum(MEMBERSHIP_ROLES as [MembershipRole, ...MembershipRole[]], { error: "Choose a role." }),
});

/** What was sent, to show again: text fields only, cut to what the fields hold. */
function typed<K extends string>(raw: Record<string, unknown>, names: K[]): Record<K, string> {
  return Object.fromEntries(names.map((name) => [name, typeof raw[name] === "string" ? (raw[name] as string).slice(0, 254) : ""])) as Record<K, string>;
}

const MESSAGES: Record<string, (name: string) => string> = {
  added: (name) => `Added ${name}.`,
  joined: (name) => `${name} is now a provider of its group.`,
  invited: (name) => `The invitation was emailed. The new member of ${name} shows as Invited.`,
};

async function showOrganizations(deps: AppDeps, c: Ctx, options: { status?: 200 | 400 | 409; add?: OrganizationsPageProps["add"]; join?: OrganizationsPageProps["join"]; message?: Message } = {}) {
  const organizations = await visibleOrganizations(deps, c);
  const portal = scopeOf(c).kind === "portal";
  const done = c.req.query("done");
  const named = organizations.find((org) => org.id === c.req.query("organization"));
  const message = options.message ?? (done && MESSAGES[done] && named ? { text: MESSAGES[done]!(named.name), problem: false } : null);
  return render(c, deps, {
    title: "Organizations",
    status: options.status,
    body: (
      <OrganizationsPage
        organizations={organizations}
        portal={portal}
        message={message}
        add={options.add ?? { values: { name: "", parent: "" }, errors: {} }}
        join={options.join ?? { values: { provider: "", group: "" }, errors: {} }}
      />
    ),
  });
}

async function addOrganization(deps: AppDeps, c: Ctx, form: z.output<typeof addForm>) {
  // A group's administrator adds providers to their own groups, nothing at the top level.
  if (scopeOf(c).kind !== "portal" && !(await administeredGroups(deps, c)).some((group) => group.id === form.parent)) {
    return showOrganizations(deps, c, { status: 400, add: { values: form, errors: { parent: "Choose one of your provider groups." } } });
  }
  const result = await deps.sql.begin((tx) => createOrganization(tx, deps.clock, { name: form.name, parentId: form.parent || null }));
  if (!result.ok) {
    const errors: FieldErrors = result.reason === "invalid_name" || result.reason === "duplicate" ? { name: ORGANIZATION_REFUSALS[result.reason] } : { parent: ORGANIZATION_REFUSALS[result.reason] };
    return showOrganizations(deps, c, { status: result.reason === "duplicate" ? 409 : 400, add: { values: form, errors } });
  }
  return redirectTo(c, `/admin/organizations?${new URLSearchParams({ done: "added", organization: result.organization.id })}`);
}

async function joinGroup(deps: AppDeps, c: Ctx, form: z.output<typeof joinForm>) {
  const result = await deps.sql.begin((tx) => setOrganizationParent(tx, form.provider, form.group));
  if (!result.ok) {
    const field = result.reason === "not_found" || result.reason === "has_providers" ? "provider" : "group";
    return showOrganizations(deps, c, { status: 409, join: { values: form, errors: { [field]: ORGANIZATION_REFUSALS[result.reason] } } });
  }
  return redirectTo(c, `/admin/organizations?${new URLSearchParams({ done: "joined", organization: form.provider })}`);
}

async function summaryOf(deps: AppDeps, organizationId: string): Promise<{ org: OrganizationSummary; providers: OrganizationSummary[] } | null> {
  if (!(await findOrganizationById(deps.sql, organizationId))) return null;
  const all = await listOrganizations(deps.sql);
  const org = all.find((o) => o.id === organizationId);
  return org ? { org, providers: all.filter((o) => o.parentId === organizationId) } : null;
}

async function showMembers(
  deps: AppDeps,
  c: Ctx,
  organizationId: string,
  options: { status?: 400 | 409; invite?: { values: { email: string; name: string; role: string }; errors: FieldErrors } } = {},
) {
  const managed = await findManagedOrganization(deps.sql, scopeOf(c), organizationId);
  const found = managed ? await summaryOf(deps, organizationId) : null;
  if (!found) return notFoundPage(deps, c, "Organization not found", "There is no organization at this address. Go back to Organizations and pick one from the list.");
  const message = c.req.query("done") === "invited" ? { text: MESSAGES.invited!(found.org.name), problem: false } : null;
  return render(c, deps, {
    title: found.org.name,
    status: options.status,
    body: (
      <MembersPage
        organization={found.org}
        providers={found.providers.filter((provider) => provider.parentId === organizationId)}
        members={await listOrganizationMembers(deps.sql, organizationId)}
        roles={managed ? grantableRoles(managed) : []}
        message={message}
        invite={options.invite ?? { values: { email: "", name: "", role: "provider_staff" }, errors: {} }}
      />
    ),
  });
}

async function inviteMember(deps: AppDeps, c: Ctx, organizationId: string, form: z.output<typeof inviteForm>) {
  const actor: Actor = { actorId: c.get("user")!.id, ip: c.get("ip"), userAgent: c.get("userAgent"), scope: scopeOf(c) };
  const created = await createUser(deps, actor, { email: form.email, name: form.name, role: "provider", organizationId, organizationRole: form.role });
  if (!created.ok) {
    if (created.reason === "organization_not_found") return showMembers(deps, c, "");
    const { field, status } = CREATE_REFUSAL_FIELDS[created.reason];
    const where = field === "organization" ? "role" : field;
    return showMembers(deps, c, organizationId, { status: status === 403 ? 400 : status, invite: { values: form, errors: { [where]: createRefusalText(created.reason) } } });
  }
  return redirectTo(c, `/admin/organizations/${organizationId}?done=invited`);
}
