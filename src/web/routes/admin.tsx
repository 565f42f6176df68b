import { Hono, type Context, type MiddlewareHandler } from "hono";
import { z } from "zod";
import type { AppDeps, AppEnv } from "../env.ts";
import { goToPage, redirectTo, render, wantsFragment } from "../render.tsx";
import { readForm } from "../form.ts";
import { findUserByEmail, findUserById } from "../../auth/users.ts";
import { listAudit } from "../../auth/audit.ts";
import { INVITE_REFUSALS } from "../../flows/invitation.ts";
import {
  changeRole,
  createUser,
  disable,
  enable,
  findAdminUser,
  isUserId,
  listAuditEventTypes,
  listUsers,
  REGISTRATION_STATES,
  resendLink,
  resetMfa,
  unlock,
  type ActionResult,
  type Actor,
} from "../../flows/admin.ts";
import { DAY } from "../../clock.ts";
import {
  AdminForbidden,
  EMPTY_CREATE_FORM,
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

type Ctx = Context<AppEnv>;

const EVENTS_PER_PAGE = 50;

const uuid = z.string().refine(isUserId);

/** The list's query as links and the forms' `return` field carry it; anything malformed is dropped, never echoed. */
function parseListQuery(input: Record<string, string | undefined>): ListQuery {
  const q = z.string().max(100).safeParse(input.q ?? "");
  const state = z.enum(REGISTRATION_STATES as [string, ...string[]]).safeParse(input.state);
  const after = uuid.safeParse(input.after);
  const before = uuid.safeParse(input.before);
  return {
    q: q.success ? q.data.trim() : "",
    state: state.success ? (state.data as ListQuery["state"]) : "",
    after: after.success ? after.data : undefined,
    before: !after.success && before.success ? before.data : undefined,
  };
}

function actorOf(c: Ctx): Actor {
  return { actorId: c.get("user")!.id, ip: c.get("ip"), userAgent: c.get("userAgent") };
}

async function outcomeMessage(deps: AppDeps, code: string | undefined, userId: string | undefined) {
  if (!isOutcome(code)) return null;
  let email = "";
  if (userId && isUserId(userId)) email = (await findUserById(deps.sql, userId))?.email ?? "";
  if (!email && code !== "not_found") return null;
  return { text: OUTCOMES[code](email), problem: REFUSALS.has(code) };
}

const ACTIONS = ["resend", "reset-mfa", "unlock", "disable", "enable", "role"] as const;
type ActionName = (typeof ACTIONS)[number];

/** The button an htmx row swap gives focus back to: the same place in the row, whatever its new label. */
const FOCUS_SLOT: Record<ActionName, string> = {
  resend: "resend",
  "reset-mfa": "mfa",
  unlock: "status",
  disable: "status",
  enable: "status",
  role: "role",
};

export function adminRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();

  /**
   * Administrators only. A session exists only after the second factor, so "signed in" already
   * means "signed in with MFA". htmx requests get HX-Redirect so a whole page loads instead of a
   * sign-in form or an error landing inside a table row.
   */
  const guard: MiddlewareHandler<AppEnv> = async (c, next) => {
    const user = c.get("user");
    if (user && user.role === "admin") return next();
    if (!user) return goToPage(c, "/login");
    if (wantsFragment(c)) return goToPage(c, "/admin");
    return render(c, deps, { title: "Access denied", status: 403, body: <AdminForbidden /> });
  };
  app.use("/admin", guard);
  app.use("/admin/*", guard);

  async function usersPage(c: Ctx, query: ListQuery, options: { create?: CreateUserForm; status?: 200 | 400 | 409; message?: { text: string; problem: boolean } | null } = {}) {
    const page = await listUsers(deps.sql, deps.clock, { q: query.q, state: query.state || undefined, after: query.after, before: query.before });
    return render(c, deps, {
      title: "Administration",
      status: options.status,
      body: <UsersPage page={page} query={query} message={options.message ?? null} create={options.create ?? EMPTY_CREATE_FORM} />,
    });
  }

  app.get("/admin", async (c) => {
    const query = parseListQuery(c.req.query());
    const message = await outcomeMessage(deps, c.req.query("done"), c.req.query("user"));
    return usersPage(c, query, { message });
  });

  app.post("/admin/users", async (c) => {
    const form = await readForm(c);
    if (!form) return usersPage(c, parseListQuery({}), { status: 400, create: { ...EMPTY_CREATE_FORM, errors: { email: CREATE_ERRORS.email_missing } } });
    const values = {
      email: (form.email ?? "").trim().slice(0, 300),
      name: (form.name ?? "").trim().slice(0, 300),
      role: form.role === "admin" ? ("admin" as const) : ("provider" as const),
    };
    const errors: FieldErrors = {};
    if (!values.email) errors.email = CREATE_ERRORS.email_missing;
    if (values.name.length > 200) errors.name = CREATE_ERRORS.name_too_long;
    if (form.role !== "admin" && form.role !== "provider") errors.role = CREATE_ERRORS.role;
    if (Object.keys(errors).length) return usersPage(c, parseListQuery({}), { status: 400, create: { values, errors } });
    const created = await createUser(deps, actorOf(c), values);
    if (!created.ok) {
      const message = created.reason === "duplicate" ? CREATE_ERRORS.duplicate : INVITE_REFUSALS[created.reason];
      return usersPage(c, parseListQuery({}), { status: created.reason === "duplicate" ? 409 : 400, create: { values, errors: { email: message } } });
    }
    return redirectTo(c, `/admin?${new URLSearchParams({ done: "created", user: created.user.id })}`);
  });

  app.post("/admin/users/:id/:action", async (c) => {
    const action = c.req.param("action") as ActionName;
    if (!ACTIONS.includes(action)) return c.notFound();
    const userId = c.req.param("id");
    const form = await readForm(c);
    if (!form) return c.text("The form could not be read.", 400);
    const from = form.from === "user" ? "user" : "list";
    const actor = actorOf(c);
    let result: ActionResult;
    let done: Outcome;
    switch (action) {
      case "resend":
        result = await resendLink(deps, actor, userId);
        done = "resent";
        break;
      case "reset-mfa":
        result = await resetMfa(deps, actor, userId);
        done = "mfa_reset";
        break;
      case "unlock":
        result = await unlock(deps, actor, userId);
        done = "unlocked";
        break;
      case "disable":
        result = await disable(deps, actor, userId);
        done = "disabled";
        break;
      case "enable":
        result = await enable(deps, actor, userId);
        done = "enabled";
        break;
      case "role": {
        if (form.role !== "admin" && form.role !== "provider") return c.text("Choose a role.", 400);
        result = await changeRole(deps, actor, userId, form.role);
        done = form.role === "admin" ? "made_admin" : "made_provider";
        break;
      }
    }
    const code: Outcome = result.ok ? done : result.reason;
    if (result.ok && userId === actor.actorId && (action === "disable" || (action === "role" && form.role !== "admin"))) {
      // They gave up their own access: the admin page would only answer 403 (or the sign-in page) now.
      return goToPage(c, "/home");
    }
    const listQuery = parseListQuery(Object.fromEntries(new URLSearchParams(form.return ?? "")));

    if (from === "list" && wantsFragment(c)) {
      // The row in place, and the message into the page's status region.
      c.header("Vary", "HX-Request");
      const user = result.ok ? result.user : isUserId(userId) ? await findAdminUser(deps.sql, deps.clock, userId) : null;
      const email = user?.email ?? "";
      const status = result.ok ? 200 : result.reason === "not_found" ? 404 : 409;
      return c.html(
        (
          <>
            <hx-partial hx-target="#admin-status" hx-swap="innerHTML">
              <StatusText text={OUTCOMES[code](email)} problem={!result.ok} />
            </hx-partial>
            {user ? <UserRow user={user} listQuery={listQueryString(listQuery)} focusSlot={FOCUS_SLOT[action]} /> : null}
          </>
        ).toString() as string,
        status,
      );
    }
    const params = { done: code, user: isUserId(userId) ? userId : "" };
    if (from === "user" && isUserId(userId)) return redirectTo(c, `/admin/users/${userId}?${new URLSearchParams(params)}`);
    return redirectTo(c, `/admin?${listQueryString(listQuery, params)}`);
  });

  app.get("/admin/users/:id", async (c) => {
    const userId = c.req.param("id");
    const user = isUserId(userId) ? await findAdminUser(deps.sql, deps.clock, userId) : null;
    if (!user) {
      return render(c, deps, {
        title: "User not found",
        status: 404,
        body: <ErrorPage heading="User not found" message="There is no user at this address. Go back to Administration and pick one from the list." />,
      });
    }
    const before = /^\d{1,18}$/.test(c.req.query("before") ?? "") ? c.req.query("before") : undefined;
    const rows = await listAudit(deps.sql, { userId, limit: EVENTS_PER_PAGE + 1, before });
    const events = rows.slice(0, EVENTS_PER_PAGE);
    const older = rows.length > EVENTS_PER_PAGE ? `/admin/users/${userId}?before=${events[events.length - 1]!.id}` : null;
    const message = await outcomeMessage(deps, c.req.query("done"), userId);
    return render(c, deps, {
      title: "User details",
      body: <UserPage user={user} events={events} olderHref={older} newestHref={before ? `/admin/users/${userId}` : null} message={message} />,
    });
  });

  app.get("/admin/audit", async (c) => {
    const raw = c.req.query();
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
      if (user) userId = user.id;
      else errors.user = "No user has this email address.";
    }
    // The select only offers names from the log; anything else was not typed by a person: drop it.
    if (filter.event && !/^[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?$/.test(filter.event)) filter.event = "";
    const from = parseDay(filter.from);
    const to = parseDay(filter.to);
    if (filter.from && !from) errors.from = "Enter a date like 2026-01-31.";
    if (filter.to && !to) errors.to = "Enter a date like 2026-01-31.";
    if (from && to && to.getTime() < from.getTime()) errors.to = "The last day cannot be before the first day.";
    const before = /^\d{1,18}$/.test(raw.before ?? "") ? raw.before : undefined;
    const failed = Object.keys(errors).length > 0;
    const rows = failed
      ? []
      : await listAudit(deps.sql, {
          userId,
          event: filter.event || undefined,
          from: from ?? undefined,
          // "To" names a whole day: the log is read up to the start of the next one.
          to: to ? new Date(to.getTime() + DAY) : undefined,
          limit: EVENTS_PER_PAGE + 1,
          before,
        });
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
  });

  return app;
}

/** YYYY-MM-DD as the start of that day in UTC, or null. */
function parseDay(text: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return null;
  const day = new Date(`${text}T00:00:00Z`);
  return Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== text ? null : day;
}
