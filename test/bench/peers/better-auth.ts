/**
 * The peer in the benchmark: better-auth (email and password, its two-factor plugin with an
 * emailed OTP as the second factor) on Hono and @hono/node-server, on its own database of the
 * same Postgres, hashing with argon2id at the portal's own parameters (ARGON2_OPTIONS). Its rate
 * limiter is on and kept in Postgres, as the portal's is. Run with plain Node (type stripping),
 * as the portal runs compiled JavaScript: neither carries a TypeScript loader.
 *
 *   PORT=… DATABASE_URL=postgres://…/peer_db node test/bench/peers/better-auth.ts
 *
 * Creates its tables at start (better-auth's own migrations). The OTP it would email is kept in
 * memory and handed to the bench by GET /bench/otp?email=…, as the portal's dev outbox does.
 * GET /login and GET /home are the least pages an app on it would serve around those calls.
 */
import { Hono } from "hono";
import { serve } from "@hono/node-server";
import { betterAuth } from "better-auth";
import { twoFactor } from "better-auth/plugins";
import { getMigrations } from "better-auth/db/migration";
import { hash, verify } from "@node-rs/argon2";
import pg from "pg";
import { ARGON2_OPTIONS } from "../../../src/auth/passwords.ts";

const port = Number(process.env.PORT);
const origin = `http://127.0.0.1:${port}`;
const otps = new Map<string, string>();

export const auth = betterAuth({
  appName: "Provider Portal",
  baseURL: origin,
  secret: process.env.SECRET_KEY ?? "bench-secret-key-bench-secret-key-0123456789",
  // The same pool size as the portal's postgres.js pool.
  database: new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 }),
  emailAndPassword: {
    enabled: true,
    password: {
      hash: (password: string) => hash(password, ARGON2_OPTIONS),
      verify: ({ hash: stored, password }: { hash: string; password: string }) => verify(stored, password),
    },
  },
  plugins: [
    twoFactor({
      otpOptions: {
        async sendOTP({ user, otp }: { user: { email: string }; otp: string }) {
          otps.set(user.email, otp);
        },
      },
    }),
  ],
  rateLimit: { enabled: true, storage: "database" },
  advanced: { ipAddress: { ipAddressHeaders: ["x-forwarded-for"] } },
  telemetry: { enabled: false },
});

const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

const app = new Hono();
app.get("/healthz", (c) => c.text("ok"));
app.get("/bench/otp", (c) => {
  const otp = otps.get(c.req.query("email") ?? "");
  return otp ? c.text(otp) : c.text("none", 404);
});
app.on(["GET", "POST"], "/api/auth/*", (c) => auth.handler(c.req.raw));

/**
 * The two pages a person loads around the API calls, as an app on better-auth would serve them
 * at the least: the sign-in page, and the home page behind the session. The bench's "with its
 * pages" side loads them (the portal serves both as part of every sign-in); kept as small as a
 * page can be, so that side is better-auth's best case.
 */
const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title></head><body><main>${body}</main></body></html>`;
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
app.get("/login", (c) =>
  c.html(
    page(
      "Sign in",
      `<h1>Sign in</h1><form method="post" action="/api/auth/sign-in/email"><label for="email">Email Address</label><input id="email" name="email" type="email" autocomplete="username" required><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required><button type="submit">Sign in</button></form>`,
    ),
  ),
);
app.get("/home", async (c) => {
  const session = await auth.api.getSession({ headers: c.req.raw.headers });
  if (!session) return c.redirect("/login", 303);
  return c.html(page("Home", `<h1>Home</h1><p>Signed in as ${escapeHtml(session.user.email)}.</p><form method="post" action="/api/auth/sign-out"><button type="submit">Sign out</button></form>`));
});

const server = serve({ fetch: app.fetch, port, hostname: "127.0.0.1" });
console.log(`better-auth peer listening on ${origin} (Node ${process.version})`);
process.on("SIGTERM", () => server.close(() => process.exit(0)));
