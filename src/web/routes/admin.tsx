import { Hono, type Context, type Next } from "hono";
import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import type { AppDeps, AppEnv } from "../env.ts";
import { goToPage, redirectTo, render, wantsFragment } from "../render.tsx";
import { findUserByEmail, findUserById, type Role } from "../../auth/users.ts";
import { resolveScope, listManagedOrganizations, grantableRoles } from "../../orgs/scope.ts";
import { MEMBERSHIP_ROLES, type MembershipRole } from "../../orgs/memberships.ts";
import { organizationsRoutes } from "./admin-organizations.tsx";
import { importRoutes } from "./admin-import.tsx";
import { stringify } from "csv-stringify/sync";
import { checkForm, CREATE_REFUSAL_FIELDS, createRefusalText, scopeOf, setScope } from "./admin-env.ts";
import { forbiddenPage, notFoundPage } from "./admin-pages.tsx";
import { INVITE_REFUSALS } from "../../flows/invitation.ts";
import {
  ACCOUNT_STATES,
  changeMembershipRole,
  changeRole,
  createUser,
  disable,
  enable,
  findAdminUser,
  isUserId,
  listAdminAudit,
  listAuditEventTypes,
  streamAdminAudit,
  listUsers,
  resendLink,
  resetMfa,
  unlock,
  type ActionResult,
  type Actor,
} from "../../flows/admin.ts";
import { DAY } from "../../clock.ts";
import {
  type CreateChoices,
  type Grantable,
  ConfirmActionPage,
  EMPTY_CREATE_FORM,
  isConfirmedAction,
  type ConfirmedAction,
  listQueryString,
  StatusText,
  UserRow,
  UsersPage,
  type CreateUserForm,
  type ListQuery,
} from "../../../templates/admin/users.tsx";
import { AuditPage, UserPage, type AuditFilterValues } from "../../../templates/admin/audit.tsx";
import { CREATE_ERRORS, isOutcome, OUTCOMES, REFUSALS, type Outcome } from "../../../templates/admin/labels.ts";
import { ErrorPage } from "../../../templates/errors.tsx";
import type { FieldErrors } from "../../../templates/components.tsx";

/**
 * The admin area, mounted at /admin: the users list, a user's page, the audit log, Create user
 * and the actions on an account. The guard runs first for every path under /admin; each POST
 * form is checked by its schema before its handler runs, and a form that fails comes back with
 * its field errors (a 400), never a 500.
 */
export function adminRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  app.use((c, next) => requireAdmin(deps, c, next));

  app.get("/", (c) => showUsers(deps, c));
  app.get("/users/:id", (c) => showUser(deps, c, c.req.param("id")));
  app.get("/audit", (c) => showAudit(deps, c));
  app.get("/audit.csv", (c) => auditDownload(deps, c));
  app.route("/organizations", organizationsRoutes(deps));
  app.route("/import", importRoutes(deps));

  app.post(
    "/users",
    checkForm(createUserForm, (c, raw, errors) => refuseCreateForm(deps, c, raw, errors)),
    (c) => createUserAndReport(deps, c, c.req.valid("form")),
  );

  for (const [name, action] of Object.entries(ACTIONS)) {
    // Disable and Reset MFA: their buttons open a confirmation page of their own (a GET, which changes nothing).
    if (isConfirmedAction(name)) app.get(`/users/:id/${name}/confirm`, (c) => showConfirm(deps, c, name));
    app.post(
      `/users/:id/${name}`,
      checkForm(action.form, (c, raw) => refuseActionForm(deps, c, raw, action.focusSlot)),
      (c) => runAction(deps, c, action, c.req.valid("form")),
    );
  }

  // A multipart body that does not parse: the validator throws a 400, which is the request's
  // fault, so it gets a page that says so; anything else goes on to the app's error page.
  app.onError((error, c) => {
    if (error instanceof HTTPException && error.status === 400) return formUnreadablePage(deps, c);
    throw error;
  });
  return app;
}

type Ctx = Context<AppEnv>;

const EVENTS_PER_PAGE = 50;

/**
 * Administrators only: the portal's, and the administrators of an organization, each with the
 * scope every query of the area then takes. A session exists only after the second factor, so
 * "signed in" already means "signed in with MFA". htmx requests get HX-Redirect so a whole page
 * loads instead of a sign-in form or an error landing inside a table row.
 */
