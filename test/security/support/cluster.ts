/**
 * A private PostgreSQL cluster for the security and reliability tests: initdb and pg_ctl from
 * the machine's PostgreSQL 15 binaries, in a temporary directory, on a free loopback port. It
 * never touches the machine's shared server, and it can be stopped and started again under
 * load (the outage tests). Run as the postgres user when the tests run as root (initdb refuses
 * root). Removed when the test process exits.
 */
import { execFile, execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import { freePort } from "./net.ts";

const run = promisify(execFile);
const BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

export interface Cluster {
  port: number;
  dir: string;
  /** postgres:// URL of a database of this cluster. */
  url(database: string): string;
  /** A new empty database; returns its URL. */
  createDatabase(prefix?: string): Promise<string>;
  /** pg_ctl stop (fast: every connection is cut at once, like a crashed or restarted server). */
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  /** Stops the server and removes the directory. */
  destroy(): Promise<void>;
}

function asPostgres(command: string, args: string[]): [string, string[]] {
  if (process.getuid?.() === 0) return ["runuser", ["-u", "postgres", "--", command, ...args]];
  return [command, args];
}

function ownedByPostgres(dir: string): void {
  if (process.getuid?.() !== 0) return;
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
  chownSync(dir, uid, gid);
}

let counter = 0;

export async function startCluster(): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), "mfa-portal-pg-"));
  ownedByPostgres(dir);
  const data = join(dir, "data");
  const log = join(dir, "server.log");
  const port = await freePort();
  const [initdb, initArgs] = asPostgres(join(BIN, "initdb"), ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"]);
  await run(initdb, initArgs, { cwd: dir });

  const options = [
    `-p ${port}`,
    "-c listen_addresses=127.0.0.1",
    `-c unix_socket_directories=${dir}`,
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
    "-c max_connections=300",
    "-c shared_buffers=64MB",
  ].join(" ");
  const pgCtl = async (args: string[]) => {
    const [command, all] = asPostgres(join(BIN, "pg_ctl"), args);
    await run(command, all, { cwd: dir });
  };
  const startServer = () => pgCtl(["-D", data, "-l", log, "-w", "-t", "60", "-o", options, "start"]);
  const stopServer = () => pgCtl(["-D", data, "-m", "fast", "-w", "-t", "60", "stop"]);
  await startServer();

  const url = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  let destroyed = false;
  const cleanup = () => {
    if (destroyed) return;
    destroyed = true;
    try {
      const [command, all] = asPostgres(join(BIN, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]);
      if (existsSync(join(data, "postmaster.pid"))) execFileSync(command, all, { cwd: dir, stdio: "ignore" });
    } catch {
      // already stopped
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", cleanup);

  return {
    port,
    dir,
    url,
    async createDatabase(prefix = "sec") {
      counter += 1;
      const name = `${prefix}_${process.pid}_${counter}`;
      const admin = postgres(url("postgres"), { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`create database ${name}`);
      } finally {
        await admin.end({ timeout: 5 });
      }
      return url(name);
    },
    stopServer,
    startServer,
    async destroy() {
      cleanup();
    },
  };
}

let shared: Promise<Cluster> | null = null;
/** One cluster for every file of the run that needs a real server (stopped when the process exits). */
export function sharedCluster(): Promise<Cluster> {
  shared ??= startCluster();
  return shared;
}
