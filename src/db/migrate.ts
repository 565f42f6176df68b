import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { projectPath } from "../paths.ts";
import type { Sql } from "./client.ts";

const MIGRATIONS_DIR = projectPath("migrations");
// Any fixed number; every instance takes the same lock, so two starting together apply each migration once.
const MIGRATION_LOCK = 4_271_993;

/**
 * Files renamed after databases had applied them under the old name: old name → new name. Two
 * files once shared the number 0002; they and the one after moved up a number, keeping the order
 * they were always applied in (0001_initial, 0002_admin, then delivery, then housekeeping). A
 * database that recorded an old name gets the new one recorded instead of applying the file twice.
 * Entries stay for good: a database may wake up from any old release.
 */
export const RENAMED_MIGRATIONS: Readonly<Record<string, string>> = {
  "0002_delivery.sql": "0003_delivery.sql",
  "0003_housekeeping.sql": "0004_housekeeping.sql",
};

/** Applies pending migrations in order, each in the one transaction that holds the advisory lock. Returns their names. */
export async function migrate(sql: Sql): Promise<string[]> {
  const files = readdirSync(MIGRATIONS_DIR)
    .filter((name) => /^\d{4}_[\w-]+\.sql$/.test(name))
    .sort();
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx`create table if not exists schema_migrations (name text primary key, applied_at timestamptz not null default now())`;
    for (const [oldName, newName] of Object.entries(RENAMED_MIGRATIONS)) {
      await tx`update schema_migrations set name = ${newName} where name = ${oldName}`;
    }
    const done = new Set((await tx<{ name: string }[]>`select name from schema_migrations`).map((row) => row.name));
    const applied: string[] = [];
    for (const name of files) {
      if (done.has(name)) continue;
      // File contents come from the repository, never from input.
      await tx.unsafe(readFileSync(join(MIGRATIONS_DIR, name), "utf8"));
      await tx`insert into schema_migrations (name) values (${name})`;
      applied.push(name);
    }
    return applied;
  });
}