async function requireAdmin(deps: AppDeps, c: Ctx, next: Next) {
  const user = c.get("user");
  const scope = user ? await resolveScope(deps.sql, user) : null;
  if (user && scope) {
    setScope(c, scope);
    return next();
  }
  if (!user) return goToPage(c, "/login");
  if (wantsFragment(c)) return goToPage(c, "/admin");
  return forbiddenPage(deps, c);
}

function actorOf(c: Ctx): Actor {
  return { actorId: c.get("user")!.id, ip: c.get("ip"), userAgent: c.get("userAgent"), scope: scopeOf(c) };
}

// ---------------------------------------------------------------------------------------------
// The users list and a user's page

const uuid = z.string().refine(isUserId);

/** The list's query as links and the forms' `return` field carry it; anything malformed is dropped, never echoed. */
function parseListQuery(input: Record<string, string | undefined>): ListQuery {
  const q = z
    .string()
    .max(100)
    .refine((text) => !CONTROL.test(text))
    .safeParse(input.q ?? "");
  const state = z.enum(ACCOUNT_STATES as [string, ...string[]]).safeParse(input.state);
  const after = uuid.safeParse(input.after);
  const before = uuid.safeParse(input.before);
  return {
    q: q.success ? q.data.trim() : "",
    state: state.success ? (state.data as ListQuery["state"]) : "",
    after: after.success ? after.data : undefined,
    before: !after.success && before.success ? before.data : undefined,
  };
}

type Message = { text: string; problem: boolean } | null;

/** The message of an outcome code a redirect carried (`?done=…&user=…`); null for anything else. */
async function outcomeMessage(deps: AppDeps, c: Ctx, code: string | undefined, userId: string | undefined): Promise<Message> {
  if (!isOutcome(code)) return null;
  let email = "";
  // Only a user the viewer may see is named: a crafted ?user= of another organization says nothing.
  if (userId && isUserId(userId)) email = (await findAdminUser(deps.sql, deps.clock, userId, scopeOf(c)))?.email ?? "";
  if (!email && code !== "not_found" && code !== "form_unreadable") return null;
  return { text: OUTCOMES[code](email), problem: REFUSALS.has(code) };
}

/** What the Create user form offers: the portal's two roles, or the organizations (and roles) the actor manages. */
async function createChoices(deps: AppDeps, c: Ctx): Promise<CreateChoices> {
  const scope = scopeOf(c);
  if (scope.kind === "portal") return { kind: "portal" };
  const organizations = (await listManagedOrganizations(deps.sql, scope)).map((org) => ({ id: org.id, name: org.name, roles: grantableRoles(org) }));
  return { kind: "organizations", organizations };
}

/** The roles the viewer may give in each organization they manage (the membership forms of the rows offer these). */
async function grantableByOrganization(deps: AppDeps, c: Ctx): Promise<Grantable> {
  const organizations = await listManagedOrganizations(deps.sql, scopeOf(c));
  return Object.fromEntries(organizations.map((org) => [org.id, grantableRoles(org)]));
}

async function usersPage(deps: AppDeps, c: Ctx, query: ListQuery, options: { create?: CreateUserForm; status?: 200 | 400 | 403 | 409; message?: Message } = {}) {
  const scope = scopeOf(c);
  const page = await listUsers(deps.sql, deps.clock, { q: query.q, state: query.state || undefined, after: query.after, before: query.before }, scope);
  return render(c, deps, {
    title: "Administration",
    status: options.status,
    body: (
      <UsersPage
        page={page}
        query={query}
        message={options.message ?? null}
        create={options.create ?? EMPTY_CREATE_FORM}
        choices={await createChoices(deps, c)}
        portal={scope.kind === "portal"}
        groups={(await listManagedOrganizations(deps.sql, scope)).some((org) => org.topLevel && org.rank >= 3)}
        grantable={await grantableByOrganization(deps, c)}
      />
    ),
  });
}

async function showUsers(deps: AppDeps, c: Ctx) {
  const message = await outcomeMessage(deps, c, c.req.query("done"), c.req.query("user"));
  return usersPage(deps, c, parseListQuery(c.req.query()), { message });
}

