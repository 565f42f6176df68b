/** The bench's own databases: made fresh for a run, seeded with active users, dropped after. */
import postgres from "postgres";
import type { Sql } from "../../src/db/client.ts";
import { cpuSeconds } from "./procs.ts";

export const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres";

export interface BenchDatabase {
  url: string;
  name: string;
  sql: Sql;
  drop(): Promise<void>;
}

/** The bench's own connections, by which the CPU of a server's Postgres backends leaves them out. */
export const BENCH_APPLICATION_NAME = "mfa-portal-bench";

/** A new database on the server of `adminUrl` (named for this run), and a small pool to it. */
export async function createBenchDatabase(adminUrl: string, label: string): Promise<BenchDatabase> {
  const name = `mfa_bench_${label}_${process.pid}_${Date.now().toString(36)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`); // name is ours: [a-z0-9_] only
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const sql = postgres(url.toString(), { max: 4, onnotice: () => {}, connection: { application_name: BENCH_APPLICATION_NAME } });
  return {
    url: url.toString(),
    name,
    sql,
    async drop() {
      await sql.end({ timeout: 5 });
      const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await admin.end({ timeout: 5 });
      }
    },
  };
}

/**
 * CPU seconds of the Postgres backends serving `database` for its server: the bench's own
 * connections (its reads of the emailed code, its stand-in for a person reading the email,
 * like better-auth's in-memory OTP) are left out.
 */
export async function serverBackendCpuSeconds(database: BenchDatabase): Promise<number> {
  const rows = await database.sql<{ pid: number }[]>`
    select pid from pg_stat_activity where datname = ${database.name} and application_name <> ${BENCH_APPLICATION_NAME}`;
  return rows.reduce((sum, row) => sum + cpuSeconds(row.pid), 0);
}

export interface BenchUser {
  email: string;
  password: string;
}

export const BENCH_PASSWORD = "amber-kettle-orbit-7-violin";

/**
 * `count` active, email-method users who accepted the current terms, all with one argon2id hash
 * of BENCH_PASSWORD made by the app's hashPassword (a shared hash verifies at the same cost as a
 * unique one). Inserted in batches; the app's migrations must have run.
 */
export async function seedUsers(sql: Sql, count: number): Promise<BenchUser[]> {
  const { hashPassword } = await import("../../src/auth/passwords.ts");
  let termsVersion: string | null = null;
  try {
    termsVersion = (await import("../../src/terms.ts")).TERMS_VERSION;
  } catch {
    /* no terms yet: sign-in then has nothing to ask */
  }
  const hash = await hashPassword(BENCH_PASSWORD);
  const users: BenchUser[] = [];
  const now = new Date();
  for (let start = 0; start < count; start += 500) {
    const rows = [];
    for (let i = start; i < Math.min(count, start + 500); i++) {
      const email = `bench-user-${i}@bench.example.org`;
      users.push({ email, password: BENCH_PASSWORD });
      rows.push({
        email,
        email_normalized: email,
        name: `Bench User ${i}`,
        role: "provider",
        status: "active",
        mfa_method: "email",
        password_hash: hash,
        terms_version: termsVersion,
        terms_accepted_at: termsVersion ? now : null,
      });
    }
    await sql`insert into users ${sql(rows)}`;
  }
  return users;
}

/**
 * The 6-digit code of the newest email to `address` (the dev outbox keeps its text). The outbox
 * has no index on the recipient (nothing in the app looks messages up by it but the dev outbox),
 * and over a run it grows to thousands of rows: the bench looks among the newest 200 first (the
 * primary key's range), which is where a code just sent is, so its own reads do not charge the
 * portal's database with a scan of the whole table per sign-in.
 */
export async function latestEmailCode(sql: Sql, address: string): Promise<string | null> {
  let rows = await sql<{ body: string | null; subject: string | null }[]>`
    select body, subject from outbox
    where id > (select coalesce(max(id), 0) - 200 from outbox) and recipient = ${address} and channel = 'email'
    order by id desc limit 1`;
  if (!rows.length) {
    rows = await sql`select body, subject from outbox where recipient = ${address} and channel = 'email' order by id desc limit 1`;
  }
  const text = `${rows[0]?.subject ?? ""}\n${rows[0]?.body ?? ""}`;
  return /\b(\d{6})\b/.exec(text)?.[1] ?? null;
}
