/**
 * src/db/migrate.ts on a database made by an older release, which recorded migration files under
 * the names they had then (0002_delivery.sql, 0003_housekeeping.sql): nothing is applied twice,
 * and the new names are recorded in their place.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import postgres from "postgres";
import { openDatabase } from "../../src/db/client.ts";
import { migrate, RENAMED_MIGRATIONS } from "../../src/db/migrate.ts";
import type { Sql } from "../../src/db/client.ts";

const migrations = join(resolve(import.meta.dirname, "../.."), "migrations");

/** A database of its own (a new one on the test server, or a second embedded one), so "old" holds whatever the other tests did. */
async function freshDatabase(): Promise<{ sql: Sql; close: () => Promise<void> }> {
  if (process.env.TEST_DATABASE_URL) {
    const admin = postgres(process.env.TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
    const name = `mfa_renames_${process.pid}_${Date.now()}`;
    await admin.unsafe(`create database ${name}`);
    const target = new URL(process.env.TEST_DATABASE_URL);
    target.pathname = `/${name}`;
    const sql = postgres(target.toString(), { max: 2, onnotice: () => {} }) as unknown as Sql;
    return {
      sql,
      close: async () => {
        await sql.end({ timeout: 5 });
        await admin.unsafe(`drop database if exists ${name} with (force)`);
        await admin.end();
      },
    };
  }
  const embedded = await openDatabase({ memory: true });
  return { sql: embedded.sql, close: () => embedded.close() };
}

/**
 * What an older release left: each file applied in the order it ran then, recorded under the
 * name it had then. The SQL is today's file of that migration (a rename does not change it).
 */
async function applyAsOldRelease(sql: Sql, oldNames: string[]) {
  const today = (name: string) => RENAMED_MIGRATIONS[name] ?? name;
  await sql`create table schema_migrations (name text primary key, applied_at timestamptz not null default now())`;
  for (const name of oldNames) {
    await sql.unsafe(readFileSync(join(migrations, today(name)), "utf8"));
    await sql`insert into schema_migrations (name) values (${name})`;
  }
}

async function recorded(sql: Sql): Promise<string[]> {
  return (await sql<{ name: string }[]>`select name from schema_migrations order by name`).map((row) => row.name);
}

test("the renamed files keep the order they were applied in: initial, admin, delivery, housekeeping", () => {
  assert.equal(RENAMED_MIGRATIONS, { "0002_delivery.sql": "0003_delivery.sql", "0003_housekeeping.sql": "0004_housekeeping.sql" });
  const old = ["0001_initial.sql", "0002_admin.sql", "0002_delivery.sql", "0003_housekeeping.sql"].sort();
  const renamed = old.map((name) => RENAMED_MIGRATIONS[name] ?? name);
  assert.equal(renamed, [...renamed].sort(), "sorting by the new names runs them in the old order");
});

test("a database that applied both 0002 files and 0003_housekeeping: nothing is re-applied, the new names are recorded", async () => {
  const db = await freshDatabase();
  try {
    await applyAsOldRelease(db.sql, ["0001_initial.sql", "0002_admin.sql", "0002_delivery.sql", "0003_housekeeping.sql"]);
    // Re-running 0003_delivery or 0004_housekeeping would fail here ("relation … already exists").
    const applied = await migrate(db.sql);
    assert.equal(applied.filter((name) => name < "0005"), [], "none of the four is applied again");
    const names = await recorded(db.sql);
    assert.ok(names.includes("0003_delivery.sql") && names.includes("0004_housekeeping.sql"), names.join(", "));
    assert.not.ok(names.includes("0002_delivery.sql") || names.includes("0003_housekeeping.sql"), "the old names are gone");
    const [index] = await db.sql<{ count: number }[]>`
      select count(*)::int as count from pg_indexes where indexname in ('outbox_stale_sending_idx', 'outbox_code_idx')`;
    assert.is(index!.count, 2);
    assert.equal(await migrate(db.sql), [], "a later start finds nothing to do");
  } finally {
    await db.close();
  }
});

test("a database from before housekeeping existed: only housekeeping (now 0004) is applied", async () => {
  const db = await freshDatabase();
  try {
    await applyAsOldRelease(db.sql, ["0001_initial.sql", "0002_admin.sql", "0002_delivery.sql"]);
    const applied = await migrate(db.sql);
    assert.equal(applied.filter((name) => name < "0005"), ["0004_housekeeping.sql"]);
    const names = await recorded(db.sql);
    assert.ok(names.includes("0003_delivery.sql"), names.join(", "));
    assert.not.ok(names.includes("0002_delivery.sql"));
  } finally {
    await db.close();
  }
});

test.run();
