/**
 * npm run invite -- --email ADDRESS [--name NAME] [--admin]
 *     [--organization NAME --role group-admin|provider-admin|provider-staff]
 * npm run invite -- --csv FILE --organization NAME [--dry-run]
 *
 * Creates a user (or re-invites one who has not finished registering), emails the registration
 * link through the outbox and prints the link as the LAST line of its output. With
 * --organization and --role the user joins that organization with that role. Works with a real
 * Postgres (DATABASE_URL) and with the embedded one, whether or not the server is running: with
 * the server up it connects to the server's embedded database, otherwise it opens DATA_DIR itself.
 * Exit status 1 with a one-line reason for a bad or already registered address.
 *
 * --csv: Import users from the command line. Every row's result is printed (line, address, and
 * the error of a row that will not be sent), then the good rows are invited (none with
 * --dry-run, the command line's preview). The last line is the count:
 * "Sent N invitations; M rows not sent." Exit status 1 when the file cannot be read at all.
 * Links are not printed for an import: they go only to the people invited.
 */
import { readFileSync } from "node:fs";
import { fail, loadConfigOrFail, readArguments } from "./args.ts";
import { openDatabase } from "../db/client.ts";
import { migrate } from "../db/migrate.ts";
import { systemClock } from "../clock.ts";
import { createLogger } from "../log.ts";
import { createOutbox } from "../delivery/outbox.ts";
import { describeDuration } from "../delivery/messages.ts";
import { INVITE_REFUSALS, inviteUser } from "../flows/invitation.ts";
import { findOrganizationByName } from "../orgs/organizations.ts";
import { ROLE_ARGUMENTS } from "../orgs/memberships.ts";
import { findManagedOrganization, PORTAL_SCOPE } from "../orgs/scope.ts";
import { checkImportRows, parseUserCsv, sendImportInvitations } from "../orgs/user-import.ts";

const USAGE = [
  "Usage: npm run invite -- --email ADDRESS [--name NAME] [--admin]",
  "         [--organization NAME --role group-admin|provider-admin|provider-staff]",
  "       npm run invite -- --csv FILE --organization NAME [--dry-run]",
].join("\n");

async function main() {
  const { values } = readArguments(USAGE, {
    email: { type: "string" },
    name: { type: "string" },
    admin: { type: "boolean", default: false },
    organization: { type: "string" },
    role: { type: "string" },
    csv: { type: "string" },
    "dry-run": { type: "boolean", default: false },
  });
  if (values.csv !== undefined) {
    if (values.email || values.name || values.admin || values.role) fail(`--csv takes only --organization (the roles are in the file).\n${USAGE}`);
    if (!values.organization) fail(`--csv needs --organization.\n${USAGE}`);
  } else {
    if (!values.email) fail(`--email is required.\n${USAGE}`);
    if ((values.organization === undefined) !== (values.role === undefined)) fail(`--organization and --role go together.\n${USAGE}`);
    if (values.role !== undefined && !ROLE_ARGUMENTS[values.role]) fail(`--role is one of group-admin, provider-admin, provider-staff.\n${USAGE}`);
    if (values.admin && values.organization) fail(`--admin makes a portal Administrator, who belongs to no organization.\n${USAGE}`);
  }

  const config = loadConfigOrFail();

  let file: Buffer | null = null;
  if (values.csv !== undefined) {
    try {
      file = readFileSync(values.csv);
    } catch (error) {
      fail(`Cannot read ${values.csv}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
    }
  }

  const db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  const outbox = createOutbox({ sql: db.sql, clock: systemClock, config, log: createLogger((line) => console.error(line)), poll: false });
  const deps = { sql: db.sql, clock: systemClock, config, outbox };
  let exitCode = 0;
  try {
    await migrate(db.sql);
    const named = values.organization !== undefined ? await findOrganizationByName(db.sql, values.organization) : null;
    if (values.organization !== undefined && !named) {
      console.error(`There is no organization named ${values.organization}. Add it first: npm run organization -- add --name NAME`);
      exitCode = 1;
      return;
    }
    // The operator at the command line is the portal: every role, in any organization.
    const organization = named ? await findManagedOrganization(db.sql, PORTAL_SCOPE, named.id) : null;

    if (file) {
      const parsed = parseUserCsv(file);
      if (!parsed.ok) {
        console.error(`Cannot import ${values.csv}: ${parsed.error}`);
        exitCode = 1;
        return;
      }
      const rows = await checkImportRows(db.sql, config, organization!, parsed.rows);
      for (const row of rows) console.log(`line ${row.line}: ${row.email || "(no address)"}: ${row.error ?? "will be invited"}`);
      if (values["dry-run"]) {
        console.log(`Dry run: ${rows.filter((row) => !row.error).length} invitations would be sent; ${rows.filter((row) => row.error).length} rows have errors.`);
        return;
      }
      const report = await sendImportInvitations(deps, { actorId: null, ip: null, userAgent: "npm run invite", organization: organization!, rows });
      await outbox.drain();
      for (const row of report.refused.filter((row) => !rows.find((r) => r.line === row.line)?.error)) {
        console.log(`line ${row.line}: ${row.email}: ${row.error}`);
      }
      console.log(`Sent ${report.sent} invitations; ${report.refused.length} rows not sent.`);
      return;
    }

    const membership = organization && values.role ? { organizationId: organization.id, role: ROLE_ARGUMENTS[values.role]! } : undefined;
    const result = await inviteUser(deps, {
      email: values.email!,
      name: values.name,
      role: values.admin ? "admin" : "provider",
      membership,
      actorId: null,
      ip: null,
      userAgent: "npm run invite",
    });
    if (!result.ok) {
      console.error(`Cannot invite ${values.email}: ${INVITE_REFUSALS[result.reason]}`);
      exitCode = 1;
    } else {
      // The message goes out (or is printed, with the dev outbox) before the link line, so the link stays last.
      await outbox.drain();
      const where = organization ? ` (${values.role} of ${organization.name})` : result.user.role === "admin" ? " (administrator)" : "";
      // Which database took the invitation: one started without the server's DATA_DIR opens another silently.
      console.log(`Database: ${db.description}.`);
      console.log(
        `${result.created ? "Invited" : "Sent a new registration link to"} ${result.user.email}${where}. ` +
          `The link expires in ${describeDuration(config.ttl.registrationLink)}:`,
      );
      console.log(result.link);
    }
  } finally {
    await outbox.stop();
    await db.close();
    process.exit(exitCode);
  }
}

await main();
