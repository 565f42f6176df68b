/**
 * npm run invite -- --email ADDRESS [--name NAME] [--admin]
 *
 * Creates a user (or re-invites one who has not finished registering), emails the registration
 * link through the outbox and prints the link as the LAST line of its output. Works with a real
 * Postgres (DATABASE_URL) and with the embedded one, whether or not the server is running: with
 * the server up it connects to the server's embedded database, otherwise it opens DATA_DIR itself.
 * Exit status 1 with a one-line reason for a bad or already registered address.
 */
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../config.ts";
import { openDatabase } from "../db/client.ts";
import { migrate } from "../db/migrate.ts";
import { systemClock } from "../clock.ts";
import { createLogger } from "../log.ts";
import { createOutbox } from "../delivery/outbox.ts";
import { describeDuration } from "../delivery/messages.ts";
import { INVITE_REFUSALS, inviteUser } from "../flows/invitation.ts";

const USAGE = "Usage: npm run invite -- --email ADDRESS [--name NAME] [--admin]";

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

async function main() {
  let values: { email?: string; name?: string; admin?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: {
        email: { type: "string" },
        name: { type: "string" },
        admin: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.email) fail(`--email is required.\n${USAGE}`);

  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message.split("\n").map((line) => `Configuration error: ${line}`).join("\n"));
    throw error;
  }

  const db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  const outbox = createOutbox({ sql: db.sql, clock: systemClock, config, log: createLogger((line) => console.error(line)), poll: false });
  let exitCode = 0;
  try {
    await migrate(db.sql);
    const result = await inviteUser(
      { sql: db.sql, clock: systemClock, config, outbox },
      { email: values.email, name: values.name, role: values.admin ? "admin" : "provider", actorId: null, ip: null, userAgent: "npm run invite" },
    );
    if (!result.ok) {
      console.error(`Cannot invite ${values.email}: ${INVITE_REFUSALS[result.reason]}`);
      exitCode = 1;
    } else {
      // The message goes out (or is printed, with the dev outbox) before the link line, so the link stays last.
      await outbox.drain();
      // Which database took the invitation: one started without the server's DATA_DIR opens another silently.
      console.log(`Database: ${db.description}.`);
      console.log(
        `${result.created ? "Invited" : "Sent a new registration link to"} ${result.user.email}` +
          `${result.user.role === "admin" ? " (administrator)" : ""}. The link expires in ${describeDuration(config.ttl.registrationLink)}:`,
      );
      console.log(result.link);
    }
  } finally {
    await outbox.stop();
    await db.close();
  }
  process.exit(exitCode);
}

await main();
