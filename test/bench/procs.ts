/** Child processes of the bench (the app, the bare Hono baseline, the argon2 probe) and what /proc says about them. */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import http from "node:http";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TICKS_PER_SECOND = 100; // USER_HZ on Linux x86_64

export interface Child {
  proc: ChildProcess;
  pid: number;
  port: number;
  /** The last lines the child printed (for a useful message when it dies). */
  tail(): string;
  /** Calls `watch` with every later line the child prints. */
  onLine(watch: (line: string) => void): void;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (address && typeof address === "object" ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * Runs plain Node (no loader) with `args`: the compiled server ("--enable-source-maps",
 * "dist/main.js", what `npm start` runs after its build) or a TypeScript file Node's own type
 * stripping can run (the bare baseline, the better-auth peer). The pid is the server itself.
 */
export function spawnNode(args: string[], env: Record<string, string | undefined>, port: number): Child {
  // The portal gets what its start script sets; a variable the caller gives (BENCH_APP_ENV) wins.
  const portal = PORTAL.every((arg) => args.includes(arg)) ? PORTAL_ENV : {};
  return wrap(spawn(process.execPath, args, { cwd: ROOT, env: { ...portal, ...env } as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] }), port);
}

/**
 * The compiled portal with the Node flags `npm start` gives it (PORTAL) and the variables it sets
 * before them (PORTAL_ENV: `NAME=value exec node …`, such as glibc's malloc settings, which only
 * take effect at process start), read from package.json so the bench measures exactly that
 * (test/bench/run.ts builds dist/ first). spawnNode adds PORTAL_ENV when it runs PORTAL.
 */
const START = (() => {
  const start: string = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")).scripts.start;
  const match = /(?:^|&&)\s*((?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*)exec node (.+)$/.exec(start);
  if (!match) throw new Error(`package.json's start script does not end in "[NAME=value …] exec node …": ${start}`);
  const env = Object.fromEntries(match[1]!.trim().split(/\s+/).filter(Boolean).map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]));
  return { args: match[2]!.trim().split(/\s+/), env: env as Record<string, string> };
})();
export const PORTAL: string[] = START.args;
export const PORTAL_ENV: Record<string, string> = START.env;

/** `npm start` in its own process group, so stop() ends npm, tsx and node together. */
export function spawnNpmStart(env: Record<string, string | undefined>, port: number): Child {
  return wrap(spawn("npm", ["start", "--silent"], { cwd: ROOT, env: env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"], detached: true }), port, true);
}

function wrap(proc: ChildProcess, port: number, group = false): Child {
  const lines: string[] = [];
  const watchers: Array<(line: string) => void> = [];
  let partial = "";
  const keep = (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split("\n");
    partial = parts.pop()!;
    for (const line of parts) for (const watch of watchers) watch(line);
    lines.push(...parts);
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  return {
    proc,
    pid: proc.pid!,
    port,
    tail: () => lines.filter(Boolean).slice(-15).join("\n"),
    onLine: (watch) => void watchers.push(watch),
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const signal = (s: NodeJS.Signals) => {
        try {
          if (group) process.kill(-proc.pid!, s);
          else proc.kill(s);
        } catch {
          /* already gone */
        }
      };
      signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `path` until it answers 200; returns the milliseconds since `since`. Fails if the child dies first. */
export async function waitFor200(child: Child, path: string, since: number, timeoutMs = 60_000): Promise<number> {
  while (performance.now() - since < timeoutMs) {
    if (child.proc.exitCode !== null) throw new Error(`child exited (${child.proc.exitCode}) before ${path} answered:\n${child.tail()}`);
    const status = await new Promise<number>((resolve) => {
      const req = http.get({ host: "127.0.0.1", port: child.port, path, agent: false }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("error", () => resolve(0));
      req.setTimeout(2000, () => req.destroy());
    });
    if (status === 200) return performance.now() - since;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${path} did not answer 200 within ${timeoutMs} ms:\n${child.tail()}`);
}

/** Resident memory in MB (VmRSS of /proc/<pid>/status). */
export function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : NaN;
}

/** The process and all its descendants (from /proc/<pid>/task/<tid>/children), parents first. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const tid of readdirSync(`/proc/${out[i]}/task`)) {
        const children = readFileSync(`/proc/${out[i]}/task/${tid}/children`, "utf8").trim();
        if (children) out.push(...children.split(/\s+/).map(Number));
      }
    } catch {
      /* gone */
    }
  }
  return out;
}

/** The largest resident set among a process and its descendants: the server under `npm start`. */
export function largestRssMb(pid: number): number {
  return Math.max(...processTree(pid).map((p) => {
    try {
      return rssMb(p);
    } catch {
      return 0;
    }
  }));
}

/** A process's or thread's name and CPU seconds from its `stat` file (utime, stime); null when it is gone. */
function readStat(path: string): { name: string; user: number; system: number } | null {
  try {
    const stat = readFileSync(path, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { name: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")), user: Number(fields[11]) / TICKS_PER_SECOND, system: Number(fields[12]) / TICKS_PER_SECOND };
  } catch {
    return null;
  }
}

const total = (stat: { user: number; system: number } | null) => (stat ? stat.user + stat.system : 0);

/** CPU seconds (user + system) a process has used so far (0 once it is gone). */
export function cpuSeconds(pid: number): number {
  return total(readStat(`/proc/${pid}/stat`));
}

/** CPU seconds (user + system) of a process's main thread alone (its JavaScript; the rest is libuv's pool, GC helpers and the like). */
export function mainThreadCpuSeconds(pid: number): number {
  return total(readStat(`/proc/${pid}/task/${pid}/stat`));
}

/**
 * CPU seconds of a process's threads, summed by thread name (`comm`: "MainThread" in Node 24,
 * "libuv-worker" the pool argon2id runs on, "V8Worker" V8's GC and compiler helpers), and of
 * each name the part spent in the kernel (system calls: sockets, and on loopback the TCP stack
 * of both ends), as "<name> (kernel)".
 */
export function threadCpuSeconds(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out; // gone
  }
  for (const tid of tids) {
    const stat = readStat(`/proc/${pid}/task/${tid}/stat`);
    if (!stat) continue; // the thread ended
    out[stat.name] = (out[stat.name] ?? 0) + stat.user + stat.system;
    out[`${stat.name} (kernel)`] = (out[`${stat.name} (kernel)`] ?? 0) + stat.system;
  }
  return out;
}

/** Machine-wide busy CPU seconds (all cores), to tell how much of the machine others used during a phase. */
export function machineBusySeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const [, ...values] = line.trim().split(/\s+/).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = values as number[];
  void idle;
  void iowait;
  return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / TICKS_PER_SECOND;
}
