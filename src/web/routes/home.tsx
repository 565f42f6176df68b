import { Hono } from "hono";
import type { AppDeps, AppEnv } from "../env.ts";

export function homeRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  void deps;
  return app;
}
