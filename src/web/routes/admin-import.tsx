import { Hono, type Context } from "hono";
import type { AppDeps, AppEnv } from "../env.ts";
import { redirectTo, render } from "../render.tsx";
import { scopeOf } from "./admin-env.ts";
import { findManagedOrganization, listManagedOrganizations } from "../../orgs/scope.ts";
import {
  checkImportRows,
  findImport,
  MAX_IMPORT_BYTES,
  MAX_IMPORT_ROWS,
  parseUserCsv,
  sendImportInvitations,
  storeImport,
  takeImport,
} from "../../orgs/user-import.ts";
import { findOrganizationById } from "../../orgs/organizations.ts";
import { ImportForm, ImportPreview } from "../../../templates/admin/import.tsx";
import { notFoundPage } from "./admin-pages.tsx";
import type { FieldErrors } from "../../../templates/components.tsx";

/**
 * Import users: upload a CSV (POST /admin/import, multipart) → its preview (/admin/import/:id,
 * every row's result) → Send invitations or Cancel. Both take the waiting import with one
 * DELETE, so a second press does nothing; Cancel sends nothing. An import belongs to the
 * administrator who uploaded it; another's id is 404. Mounted inside the admin area, after its
 * guard; the upload has its own body limit (app.tsx).
 */
export function importRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  app.get("/", (c) => showForm(deps, c));
  app.post("/", (c) => upload(deps, c));
  app.get("/:id", (c) => showPreview(deps, c, c.req.param("id")));
  app.post("/:id/send", (c) => send(deps, c, c.req.param("id")));
  app.post("/:id/cancel", (c) => cancel(deps, c, c.req.param("id")));
  return app;
}

type Ctx = Context<AppEnv>;

/** How long Send invitations waits for the last invitation before answering (below REQUEST_DEADLINE_MS). */
export const SEND_WAIT_MS = 7_000;

async function showForm(deps: AppDeps, c: Ctx, options: { status?: 400 | 413; errors?: FieldErrors; organization?: string } = {}) {
  const organizations = await listManagedOrganizations(deps.sql, scopeOf(c));
  const sent = c.req.query("sent");
  const refused = c.req.query("refused");
  let message: { text: string; problem: boolean } | null = null;
  if (/^\d{1,6}$/.test(sent ?? "") && /^\d{1,6}$/.test(refused ?? "")) {
    message = {
      text: `Sent ${sent} ${sent === "1" ? "invitation" : "invitations"}.${refused !== "0" ? ` ${refused} ${refused === "1" ? "line was" : "lines were"} not sent.` : ""}`,
      problem: refused !== "0",
    };
  } else if (c.req.query("sending") === "1") {
    message = { text: "The invitations are being sent. The Administration page lists each person as Invited once their email is on its way.", problem: false };
  } else if (c.req.query("cancelled") === "1") {
    message = { text: "The import was cancelled. No invitations were sent.", problem: false };
  } else if (c.req.query("gone") === "1") {
    message = { text: "That import was already sent or cancelled, or it expired. Nothing more was sent.", problem: true };
  }
  if (!organizations.length) message = { text: "There are no organizations to import users into yet.", problem: true };
  return render(c, deps, {
    title: "Import users",
    status: options.status,
    body: (
      <ImportForm
        organizations={organizations}
        values={{ organization: options.organization ?? "" }}
        errors={options.errors ?? {}}
        message={message}
        maxRows={MAX_IMPORT_ROWS}
      />
    ),
  });
}

async function upload(deps: AppDeps, c: Ctx) {
  let body: Record<string, string | File | (string | File)[]>;
  try {
    body = await c.req.parseBody({ all: true });
  } catch {
    return showForm(deps, c, { status: 400, errors: { file: "The upload could not be read. Choose the file again." } });
  }
  const organizationId = typeof body.organization === "string" ? body.organization : "";
  const file = body.file;
  const organization = await findManagedOrganization(deps.sql, scopeOf(c), organizationId);
  if (!organization) return showForm(deps, c, { status: 400, errors: { organization: "Choose one of your organizations." } });
  if (!(file instanceof File) || file.size === 0) {
    return showForm(deps, c, { status: 400, organization: organizationId, errors: { file: "Choose a CSV file." } });
  }
  if (file.size > MAX_IMPORT_BYTES) {
    return showForm(deps, c, { status: 413, organization: organizationId, errors: { file: `The file is larger than ${MAX_IMPORT_BYTES / 1024} KiB. Split it into smaller files.` } });
  }
  const parsed = parseUserCsv(new Uint8Array(await file.arrayBuffer()));
  if (!parsed.ok) return showForm(deps, c, { status: 400, organization: organizationId, errors: { file: parsed.error } });
  const rows = await checkImportRows(deps.sql, deps.config, organization, parsed.rows);
  const id = await storeImport(deps.sql, deps.clock, { actorId: c.get("user")!.id, organizationId: organization.id, rows });
  return redirectTo(c, `/admin/import/${id}`);
}

function gone(deps: AppDeps, c: Ctx) {
  return notFoundPage(deps, c, "Import not found", "This import was already sent or cancelled, or it expired. Start again from Import users.");
}

async function showPreview(deps: AppDeps, c: Ctx, id: string) {
  const stored = await findImport(deps.sql, deps.clock, c.get("user")!.id, id);
  if (!stored) return gone(deps, c);
  const organization = await findOrganizationById(deps.sql, stored.organizationId);
  return render(c, deps, {
    title: "Check the import",
    body: <ImportPreview id={stored.id} organizationName={organization?.name ?? ""} rows={stored.rows} />,
  });
}

async function send(deps: AppDeps, c: Ctx, id: string) {
  const stored = await takeImport(deps.sql, deps.clock, c.get("user")!.id, id);
  if (!stored) return redirectTo(c, "/admin/import?gone=1");
  // Their rights are read again now: an administrator who lost the organization meanwhile sends nothing.
  const organization = await findManagedOrganization(deps.sql, scopeOf(c), stored.organizationId);
  if (!organization) return redirectTo(c, "/admin/import?gone=1");
  const sending = sendImportInvitations(deps, {
    actorId: c.get("user")!.id,
    ip: c.get("ip"),
    userAgent: c.get("userAgent"),
    organization,
    rows: stored.rows,
  });
  // A few thousand invitations can take longer than a request may (app.tsx's deadline): past
  // SEND_WAIT_MS the page says they are on their way and the sending goes on; each invitation
  // is its own transaction, so whatever happens every one is either wholly sent or not at all.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), SEND_WAIT_MS)));
  const report = await Promise.race([sending, late]).finally(() => clearTimeout(timer));
  if (!report) {
    sending.catch((error) => deps.log.error("import_send_failed", { error: error instanceof Error ? error.message.slice(0, 200) : "unknown" }));
    return redirectTo(c, "/admin/import?sending=1");
  }
  return redirectTo(c, `/admin/import?${new URLSearchParams({ sent: String(report.sent), refused: String(report.refused.length) })}`);
}

async function cancel(deps: AppDeps, c: Ctx, id: string) {
  await takeImport(deps.sql, deps.clock, c.get("user")!.id, id);
  return redirectTo(c, "/admin/import?cancelled=1");
}
