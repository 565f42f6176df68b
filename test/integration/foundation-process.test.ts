/**
 * The app as a process: what `npm start` runs (node dist/main.js, compiled from src/main.ts), on the embedded
 * database under a temporary DATA_DIR: a bad setting stops it with one line, it answers
 * /healthz, stops on SIGTERM with exit 0 and keeps its data across a restart. And two
 * instances migrating one fresh database at once apply each migration once.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, existsSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import postgres from "postgres";
import { openDatabase } from "../../src/db/client.ts";
import { migrate } from "../../src/db/migrate.ts";
import { compiledArgs } from "../support/compiled.ts";

const root = resolve(import.meta.dirname, "../..");
const migrationFiles = readdirSync(join(root, "migrations")).filter((name) => /^\d{4}_[\w-]+\.sql$/.test(name)).sort();
const dataDirs: string[] = [];

test.after(() => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `script` the way the npm scripts do, on the embedded database whatever this run uses. */
function run(script: string, env: Record<string, string>): Running {
  const childEnv: Record<string, string | undefined> = { ...process.env, LOG_REQUESTS: "0", ...env };
  // CI runs the suite with DATABASE_URL set; the process under test must use its own embedded database.
  delete childEnv.DATABASE_URL;
  delete childEnv.TEST_DATABASE_URL;
  delete childEnv.NODE_ENV;
  let output = "";
  const child = spawn(process.execPath, compiledArgs(script), { cwd: root, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on("exit", (code, signal) => done({ code, signal })),
  );
  return { child, output: () => output, exited };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "mfa-portal-process-"));
  dataDirs.push(dir);
  return dir;
}

/** Polls /healthz until 200; returns the milliseconds it took. */
async function waitForHealth(app: Running, port: number, limitMs: number): Promise<number> {
  const started = performance.now();
  let exitedEarly = false;
  void app.exited.then(() => (exitedEarly = true));
  while (performance.now() - started < limitMs) {
    if (exitedEarly) throw new Error(`the app exited before answering:\n${app.output()}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (response.status === 200 && (await response.text()) === "ok") return performance.now() - started;
    } catch {
      // not listening yet
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`no 200 from /healthz within ${limitMs} ms:\n${app.output()}`);
}

/** A client of the running app's embedded database, found the way `npm run invite` finds it. */
function connectToRunning(dataDir: string) {
  const { port } = JSON.parse(readFileSync(join(dataDir, "embedded.json"), "utf8")) as { port: number };
  return postgres({ host: "127.0.0.1", port, database: "postgres", username: "postgres", max: 1, onnotice: () => {} });
}

test("a bad setting (SMS_CODE_TTL=ten) stops the start with one line naming it and a non-zero exit", async () => {
  const dataDir = tempDataDir();
  const app = run("src/main.ts", { SMS_CODE_TTL: "ten", DATA_DIR: dataDir, PORT: String(await freePort()) });
  const { code } = await app.exited;
  assert.is.not(code, 0);
  const lines = app.output().trim().split("\n");
  assert.is(lines.length, 1, app.output());
  assert.match(lines[0]!, /SMS_CODE_TTL/);
  assert.not.ok(existsSync(join(dataDir, "pglite")), "no database was opened");
});

test("npm start's command serves /healthz within 20 s on the embedded database, stops with 0 on SIGTERM, and keeps its data", async () => {
  const dataDir = tempDataDir();
  const port = await freePort();
  const env = { DATA_DIR: dataDir, PORT: String(port) };
  const email = `kept.${process.pid}.${Date.now()}@clinic.example`;

  const first = run("src/main.ts", env);
  try {
    const ms = await waitForHealth(first, port, 20_000);
    console.log(`\n    first start (fresh DATA_DIR): /healthz answered after ${Math.round(ms)} ms`);
    assert.match(first.output(), new RegExp(`listening on port ${port}: open http://localhost:${port}`));
    // Every npm script runs on the Node that npm ci installed (the npm package node@24).
    assert.match(first.output(), /; Node v24\.\d+\.\d+; ready in \d+ ms\)/, "the start line names Node 24");
    assert.is(process.version.split(".")[0], "v24", "the test runner itself runs on Node 24 under npm test");
    assert.match(first.output(), /npm run invite -- --email \S+ .*--admin/, "the command that creates the first administrator");
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.is(ready.status, 200);

    // Data written through the running process's database server…
    const client = connectToRunning(dataDir);
    await client`insert into users (email, email_normalized, name, role, status) values (${email}, ${email}, 'Kept Admin', 'admin', 'active')`;
    await client.end({ timeout: 5 });

    // …and `npm run migrate` while the app runs: it uses the app's server instead of opening the directory twice.
    const migrating = run("src/cli/migrate.ts", env);
    assert.is((await migrating.exited).code, 0, migrating.output());
    assert.match(migrating.output(), /No pending migrations/);
  } finally {
    first.child.kill("SIGTERM");
  }
  const stopped = await first.exited;
  assert.equal(stopped, { code: 0, signal: null }, first.output());
  assert.match(first.output(), /"event":"stopping","signal":"SIGTERM"/);
  assert.not.ok(existsSync(join(dataDir, "embedded.json")), "the marker goes with a clean close");

  const second = run("src/main.ts", env);
  try {
    const ms = await waitForHealth(second, port, 20_000);
    console.log(`    second start (existing DATA_DIR): /healthz answered after ${Math.round(ms)} ms`);
    const client = connectToRunning(dataDir);
    const rows = await client<{ name: string }[]>`select name from users where email_normalized = ${email}`;
    await client.end({ timeout: 5 });
    assert.equal(rows.map((row) => row.name), ["Kept Admin"]);
    assert.not.match(second.output(), /No administrator yet/, "an administrator exists now");
    assert.not.match(second.output(), /migrations_applied/, "nothing left to migrate");
  } finally {
    second.child.kill("SIGTERM");
  }
  assert.is((await second.exited).code, 0, second.output());
});

test("two instances migrating one fresh database at once apply each migration once", async () => {
  let url: string | undefined;
  let cleanup: () => Promise<void>;
  let port: number | undefined;
  if (process.env.TEST_DATABASE_URL) {
    // A real server: a database of its own, so "fresh" holds whatever the other tests did.
    const admin = postgres(process.env.TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
    const name = `mfa_race_${process.pid}_${Date.now()}`;
    await admin.unsafe(`create database ${name}`);
    const target = new URL(process.env.TEST_DATABASE_URL);
    target.pathname = `/${name}`;
    url = target.toString();
    cleanup = async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    };
  } else {
    const embedded = await openDatabase({ memory: true });
    port = embedded.sql.options.port[0]!;
    cleanup = () => embedded.close();
  }
  // Two pools, as two app instances would have.
  const connect = () =>
    url
      ? postgres(url, { max: 2, onnotice: () => {} })
      : postgres({ host: "127.0.0.1", port: port!, database: "postgres", username: "postgres", max: 2, onnotice: () => {} });
  const a = connect();
  const b = connect();
  try {
    const [first, second] = await Promise.all([migrate(a), migrate(b)]);
    assert.equal([...first, ...second].sort(), migrationFiles, "every migration applied by one of them");
    assert.equal(first.filter((name) => second.includes(name)), [], "none applied twice");
    const rows = await a<{ name: string }[]>`select name from schema_migrations order by name`;
    assert.equal(rows.map((row) => row.name), migrationFiles);
    assert.equal(await migrate(b), [], "a later start finds nothing to do");
  } finally {
    await a.end({ timeout: 5 });
    await b.end({ timeout: 5 });
    await cleanup();
  }
});

test.run();
