/**
 * Import users (product.md §7): a CSV of `email,name,role` checked row by row, every row's result
 * shown before anything is sent, then one invitation per good row, through the outbox.
 *
 * Parsing is csv-parse's (RFC 4180: quoted fields with commas, quotes and line breaks, CRLF or
 * LF, a UTF-8 byte order mark), never a split on commas. Checking a row needs the database
 * (an address that already has an account, a role above the importer's own) and is done again
 * row by row at send time, since the preview may be minutes old. The checked rows wait in
 * `user_imports` (this module is its one writer) between the preview and Send invitations.
 */
import { parse } from "csv-parse/sync";
import { z } from "zod";
import type { Db } from "../db/client.ts";
import type { Clock } from "../clock.ts";
import { DAY, HOUR } from "../clock.ts";
import type { Config } from "../config.ts";
import { isStaffEmail, normalizeEmail } from "../auth/users.ts";
import { consumeRateLimit, type RateLimitRule } from "../auth/rate-limit.ts";
import { inviteUser, type InvitationDeps } from "../flows/invitation.ts";
import { ROLE_ARGUMENTS, type MembershipRole } from "./memberships.ts";
import { grantableRoles, type ManagedOrganization } from "./scope.ts";

/** A few thousand rows is what a clinic group has; more is a mistake or an attack. */
export const MAX_IMPORT_ROWS = 5000;
/** An upload larger than this is refused before parsing (about 60 bytes a row). */
export const MAX_IMPORT_BYTES = 1024 * 1024;
/** Invitations an organization may send by import per hour: a whole group at once, not a mail cannon. */
export const IMPORT_INVITE_LIMIT: RateLimitRule = { capacity: 1000, perMs: HOUR };
/** Invitations in flight at once (each its own transaction, on its own connection of the pool). */
export const SEND_CONCURRENCY = 4;
/** A preview not sent within this long is dropped (housekeeping deletes it). */
export const IMPORT_KEEP_MS = DAY;

export interface ImportRow {
  /** The line of the file the row starts on (the header is line 1). */
  line: number;
  email: string;
  name: string;
  /** As written in the file, for the preview. */
  roleText: string;
  role: MembershipRole | null;
  /** Why the row will not be sent; null for a good row. */
  error: string | null;
}

export type ParsedImport = { ok: true; rows: ImportRow[] } | { ok: false; error: string };

export const IMPORT_ERRORS = {
  empty: "The file is empty. Choose a CSV file with the columns email, name, role.",
  header: "The first line must name the columns: email, name, role.",
  tooMany: `The file has more than ${MAX_IMPORT_ROWS} rows. Split it into smaller files.`,
  tooLarge: `The file is larger than ${MAX_IMPORT_BYTES / 1024} KiB. Split it into smaller files.`,
  notText: "The file is not text in UTF-8. Save it as “CSV UTF-8” and try again.",
  email: "Enter a valid email address, like name@example.com.",
  staffEmail: "This address belongs to staff, who do not sign in here.",
  repeated: (line: number) => `The same address is on line ${line}.`,
  exists: "This address already has an account.",
  role: "Use one of the roles provider-staff, provider-admin or group-admin.",
  roleTooHigh: "You cannot give this role in this organization.",
  name: "Enter a name of at most 200 characters, without special characters.",
  columns: (count: number) => `This row has ${count} fields; a row has 3: email, name, role.`,
  limit: "Not sent: this organization reached its limit of invitations for the hour. Import this row again later.",
} as const;

const emailSchema = z.email().max(254);
const CONTROL = /[\p{Cc}\uFFFD]/u;

/** The role column: the command line's words (provider-staff) or the page's (Provider Staff), any case. */
export function parseRole(text: string): MembershipRole | null {
  const key = text.trim().toLowerCase().replace(/[\s_]+/g, "-");
  const aliases: Record<string, string> = { "provider-group-administrator": "group-admin", "provider-administrator": "provider-admin", staff: "provider-staff" };
  return ROLE_ARGUMENTS[aliases[key] ?? key] ?? null;
}