async function showUser(deps: AppDeps, c: Ctx, userId: string, options: { status?: 400; message?: Message } = {}) {
  const user = isUserId(userId) ? await findAdminUser(deps.sql, deps.clock, userId, scopeOf(c)) : null;
  if (!user) return notFoundPage(deps, c, "User not found", "There is no user at this address. Go back to Administration and pick one from the list.");
  const before = /^\d{1,18}$/.test(c.req.query("before") ?? "") ? c.req.query("before") : undefined;
  const rows = await listAdminAudit(deps.sql, scopeOf(c), { userId, limit: EVENTS_PER_PAGE + 1, before });
  const events = rows.slice(0, EVENTS_PER_PAGE);
  const older = rows.length > EVENTS_PER_PAGE ? `/admin/users/${userId}?before=${events[events.length - 1]!.id}` : null;
  const message = options.message ?? (await outcomeMessage(deps, c, c.req.query("done"), userId));
  return render(c, deps, {
    title: "User details",
    status: options.status,
    body: (
      <UserPage
        user={user}
        events={events}
        olderHref={older}
        newestHref={before ? `/admin/users/${userId}` : null}
        message={message}
        portal={scopeOf(c).kind === "portal"}
        grantable={await grantableByOrganization(deps, c)}
      />
    ),
  });
}

// ---------------------------------------------------------------------------------------------
// Create user

const FIELD_REPEATED = "This field was sent more than once. Fill in the form again.";
const FIELD_FILE = "Files cannot be sent here. Fill in the form again.";
// Control characters (a NUL above all) are never typed into a name; Postgres refuses a NUL outright.
const CONTROL = /[\p{Cc}\uFFFD]/u;

/** One text field as a form sends it: missing, sent twice and a file each get their own words. */
function textField(missing: string) {
  return z.string({ error: (issue) => (issue.input === undefined ? missing : Array.isArray(issue.input) ? FIELD_REPEATED : FIELD_FILE) });
}

const createUserForm = z.object({
  email: textField(CREATE_ERRORS.email_missing)
    .trim()
    .min(1, CREATE_ERRORS.email_missing)
    .max(254, INVITE_REFUSALS.invalid_email)
    .refine((email) => !CONTROL.test(email), INVITE_REFUSALS.invalid_email),
  name: textField("")
    .trim()
    .max(200, CREATE_ERRORS.name_too_long)
    .refine((name) => !CONTROL.test(name), "Remove the special characters from this field.")
    .default(""),
  /** provider or admin (the portal's roles), or a role in an organization. */
  role: z.enum(["provider", "admin", ...MEMBERSHIP_ROLES], { error: CREATE_ERRORS.role }),
  organization: z.string().max(36).default(""),
});

/** What was typed, to show again next to the errors; never more than the fields can hold. */
function typedValues(raw: Record<string, unknown>): CreateUserForm["values"] {
  const text = (value: unknown) => (typeof value === "string" ? value.trim().slice(0, 300) : "");
  const role = typeof raw.role === "string" && (["provider", "admin", ...MEMBERSHIP_ROLES] as string[]).includes(raw.role) ? raw.role : "provider";
  return { email: text(raw.email), name: text(raw.name), role: role as CreateUserForm["values"]["role"], organization: text(raw.organization).slice(0, 36) };
}

function refuseCreateForm(deps: AppDeps, c: Ctx, raw: Record<string, unknown>, errors: FieldErrors) {
  return usersPage(deps, c, parseListQuery({}), { status: 400, create: { values: typedValues(raw), errors } });
}

/** The form's role and organization as createUser takes them. */
export function placementOf(values: { role: string; organization: string }): { role: Role; organizationId?: string; organizationRole?: MembershipRole } {
  if (values.role === "provider" || values.role === "admin") return { role: values.role, organizationId: values.organization || undefined };
  return { role: "provider", organizationId: values.organization || undefined, organizationRole: values.role as MembershipRole };
}

async function createUserAndReport(deps: AppDeps, c: Ctx, values: z.output<typeof createUserForm>) {
  const created = await createUser(deps, actorOf(c), { email: values.email, name: values.name, ...placementOf(values) });
  if (!created.ok) {
    const { field, status } = CREATE_REFUSAL_FIELDS[created.reason];
    // The portal's form has no Organization field (members are invited from Organizations): its Role says why.
    const at = field === "organization" && scopeOf(c).kind === "portal" ? "role" : field;
    return usersPage(deps, c, parseListQuery({}), { status, create: { values, errors: { [at]: createRefusalText(created.reason) } } });
  }
  return redirectTo(c, `/admin?${new URLSearchParams({ done: "created", user: created.user.id })}`);
}

