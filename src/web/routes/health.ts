import { Hono } from "hono";
import type { AppDeps, AppEnv } from "../env.ts";

/** /healthz: the process answers. /readyz: and the database does too (load balancers route by it). */
export function healthRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  app.get("/healthz", (c) => c.text("ok"));
  app.get("/readyz", async (c) => {
    try {
      await deps.sql`select 1`;
      return c.text("ready");
    } catch {
      return c.text("database unavailable", 503);
    }
  });
  return app;
}