/** The file as rows, each already checked on its own (address, role word, name, field count). */
export function parseUserCsv(bytes: Uint8Array | string): ParsedImport {
  if (typeof bytes !== "string" && bytes.byteLength > MAX_IMPORT_BYTES) return { ok: false, error: IMPORT_ERRORS.tooLarge };
  let text: string;
  try {
    text = typeof bytes === "string" ? bytes : new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, error: IMPORT_ERRORS.notText };
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_empty_values: true,
      trim: true,
      max_record_size: 4096,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (error) {
    const e = error as { lines?: number; message?: string };
    return { ok: false, error: `The file could not be read as CSV${e.lines ? ` (near line ${e.lines})` : ""}. Check its quotes and try again.` };
  }
  if (!records.length) return { ok: false, error: IMPORT_ERRORS.empty };
  const header = records[0]!.record.map((cell) => cell.trim().toLowerCase());
  const columns = { email: header.indexOf("email"), name: header.indexOf("name"), role: header.indexOf("role") };
  if (columns.email < 0 || columns.role < 0 || columns.name < 0) return { ok: false, error: IMPORT_ERRORS.header };
  const body = records.slice(1);
  if (body.length > MAX_IMPORT_ROWS) return { ok: false, error: IMPORT_ERRORS.tooMany };
  const seen = new Map<string, number>();
  // info.lines is the line a record ends on, except that csv-parse counts a CRLF inside quotes
  // as two lines (and so every line after it one too many): those are taken off again, and a
  // record with a quoted line break starts as many lines before its end.
  let extra = 0;
  const breaks = (record: string[], pattern: RegExp) => record.reduce((n, cell) => n + (cell.match(pattern)?.length ?? 0), 0);
  const rows = body.map(({ record, info }): ImportRow => {
    const quotedCrlf = breaks(record, /\r\n/g);
    const end = info.lines - extra - quotedCrlf;
    extra += quotedCrlf;
    const line = end - breaks(record, /\r\n|\r|\n/g);
    const cell = (index: number) => (record[index] ?? "").trim();
    const email = cell(columns.email).slice(0, 320);
    const name = cell(columns.name).replace(/\s+/g, " ");
    const roleText = cell(columns.role).slice(0, 100);
    const role = parseRole(roleText);
    let error: string | null = null;
    if (record.length !== header.length) error = IMPORT_ERRORS.columns(record.length);
    else if (!emailSchema.safeParse(email).success || /[\s\p{Cc}]/u.test(email)) error = IMPORT_ERRORS.email;
    else if (!role) error = IMPORT_ERRORS.role;
    else if (name.length > 200 || CONTROL.test(name)) error = IMPORT_ERRORS.name;
    if (!error) {
      const key = normalizeEmail(email);
      const earlier = seen.get(key);
      if (earlier !== undefined) error = IMPORT_ERRORS.repeated(earlier);
      else seen.set(key, line);
    }
    return { line, email: CONTROL.test(email) ? "" : email, name: CONTROL.test(name) ? "" : name.slice(0, 200), roleText: CONTROL.test(roleText) ? "" : roleText, role, error };
  });
  return { ok: true, rows };
}

/**
 * The checks that need the database and the importer: a staff address, an address that already
 * has an account, a role above the importer's own in this organization. Rows already refused
 * keep their first error.
 */
export async function checkImportRows(db: Db, config: Config, organization: ManagedOrganization, rows: ImportRow[]): Promise<ImportRow[]> {
  const grantable = grantableRoles(organization);
  const addresses = rows.filter((row) => !row.error).map((row) => normalizeEmail(row.email));
  const existing = new Set<string>();
  // One query per thousand addresses, not one per row.
  for (let i = 0; i < addresses.length; i += 1000) {
    const chunk = addresses.slice(i, i + 1000);
    const found = await db<{ email: string }[]>`select email_normalized as email from users where email_normalized in ${db(chunk)}`;
    for (const row of found) existing.add(row.email);
  }
  return rows.map((row) => {
    if (row.error) return row;
    if (isStaffEmail(config, row.email)) return { ...row, error: IMPORT_ERRORS.staffEmail };
    if (existing.has(normalizeEmail(row.email))) return { ...row, error: IMPORT_ERRORS.exists };
    if (!grantable.includes(row.role!)) return { ...row, error: IMPORT_ERRORS.roleTooHigh };
    return row;
  });
}

