/**
 * The bench's side of the better-auth peer: seeding its users (one argon2id hash for all, as
 * seedUsers does for the portal) and one complete sign-in over its HTTP API, each step timed:
 * email and password, send the OTP, fetch it (the bench's stand-in for reading the email, untimed
 * in the comparison), verify it. A session cookie at the end is the success.
 */
import { randomBytes } from "node:crypto";
import type { Sql } from "../../../src/db/client.ts";
import { CookieJar, send } from "../http.ts";
import type { BenchUser } from "../db.ts";
import type { Client, StepTiming } from "../signin.ts";

export async function seedPeerUsers(sql: Sql, users: BenchUser[]): Promise<void> {
  const { hashPassword } = await import("../../../src/auth/passwords.ts");
  const hash = await hashPassword(users[0]!.password);
  const now = new Date();
  for (let start = 0; start < users.length; start += 500) {
    const batch = users.slice(start, start + 500).map((u) => ({ id: randomBytes(16).toString("base64url"), email: u.email }));
    await sql`insert into "user" ${sql(batch.map((u) => ({ id: u.id, name: "Bench User", email: u.email, emailVerified: true, twoFactorEnabled: true, createdAt: now, updatedAt: now })))}`;
    await sql`insert into account ${sql(batch.map((u) => ({ id: `${u.id}-acct`, accountId: u.id, providerId: "credential", userId: u.id, password: hash, createdAt: now, updatedAt: now })))}`;
  }
}

export const PEER_STEPS = { password: "POST sign-in/email (argon2id)", send: "POST two-factor/send-otp", verify: "POST two-factor/verify-otp" } as const;

/**
 * One whole better-auth sign-in. Returns its steps and whether it ended with a session.
 * `pages`: also load the sign-in page first and the home page at the end (behind the session),
 * as a person using an app on better-auth would.
 */
export async function peerSignIn(client: Client, user: BenchUser, options: { pages?: boolean } = {}): Promise<{ ok: boolean; steps: StepTiming[]; error?: string }> {
  const jar = new CookieJar();
  const steps: StepTiming[] = [];
  /** One timed request with the jar's cookies: a GET of a page, or a POST of JSON to the API. */
  const request = async (step: string, path: string, body?: unknown) => {
    const cookie = jar.header();
    const headers: Record<string, string> = { "x-forwarded-for": client.ip, "user-agent": "mfa-portal-bench", ...(cookie ? { cookie } : {}) };
    const reply = await send(
      client.agent,
      body === undefined
        ? { port: client.port, path, headers: { accept: "text/html", ...headers } }
        : { port: client.port, method: "POST", path, body: JSON.stringify(body), headers: { "content-type": "application/json", origin: client.origin, ...headers } },
    );
    jar.take(reply.headers);
    steps.push({ step, ms: reply.ms, status: reply.status });
    return reply;
  };
  if (options.pages) {
    const login = await request("GET /login", "/login");
    if (login.status !== 200 || !login.body.toString().includes('action="/api/auth/sign-in/email"')) return { ok: false, steps, error: `GET /login ${login.status}` };
  }
  let reply = await request(PEER_STEPS.password, "/api/auth/sign-in/email", { email: user.email, password: user.password });
  if (reply.status !== 200 || !reply.body.toString().includes('"twoFactorRedirect":true')) return { ok: false, steps, error: `sign-in/email ${reply.status}: ${reply.body.toString().slice(0, 200)}` };
  reply = await request(PEER_STEPS.send, "/api/auth/two-factor/send-otp", {});
  if (reply.status !== 200) return { ok: false, steps, error: `send-otp ${reply.status}: ${reply.body.toString().slice(0, 200)}` };
  const otp = await send(client.agent, { port: client.port, path: `/bench/otp?email=${encodeURIComponent(user.email)}` });
  if (otp.status !== 200) return { ok: false, steps, error: `no OTP for ${user.email}` };
  reply = await request(PEER_STEPS.verify, "/api/auth/two-factor/verify-otp", { code: otp.body.toString() });
  const session = /better-auth\.session_token=/.test(jar.header() ?? "");
  if (reply.status !== 200 || !session) return { ok: false, steps, error: `verify-otp ${reply.status}: ${reply.body.toString().slice(0, 200)}` };
  if (options.pages) {
    const home = await request("GET /home", "/home");
    if (home.status !== 200 || !home.body.toString().includes(`Signed in as ${user.email}`)) return { ok: false, steps, error: `GET /home ${home.status}: ${home.body.toString().slice(0, 200)}` };
  }
  return { ok: true, steps };
}
