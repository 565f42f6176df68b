/**
 * The baseline: a bare Hono app answering a static string, on the same runtime and server adapter
 * as the portal (node + @hono/node-server). Whatever /login costs beyond this is the portal's own.
 */
import { Hono } from "hono";
import { serve } from "@hono/node-server";

const port = Number(process.env.PORT);
const app = new Hono();
app.get("/", (c) => c.text("Sign in"));

const server = serve({ fetch: app.fetch, port, hostname: "127.0.0.1" });
process.on("SIGTERM", () => server.close(() => process.exit(0)));