export interface StoredImport {
  id: string;
  actorId: string;
  organizationId: string;
  rows: ImportRow[];
  createdAt: Date;
}

/** Keeps a checked import for its preview; returns its id. */
export async function storeImport(db: Db, clock: Clock, input: { actorId: string; organizationId: string; rows: ImportRow[] }): Promise<string> {
  const now = clock.now();
  const [row] = await db<{ id: string }[]>`
    insert into user_imports (actor_id, organization_id, rows, created_at, expires_at)
    values (${input.actorId}, ${input.organizationId}, ${db.json(input.rows as never)}, ${now}, ${new Date(now.getTime() + IMPORT_KEEP_MS)})
    returning id`;
  return row!.id;
}

/** The importer's own waiting import (nobody else's, and not once expired). */
export async function findImport(db: Db, clock: Clock, actorId: string, id: string): Promise<StoredImport | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const [row] = await db<StoredImport[]>`
    select id, actor_id as "actorId", organization_id as "organizationId", rows, created_at as "createdAt"
    from user_imports where id = ${id} and actor_id = ${actorId} and expires_at > ${clock.now()}`;
  return row ?? null;
}

/** Takes the import away (Send and Cancel both): only one of two submits gets it. */
export async function takeImport(db: Db, clock: Clock, actorId: string, id: string): Promise<StoredImport | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const [row] = await db<StoredImport[]>`
    delete from user_imports where id = ${id} and actor_id = ${actorId} and expires_at > ${clock.now()}
    returning id, actor_id as "actorId", organization_id as "organizationId", rows, created_at as "createdAt"`;
  return row ?? null;
}

export interface SendReport {
  sent: number;
  /** Rows refused, at the preview or now (an address that got an account meanwhile), with their error. */
  refused: ImportRow[];
}

/**
 * One invitation per good row, each in the invitation's own transaction (the user, the
 * membership, the link and its email in the outbox). Rows are checked again first; each
 * invitation takes a token of the organization's hourly import limit, and rows beyond it are
 * refused with a message rather than queued unseen.
 */
export async function sendImportInvitations(
  deps: InvitationDeps,
  input: { actorId: string | null; ip: string | null; userAgent: string | null; organization: ManagedOrganization; rows: ImportRow[] },
): Promise<SendReport> {
  const rows = await checkImportRows(deps.sql, deps.config, input.organization, input.rows);
  const refused = rows.filter((row) => row.error);
  const good = rows.filter((row) => !row.error);
  let sent = 0;
  let next = 0;
  // A few at once: on a real Postgres each invitation waits for its commit to reach the disk,
  // and that wait, not the work, is what one-at-a-time would add up (470 took 7 s so, 2 s like this).
  async function worker(): Promise<void> {
    while (next < good.length) {
      const row = good[next++]!;
      const allowed = await consumeRateLimit(deps.sql, deps.clock, `invite:organization:${input.organization.id}`, IMPORT_INVITE_LIMIT);
      if (!allowed.ok) {
        refused.push({ ...row, error: IMPORT_ERRORS.limit });
        continue;
      }
      const invited = await inviteUser(deps, {
        email: row.email,
        name: row.name,
        role: "provider",
        membership: { organizationId: input.organization.id, role: row.role! },
        actorId: input.actorId,
        ip: input.ip,
        userAgent: input.userAgent,
      });
      if (invited.ok && invited.created) sent += 1;
      else refused.push({ ...row, error: invited.ok || invited.reason === "duplicate" ? IMPORT_ERRORS.exists : IMPORT_ERRORS.email });
    }
  }
  await Promise.all(Array.from({ length: SEND_CONCURRENCY }, worker));
  refused.sort((a, b) => a.line - b.line);
  return { sent, refused };
}

