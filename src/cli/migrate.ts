/** `npm run migrate`: applies pending migrations and exits (start does the same before serving). */
import { loadConfigOrFail } from "./args.ts";
import { openDatabase } from "../db/client.ts";
import { migrate } from "../db/migrate.ts";

const config = loadConfigOrFail();

// With the app running on the embedded database, this connects to its server instead of opening the directory.
const db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
try {
  const applied = await migrate(db.sql);
  const target = db.kind === "embedded" ? `the embedded database in ${config.dataDir}` : "the database at DATABASE_URL";
  if (applied.length) console.log(`Applied ${applied.length} migration(s) to ${target}:\n${applied.map((name) => `  ${name}`).join("\n")}`);
  else console.log(`No pending migrations: ${target} is up to date.`);
} finally {
  await db.close();
}
