import { Hono } from "hono";
import type { AppDeps, AppEnv } from "../env.ts";

/** A database that does not answer within this time counts as down: probes must answer quickly. */
const READY_TIMEOUT_MS = 3000;

/** /healthz: the process answers. /readyz: and the database does too (load balancers route by it). */
export function healthRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  app.get("/healthz", (c) => c.text("ok"));
  app.get("/readyz", async (c) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ready = await Promise.race([
      deps.sql`select 1`.then(
        () => true,
        () => false,
      ),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), READY_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    return ready ? c.text("ready") : c.text("database unavailable", 503);
  });
  return app;
}
