/**
 * npm run organization -- add --name NAME [--parent GROUP_NAME]
 *
 * Adds a provider organization: at the top level (a provider standing alone, or a provider
 * group once providers are added to it), or with --parent as a provider of that group. Works
 * with a real Postgres (DATABASE_URL) and with the embedded one, like npm run invite. The last
 * line of its output is the result as one JSON object: {"id":"…","name":"…","parent":"…"|null}.
 * Exit status 1 with a one-line reason for a bad name, a name in use or an unknown group.
 */
import { fail, loadConfigOrFail, readArguments } from "./args.ts";
import { openDatabase } from "../db/client.ts";
import { migrate } from "../db/migrate.ts";
import { systemClock } from "../clock.ts";
import { createOrganization, findOrganizationByName, ORGANIZATION_REFUSALS } from "../orgs/organizations.ts";

const USAGE = "Usage: npm run organization -- add --name NAME [--parent GROUP_NAME]";

async function main() {
  const { values, positionals } = readArguments(USAGE, { name: { type: "string" }, parent: { type: "string" } }, { positionals: true });
  if (positionals.length !== 1 || positionals[0] !== "add") fail(`Say what to do: add.\n${USAGE}`);
  if (!values.name) fail(`--name is required.\n${USAGE}`);

  const config = loadConfigOrFail();

  const db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  let exitCode = 0;
  try {
    await migrate(db.sql);
    let parentId: string | null = null;
    if (values.parent !== undefined) {
      const parent = await findOrganizationByName(db.sql, values.parent);
      if (!parent) {
        console.error(`Cannot add ${values.name}: ${ORGANIZATION_REFUSALS.parent_not_found}`);
        return void (exitCode = 1);
      }
      parentId = parent.id;
    }
    const result = await db.sql.begin((tx) => createOrganization(tx, systemClock, { name: values.name!, parentId }));
    if (!result.ok) {
      console.error(`Cannot add ${values.name}: ${ORGANIZATION_REFUSALS[result.reason]}`);
      exitCode = 1;
    } else {
      const org = result.organization;
      console.log(values.parent ? `Added ${org.name}, a provider of ${values.parent}.` : `Added ${org.name}.`);
      console.log(JSON.stringify({ id: org.id, name: org.name, parent: values.parent ? (await findOrganizationByName(db.sql, values.parent))!.name : null }));
    }
  } finally {
    await db.close();
    process.exit(exitCode);
  }
}

await main();
