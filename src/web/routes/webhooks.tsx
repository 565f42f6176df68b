import { Hono } from "hono";
import type { AppDeps, AppEnv } from "../env.ts";

export function webhooksRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  void deps;
  return app;
}
