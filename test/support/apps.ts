/**
 * For the application tests: the app served over real HTTP on a free loopback port (relying
 * parties and nginx need a real server), a cookie-keeping HTTP browser that stops at foreign
 * addresses, and registered users with portal sessions made directly.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { createApp, type App } from "../../src/app.tsx";
import { createManualClock, type ManualClock } from "../../src/clock.ts";
import { createOutbox } from "../../src/delivery/outbox.ts";
import { silentLogger } from "../../src/log.ts";
import { loadAssets } from "../../src/web/assets.ts";
import type { AppDeps } from "../../src/web/env.ts";
import type { Config } from "../../src/config.ts";
import type { Sql } from "../../src/db/client.ts";
import { createSession } from "../../src/auth/sessions.ts";
import { createBackchannelLogouts, type BackchannelLogouts } from "../../src/apps/backchannel.ts";
import { getTestDatabase, testConfig } from "./harness.ts";

export interface ServedApp {
  app: App;
  deps: AppDeps;
  sql: Sql;
  clock: ManualClock;
  config: Config;
  /** The back-channel logout sender: drain() waits for the logout tokens a request set off. */
  logouts: BackchannelLogouts;
  url: string;
  close(): Promise<void>;
}

/** The app on 127.0.0.1:<free port>, PUBLIC_URL set to it. */
export async function serveTestApp(env: Record<string, string> = {}): Promise<ServedApp> {
  const db = await getTestDatabase();
  let handler: (request: Request, env: unknown) => Response | Promise<Response> = () => new Response("starting", { status: 503 });
  const server = serve({ fetch: (request, e) => handler(request, e), port: 0, hostname: "127.0.0.1" }) as Server;
  await new Promise<void>((resolve) => (server.listening ? resolve() : server.once("listening", () => resolve())));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const config = testConfig({ PUBLIC_URL: url, ...env });
  const clock = createManualClock(new Date());
  const outbox = createOutbox({ sql: db.sql, clock, config, log: silentLogger, print: () => {} });
  const logouts = createBackchannelLogouts({ sql: db.sql, clock, log: silentLogger });
  const deps: AppDeps = {
    config,
    sql: db.sql,
    clock,
    outbox,
    backchannelLogouts: logouts,
    assets: loadAssets(),
    log: silentLogger,
    remoteAddress: (_r, e) => (e as { incoming?: { socket?: { remoteAddress?: string } } })?.incoming?.socket?.remoteAddress,
  };
  const app = createApp(deps);
  handler = (request, e) => app.fetch(request, e);
  return {
    app,
    deps,
    sql: db.sql,
    clock,
    config,
    logouts,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  url: string;
}

/**
 * A browser over real HTTP: keeps cookies per host, follows redirects within `home` (the portal)
 * and stops at the first address elsewhere (the relying party's redirect URI), answering it.
 */
export class HttpBrowser {
  cookies = new Map<string, string>();
  constructor(private home: string) {}

  setCookie(name: string, value: string) {
    this.cookies.set(name, value);
  }

  /** `until`: stop (without requesting it) at the first address it accepts, e.g. the sign-in page. */
  async get(url: string, headers: Record<string, string> = {}, until?: (url: URL) => boolean): Promise<HttpAnswer> {
    return this.send("GET", url, undefined, headers, until);
  }

  async post(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    return this.send("POST", url, new URLSearchParams(fields).toString(), {
      "content-type": "application/x-www-form-urlencoded",
      origin: new URL(this.home).origin,
      ...headers,
    });
  }

  private async send(method: string, start: string, body: string | undefined, extra: Record<string, string>, until?: (url: URL) => boolean): Promise<HttpAnswer> {
    let url = new URL(start, this.home).toString();
    let currentMethod = method;
    let currentBody = body;
    for (let hop = 0; hop < 15; hop++) {
      if (new URL(url).origin !== new URL(this.home).origin || (hop > 0 && until?.(new URL(url)))) return { status: 0, headers: new Headers(), text: "", url };
      const headers: Record<string, string> = { "user-agent": "apps-test", ...extra };
      if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
      const response = await fetch(url, { method: currentMethod, headers, body: currentBody, redirect: "manual" });
      for (const line of response.headers.getSetCookie()) {
        const [pair] = line.split(";");
        const index = pair!.indexOf("=");
        const name = pair!.slice(0, index).trim();
        const value = pair!.slice(index + 1).trim();
        if (/max-age=0/i.test(line) || /expires=Thu, 01 Jan 1970/i.test(line) || value === "") this.cookies.delete(name);
        else this.cookies.set(name, value);
      }
      const location = response.headers.get("location");
      if (location && [301, 302, 303, 307].includes(response.status)) {
        await response.arrayBuffer();
        url = new URL(location, url).toString();
        if (response.status !== 307) {
          currentMethod = "GET";
          currentBody = undefined;
          delete extra["content-type"];
        }
        continue;
      }
      return { status: response.status, headers: response.headers, text: await response.text(), url };
    }
    throw new Error(`too many redirects from ${start}`);
  }
}

/** A portal session for the user, made directly (the sign-in pages are tested elsewhere), on the browser. */
export async function signInDirectly(served: ServedApp, browser: HttpBrowser, userId: string): Promise<string> {
  const { token, session } = await createSession(served.sql, served.clock, userId, "phone");
  browser.setCookie("session", token);
  return session.id;
}
