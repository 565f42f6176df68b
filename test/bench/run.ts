/**
 * npm run bench: the portal against its physical limits, in one run, as ratios where the machine's
 * noise would otherwise decide the figure. See docs/performance.md for the method.
 *
 * Env: DATABASE_URL (a server where we may create and drop databases; default
 * postgres://postgres@127.0.0.1:5432/postgres), BENCH_QUICK=1 for a short smoke run.
 */
import os from "node:os";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { execFileSync, spawn } from "node:child_process";
import { createBenchDatabase, serverBackendCpuSeconds, DEFAULT_DATABASE_URL, latestEmailCode, seedUsers, type BenchDatabase, type BenchUser } from "./db.ts";
import { keepAliveAgent, percentile, runLoad, send, wireBytes, type LoadResult } from "./http.ts";
import { cpuSeconds, mainThreadCpuSeconds, threadCpuSeconds, freePort, largestRssMb, machineBusySeconds, PORTAL, ROOT, rssMb, spawnNode, spawnNpmStart, waitFor200, type Child } from "./procs.ts";
import { PEER_STEPS, peerSignIn, seedPeerUsers } from "./peers/better-auth-client.ts";
// @ts-expect-error: plain JavaScript, no declarations
import { buildServer } from "../../scripts/build.mjs";
import { BROWSER_HEADERS, decodeBody, passwordStep, walkLoginWithEmail, type Client, type ReplayPlan, type StepTiming } from "./signin.ts";

const QUICK = process.env.BENCH_QUICK === "1";
/** For working on one figure: BENCH_ONLY="memory,sign-in throughput" runs only those phases. */
const ONLY = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(",").map((s) => s.trim()) : null;
/** For trying a setting: BENCH_APP_ENV='{"UV_THREADPOOL_SIZE":"2"}' is added to the app's environment. */
const APP_ENV: Record<string, string> = process.env.BENCH_APP_ENV ? JSON.parse(process.env.BENCH_APP_ENV) : {};
const CORES = os.availableParallelism();
const SIGNIN_CONCURRENCY = 2 * CORES;
const PAGE_CONNECTIONS = 32;
const ROUNDS = QUICK ? 1 : 3;
const SIGNIN_ROUNDS = QUICK ? 1 : 5;
const USERS = QUICK ? 300 : 2000;
const FLOW_ITERATIONS = QUICK ? 20 : 150;
const MEMORY_BATCH = QUICK ? 2_000 : 10_000;
// BENCH_PEER_ROUNDS: more rounds for a steadier median when the machine is noisy.
const PEER_ROUNDS = QUICK ? 1 : Number(process.env.BENCH_PEER_ROUNDS ?? 3);
const PEER_ROUND_MS = QUICK ? 3_000 : 8_000;
/** Complete sign-ins each fresh process serves before its RSS is read (the peer comparison's memory figure). */
const PEER_MEMORY_SIGNINS = QUICK ? 100 : 400;
const runStarted = performance.now();

interface Figure {
  figure: string;
  value: number | null;
  unit: string;
  goal: string;
  met: boolean | null;
  note?: string;
}
const figures: Figure[] = [];
const details: Record<string, unknown> = {};
const problems: string[] = [];

