/**
 * The app as a real process (what `npm start` runs: node dist/main.js) on a database
 * of a private cluster, for the tests where a real server matters: concurrency, timing, two
 * instances, outages and SIGKILL. And a Browser (test/support/harness.ts) that speaks to it over
 * real HTTP instead of app.request().
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { compiledArgs } from "../../support/compiled.ts";
import { Browser, PUBLIC_URL } from "../../support/harness.ts";
import type { App } from "../../../src/app.tsx";
import { freePort } from "./net.ts";

const root = resolve(import.meta.dirname, "../../..");

/** Every instance of a test shares this key, as instances behind one load balancer share SECRET_KEY. */
export const SHARED_SECRET_KEY = "security-suite-secret-key-0123456789abcdef";

export interface AppProcess {
  port: number;
  /** http://127.0.0.1:port */
  base: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** A cookie-keeping browser over real HTTP (its requests carry X-Forwarded-For when `ip` is given). */
  browser(ip?: string): Browser;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  /** SIGKILL and wait: no shutdown code runs. */
  kill(): Promise<void>;
}

export async function spawnApp(options: { databaseUrl: string; env?: Record<string, string>; port?: number; startTimeoutMs?: number }): Promise<AppProcess> {
  const port = options.port ?? (await freePort());
  const dataDir = mkdtempSync(join(tmpdir(), "mfa-portal-sec-app-"));
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: String(port),
    PUBLIC_URL,
    DATABASE_URL: options.databaseUrl,
    DATA_DIR: dataDir,
    SECRET_KEY: SHARED_SECRET_KEY,
    TRUST_PROXY: "1",
    LOG_REQUESTS: "0",
    NODE_ENV: "development",
    ...options.env,
  };
  delete env.TEST_DATABASE_URL;
  let output = "";
  const child = spawn(process.execPath, compiledArgs("src/main.ts"), { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.on("exit", (code, signal) => {
      done = true;
      rmSync(dataDir, { recursive: true, force: true });
      resolveExit({ code, signal });
    }),
  );
  // A test that fails half-way must not leave its server behind.
  const reap = () => {
    if (!done) child.kill("SIGKILL");
  };
  process.once("exit", reap);

  const base = `http://127.0.0.1:${port}`;
  const started = Date.now();
  const limit = options.startTimeoutMs ?? 60_000;
  for (;;) {
    if (done) throw new Error(`the app exited before answering:\n${output}`);
    try {
      const response = await fetch(`${base}/healthz`);
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > limit) {
      child.kill("SIGKILL");
      throw new Error(`no /healthz within ${limit} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    port,
    base,
    child,
    output: () => output,
    exited,
    browser: (ip) => remoteBrowser(base, ip),
    async stop() {
      if (done) return;
      child.kill("SIGTERM");
      await exited;
    },
    async kill() {
      if (done) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/** Something with app.request()'s shape that sends real HTTP to `base`. */
export function remoteApp(base: string, extraHeaders: Record<string, string> = {}): App {
  return {
    request: (path: string, init: RequestInit = {}) =>
      fetch(base + path, { ...init, headers: { ...(init.headers as Record<string, string>), ...extraHeaders }, redirect: "manual" }),
  } as unknown as App;
}

export function remoteBrowser(base: string, ip?: string): Browser {
  return new Browser(remoteApp(base, ip ? { "x-forwarded-for": ip } : {}));
}
