import { Hono } from "hono";
import type { AppDeps, AppEnv } from "../env.ts";

/** The Organizations page (portal Administrators). */
export function organizationsRoutes(_deps: AppDeps) {
  const app = new Hono<AppEnv>();
  return app;
}