function log(message: string) {
  const t = ((performance.now() - runStarted) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${t}s] ${message}\n`);
}

function add(f: Figure) {
  figures.push(f);
}

/** Runs a phase; a failure becomes a row with no value (and the reason), never the end of the run. */
async function phase(name: string, body: () => Promise<void>, failRows: Array<Omit<Figure, "value" | "met">> = []) {
  if (ONLY && !ONLY.includes(name)) return;
  log(`${name}…`);
  const busy0 = machineBusySeconds();
  const t0 = performance.now();
  try {
    await body();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    problems.push(`${name}: ${message}`);
    log(`${name} FAILED: ${message.split("\n")[0]}`);
    for (const row of failRows) add({ ...row, value: null, met: null, note: `not measured: ${message.split("\n")[0]!.slice(0, 160)}` });
  }
  const wall = (performance.now() - t0) / 1000;
  const busy = machineBusySeconds() - busy0;
  const phases = (details.phases ??= {}) as Record<string, unknown>;
  if (wall >= 0.5) phases[name] = { seconds: round(wall, 1), machineBusyCores: round(busy / wall, 2) };
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]! : NaN;
};

function appEnv(port: number, extra: Record<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const key of Object.keys(env)) {
    // Provider credentials would turn the dev outbox off; the bench never sends real messages.
    if (/^(SENDGRID_|TWILIO_|MAIL_FROM)/.test(key)) delete env[key];
  }
  delete env.DATABASE_URL;
  delete env.NODE_OPTIONS;
  return {
    ...env,
    NODE_ENV: "development",
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    LOG_REQUESTS: "0",
    SECRET_KEY: "bench-secret-key-bench-secret-key-0123456789",
    ...APP_ENV,
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------------

const adminUrl = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
const scratch = mkdtempSync(join(tmpdir(), "mfa-portal-bench-"));
let db: BenchDatabase | null = null;
let app: Child | null = null;
let bare: Child | null = null;
let peerDb: BenchDatabase | null = null;
const peers: Child[] = [];

async function cleanup() {
  await app?.stop().catch(() => {});
  await bare?.stop().catch(() => {});
  for (const peer of peers) await peer.stop().catch(() => {});
  await peerDb?.drop().catch((e) => log(`could not drop ${peerDb?.name}: ${e}`));
  await db?.drop().catch((e) => log(`could not drop ${db?.name}: ${e}`));
  rmSync(scratch, { recursive: true, force: true });
}
process.on("SIGINT", () => void cleanup().then(() => process.exit(130)));

try {
  // The portal runs compiled, as `npm start` runs it: no TypeScript loader in the measured process.
  log(`built dist/ in ${await buildServer({ quiet: true })} ms`);
  db = await createBenchDatabase(adminUrl, "run");
  log(`database ${db.name}; ${CORES} cores; sign-in concurrency ${SIGNIN_CONCURRENCY}${QUICK ? "; QUICK run" : ""}`);

  // (f) Start-up: `npm start` to /readyz 200. Real Postgres first, on the fresh database (so its
  // first start applies the migrations the rest of the run needs), then embedded in a temp DATA_DIR.
  await phase(
    "start-up",
    async () => {
      const startups: Record<string, { ms: number; rss: number }> = {};
      const timeStart = async (label: string, extra: Record<string, string>) => {
        const port = await freePort();
        const t0 = performance.now();
        const child = spawnNpmStart(appEnv(port, extra), port);
        try {
          const ms = await waitFor200(child, "/readyz", t0);
          startups[label] = { ms, rss: largestRssMb(child.pid) };
        } finally {
          await child.stop();
        }
      };
      await timeStart("postgres, first start (migrations)", { DATABASE_URL: db!.url, DATA_DIR: join(scratch, "pg-data") });
      await timeStart("postgres, second start", { DATABASE_URL: db!.url, DATA_DIR: join(scratch, "pg-data") });
      const dataDir = join(scratch, "embedded-data");
      await timeStart("embedded, first start (new DATA_DIR, migrations)", { DATA_DIR: dataDir });
      await timeStart("embedded, second start", { DATA_DIR: dataDir });
      for (const [label, { ms, rss }] of Object.entries(startups)) {
        add({ figure: `Start-up: ${label}`, value: Math.round(ms), unit: "ms", goal: "—", met: null, note: `npm start → /readyz 200; server RSS then ${Math.round(rss)} MB` });
      }
    },
    [{ figure: "Start-up", unit: "ms", goal: "—" }],
  );

  // Migrations ran in the first start unless it failed; run them here too (a no-op when applied).
  const { migrate } = await import("../../src/db/migrate.ts");
  await migrate(db.sql);
  log(`seeding ${USERS} users…`);
  const users = await seedUsers(db.sql, USERS);

  const appPort = await freePort();
  const barePort = await freePort();
  app = spawnNode(PORTAL, appEnv(appPort, { DATABASE_URL: db.url, DATA_DIR: join(scratch, "app-data"), TRUST_PROXY: "1" }), appPort);
  bare = spawnNode(["test/bench/bare.ts"], appEnv(barePort, {}), barePort);
  await waitFor200(app, "/readyz", performance.now());
  await waitFor200(bare, "/", performance.now());
  const origin = `http://127.0.0.1:${appPort}`;
  details.app = { pid: app.pid, threadpool: process.env.UV_THREADPOOL_SIZE ?? "4 (libuv default)" };

  let ipCounter = 0;
  /** A fresh client address per simulated person (10.x.y.z), so per-address limits see many people. */
  const nextIp = () => {
    const n = ++ipCounter;
    return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  };
  let userCounter = 0;
  const nextUser = (): BenchUser => users[userCounter++ % users.length]!;

  // (e) Page weight: GET /login and every asset it references, as a browser asks for them.
  await phase(
    "page weight",
    async () => {
      const headers = { ...BROWSER_HEADERS, "accept-encoding": "br, gzip" };
      const page = await wireBytes({ port: appPort, path: "/login", headers });
      if (page.status !== 200) throw new Error(`GET /login answered ${page.status}`);
      const html = decodeBody(await send(false, { port: appPort, path: "/login", headers }));
      const css = [...html.matchAll(/<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"/g)].map((m) => m[1]!);
      const js = [...html.matchAll(/<script[^>]+src="([^"]+)"/g)].map((m) => m[1]!);
      const sizes: Record<string, { wire: number; body: number; encoding: string | undefined; cacheControl?: string }> = {
        "/login": { wire: page.bytes, body: page.bodyBytes, encoding: page.encoding },
      };
      for (const url of [...css, ...js]) {
        const r = await wireBytes({ port: appPort, path: url, headers });
        if (r.status !== 200) throw new Error(`GET ${url} answered ${r.status}`);
        const cc = (await send(false, { port: appPort, path: url, headers })).headers["cache-control"];
        sizes[url] = { wire: r.bytes, body: r.bodyBytes, encoding: r.encoding, cacheControl: cc };
      }
      details.pageWeight = sizes;
      const sum = (urls: string[]) => urls.reduce((total, url) => total + sizes[url]!.wire, 0);
      const withJs = sum(["/login", ...css, ...js]);
      const withoutJs = sum(["/login", ...css]);
      const enc = Object.entries(sizes).map(([u, s]) => `${u.replace(/^\/static\//, "")} ${s.wire} B ${s.encoding ?? "identity"}`).join(", ");
      add({ figure: "Page weight with htmx (HTML+CSS+JS)", value: withJs, unit: "B", goal: "≤ 20000 B", met: withJs <= 20_000, note: `wire bytes incl. headers: ${enc}` });
      add({ figure: "Page weight without JS (HTML+CSS)", value: withoutJs, unit: "B", goal: "≤ 6000 B", met: withoutJs <= 6_000 });
    },
    [{ figure: "Page weight", unit: "B", goal: "≤ 20000 / 6000 B" }],
  );

  // (c) Flow latency: whole Login with Email walks, one at a time, each step's round trip timed.
  let plan: ReplayPlan | null = null;
  await phase(
    "flow latency",
    async () => {
      const agent = keepAliveAgent(1);
      const codeFor = (email: string) => latestEmailCode(db!.sql, email);
      const byStep = new Map<string, number[]>();
      const order: string[] = [];
      let failure: string | undefined;
      const flowDeadline = performance.now() + (QUICK ? 10_000 : 30_000); // the run must end within 5 minutes on a busy machine too
      for (let i = 0; i < FLOW_ITERATIONS && performance.now() < flowDeadline; i++) {
        const walk = await walkLoginWithEmail({ port: appPort, origin, agent, ip: nextIp() }, nextUser(), codeFor);
        plan ??= walk.plan;
        if (walk.error) failure ??= walk.error;
        if (i < 3) continue; // warm-up walks
        if (walk.error && i >= 12) break; // it fails the same way every time: the steps before it are timed
        walk.steps.forEach((s: StepTiming, index) => {
          if (s.status >= 400) return; // the failed step is reported, not timed
          const key = `${String(index + 1).padStart(2, "0")}. ${s.step}`;
          if (!byStep.has(key)) order.push(key);
          (byStep.get(key) ?? byStep.set(key, []).get(key)!).push(s.ms);
        });
      }
      if (failure) {
        problems.push(`flow latency: the walk did not reach the home page: ${failure}`);
        add({ figure: "Flow: walk to the home page", value: null, unit: "", goal: "completes", met: false, note: `stopped: ${failure.slice(0, 200)}` });
      }
      await agent.close();
      const totals: number[] = [];
      for (const key of order) {
        const ms = byStep.get(key)!;
        const argon = key.includes("argon2id");
        add({ figure: `Flow step ${key}`, value: round(median(ms), 2), unit: "ms", goal: "—", met: null, note: argon ? `argon2-bound; p90 ${round(percentile([...ms].sort((a, b) => a - b), 90), 1)} ms` : undefined });
        totals.push(median(ms));
      }
      details.flowIterations = (byStep.get(order[0]!) ?? []).length;
      if (!failure) add({ figure: "Flow: sum of step medians (whole sign-in)", value: round(totals.reduce((a, b) => a + b, 0), 1), unit: "ms", goal: "—", met: null });
    },
    [{ figure: "Flow latency (Login with Email)", unit: "ms", goal: "—" }],
  );

  if (!plan) {
    // The flow phase did not run (BENCH_ONLY): one walk finds the password step to replay.
    plan = (await walkLoginWithEmail({ port: appPort, origin, agent: keepAliveAgent(1), ip: nextIp() }, nextUser(), (e) => latestEmailCode(db!.sql, e))).plan;
  }

  // (b) Page throughput: GET /login against the bare Hono app, alternating rounds so both see the same noise.
  await phase(
    "page throughput",
    async () => {
      const headers = { ...BROWSER_HEADERS };
      const check = (r: { status: number }) => r.status === 200;
      const rounds: Array<{ bare: LoadResult; login: LoadResult; bareCpu: number; loginCpu: number }> = [];
      const loginLatencies: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const c0 = cpuSeconds(bare!.pid);
        const b = await runLoad({ connections: PAGE_CONNECTIONS, maxRequests: 200_000, maxMs: QUICK ? 2000 : 4000, next: () => ({ port: barePort, path: "/", headers }), check });
        const c1 = cpuSeconds(app!.pid);
        const l = await runLoad({
          connections: PAGE_CONNECTIONS,
          maxRequests: 200_000,
          maxMs: QUICK ? 2000 : 4000,
          next: () => ({ port: appPort, path: "/login", headers }),
          check,
          keepLatencies: loginLatencies,
        });
        rounds.push({ bare: b, login: l, bareCpu: (cpuSeconds(bare!.pid) - c0) / b.requests, loginCpu: (cpuSeconds(app!.pid) - c1) / l.requests });
        if (l.unexpected || l.errors) throw new Error(`GET /login failed under load: ${l.firstFailure}`);
      }
      const ratios = rounds.map((x) => x.login.perSecond / x.bare.perSecond);
      const ratio = median(ratios);
      loginLatencies.sort((a, b) => a - b);
      const p50 = percentile(loginLatencies, 50);
      const p99 = percentile(loginLatencies, 99);
      details.pageThroughput = rounds.map((x) => ({
        bareRps: round(x.bare.perSecond, 0),
        loginRps: round(x.login.perSecond, 0),
        bareServerCpuUsPerRequest: round(x.bareCpu * 1e6, 0),
        loginServerCpuUsPerRequest: round(x.loginCpu * 1e6, 0),
        clientCpuShareDuringLogin: round(x.login.clientCpuSeconds / x.login.seconds, 2),
        loginP50: round(x.login.p50, 2),
        loginP99: round(x.login.p99, 2),
      }));
      const mid = rounds[ratios.indexOf(ratio)]!;
      add({
        figure: "Page throughput GET /login ÷ bare Hono GET /",
        value: round(ratio, 2),
        unit: "×",
        goal: "≥ 0.5",
        met: ratio >= 0.5,
        note: `${round(mid.login.perSecond, 0)} vs ${round(mid.bare.perSecond, 0)} req/s at ${PAGE_CONNECTIONS} connections (median of ${ROUNDS} alternating rounds: ${ratios.map((x) => round(x, 2)).join(", ")}); server CPU ${round(mid.loginCpu * 1e6, 0)} vs ${round(mid.bareCpu * 1e6, 0)} µs/request`,
      });
      const cpuRatio = median(rounds.map((x) => x.bareCpu / x.loginCpu));
      add({
        figure: "Server CPU per request, bare ÷ GET /login",
        value: round(cpuRatio, 2),
        unit: "×",
        goal: "—",
        met: null,
        note: "what the throughput ratio would be if the load generator cost nothing; it shares the 2 cores",
      });
      add({ figure: "GET /login latency p50 (32 connections)", value: round(p50, 2), unit: "ms", goal: "—", met: null });
      add({ figure: "GET /login latency p99 (32 connections)", value: round(p99, 2), unit: "ms", goal: "≤ 25 ms", met: p99 <= 25 });
    },
    [{ figure: "Page throughput GET /login ÷ bare Hono", unit: "×", goal: "≥ 0.5" }],
  );

  // (a) Sign-in throughput against the argon2id bound, alternating: bound (app idle), then app.
  await phase(
    "sign-in throughput",
    async () => {
      if (!plan) throw new Error("the Login with Email walk did not complete, so there is no password step to replay");
      const replay = plan;
      const pairs: Array<{ bound: number; app: number; appCpuPerStep: number; pgCpuPerStep: number; boundCpuPerVerify: number }> = [];
      const probe = await startArgon2Bound(SIGNIN_CONCURRENCY);
      // Untimed warm-up of the app's password path (JIT, pool connections).
      await Promise.all(Array.from({ length: SIGNIN_CONCURRENCY }, () => passwordStep({ port: appPort, origin, agent: keepAliveAgent(1), ip: nextIp() }, replay, nextUser())));
      try {
      for (let r = 0; r < SIGNIN_ROUNDS; r++) {
        const b0 = cpuSeconds(probe.pid);
        const bound = await probe.measure(QUICK ? 2000 : 3000);
        const boundCpuPerVerify = (cpuSeconds(probe.pid) - b0) / (bound.perSecond * (QUICK ? 2 : 3));
        const agent = keepAliveAgent(SIGNIN_CONCURRENCY);
        const c0 = cpuSeconds(app!.pid);
        const p0 = await serverBackendCpuSeconds(db!);
        let ok = 0;
        let failed = 0;
        const started = performance.now();
        const deadline = started + (QUICK ? 2000 : 3000);
        await Promise.all(
          Array.from({ length: SIGNIN_CONCURRENCY }, async () => {
            while (performance.now() < deadline) {
              if (await passwordStep({ port: appPort, origin, agent, ip: nextIp() }, replay, nextUser())) ok++;
              else failed++;
            }
          }),
        );
        const seconds = (performance.now() - started) / 1000;
        await agent.close();
        if (failed > ok / 100) throw new Error(`${failed} of ${ok + failed} password steps did not go on to the next step`);
        pairs.push({
          bound: bound.perSecond,
          app: ok / seconds,
          appCpuPerStep: (cpuSeconds(app!.pid) - c0) / ok,
          pgCpuPerStep: ((await serverBackendCpuSeconds(db!)) - p0) / ok,
          boundCpuPerVerify,
        });
        details.argon2 = { source: bound.source, params: bound.params, threadpool: bound.threadpool };
      }
      } finally {
        probe.stop();
      }
      const ratios = pairs.map((p) => p.app / p.bound);
      const ratio = median(ratios);
      const mid = pairs[ratios.indexOf(ratio)]!;
      details.signIn = pairs.map((p) => ({
        boundPerSecond: round(p.bound, 1),
        appPerSecond: round(p.app, 1),
        boundCpuMsPerVerify: round(p.boundCpuPerVerify * 1000, 1),
        appCpuMsPerStep: round(p.appCpuPerStep * 1000, 1),
        postgresCpuMsPerStep: round(p.pgCpuPerStep * 1000, 1),
      }));
      const cpuRatios = pairs.map((p) => p.boundCpuPerVerify / (p.appCpuPerStep + p.pgCpuPerStep));
      add({
        figure: "Sign-in throughput ÷ argon2id bound",
        value: round(ratio, 2),
        unit: "×",
        goal: "≥ 0.8",
        met: ratio >= 0.8,
        note: `${round(mid.app, 1)} password steps/s vs ${round(mid.bound, 1)} verify/s at concurrency ${SIGNIN_CONCURRENCY} (median of ${SIGNIN_ROUNDS} alternating rounds: ${ratios.map((x) => round(x, 2)).join(", ")})`,
      });
      const midCpu = pairs[ratios.indexOf(ratio)]!;
      add({
        figure: "Sign-in CPU: argon2 verify ÷ (app + Postgres) per password step",
        value: round(median(cpuRatios), 2),
        unit: "×",
        goal: "—",
        met: null,
        note: `CPU time is less disturbed by other tenants than wall time: ${round(midCpu.boundCpuPerVerify * 1000, 1)} ms per verify vs ${round(midCpu.appCpuPerStep * 1000, 1)} ms app + ${round(midCpu.pgCpuPerStep * 1000, 1)} ms Postgres per step`,
      });
    },
    [{ figure: "Sign-in throughput ÷ argon2id bound", unit: "×", goal: "≥ 0.8" }],
  );

  // (g) The peer: better-auth (email and password + its emailed OTP), same Postgres server, same
  // argon2id parameters, same concurrency; rounds alternate so both see the same noise.
  await phase(
    "better-auth peer",
    async () => {
      peerDb = await createBenchDatabase(adminUrl, "peer");
      const peerPort = await freePort();
      const startPeer = async (port: number) => {
        const child = spawnNode(["test/bench/peers/better-auth.ts"], appEnv(port, { DATABASE_URL: peerDb!.url }), port);
        peers.push(child);
        await waitFor200(child, "/healthz", performance.now());
        return child;
      };
      const peer = await startPeer(peerPort);
      await seedPeerUsers(peerDb.sql, users);
      const codeFor = (email: string) => latestEmailCode(db!.sql, email);
      /**
       * The portal is driven two ways: as a browser running htmx does it ("portalJs": each step's
       * POST answered with the next step's fragment, 7 requests) and as one without JavaScript
       * ("portal": post, 303, whole page; 11 requests). better-auth has only the first kind of client,
       * driven two ways too: its API calls alone ("peer", the figures the issue asks for), and with
       * the sign-in page before them and the home page after ("peerPages"), which the portal's
       * sign-in always includes.
       */
      type Side = "portal" | "portalJs" | "peer" | "peerPages";
      const SIDES: Side[] = ["portalJs", "portal", "peer", "peerPages"];
      const isPortal = (side: Side) => side === "portal" || side === "portalJs";
      /** Where one side's sign-ins spent CPU (ms per completed sign-in): its server, its database backends, the bench driving it. */
      const cpu = Object.fromEntries(SIDES.map((side) => [side, { server: 0, serverMain: 0, postgres: 0, bench: 0, signIns: 0, threads: {} }])) as Record<
        Side,
        { server: number; serverMain: number; postgres: number; bench: number; signIns: number; threads: Record<string, number> }
      >;
      /** Complete sign-ins at SIGNIN_CONCURRENCY for `ms`; the steps of each, for the percentiles; CPU counted when `pid` is given. */
      const signIns = async (side: Side, port: number, ms: number | null, count: number | null, pid?: number) => {
        const database = isPortal(side) ? db! : peerDb!;
        const cpu0 = pid === undefined ? null : { server: cpuSeconds(pid), serverMain: mainThreadCpuSeconds(pid), threads: threadCpuSeconds(pid), postgres: await serverBackendCpuSeconds(database), bench: process.cpuUsage() };
        const agent = keepAliveAgent(SIGNIN_CONCURRENCY);
        const steps = new Map<string, number[]>();
        let ok = 0;
        let failed = 0;
        let firstError = "";
        let issued = 0;
        const started = performance.now();
        const deadline = ms === null ? Infinity : started + ms;
        await Promise.all(
          Array.from({ length: SIGNIN_CONCURRENCY }, async () => {
            while (performance.now() < deadline && (count === null || issued < count)) {
              issued++;
              const client = { port, origin: `http://127.0.0.1:${port}`, agent, ip: nextIp() };
              const result = isPortal(side)
                ? await walkLoginWithEmail(client, nextUser(), codeFor, { javascript: side === "portalJs" }).then((w) => ({ ok: !w.error, steps: w.steps, error: w.error }))
                : await peerSignIn(client, nextUser(), { pages: side === "peerPages" });
              if (result.ok) ok++;
              else {
                failed++;
                firstError ||= result.error ?? "?";
              }
              for (const step of result.steps) (steps.get(step.step) ?? steps.set(step.step, []).get(step.step)!).push(step.ms);
            }
          }),
        );
        await agent.close();
        const seconds = (performance.now() - started) / 1000;
        if (cpu0 && pid !== undefined) {
          const used = process.cpuUsage(cpu0.bench);
          cpu[side].server += cpuSeconds(pid) - cpu0.server;
          cpu[side].serverMain += mainThreadCpuSeconds(pid) - cpu0.serverMain;
          for (const [name, seconds] of Object.entries(threadCpuSeconds(pid))) cpu[side].threads[name] = (cpu[side].threads[name] ?? 0) + seconds - (cpu0.threads[name] ?? 0);
          cpu[side].postgres += (await serverBackendCpuSeconds(database)) - cpu0.postgres;
          cpu[side].bench += (used.user + used.system) / 1e6;
          cpu[side].signIns += ok;
        }
        if (failed > (ok + failed) / 100) throw new Error(`${side}: ${failed} of ${ok + failed} sign-ins failed (${firstError})`);
        return { perSecond: ok / seconds, ok, steps };
      };
      // The comparable steps: the password step and the two second-factor requests (send, verify).
      const PORTAL_STEPS = { password: "POST Sign in (argon2id)", send: "POST Send Verification Code", verify: "POST Verify Code" } as const;
      const stepNames = (side: Side): Record<keyof typeof PORTAL_STEPS, string> => (isPortal(side) ? PORTAL_STEPS : PEER_STEPS);
      for (const side of SIDES) await signIns(side, isPortal(side) ? appPort : peerPort, null, SIGNIN_CONCURRENCY * 2); // warm-up, untimed
      const rounds: Array<Record<Side, number>> = [];
      const latencies = Object.fromEntries(SIDES.map((side) => [side, { password: [] as number[], send: [] as number[], verify: [] as number[] }])) as Record<Side, Record<keyof typeof PORTAL_STEPS, number[]>>;
      for (let r = 0; r < PEER_ROUNDS; r++) {
        // Each round in another order (rotated), so no side always follows the same one.
        const order = SIDES.map((_, i) => SIDES[(i + r) % SIDES.length]!);
        const got: Partial<Record<Side, number>> = {};
        for (const side of order) {
          const result = await signIns(side, isPortal(side) ? appPort : peerPort, PEER_ROUND_MS, null, isPortal(side) ? app!.pid : peer.pid);
          got[side] = result.perSecond;
          const names = stepNames(side);
          for (const key of Object.keys(names) as Array<keyof typeof PORTAL_STEPS>) latencies[side][key].push(...(result.steps.get(names[key]) ?? []));
        }
        rounds.push(got as Record<Side, number>);
        log(`peer round ${r + 1}: portal with JavaScript ${round(got.portalJs!, 1)}, without ${round(got.portal!, 1)}, better-auth ${round(got.peer!, 1)}, with its pages ${round(got.peerPages!, 1)} sign-ins/s`);
      }
      /** The ratio of two sides in each round, their median, and the round it came from. */
      const medianRound = (all: Array<Record<Side, number>>, side: Side, other: Side) => {
        const ratios = all.map((x) => x[side] / x[other]);
        const ratio = median(ratios);
        return { ratios, ratio, mid: all[ratios.indexOf(ratio)]! };
      };
      const perSignIn = (side: Side) => {
        const c = cpu[side];
        const ms = (x: number) => round((1000 * x) / Math.max(1, c.signIns), 1);
        const threads = Object.fromEntries(Object.entries(c.threads).map(([name, seconds]) => [name, ms(seconds)] as const).filter(([, value]) => value > 0));
        return { server: ms(c.server), serverMainThread: ms(c.serverMain), serverThreads: threads, postgres: ms(c.postgres), bench: ms(c.bench), total: ms(c.server + c.postgres + c.bench) };
      };
      const cpuPeer = perSignIn("peer");
      const cpuPeerPages = perSignIn("peerPages");
      for (const side of SIDES) log(`${side}: server CPU by thread, ms per sign-in: ${JSON.stringify(perSignIn(side).serverThreads)}`);
      const PATHS = {
        portalJs: { label: "with JavaScript", requests: "7 requests (GET /login; 5 POSTs, each answered with the next step's fragment, the last with HX-Redirect; GET /home)" },
        portal: { label: "without JavaScript", requests: "11 requests (GET /login; 5 POSTs, each answered 303 and followed by a whole page)" },
      } as const;
      for (const side of ["portalJs", "portal"] as const) {
        const { label, requests } = PATHS[side];
        const { ratios, ratio, mid } = medianRound(rounds, side, "peer");
        add({
          figure: `Completed sign-ins/s ${label}, mfa-portal ÷ better-auth`,
          value: round(ratio, 2),
          unit: "×",
          goal: "> 1 (ahead)",
          met: ratio > 1,
          note: `${round(mid[side], 1)} vs ${round(mid.peer, 1)} completed sign-ins/s (password + emailed code) at concurrency ${SIGNIN_CONCURRENCY}; median of ${PEER_ROUNDS} rounds (8 s each side, in rotated order): ${ratios.map((x) => round(x, 2)).join(", ")}. The portal's sign-in ${label} is ${requests}; better-auth's is 3 JSON API calls and the bench's read of the OTP`,
        });
        const mine = perSignIn(side);
        add({
          figure: `CPU per completed sign-in ${label}, mfa-portal ÷ better-auth`,
          value: round(mine.total / cpuPeer.total, 2),
          unit: "×",
          goal: "—",
          met: null,
          note: `ms of CPU per sign-in over all rounds, server + its Postgres backends + the bench driving it: ${mine.server} + ${mine.postgres} + ${mine.bench} = ${mine.total} vs ${cpuPeer.server} + ${cpuPeer.postgres} + ${cpuPeer.bench} = ${cpuPeer.total}; of the servers' figures, the main thread (JavaScript; the rest is mostly argon2id on libuv's pool) ${mine.serverMainThread} vs ${cpuPeer.serverMainThread}`,
        });
        // What a deployment pays: the load generator's share is a browser's, on its own machine.
        const serving = (c: typeof mine) => round(c.server + c.postgres, 1);
        add({
          figure: `Server CPU per completed sign-in ${label}, mfa-portal ÷ better-auth`,
          value: round(serving(mine) / serving(cpuPeer), 2),
          unit: "×",
          goal: "—",
          met: null,
          note: `the same rounds without the bench's share (what a browser spends on its own machine): server + its Postgres backends, ${serving(mine)} vs ${serving(cpuPeer)} ms`,
        });
        // Beside the figure: better-auth serving the two pages a person loads around its calls.
        const { ratios: withPages, ratio: pagesRatio, mid: pagesMid } = medianRound(rounds, side, "peerPages");
        add({
          figure: `Completed sign-ins/s ${label}, mfa-portal ÷ better-auth with its pages`,
          value: round(pagesRatio, 2),
          unit: "×",
          goal: "—",
          met: null,
          note: `${round(pagesMid[side], 1)} vs ${round(pagesMid.peerPages, 1)} sign-ins/s; rounds ${withPages.map((x) => round(x, 2)).join(", ")}. better-auth's sign-in here also loads a sign-in page before its calls and a home page behind the session after (GET /login, GET /home: the least an app on it would serve, uncompressed); CPU per sign-in ${mine.total} vs ${cpuPeerPages.total} ms (server + Postgres + bench), server + Postgres ${serving(mine)} vs ${serving(cpuPeerPages)} ms`,
        });
      }
      const stepDetails: Record<string, unknown> = {};
      for (const key of Object.keys(PORTAL_STEPS) as Array<keyof typeof PORTAL_STEPS>) {
        const sorted = (side: Side) => [...latencies[side][key]].sort((x, y) => x - y);
        const a = sorted("portalJs");
        const b = sorted("peer");
        const p = (list: number[], q: number) => percentile(list, q);
        const summary = (list: number[]) => ({ p50: round(p(list, 50), 1), p99: round(p(list, 99), 1), n: list.length });
        stepDetails[key] = { portalWithJavaScript: summary(a), portalWithoutJavaScript: summary(sorted("portal")), betterAuth: summary(b) };
        for (const q of [50, 99]) {
          const r = p(a, q) / p(b, q);
          add({
            figure: `Sign-in step ${key} p${q}, mfa-portal ÷ better-auth`,
            value: round(r, 2),
            unit: "×",
            goal: "≤ 1 (as fast)",
            met: r <= 1,
            note: `${round(p(a, q), 1)} ms (${PORTAL_STEPS[key]}, with JavaScript: the answer carries the next step's fragment) vs ${round(p(b, q), 1)} ms (${PEER_STEPS[key]}), under the load of the rounds above`,
          });
        }
      }
      details.peer = {
        rounds: rounds.map((x) => ({ portalWithJavaScript: round(x.portalJs, 1), portalWithoutJavaScript: round(x.portal, 1), betterAuth: round(x.peer, 1), betterAuthWithPages: round(x.peerPages, 1) })),
        steps: stepDetails,
        cpuMsPerSignIn: { portalWithJavaScript: perSignIn("portalJs"), portalWithoutJavaScript: perSignIn("portal"), betterAuth: cpuPeer, betterAuthWithPages: cpuPeerPages },
      };
      await peer.stop();

      // RSS after the same request mix: a fresh process of each, the same number of complete sign-ins.
      const memPortalPort = await freePort();
      const portal2 = spawnNode(PORTAL, appEnv(memPortalPort, { DATABASE_URL: db!.url, DATA_DIR: join(scratch, "app-data-peer"), TRUST_PROXY: "1" }), memPortalPort);
      peers.push(portal2);
      await waitFor200(portal2, "/readyz", performance.now());
      await signIns("portal", memPortalPort, null, PEER_MEMORY_SIGNINS);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const portalRss = rssMb(portal2.pid);
      await portal2.stop();
      const memPeerPort = await freePort();
      const peer2 = await startPeer(memPeerPort);
      await signIns("peer", memPeerPort, null, PEER_MEMORY_SIGNINS);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const peerRss = rssMb(peer2.pid);
      await peer2.stop();
      add({
        figure: `RSS after ${PEER_MEMORY_SIGNINS} sign-ins, mfa-portal ÷ better-auth`,
        value: round(portalRss / peerRss, 2),
        unit: "×",
        goal: "< 1 (less)",
        met: portalRss < peerRss,
        note: `${round(portalRss, 0)} vs ${round(peerRss, 0)} MB; fresh process each, the same ${PEER_MEMORY_SIGNINS} complete sign-ins at concurrency ${SIGNIN_CONCURRENCY}, RSS 1 s after the last`,
      });
      details.peer = { ...(details.peer as object), rssMb: { portal: round(portalRss, 1), betterAuth: round(peerRss, 1) } };
    },
    [{ figure: "mfa-portal ÷ better-auth", unit: "×", goal: "> 1" }],
  );

  // (d) Memory: a fresh app process, 4 × 10,000 requests of a mix that includes password steps
  // (argon2id allocates 19 MiB per hash), RSS read between batches.
  await phase(
    "memory",
    async () => {
      await app!.stop();
      const memPort = await freePort();
      // --trace-gc prints the heap after every collection; a heap snapshot on SIGUSR2 forces a full one,
      // so the live heap can be read at the checkpoints (RSS is read before, the snapshot allocates).
      const snapshots = join(scratch, "heap");
      mkdirSync(snapshots, { recursive: true });
      app = spawnNode(
        ["--trace-gc", "--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${snapshots}`, ...PORTAL],
        appEnv(memPort, { DATABASE_URL: db!.url, DATA_DIR: join(scratch, "app-data"), TRUST_PROXY: "1" }),
        memPort,
      );
      let lastFullGc = NaN;
      app.onLine((line) => {
        // The full collections the snapshot asks for on the main isolate.
        const match = /Mark-Compact \(reduce\) [\d.]+ \([\d.]+\) -> ([\d.]+) \(.*heap profiler/.exec(line);
        if (match) lastFullGc = Number(match[1]);
      });
      const liveHeapMb = async () => {
        const before = readdirSync(snapshots).length;
        lastFullGc = NaN;
        process.kill(app!.pid, "SIGUSR2");
        const until = performance.now() + 30_000;
        while ((Number.isNaN(lastFullGc) || readdirSync(snapshots).length === before) && performance.now() < until) await new Promise((r) => setTimeout(r, 100));
        for (const file of readdirSync(snapshots)) rmSync(join(snapshots, file), { force: true });
        return lastFullGc;
      };
      await waitFor200(app, "/readyz", performance.now());
      const memOrigin = `http://127.0.0.1:${memPort}`;
      const page = decodeBody(await send(false, { port: memPort, path: "/login", headers: BROWSER_HEADERS }));
      const assetUrls = [...page.matchAll(/(?:href|src)="(\/static\/[^"]+)"/g)].map((m) => m[1]!);
      const rss: number[] = [rssMb(app.pid)];
      const rssAtOnce: number[] = [rss[0]!];
      const live: number[] = [];
      let failures = 0;
      let firstFailure = "";
      // Batches 1–4 are the figure; batch 5 only follows the live heap (a heap snapshot at the end of
      // batch 4 and of batch 5 forces the full collections; the snapshot itself inflates RSS, so no
      // RSS figure is read after the first one).
      for (let batch = 0; batch < 5; batch++) {
        // Fresh connections each batch: the pauses between batches outlast the server's keep-alive timeout.
        const agent = keepAliveAgent(PAGE_CONNECTIONS);
        let issued = 0;
        await Promise.all(
          Array.from({ length: PAGE_CONNECTIONS }, async () => {
            while (issued < MEMORY_BATCH) {
              const k = issued % 250;
              // 1 in 250: a password step (2 requests: start a flow, post the password).
              if (k === 0 && plan) {
                issued += 2;
                if (!(await passwordStep({ port: memPort, origin: memOrigin, agent, ip: nextIp() }, plan, nextUser()))) failures++;
                continue;
              }
              issued++;
              const target =
                k % 8 === 1 && plan
                  ? { port: memPort, method: "POST" as const, path: plan.start.action, body: plan.start.body, headers: { ...BROWSER_HEADERS, origin: memOrigin, "x-forwarded-for": nextIp() } }
                  : k % 8 === 2
                    ? { port: memPort, path: "/login", headers: { ...BROWSER_HEADERS, "hx-request": "true" } }
                    : k % 8 === 3 && assetUrls.length
                      ? { port: memPort, path: assetUrls[issued % assetUrls.length]!, headers: BROWSER_HEADERS }
                      : { port: memPort, path: "/login", headers: BROWSER_HEADERS };
              try {
                const reply = await send(agent, target);
                if (reply.status !== 200 && reply.status !== 303) {
                  failures++;
                  firstFailure ||= `${target.method ?? "GET"} ${target.path} → ${reply.status}`;
                }
              } catch (error) {
                failures++;
                firstFailure ||= String(error);
              }
            }
          }),
        );
        await agent.close();
        if (batch < 4) rssAtOnce.push(rssMb(app.pid));
        // Read again after a second of quiet: freed argon2 blocks go back to the OS a little after the last hash ends.
        await new Promise((resolve) => setTimeout(resolve, 1000));
        if (batch < 4) rss.push(rssMb(app.pid));
        if (batch >= 3) live.push(await liveHeapMb());
      }
      if (failures > MEMORY_BATCH / 100) throw new Error(`${failures} requests failed (${firstFailure})`);
      details.memoryRssMb = { settled: rss.map((x) => round(x, 1)), atOnce: rssAtOnce.map((x) => round(x, 1)), liveHeapAfterBatch4And5: live.map((x) => round(x, 1)) };
      const after2 = rss[2]!;
      const growth = rss[4]! - rss[2]!;
      add({
        figure: `Memory: app RSS after ${2 * MEMORY_BATCH} requests`,
        value: round(after2, 1),
        unit: "MB",
        goal: "≤ 150 MB",
        met: after2 <= 150,
        note: `fresh process; RSS at start and 1 s after each ${MEMORY_BATCH}: ${rss.map((x) => round(x, 0)).join(" → ")} MB (at once: ${rssAtOnce.map((x) => round(x, 0)).join(" → ")}); mix: pages, htmx fragments, assets, new flows, 0.4% password steps`,
      });
      add({
        figure: `Memory: RSS growth, requests ${2 * MEMORY_BATCH}→${4 * MEMORY_BATCH}`,
        value: round(growth, 1),
        unit: "MB",
        goal: "≤ 5 MB (no growth)",
        met: growth <= 5,
        note: "RSS follows V8's collection schedule (garbage piles up between full collections), so this swings either way; the live heap below is the leak check",
      });
      const liveGrowth = live[1]! - live[0]!;
      add({
        figure: `Memory: V8 live heap after a full GC, ${4 * MEMORY_BATCH} → ${5 * MEMORY_BATCH} requests`,
        value: round(liveGrowth, 1),
        unit: "MB",
        goal: "≤ 2 MB (no growth)",
        met: Number.isFinite(liveGrowth) ? liveGrowth <= 2 : null,
        note: `${round(live[0]!, 1)} → ${round(live[1]!, 1)} MB (full GC forced by a heap snapshot at each checkpoint, after the RSS reading)`,
      });
    },
    [{ figure: "Memory", unit: "MB", goal: "≤ 150 MB" }],
  );
} finally {
  await cleanup();
}

/** The argon2id bound: a separate, long-lived process doing only verifications when asked, while the bench waits. */
interface BoundProbe {
  pid: number;
  measure(ms: number): Promise<{ perSecond: number; source: string; params: string; threadpool: string }>;
  stop(): void;
}

function startArgon2Bound(concurrency: number): Promise<BoundProbe> {
  // The same thread pool size as the app gets.
  const env = { ...process.env, ...(APP_ENV.UV_THREADPOOL_SIZE ? { UV_THREADPOOL_SIZE: APP_ENV.UV_THREADPOOL_SIZE } : {}) };
  const child = spawn(process.execPath, ["--import", "tsx", "test/bench/argon2-bound.ts", String(concurrency)], { cwd: ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
  let buffer = "";
  let errors = "";
  const waiting: Array<{ resolve: (v: never) => void; reject: (e: Error) => void }> = [];
  child.stderr.on("data", (d) => (errors = (errors + d).slice(-2000)));
  child.stdout.on("data", (d) => {
    buffer += d;
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      waiting.shift()?.resolve(JSON.parse(line) as never);
    }
  });
  child.on("exit", (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`argon2 bound probe exited (${code}): ${errors}`));
  });
  const next = <T,>() => new Promise<T>((resolve, reject) => waiting.push({ resolve: resolve as (v: never) => void, reject }));
  const ready = next<{ ready: boolean }>();
  return ready.then(() => ({
    pid: child.pid!,
    measure(ms: number) {
      const answer = next<{ perSecond: number; source: string; params: string; threadpool: string }>();
      child.stdin.write(`${ms}\n`);
      return answer;
    },
    stop() {
      child.stdin.end();
      child.kill("SIGTERM");
    },
  }));
}

// ---------------------------------------------------------------------------------------------

const totalSeconds = (performance.now() - runStarted) / 1000;
const cpuModel = os.cpus()[0]?.model ?? "?";
const rows = figures.map((f) => [
  f.figure,
  f.value === null ? "n/a" : `${f.value} ${f.unit}`,
  f.goal,
  f.met === null ? (f.value === null ? "not measured" : "—") : f.met ? "yes" : "NO",
]);
const header = ["Figure", "Value", "Goal", "Met?"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => "| " + cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ") + " |";
console.log(line(header));
console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
for (const r of rows) console.log(line(r));
for (const f of figures.filter((f) => f.note)) console.log(`  ${f.figure}: ${f.note}`);
console.log(`\n${CORES} cores (${cpuModel}), node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}; run took ${totalSeconds.toFixed(0)} s.`);
if (details.phases && Object.keys(details.phases).length) {
  console.log(
    "Machine busy (cores in use, all processes) per phase: " +
      Object.entries(details.phases as Record<string, { machineBusyCores: number }>)
        .map(([k, v]) => `${k} ${v.machineBusyCores}`)
        .join(", "),
  );
}
for (const p of problems) console.log(`PROBLEM ${p}`);

const resultsDir = join(ROOT, "test/bench/results");
mkdirSync(resultsDir, { recursive: true });
const gitHead = (() => {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT }).toString().trim();
  } catch {
    return "?";
  }
})();
// The same table as Markdown, for docs/performance.md.
const md = [
  "| Figure | Value | Goal | Met? |",
  "|---|---|---|---|",
  ...rows.map((r) => `| ${r.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`),
  "",
  ...figures.filter((f) => f.note).map((f) => `- ${f.figure}: ${f.note}`),
  "",
  `${CORES} cores (${cpuModel}), Node ${process.version}, load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}; the run took ${totalSeconds.toFixed(0)} s.` +
    (details.phases && Object.keys(details.phases).length
      ? " Machine busy (cores in use by all processes) per phase: " +
        Object.entries(details.phases as Record<string, { machineBusyCores: number }>)
          .map(([k, v]) => `${k} ${v.machineBusyCores}`)
          .join(", ") +
        "."
      : ""),
].join("\n");
writeFileSync(join(resultsDir, "latest.md"), md + "\n");
writeFileSync(
  join(resultsDir, "latest.json"),
  JSON.stringify(
    {
      at: new Date().toISOString(),
      machine: { cores: CORES, cpu: cpuModel, node: process.version, loadAverage: os.loadavg(), memoryGb: round(os.totalmem() / 2 ** 30, 1) },
      git: gitHead,
      quick: QUICK,
      seconds: round(totalSeconds, 1),
      figures,
      details,
      problems,
    },
    null,
    2,
  ) + "\n",
);
process.exit(problems.length && figures.every((f) => f.value === null) ? 1 : 0);
