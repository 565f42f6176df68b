/**
 * One app process and one Chromium for the whole e2e run, shared by every suite; started by
 * the first path that needs them and stopped after the last registered suite finished (uvu runs
 * suites one after another). Start-up errors surface as that path's failure, never as a crash
 * of the runner (uvu lets a throwing before-hook escape).
 */
import { mkdirSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { suite, type Test } from "uvu";
import type { Browser } from "playwright-core";
import { ROOT, startApp, type RunningApp } from "./app.ts";
import { AxeReplay, launchBrowser } from "./browser.ts";
import { Journey, type Mode } from "./journey.ts";

export interface E2E {
  app: RunningApp;
  browser: Browser;
  axe: AxeReplay;
  shotsDir: string;
  stats: { pages: number; violations: number; screenshots: number; paths: number };
}

export const SHOTS_DIR = join(ROOT, "test-results", "screenshots");

let shared: Promise<E2E> | null = null;
let registered = 0;
let finished = 0;

export function e2e(): Promise<E2E> {
  shared ??= (async () => {
    rmSync(SHOTS_DIR, { recursive: true, force: true });
    mkdirSync(SHOTS_DIR, { recursive: true });
    const [app, browser] = await Promise.all([startApp(), launchBrowser()]);
    return { app, browser, axe: new AxeReplay(browser), shotsDir: SHOTS_DIR, stats: { pages: 0, violations: 0, screenshots: 0, paths: 0 } };
  })();
  return shared;
}

async function teardown() {
  if (!shared) return;
  const pending = shared;
  shared = null;
  let env: E2E;
  try {
    env = await pending;
  } catch {
    return; // it never started; the paths already reported why
  }
  await env.axe.close();
  await env.browser.close().catch(() => {});
  await env.app.stop().catch((error) => console.error("stopping the app:", error));
  const { pages, violations, screenshots, paths } = env.stats;
  console.log(
    `\n  e2e: ${paths} path runs, axe (${["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"].join(", ")}) on ${pages} pages: ${violations} violations` +
      `\n  screenshots (${screenshots}): ${relative(process.cwd(), env.shotsDir) || "."}  (${env.shotsDir})`,
  );
}

/** A uvu suite that keeps the shared app and browser alive until the last suite is done. */
export function e2eSuite(name: string): Test {
  const s = suite(name);
  registered++;
  s.after(async () => {
    finished++;
    if (finished >= registered) await teardown().catch((error) => console.error("e2e teardown:", error));
  });
  return s;
}

export const MODES: Mode[] = ["js", "nojs"];

/**
 * Path runs are independent (own context, own people, own client address), so a small pool runs
 * a few at once, in the order uvu will ask for them; each uvu test just waits for its own run.
 */
const CONCURRENCY = Math.max(1, Number(process.env.E2E_CONCURRENCY ?? 3));

interface Job {
  title: string;
  mode: Mode;
  run: (j: Journey) => Promise<void>;
  result: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

const jobs: Job[] = [];
let nextJob = 0;
let poolStarted = false;

function startPool() {
  if (poolStarted) return;
  poolStarted = true;
  for (let i = 0; i < CONCURRENCY; i++) void worker();
}

async function worker() {
  while (nextJob < jobs.length) {
    const job = jobs[nextJob++]!;
    await execute(job).then(job.resolve, job.reject);
  }
}

async function execute(job: Job): Promise<void> {
  const env = await e2e();
  const journey = await Journey.open(env, job.title, job.mode);
  try {
    await withTimeout(job.run(journey), 240_000, `${job.title} (${job.mode}) took longer than 240 s`);
    journey.assertClean();
  } catch (error) {
    throw await journey.explain(error);
  } finally {
    env.stats.paths++;
    await journey.close();
  }
}

/**
 * Registers `title` twice, with JavaScript enabled and disabled. Each run gets its own browser
 * context (own cookies, own client address), and fails with every axe, reflow and focus problem
 * found on the way, as well as with the first step that did not work.
 */
export function path(s: Test, title: string, run: (j: Journey) => Promise<void>, modes: Mode[] = MODES) {
  for (const mode of modes) {
    const job = { title, mode, run } as Job;
    job.result = new Promise<void>((resolve, reject) => {
      job.resolve = resolve;
      job.reject = reject;
    });
    job.result.catch(() => {}); // reported by its uvu test, which awaits it
    jobs.push(job);
    s(`${title} (${mode === "js" ? "JavaScript on" : "JavaScript off"})`, async () => {
      startPool();
      await job.result;
    });
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