// ---------------------------------------------------------------------------------------------
// The actions on an account, one small POST form each

/** The hidden fields every action form carries; a mangled one falls back rather than fails. */
const actionForm = z.object({
  /** The page the button was on: the list (the row is re-rendered) or the user's page. */
  from: z.enum(["list", "user"]).catch("list"),
  /** The list's search and page, to come back to. */
  return: z.string().max(1000).catch(""),
});
const roleForm = actionForm.extend({ role: z.enum(["admin", "provider"]) });
const membershipForm = actionForm.extend({ organization: z.string().max(36), role: z.enum(MEMBERSHIP_ROLES as [MembershipRole, ...MembershipRole[]]) });

type ActionForm = z.output<typeof actionForm> & { role?: Role | MembershipRole; organization?: string };


interface AdminAction {
  form: z.ZodType<ActionForm>;
  run: (deps: AppDeps, actor: Actor, userId: string, form: ActionForm) => Promise<ActionResult>;
  /** What the message says when it worked. */
  done: (form: ActionForm) => Outcome;
  /** The button an htmx row swap gives focus back to: the same place in the row, whatever its new label. */
  focusSlot: string;
  /** Done to yourself, it ends your own access to these pages. */
  endsOwnAccess?: (form: ActionForm) => boolean;
}

/** Each action by the last segment of its URL, /admin/users/:id/<name>. */
const ACTIONS: Record<string, AdminAction> = {
  resend: { form: actionForm, run: (deps, actor, id) => resendLink(deps, actor, id), done: () => "resent", focusSlot: "resend" },
  "reset-mfa": { form: actionForm, run: (deps, actor, id) => resetMfa(deps, actor, id), done: () => "mfa_reset", focusSlot: "mfa" },
  unlock: { form: actionForm, run: (deps, actor, id) => unlock(deps, actor, id), done: () => "unlocked", focusSlot: "status" },
  disable: { form: actionForm, run: (deps, actor, id) => disable(deps, actor, id), done: () => "disabled", focusSlot: "status", endsOwnAccess: () => true },
  enable: { form: actionForm, run: (deps, actor, id) => enable(deps, actor, id), done: () => "enabled", focusSlot: "status" },
  role: {
    form: roleForm,
    run: (deps, actor, id, form) => changeRole(deps, actor, id, form.role as Role),
    done: (form) => (form.role === "admin" ? "made_admin" : "made_provider"),
    focusSlot: "role",
    endsOwnAccess: (form) => form.role !== "admin",
  },
  membership: {
    form: membershipForm,
    run: (deps, actor, id, form) => changeMembershipRole(deps, actor, id, form.organization!, form.role as MembershipRole),
    done: () => "membership_changed",
    focusSlot: "membership",
  },
};

/** GET /admin/users/:id/disable/confirm (or reset-mfa): what the action will do, and its warning button that posts it. */
async function showConfirm(deps: AppDeps, c: Ctx, action: ConfirmedAction) {
  const userId = c.req.param("id") ?? "";
  const user = isUserId(userId) ? await findAdminUser(deps.sql, deps.clock, userId) : null;
  if (!user) return showUser(deps, c, userId);
  const from = c.req.query("from") === "user" ? "user" : "list";
  const listQuery = listQueryString(parseListQuery(Object.fromEntries(new URLSearchParams(c.req.query("return") ?? ""))));
  const words = action === "disable" ? `Disable ${user.email}?` : `Reset multi-factor authentication for ${user.email}?`;
  return render(c, deps, { title: words, body: <ConfirmActionPage user={user} action={action} from={from} listQuery={listQuery} /> });
}

async function runAction(deps: AppDeps, c: Ctx, action: AdminAction, form: ActionForm) {
  const userId = c.req.param("id")!;
  const actor = actorOf(c);
  const result = await action.run(deps, actor, userId, form);
  if (result.ok && userId === actor.actorId && action.endsOwnAccess?.(form)) {
    // They gave up their own access: the admin page would only answer 403 (or the sign-in page) now.
    return goToPage(c, "/home");
  }
  const code: Outcome = result.ok ? action.done(form) : result.reason;
  const status = result.ok ? 200 : result.reason === "not_found" ? 404 : result.reason === "not_allowed" ? 403 : 409;
  const listQuery = parseListQuery(Object.fromEntries(new URLSearchParams(form.return)));
  if (form.from === "list" && wantsFragment(c)) return actionRow(deps, c, { userId, code, status, listQuery, focusSlot: action.focusSlot, user: result.ok ? result.user : undefined });
  const params = { done: code, user: isUserId(userId) ? userId : "" };
  if (form.from === "user" && isUserId(userId)) return redirectTo(c, `/admin/users/${userId}?${new URLSearchParams(params)}`);
  return redirectTo(c, `/admin?${listQueryString(listQuery, params)}`);
}

