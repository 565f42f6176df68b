import { Hono } from "hono";
import type { AppDeps, AppEnv } from "../env.ts";

/** Content-hashed assets, compressed once at start and cached by browsers for a year. */
export function staticRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  app.get("/static/:file", (c) => {
    const asset = deps.assets.byUrl.get(c.req.path);
    if (!asset) return c.text("Not found", 404);
    const accept = c.req.header("accept-encoding") ?? "";
    const [body, encoding] = /\bbr\b/.test(accept)
      ? [asset.brotli, "br"]
      : /\bgzip\b/.test(accept)
        ? [asset.gzip, "gzip"]
        : [asset.body, null];
    c.header("Content-Type", asset.type);
    c.header("Cache-Control", "public, max-age=31536000, immutable");
    c.header("Vary", "Accept-Encoding");
    if (encoding) c.header("Content-Encoding", encoding);
    return c.body(body as Uint8Array<ArrayBuffer>);
  });
  return app;
}
