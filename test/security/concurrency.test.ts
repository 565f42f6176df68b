/**
 * Races against a real server process (node's HTTP server, a private Postgres cluster): 100
 * simultaneous submissions of one right code give exactly one success and one session; 100
 * simultaneous guesses at one code get at most 5 comparisons; 100 simultaneous Continues after
 * the email code make one session (ASVS 6.5.1, 6.6.3, 7.2.4).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import postgres from "postgres";
import { hashPassword } from "../../src/auth/passwords.ts";
import { TERMS_VERSION } from "../../src/terms.ts";
import { addFactor } from "../../src/auth/users.ts";
import { systemClock } from "../../src/clock.ts";
import { MAX_CODE_ATTEMPTS } from "../../src/auth/codes.ts";
import { PUBLIC_URL, type Browser } from "../support/harness.ts";
import { sharedCluster } from "./support/cluster.ts";
import { spawnApp, type AppProcess } from "./support/app-process.ts";

let app: AppProcess;
let sql: postgres.Sql;
let passwordHash: string;
const PASSWORD = "amber-kettle-orbit-7-violin";
const RACERS = 100;

test.before(async () => {
  const cluster = await sharedCluster();
  const url = await cluster.createDatabase("race");
  app = await spawnApp({ databaseUrl: url });
  sql = postgres(url, { max: 4, onnotice: () => {} });
  passwordHash = await hashPassword(PASSWORD);
});

test.after(async () => {
  await sql.end({ timeout: 5 });
  await app.stop();
});

let n = 0;
async function user(method: "phone" | "email"): Promise<{ id: string; email: string; phone: string | null }> {
  n += 1;
  const email = `racer.${Date.now().toString(36)}.${n}@clinic.example`;
  const phone = method === "phone" ? `+1415555${String(1000 + n).slice(-4)}` : null;
  const [row] = await sql<{ id: string }[]>`
    insert into users (email, email_normalized, name, status, mfa_method, phone_e164, password_hash, terms_version, terms_accepted_at)
    values (${email}, ${email}, 'Racer', 'active', ${method}, ${phone}, ${passwordHash}, ${TERMS_VERSION}, now()) returning id`;
  await addFactor(sql, systemClock, row!.id, { kind: method, destination: phone ?? email });
  return { id: row!.id, email, phone };
}

async function lastCode(to: string): Promise<string> {
  const [row] = await sql<{ body: string }[]>`select body from outbox where recipient = ${to} order by id desc limit 1`;
  return /(\d{6})/.exec(row!.body)![1]!;
}

async function sessions(userId: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from sessions where user_id = ${userId}`;
  return row!.n;
}

/** The same request from `RACERS` clients at once, each from its own address (so no per-address limit decides). */
async function race(browser: Browser, path: string, bodies: string[]): Promise<{ status: number; location: string | null }[]> {
  const cookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  return Promise.all(
    bodies.map(async (body, i) => {
      const response = await fetch(app.base + path, {
        method: "POST",
        redirect: "manual",
        headers: { cookie, origin: PUBLIC_URL, "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": `198.18.200.${i + 1}` },
        body,
        signal: AbortSignal.timeout(60_000),
      });
      await response.arrayBuffer();
      return { status: response.status, location: response.headers.get("location") };
    }),
  );
}

let ips = 0;
const browser = () => app.browser(`198.18.201.${++ips}`);

test(`ASVS 6.5.1: ${RACERS} simultaneous submissions of one right SMS code: exactly one success and one session`, async () => {
  const account = await user("phone");
  const b = browser();
  await b.post("/login", { option: "phone" });
  assert.is((await b.post("/login/credentials", { email: account.email, password: PASSWORD })).url, "/login/phone");
  assert.is((await b.post("/login/phone/send")).url, "/login/phone/code");
  const code = await lastCode(account.phone!);
  const answers = await race(b, "/login/phone/code", Array.from({ length: RACERS }, () => `code=${code}`));
  const wins = answers.filter((a) => a.status === 303 && a.location === "/home");
  assert.is(wins.length, 1, `one success: ${JSON.stringify(answers.map((a) => `${a.status} ${a.location}`).slice(0, 10))}`);
  assert.not.ok(answers.some((a) => a.status >= 500), "no 5xx");
  assert.is(await sessions(account.id), 1, "one session in the sessions table");
});

test(`ASVS 6.6.3: ${RACERS} simultaneous guesses at one code get at most ${MAX_CODE_ATTEMPTS} comparisons`, async () => {
  const account = await user("phone");
  const b = browser();
  await b.post("/login", { option: "phone" });
  await b.post("/login/credentials", { email: account.email, password: PASSWORD });
  await b.post("/login/phone/send");
  const code = await lastCode(account.phone!);
  const guesses = Array.from({ length: RACERS }, (_, i) => `code=${String((Number(code) + 1 + i) % 1_000_000).padStart(6, "0")}`);
  guesses[RACERS - 1] = `code=${code}`; // the right code among them, sent last
  const answers = await race(b, "/login/phone/code", guesses);
  assert.not.ok(answers.some((a) => a.status >= 500), "no 5xx");
  const [row] = await sql<{ attempts: number }[]>`select attempts from codes where destination = ${account.phone!} order by created_at desc limit 1`;
  assert.ok(row!.attempts <= MAX_CODE_ATTEMPTS, `attempts counted: ${row!.attempts}`);
  assert.ok((await sessions(account.id)) <= 1);
});

test(`ASVS 6.5.1, 7.2.4: ${RACERS} simultaneous Continues after the email code make one session`, async () => {
  const account = await user("email");
  const b = browser();
  await b.post("/login", { option: "email" });
  await b.post("/login/credentials", { email: account.email, password: PASSWORD });
  await b.post("/login/email/send");
  assert.is((await b.post("/login/email/code", { code: await lastCode(account.email) })).url, "/login/email/verified");
  const answers = await race(b, "/login/email/verified", Array.from({ length: RACERS }, () => ""));
  assert.is(answers.filter((a) => a.location === "/home").length, 1);
  assert.not.ok(answers.some((a) => a.status >= 500), "no 5xx");
  assert.is(await sessions(account.id), 1);
});

test.run();
