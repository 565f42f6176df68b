import { Hono } from "hono";
import type { AppDeps, AppEnv } from "../env.ts";

/** Import users. */
export function importRoutes(_deps: AppDeps) {
  const app = new Hono<AppEnv>();
  return app;
}
