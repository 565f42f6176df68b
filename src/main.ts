import { resolve } from "node:path";
import { ConfigError, loadConfig, usesDevOutbox, type Config } from "./config.ts";
import { openDatabase, type Database } from "./db/client.ts";
import { migrate } from "./db/migrate.ts";
import { systemClock } from "./clock.ts";
import { createLogger } from "./log.ts";
import { loadAssets } from "./web/assets.ts";
import { createApp } from "./app.tsx";
import { createOutbox } from "./delivery/outbox.ts";
import { startHousekeeping } from "./db/housekeeping.ts";
import { purgeApplicationRecords } from "./apps/application-sessions.ts";
import { createBackchannelLogouts } from "./apps/backchannel.ts";
import type { AppDeps } from "./web/env.ts";
import { startMetricsServer, type MetricsServer } from "./metrics.ts";

declare const Deno: any;
const isDeno = typeof Deno !== "undefined";

/** config → database → migrate → serve, and a clean stop on SIGTERM/SIGINT. */
async function main() {
  const started = performance.now();
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      // One line per bad variable, each starting with its name, then a non-zero exit.
      console.error(error.message.split("\n").map((line) => `Configuration error: ${line}`).join("\n"));
      process.exit(1);
    }
    throw error;
  }
  const log = createLogger();
  if (!isDeno) keepRunningThroughLostConnections(log);
  const db: Database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  const applied = await migrate(db.sql);
  if (applied.length) log.info("migrations_applied", { names: applied });

  const clock = systemClock;
  const outbox = createOutbox({ sql: db.sql, clock, config, log });
  const backchannelLogouts = createBackchannelLogouts({ sql: db.sql, clock, log });
  const deps: AppDeps = {
    backchannelLogouts,
    config,
    sql: db.sql,
    clock,
    outbox,
    assets: loadAssets(),
    log,
    remoteAddress: (_request, env) =>
      isDeno ? (env as any)?.remoteAddr?.hostname : (env as any)?.incoming?.socket?.remoteAddress,
  };
  const app = createApp(deps);

  let stopServer: () => Promise<void>;
  try {
    stopServer = isDeno ? serveDeno(app.fetch, config.port) : await serveNode(app.fetch, config.port);
  } catch (error) {
    console.error(`Cannot listen on port ${config.port}: ${(error as Error).message}`);
    await db.close();
    process.exit(1);
  }

  let metrics: MetricsServer | null = null;
  if (config.metricsPort !== undefined) {
    try {
      metrics = await startMetricsServer({ port: config.metricsPort, sql: db.sql, clock, poolSize: db.sql.options.max });
    } catch (error) {
      console.error(`Cannot listen on 127.0.0.1:${config.metricsPort} for METRICS_PORT: ${(error as Error).message}`);
      await stopServer();
      await db.close();
      process.exit(1);
    }
  }

  const where = [`${db.kind === "embedded" ? `embedded database in ${config.dataDir}` : "Postgres at DATABASE_URL"}`];
  if (usesDevOutbox(config)) where.push(`dev outbox at ${config.publicUrl}/dev/outbox`);
  if (metrics) where.push(`metrics at http://127.0.0.1:${metrics.port}/metrics`);
  const runtime = isDeno ? `Deno ${Deno.version.deno}` : `Node ${process.version}`;
  console.log(`mfa-portal listening on port ${config.port}: open ${config.publicUrl} (${where.join(", ")}; ${runtime}; ready in ${Math.round(performance.now() - started)} ms)`);
  const [row] = await db.sql<{ admins: number }[]>`select count(*)::int as admins from users where role = 'admin' and status <> 'disabled'`;
  if (!row?.admins) {
    // The hint carries the settings this server runs with, so invite opens the same database and links to this address.
    const settings = [
      process.env.PORT ? `PORT=${config.port}` : "",
      process.env.PUBLIC_URL ? `PUBLIC_URL=${config.publicUrl}` : "",
      db.kind === "embedded" && process.env.DATA_DIR ? `DATA_DIR=${JSON.stringify(resolve(config.dataDir))}` : "",
      config.databaseUrl ? "DATABASE_URL=<the same URL>" : "",
    ].filter(Boolean);
    console.log(`No administrator yet. Create one with:\n  ${[...settings, "npm run invite"].join(" ")} -- --email you@example.org --name "Your Name" --admin`);
  }
  outbox.kick(); // messages queued before a crash or restart go out now
  backchannelLogouts.kick(); // and logout tokens owed then
  const housekeeping = startHousekeeping({ sql: db.sql, clock, config, log, purges: { applications: purgeApplicationRecords } });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("stopping", { signal });
    // A request that never ends must not keep the process (and the data directory) forever.
    const force = setTimeout(() => {
      console.error("stop took longer than 15 s; exiting anyway");
      process.exit(1);
    }, 15_000);
    (force as { unref?: () => void }).unref?.();
    await stopServer(); // stops accepting, lets in-flight requests finish
    await metrics?.stop();
    await outbox.stop();
    await housekeeping.stop();
    await db.close(); // a clean PGlite close: the data directory reopens without recovery
    clearTimeout(force);
    process.exit(0);
  };
  if (isDeno) {
    Deno.addSignalListener("SIGTERM", () => void stop("SIGTERM"));
    Deno.addSignalListener("SIGINT", () => void stop("SIGINT"));
  } else {
    process.on("SIGTERM", () => void stop("SIGTERM"));
    process.on("SIGINT", () => void stop("SIGINT"));
  }
}

/**
 * postgres.js 3.4.9 can throw from a timer when the database drops a connection under load: a
 * buffered write runs after the socket is gone (porsager/postgres#1154, #1208). That connection's
 * queries were already rejected (each request answered 503), so this one error must not take the
 * process and every other request down with it; anything else still ends the process.
 */
function keepRunningThroughLostConnections(log: ReturnType<typeof createLogger>): void {
  process.on("uncaughtException", (error) => {
    const stack = error instanceof Error ? (error.stack ?? "") : "";
    if (error instanceof TypeError && /reading 'write'/.test(error.message) && /postgres[\\/]src[\\/]connection\.js/.test(stack) && /nextWrite/.test(stack)) {
      log.error("database_connection_lost", { error: error.message });
      return;
    }
    console.error(error);
    process.exit(1);
  });
}

type Fetch = (request: Request, env?: any) => Response | Promise<Response>;

async function serveNode(fetch: Fetch, port: number): Promise<() => Promise<void>> {
  const { serve } = await import("@hono/node-server");
  const server = serve({ fetch, port }) as import("node:http").Server;
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
}

function serveDeno(fetch: Fetch, port: number): () => Promise<void> {
  const server = Deno.serve({ port, hostname: "0.0.0.0", onListen: () => {} }, fetch);
  return () => server.shutdown();
}

await main();