/** With htmx, from the list: the row in place, and the message into the page's status region. */
async function actionRow(
  deps: AppDeps,
  c: Ctx,
  answer: { userId: string; code: Outcome; status: 200 | 400 | 403 | 404 | 409; listQuery: ListQuery; focusSlot: string; user?: Awaited<ReturnType<typeof findAdminUser>> },
) {
  c.header("Vary", "HX-Request");
  const user = answer.user ?? (isUserId(answer.userId) ? await findAdminUser(deps.sql, deps.clock, answer.userId, scopeOf(c)) : null);
  return c.html(
    (
      <>
        <hx-partial hx-target="#admin-status" hx-swap="innerHTML">
          <StatusText text={OUTCOMES[answer.code](user?.email ?? "")} problem={answer.status !== 200} />
        </hx-partial>
        {user ? (
          <UserRow
            user={user}
            listQuery={listQueryString(answer.listQuery)}
            focusSlot={answer.focusSlot}
            portal={scopeOf(c).kind === "portal"}
            grantable={await grantableByOrganization(deps, c)}
          />
        ) : null}
      </>
    ).toString() as string,
    answer.status,
  );
}

/**
 * An action form that is not what the page sends (a field repeated, the role missing): nothing
 * is done, and the page it came from says so with a 400.
 */
function refuseActionForm(deps: AppDeps, c: Ctx, raw: Record<string, unknown>, focusSlot: string) {
  const userId = c.req.param("id") ?? "";
  const from = raw.from === "user" ? "user" : "list";
  const listQuery = parseListQuery(Object.fromEntries(new URLSearchParams(typeof raw.return === "string" ? raw.return : "")));
  const message = { text: OUTCOMES.form_unreadable(""), problem: true };
  if (from === "list" && wantsFragment(c)) return actionRow(deps, c, { userId, code: "form_unreadable", status: 400, listQuery, focusSlot });
  if (from === "user") return showUser(deps, c, userId, { status: 400, message });
  return usersPage(deps, c, listQuery, { status: 400, message });
}

function formUnreadablePage(deps: AppDeps, c: Ctx) {
  return render(c, deps, {
    title: "Form not understood",
    status: 400,
    body: <ErrorPage heading="Form not understood" message={OUTCOMES.form_unreadable("")} />,
  });
}

// ---------------------------------------------------------------------------------------------
// The audit log

export interface AuditFilterParse {
  filter: AuditFilterValues;
  errors: FieldErrors;
  /** The query for listAdminAudit / streamAdminAudit; meaningless when errors has any entry. */
  query: { userId?: string; event?: string; from?: Date; to?: Date };
}

/**
 * The audit filter (User email, Event type, From, To) as the page and the download both read it.
 * A user outside the viewer's scope reads exactly like an address no one has.
 */
