import { ConfigError, loadConfig } from "./config.ts";
import { openDatabase, type Database } from "./db/client.ts";
import { migrate } from "./db/migrate.ts";
import { systemClock } from "./clock.ts";
import { createLogger } from "./log.ts";
import { loadAssets } from "./web/assets.ts";
import { createApp } from "./app.tsx";
import { createOutbox } from "./delivery/outbox.ts";
import type { AppDeps } from "./web/env.ts";

declare const Deno: any;
const isDeno = typeof Deno !== "undefined";

/** config → database → migrate → serve, and a clean stop on SIGTERM/SIGINT. */
async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`Configuration error: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const log = createLogger();
  const db: Database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  const applied = await migrate(db.sql);
  if (applied.length) log.info("migrations_applied", { names: applied });

  const clock = systemClock;
  const outbox = createOutbox({ sql: db.sql, clock, config, log });
  const deps: AppDeps = {
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
  if (isDeno) {
    const server = Deno.serve({ port: config.port, hostname: "0.0.0.0", onListen: () => {} }, app.fetch);
    stopServer = () => server.shutdown();
  } else {
    const { serve } = await import("@hono/node-server");
    const server = serve({ fetch: app.fetch, port: config.port });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    stopServer = () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as import("node:http").Server).closeIdleConnections?.();
      });
  }
  console.log(`mfa-portal listening on ${config.publicUrl} (port ${config.port}, ${db.kind} database${config.mail.kind === "dev" ? ", dev outbox at /dev/outbox" : ""})`);
  const [{ admins }] = await db.sql<{ admins: number }[]>`select count(*)::int as admins from users where role = 'admin' and status <> 'disabled'`;
  if (admins === 0) {
    console.log(`No administrator yet. Create one with:\n  npm run invite -- --email you@example.org --name "Your Name" --admin`);
  }
  outbox.kick(); // messages queued before a crash or restart go out now

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("stopping", { signal });
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref?.();
    await stopServer();
    await outbox.stop();
    await db.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

await main();
