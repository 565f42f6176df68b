import postgres from "postgres";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createConnection } from "node:net";
import { DB_APPLICATION_NAME } from "../metrics.ts";

export type Sql = postgres.Sql<{}>;
/** A query target: the pool or a transaction. Query functions take it first so they work in both. */
export type Db = Sql | postgres.TransactionSql<{}>;

export interface Database {
  sql: Sql;
  kind: "embedded" | "server";
  /** Which database this is, in words for a person (no password): what `npm run invite` reports it used. */
  description: string;
  close(): Promise<void>;
}

/** A postgres:// URL without its credentials: host, port and database. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `Postgres at ${u.hostname}:${u.port || "5432"}${u.pathname || "/"}`;
  } catch {
    return "Postgres at DATABASE_URL";
  }
}

// application_name: the metrics find this pool's connections in pg_stat_activity by it.
const POOL = { max: 10, idle_timeout: 30, connect_timeout: 5, onnotice: () => {}, connection: { application_name: DB_APPLICATION_NAME } } as const;

/**
 * DATABASE_URL set: a real Postgres. Unset: PGlite under `dataDir` (or in memory for tests),
 * served to postgres.js over a loopback socket so the SQL and driver are the same either way.
 * A process that finds the embedded server of a running app (DATA_DIR/embedded.json) connects
 * to it instead of opening the data directory a second time, which PGlite does not allow.
 */
export async function openDatabase(options: { url?: string; dataDir?: string; memory?: boolean }): Promise<Database> {
  if (options.url) {
    const sql = postgres(options.url, POOL);
    return { sql, kind: "server", description: describeUrl(options.url), close: () => sql.end({ timeout: 5 }) };
  }
  if (options.memory || !options.dataDir) return openEmbedded(undefined);
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    const running = await findRunningEmbedded(dataDir);
    if (running) {
      // Unnamed statements: this short-lived client's prepared ones would outlive it in the app's PGlite session.
      const sql = postgres({ host: "127.0.0.1", port: running.port, database: "postgres", username: "postgres", ...POOL, max: 2, prepare: false });
      return { sql, kind: "embedded", description: `embedded database in ${dataDir} (through the server running on it, port ${running.port})`, close: () => sql.end({ timeout: 5 }) };
    }
    // Only one process may open the directory: a second PGlite on it would corrupt it.
    if (takeLock(dataDir)) {
      openHere.add(dataDir);
      try {
        const db = await openEmbedded(dataDir);
        return { ...db, description: `embedded database in ${dataDir} (opened here: no server was running on it)`, close: () => db.close().finally(() => openHere.delete(dataDir)) };
      } catch (error) {
        openHere.delete(dataDir);
        rmSync(join(dataDir, LOCK_FILE), { force: true });
        throw error;
      }
    }
    // Another process is opening it right now; its server appears in a moment.
    if (Date.now() > deadline) {
      throw new Error(`${join(dataDir, LOCK_FILE)} is held by a running process that serves no database; stop it (or delete the file if no such process exists)`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const LOCK_FILE = "embedded.lock";
const openHere = new Set<string>();
const LOCK_WAIT_MS = 60_000;

/** Creates DATA_DIR/embedded.lock holding our pid; a lock whose process is gone is taken over. */
function takeLock(dataDir: string): boolean {
  const file = join(dataDir, LOCK_FILE);
  try {
    writeFileSync(file, String(process.pid), { flag: "wx" });
    return true;
  } catch (error) {
    if ((error as { code?: string }).code !== "EEXIST") throw error;
  }
  if (openHere.has(dataDir)) throw new Error(`${dataDir} is already open in this process`);
  const holder = Number(readFileSync(file, "utf8").trim());
  // Our own pid in the file, yet not open here: left from an earlier life (containers reuse pids).
  if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && processExists(holder)) return false;
  rmSync(file, { force: true });
  try {
    writeFileSync(file, String(process.pid), { flag: "wx" });
    return true;
  } catch {
    return false; // another process took it over first
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM";
  }
}

async function openEmbedded(dataDir: string | undefined): Promise<Database> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { serveEmbedded } = await import("./embedded.ts");
  let pgDir: string | undefined;
  if (dataDir) {
    pgDir = join(dataDir, "pglite");
    mkdirSync(pgDir, { recursive: true });
  }
  const db = await PGlite.create(pgDir ? { dataDir: pgDir } : {});
  const server = await serveEmbedded(db);
  const port = server.port;
  const marker = dataDir ? join(dataDir, "embedded.json") : undefined;
  const lock = dataDir ? join(dataDir, LOCK_FILE) : undefined;
  if (marker) writeFileSync(marker, JSON.stringify({ pid: process.pid, port }));
  // PGlite runs one statement at a time; a few connections let a transaction wait behind another.
  // They are never closed for idleness or age: all share PGlite's one backend session, which keeps
  // a closed connection's prepared statements (about 20 KB each) for good, so every reconnect
  // would re-prepare the app's queries into it and grow the process.
  const sql = postgres({ host: "127.0.0.1", port, database: "postgres", username: "postgres", ...POOL, max: 4, idle_timeout: 0, max_lifetime: null });
  return {
    sql,
    kind: "embedded",
    description: dataDir ? `embedded database in ${dataDir}` : "embedded database in memory",
    async close() {
      await sql.end({ timeout: 5 });
      await server.stop();
      await db.close();
      if (marker && existsSync(marker)) rmSync(marker, { force: true });
      if (lock) rmSync(lock, { force: true });
    },
  };
}

async function findRunningEmbedded(dataDir: string): Promise<{ port: number } | null> {
  const marker = join(dataDir, "embedded.json");
  if (!existsSync(marker)) return null;
  try {
    const { pid, port } = JSON.parse(readFileSync(marker, "utf8")) as { pid: number; port: number };
    if (pid === process.pid || !processExists(pid)) return null;
    await new Promise<void>((resolve, reject) => {
      const socket = createConnection({ host: "127.0.0.1", port }, () => {
        socket.end();
        resolve();
      });
      socket.on("error", reject);
    });
    return { port };
  } catch {
    return null; // stale marker from a process that is gone
  }
}

/** postgres.js and socket errors that mean "the database is unreachable", as opposed to a bug. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!error || typeof error !== "object") return false;
  const code = (error as { code?: unknown }).code;
  return (
    typeof code === "string" &&
    (["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "CONNECT_TIMEOUT", "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED"].includes(code) ||
      code.startsWith("57P") || // admin shutdown, crash shutdown, cannot connect now
      code.startsWith("08")) // connection exceptions
  );
}