export async function parseAuditFilter(deps: AppDeps, c: Ctx, raw: Record<string, string>): Promise<AuditFilterParse> {
  const filter: AuditFilterValues = {
    user: (raw.user ?? "").trim().slice(0, 254),
    event: (raw.event ?? "").trim().slice(0, 100),
    from: (raw.from ?? "").trim().slice(0, 10),
    to: (raw.to ?? "").trim().slice(0, 10),
  };
  const errors: FieldErrors = {};
  let userId: string | undefined;
  if (filter.user) {
    const user = await findUserByEmail(deps.sql, filter.user);
    const visible = user ? await findAdminUser(deps.sql, deps.clock, user.id, scopeOf(c)) : null;
    if (visible) userId = visible.id;
    else errors.user = "No user has this email address.";
  }
  // The select only offers names from the log; anything else was not typed by a person: drop it.
  if (filter.event && !/^[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?$/.test(filter.event)) filter.event = "";
  const from = parseDay(filter.from);
  const to = parseDay(filter.to);
  if (filter.from && !from) errors.from = "Enter a date like 2026-01-31.";
  if (filter.to && !to) errors.to = "Enter a date like 2026-01-31.";
  if (from && to && to.getTime() < from.getTime()) errors.to = "The last day cannot be before the first day.";
  return {
    filter,
    errors,
    query: {
      userId,
      event: filter.event || undefined,
      from: from ?? undefined,
      // "To" names a whole day: the log is read up to the start of the next one.
      to: to ? new Date(to.getTime() + DAY) : undefined,
    },
  };
}

async function showAudit(deps: AppDeps, c: Ctx) {
  const raw = c.req.query();
  const { filter, errors, query } = await parseAuditFilter(deps, c, raw);
  const before = /^\d{1,18}$/.test(raw.before ?? "") ? raw.before : undefined;
  const failed = Object.keys(errors).length > 0;
  const rows = failed ? [] : await listAdminAudit(deps.sql, scopeOf(c), { ...query, limit: EVENTS_PER_PAGE + 1, before });
  const events = rows.slice(0, EVENTS_PER_PAGE);
  const filterParams = Object.fromEntries(Object.entries(filter).filter(([, value]) => value));
  const href = (extra: Record<string, string>) => {
    const search = new URLSearchParams({ ...filterParams, ...extra }).toString();
    return search ? `/admin/audit?${search}` : "/admin/audit";
  };
  const older = rows.length > EVENTS_PER_PAGE ? href({ before: events[events.length - 1]!.id }) : null;
  return render(c, deps, {
    title: "Audit log",
    status: failed ? 400 : 200,
    body: (
      <AuditPage
        filter={filter}
        errors={errors}
        eventTypes={await listAuditEventTypes(deps.sql)}
        events={events}
        olderHref={older}
        newestHref={before ? href({}) : null}
      />
    ),
  });
}

// ---------------------------------------------------------------------------------------------
// Download audit log

export const AUDIT_CSV_COLUMNS = ["time", "event", "user_email", "user_id", "by_email", "by_id", "address", "browser", "details"] as const;

/**
 * A cell a spreadsheet would run as a formula (=, +, -, @, a tab or carriage return first) gets
 * a leading apostrophe (OWASP, CSV injection): user agents and names are typed by anyone.
 */
function safeCell(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

/**
 * Download audit log: the filter's events (its date range, user and event type) as CSV, scoped
 * like the page, newest first. Streamed: each batch of the database cursor becomes CSV text
 * when the client is ready for more, so the whole range is never in memory. A bad filter is the
 * page with its errors (400), as for Filter.
 */
async function auditDownload(deps: AppDeps, c: Ctx) {
  const raw = c.req.query();
  const parsed = await parseAuditFilter(deps, c, raw);
  if (Object.keys(parsed.errors).length) return showAudit(deps, c);
  const batches = streamAdminAudit(deps.sql, scopeOf(c), parsed.query);
  const encoder = new TextEncoder();
  let header = true;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await batches.next();
        const rows = next.done
          ? []
          : next.value.map((event) =>
              [
                event.at.toISOString(),
                event.event,
                event.userEmail ?? "",
                event.userId ?? "",
                event.actorEmail ?? "",
                event.actorId ?? "",
                event.ip ?? "",
                event.userAgent ?? "",
                JSON.stringify(event.detail),
              ].map(safeCell),
            );
        if (header) rows.unshift([...AUDIT_CSV_COLUMNS]);
        header = false;
        if (rows.length) controller.enqueue(encoder.encode(stringify(rows, { record_delimiter: "windows" })));
        if (next.done) controller.close();
      } catch (error) {
        deps.log.error("audit_download_failed", { error: error instanceof Error ? error.message.slice(0, 200) : "unknown" });
        controller.error(error);
      }
    },
    async cancel() {
      await batches.return(undefined);
    },
  });
  const range = [parsed.filter.from || "start", parsed.filter.to || "now"].join("-to-");
  c.header("Content-Type", "text/csv; charset=utf-8");
  c.header("Content-Disposition", `attachment; filename="audit-log-${range}.csv"`);
  c.header("Cache-Control", "no-store, no-transform");
  return c.body(body, 200);
}

/** YYYY-MM-DD as the start of that day in UTC, or null. */
export function parseDay(text: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return null;
  const day = new Date(`${text}T00:00:00Z`);
  return Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== text ? null : day;
}
