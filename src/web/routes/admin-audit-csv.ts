import type { Context } from "hono";
import type { AppDeps, AppEnv } from "../env.ts";

export async function auditDownload(_deps: AppDeps, c: Context<AppEnv>) {
  return c.notFound();
}
