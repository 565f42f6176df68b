/**
 * The app under test, as a real process: `node dist/main.js` (what `npm start` runs) on a free port with a fresh database
 * (a temp DATA_DIR for the embedded one, or the run's own database on DATABASE_URL's server),
 * the dev outbox, and PUBLIC_URL pointing at that port. One process for the whole e2e run.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { compiledArgs } from "../../support/compiled.ts";

export const ROOT = resolve(import.meta.dirname, "../../..");

export interface RunningApp {
  url: string;
  port: number;
  /** Environment of the app process; the invite CLI runs with the same one. */
  env: NodeJS.ProcessEnv;
  /** What the process printed so far (the tail), for failure messages. */
  output(): string;
  /** The app's error log lines seen so far (at most 1000). */
  errors(): string[];
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** Variables that would switch delivery to a real provider or point at another database. */
const SCRUB = ["SENDGRID_API_KEY", "MAIL_FROM", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER", "DATABASE_URL", "DATA_DIR", "PUBLIC_URL", "PORT"];

const READY_TIMEOUT_MS = 120_000;

/**
 * `extraEnv`: settings of a suite that needs its own app (staff sign-in points STAFF_OIDC_* at a
 * test issuer). `host`: the name in PUBLIC_URL (passkeys need a domain: WebAuthn refuses an IP
 * address as the relying party's ID, and browsers treat localhost as a secure context).
 */
export async function startApp(extraEnv: Record<string, string> = {}, options: { host?: string } = {}): Promise<RunningApp> {
  const port = await freePort();
  const url = `http://${options.host ?? "127.0.0.1"}:${port}`;
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of SCRUB) delete env[name];
  let dataDir: string | null = null;
  // test/run.ts made a fresh database on DATABASE_URL's server (or CI handed one over).
  const databaseUrl = process.env.TEST_DATABASE_URL;
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  else env.DATA_DIR = dataDir = mkdtempSync(join(tmpdir(), "mfa-portal-e2e-"));
  Object.assign(env, {
    NODE_ENV: "development",
    PORT: String(port),
    PUBLIC_URL: url,
    LOG_REQUESTS: "0",
    SECRET_KEY: `e2e-${process.pid}-${Date.now()}-secret-key-0123456789abcdef`,
    // Every browser context sends its own X-Forwarded-For, so each path has its own client
    // address and the per-address send and attempt limits of one path never touch another.
    TRUST_PROXY: "1",
    ...extraEnv,
  });

  let output = "";
  const child: ChildProcess = spawn(process.execPath, compiledArgs("src/main.ts"), {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const errors: string[] = [];
  let partial = "";
  const keep = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-20_000);
    const lines = (partial + text).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (/"level":"error"|Error:|ERR_/.test(line)) errors.push(line.slice(0, 500));
    if (errors.length > 1000) errors.length = 1000; // keep the first ones: paths slice from where they began
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  let exited: number | string | null = null;
  const exit = new Promise<void>((done) =>
    child.once("exit", (code, signal) => {
      exited = code ?? signal ?? "?";
      done();
    }),
  );
  // The test runner ends with process.exit(): never leave the server behind.
  const killOnExit = () => child.exitCode === null && child.kill("SIGKILL");
  process.on("exit", killOnExit);
  // A CI timeout stops the runner with SIGTERM, which skips "exit" handlers unless we exit ourselves.
  const onSignal = (signal: NodeJS.Signals) => {
    killOnExit();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);

  const started = Date.now();
  for (;;) {
    if (exited !== null) throw new Error(`the app exited (${exited}) before it was ready:\n${output}`);
    if (Date.now() - started > READY_TIMEOUT_MS) {
      child.kill("SIGKILL");
      throw new Error(`the app was not ready within ${READY_TIMEOUT_MS / 1000} s:\n${output}`);
    }
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }

  return {
    url,
    port,
    env,
    output: () => output,
    errors: () => errors.slice(),
    async stop() {
      if (exited === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
        await exit;
        clearTimeout(timer);
      }
      process.off("exit", killOnExit);
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * `npm run invite -- --email … --name …` against the running app's database; its last line is
 * the registration link. Returns that link.
 */
export async function invite(app: RunningApp, user: { email: string; name: string; admin?: boolean }): Promise<string> {
  const args = ["run", "--silent", "invite", "--", "--email", user.email, "--name", user.name];
  if (user.admin) args.push("--admin");
  const { code, stdout, stderr } = await run("npm", args, app.env, 90_000);
  const lines = stdout.trim().split("\n");
  const last = lines[lines.length - 1]?.trim() ?? "";
  if (code !== 0 || !/^https?:\/\//.test(last)) {
    throw new Error(`npm run invite --email ${user.email} failed (exit ${code}); last line "${last}"\n${stdout}\n${stderr}`);
  }
  return last;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs / 1000} s)`;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}
