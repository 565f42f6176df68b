/**
 * Shared test harness: one database per run (fresh), an app per test file with a manual clock,
 * and a cookie-keeping Browser that speaks to app.request() the way a browser (or htmx) would.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseHTML } from "linkedom";
import { loadConfig, type Config } from "../../src/config.ts";
import { openDatabase, type Database } from "../../src/db/client.ts";
import { migrate } from "../../src/db/migrate.ts";
import { createManualClock, type ManualClock } from "../../src/clock.ts";
import { silentLogger } from "../../src/log.ts";
import { loadAssets, type Assets } from "../../src/web/assets.ts";
import { createApp, type App } from "../../src/app.tsx";
import { createOutbox } from "../../src/delivery/outbox.ts";
import type { Outbox } from "../../src/delivery/outbox.ts";
import type { AppDeps } from "../../src/web/env.ts";
import type { Sql } from "../../src/db/client.ts";

let shared: Promise<Database> | null = null;
// Hashing and brotli-compressing the static files once per run, not once per test file.
let assets: Assets | undefined;

/** The run's database: TEST_DATABASE_URL (made fresh by test/run.ts) or an in-memory embedded Postgres. */
export function getTestDatabase(): Promise<Database> {
  shared ??= (async () => {
    const db = await openDatabase(process.env.TEST_DATABASE_URL ? { url: process.env.TEST_DATABASE_URL } : { memory: true });
    await migrate(db.sql);
    return db;
  })();
  return shared;
}

export async function closeTestDatabase(): Promise<void> {
  if (shared) await (await shared).close();
  shared = null;
}

export const PUBLIC_URL = "http://portal.test";

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: "test",
    PUBLIC_URL,
    SECRET_KEY: "test-secret-key-test-secret-key-0123456789",
    DATA_DIR: mkdtempSync(join(tmpdir(), "mfa-portal-test-")),
    LOG_REQUESTS: "0",
    // Pages write times in PORTAL_TIME_ZONE (default America/New_York); tests read them in UTC,
    // the zone their fixed instants are written in, unless they ask for another.
    PORTAL_TIME_ZONE: "UTC",
    ...env,
  });
}

export interface TestContext {
  app: App;
  deps: AppDeps;
  sql: Sql;
  clock: ManualClock;
  outbox: Outbox;
  config: Config;
  browser(): Browser;
}

/** A fresh app over the shared database. `env` overrides settings; `outbox` swaps delivery (contract tests). */
export async function createTestContext(options: { env?: Record<string, string>; outbox?: Outbox } = {}): Promise<TestContext> {
  const db = await getTestDatabase();
  const config = testConfig(options.env);
  const clock = createManualClock(new Date());
  const outbox = options.outbox ?? createOutbox({ sql: db.sql, clock, config, log: silentLogger, print: () => {} });
  const deps: AppDeps = { config, sql: db.sql, clock, outbox, assets: (assets ??= loadAssets()), log: silentLogger };
  const app = createApp(deps);
  return { app, deps, sql: db.sql, clock, outbox, config, browser: () => new Browser(app) };
}

let unique = 0;
/** A new address for each call, so tests sharing the run's database never collide. */
export function uniqueEmail(prefix = "provider"): string {
  unique += 1;
  return `${prefix}.${Date.now().toString(36)}.${process.pid}.${unique}@clinic.example`;
}

export interface Page {
  status: number;
  headers: Headers;
  text: string;
  /** Path (and query) of the page finally shown, after redirects were followed. */
  url: string;
  document: Document;
  /** Every redirect status seen on the way, in order. */
  redirects: number[];
}

/** Keeps cookies like a browser; follows 303/302 redirects with a GET; can act as htmx (HX-Request). */
export class Browser {
  cookies = new Map<string, string>();
  constructor(private app: App) {}

  async get(path: string, options: { htmx?: boolean; headers?: Record<string, string>; follow?: boolean } = {}): Promise<Page> {
    return this.send("GET", path, undefined, options);
  }

  async post(
    path: string,
    fields: Record<string, string | string[]> | URLSearchParams | string = {},
    options: { htmx?: boolean; headers?: Record<string, string>; origin?: string | null; follow?: boolean; contentType?: string } = {},
  ): Promise<Page> {
    let body: string;
    if (typeof fields === "string") body = fields;
    else if (fields instanceof URLSearchParams) body = fields.toString();
    else {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(fields)) for (const v of [value].flat()) params.append(key, v);
      body = params.toString();
    }
    return this.send("POST", path, body, options);
  }

  private async send(
    method: string,
    path: string,
    body: string | undefined,
    options: { htmx?: boolean; headers?: Record<string, string>; origin?: string | null; follow?: boolean; contentType?: string },
  ): Promise<Page> {
    const redirects: number[] = [];
    let url = path;
    let currentMethod = method;
    let currentBody = body;
    for (let hop = 0; hop < 10; hop++) {
      const headers: Record<string, string> = { "user-agent": "test-browser", ...(options.headers ?? {}) };
      if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
      if (options.htmx) headers["hx-request"] = "true";
      if (currentMethod === "POST") {
        headers["content-type"] ??= options.contentType ?? "application/x-www-form-urlencoded";
        if (options.origin !== null) headers.origin = options.origin ?? PUBLIC_URL;
      }
      const response = await this.app.request(url, { method: currentMethod, headers, body: currentBody }, undefined);
      this.store(response.headers);
      const location = response.headers.get("location");
      if (location && [301, 302, 303, 307].includes(response.status) && options.follow !== false) {
        redirects.push(response.status);
        const next = new URL(location, PUBLIC_URL + url);
        url = next.pathname + next.search;
        if (response.status !== 307) {
          currentMethod = "GET";
          currentBody = undefined;
        }
        continue;
      }
      // htmx puts HX-Replace-Url in the location bar: an htmx step answered with the next step's fragment is at that address.
      const replaced = options.htmx && currentMethod === "POST" ? response.headers.get("hx-replace-url") : null;
      if (replaced) url = replaced;
      const text = await response.text();
      return { status: response.status, headers: response.headers, text, url, document: parseHTML(text).document as unknown as Document, redirects };
    }
    throw new Error(`too many redirects from ${path}`);
  }

  private store(headers: Headers) {
    for (const line of headers.getSetCookie()) {
      const [pair] = line.split(";");
      const index = pair!.indexOf("=");
      const name = pair!.slice(0, index).trim();
      const value = pair!.slice(index + 1).trim();
      const expired = /max-age=0/i.test(line) || /expires=Thu, 01 Jan 1970/i.test(line);
      if (expired || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

/** Text of the elements matching a selector, trimmed, for assertions on rendered pages. */
export function texts(page: Page, selector: string): string[] {
  return [...page.document.querySelectorAll(selector)].map((el) => (el.textContent ?? "").replace(/\s+/g, " ").trim());
}

/** The accessible names of buttons on a page (their text), to press them by the guide's words. */
export function buttonNames(page: Page): string[] {
  return texts(page, "button");
}
