import { Hono } from "hono";
import type { AppDeps, AppEnv } from "../env.ts";

export function loginRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  void deps;
  return app;
}
