/**
 * Reliability with real processes on a private PostgreSQL cluster that this file starts itself
 * (initdb + pg_ctl on a free port; the machine's shared server is never touched):
 * - two app instances on one database: a session, a code, a rate limit and a call confirmation
 *   made on one are honoured on the other; every outbox message is sent exactly once;
 * - the database stopped under load: clean 503 pages, no 500, no hung request, and full recovery
 *   once it is back, without restarting the app;
 * - the app killed with SIGKILL between two steps: the flow resumes after the restart, and a
 *   message queued (or half-sent) before the kill is sent after it;
 * - a provider failing: 500, 500, then accepted: the message goes out once.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import postgres from "postgres";
import { PUBLIC_URL, testConfig, type Browser } from "../support/harness.ts";
import { hashPassword } from "../../src/auth/passwords.ts";
import { TERMS_VERSION } from "../../src/terms.ts";
import { addFactor } from "../../src/auth/users.ts";
import { createManualClock, SECOND, systemClock } from "../../src/clock.ts";
import { silentLogger } from "../../src/log.ts";
import { createApp } from "../../src/app.tsx";
import { createOutbox } from "../../src/delivery/outbox.ts";
import { createTwilioTransport } from "../../src/delivery/twilio.ts";
import { loadAssets } from "../../src/web/assets.ts";
import { migrate } from "../../src/db/migrate.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";
import { spawnApp, remoteBrowser, SHARED_SECRET_KEY, type AppProcess } from "./support/app-process.ts";
import { startStub } from "../contract/delivery-support.ts";

let cluster: Cluster;
let url: string;
let sql: postgres.Sql;
let a: AppProcess;
let b: AppProcess;
let passwordHash: string;
const PASSWORD = "amber-kettle-orbit-7-violin";

test.before(async () => {
  cluster = await startCluster();
  url = await cluster.createDatabase("reliability");
  [a, b] = await Promise.all([spawnApp({ databaseUrl: url }), spawnApp({ databaseUrl: url })]);
  sql = postgres(url, { max: 3, onnotice: () => {}, connect_timeout: 5 });
  passwordHash = await hashPassword(PASSWORD);
});

test.after(async () => {
  await sql.end({ timeout: 2 }).catch(() => {});
  await Promise.all([a?.kill(), b?.kill()]);
  await cluster?.destroy();
});

let n = 0;
const ip = () => `198.18.150.${(++n % 250) + 1}`;

async function user(method: "phone" | "email"): Promise<{ id: string; email: string; phone: string | null }> {
  n += 1;
  const email = `reliable.${Date.now().toString(36)}.${n}@clinic.example`;
  const phone = method === "phone" ? `+1415555${String(2000 + n).slice(-4)}` : null;
  const [row] = await sql<{ id: string }[]>`
    insert into users (email, email_normalized, name, status, mfa_method, phone_e164, password_hash, terms_version, terms_accepted_at)
    values (${email}, ${email}, 'Reliable', 'active', ${method}, ${phone}, ${passwordHash}, ${TERMS_VERSION}, now()) returning id`;
  await addFactor(sql, systemClock, row!.id, { kind: method, destination: phone ?? email });
  return { id: row!.id, email, phone };
}

async function lastCode(to: string): Promise<string> {
  const [row] = await sql<{ body: string }[]>`select body from outbox where recipient = ${to} order by id desc limit 1`;
  return /(\d{6})/.exec(row!.body)![1]!;
}

/** Two browsers, one per instance, sharing one cookie jar: the same person, whichever instance answers. */
function pair(): [Browser, Browser] {
  const address = ip();
  const onA = a.browser(address);
  const onB = b.browser(address);
  onB.cookies = onA.cookies;
  return [onA, onB];
}

async function waitFor(check: () => Promise<boolean>, limitMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test("ASVS 6.6.3, 6.5.1 (security.md: limits in Postgres): two instances: a session made on A is honoured on B; a code sent by A is taken by B; a rate limit counted on A holds on B", async () => {
  const account = await user("phone");
  const [onA, onB] = pair();
  await onA.post("/login", { option: "phone" });
  assert.is((await onB.post("/login/credentials", { email: account.email, password: PASSWORD })).url, "/login/phone", "the flow made on A, the password on B");
  assert.is((await onA.post("/login/phone/send")).url, "/login/phone/code", "the code sent by A");
  assert.is((await onB.post("/login/phone/code", { code: await lastCode(account.phone!) })).url, "/home", "the code taken by B");
  assert.is((await onA.get("/home")).url, "/home", "the session made on B holds on A");

  // 5 SMS or calls per account per hour, counted in Postgres: 4 more on A and B, the 6th refused on either.
  const [x, y] = pair();
  await x.post("/login", { option: "phone" });
  await x.post("/login/credentials", { email: account.email, password: PASSWORD });
  for (const [i, browser] of [x, y, x, y].entries()) assert.is((await browser.post("/login/phone/send")).status, 200, `send ${i + 2}`);
  assert.is((await y.post("/login/phone/send")).status, 429, "the 6th, on B");
  assert.is((await x.post("/login/phone/send")).status, 429, "and on A");
});

test("ASVS 6.6.2: two instances: Call Me asked on A, the call answered through B, A's poll signs in", async () => {
  const account = await user("phone");
  const [onA, onB] = pair();
  await onA.post("/login", { option: "phone" });
  await onA.post("/login/credentials", { email: account.email, password: PASSWORD });
  const calling = await onA.post("/login/phone/call");
  const keypad = calling.document.querySelector('output[name="keypad-code"]')?.textContent?.trim() ?? "";
  assert.match(keypad, /^\d{6}$/);
  const [call] = await sql<{ id: string }[]>`select id::text as id from outbox where recipient = ${account.phone!} and channel = 'voice' order by id desc limit 1`;
  const answered = await onB.post(`/dev/outbox/${call!.id}/answer`, { digits: keypad }, { origin: null, headers: { accept: "application/json" } });
  assert.match(answered.text, /confirmed/);
  assert.is((await onA.post("/login/phone/call/check")).url, "/home");
});

test("ASVS 16.5.2: two instances: 40 messages queued through both at once are each sent exactly once", async () => {
  const accounts = await Promise.all(Array.from({ length: 40 }, () => user("email")));
  await Promise.all(
    accounts.map((account, i) => (i % 2 ? b : a).browser(ip()).post("/forgot-password", { email: account.email }, { follow: false })),
  );
  const recipients = accounts.map((x) => x.email);
  await waitFor(async () => {
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from outbox where recipient in ${sql(recipients)} and status <> 'sent'`;
    return row!.n === 0;
  }, 40_000, "every message sent");
  const rows = await sql<{ id: string; attempts: number }[]>`select id::text as id, attempts from outbox where recipient in ${sql(recipients)}`;
  assert.is(rows.length, 40);
  const printed = a.output() + b.output();
  for (const row of rows) {
    assert.is(row.attempts, 1, `message ${row.id} was claimed once`);
    const times = printed.split(`[dev outbox #${row.id}] `).length - 1;
    assert.is(times, 1, `message ${row.id} was delivered ${times} times`);
  }
});

test("ASVS 16.5.2, 16.5.3: the database stopped under load: clean 503s, no 500, no hung request; full recovery without restarting the app", async () => {
  const account = await user("email");
  const signedIn = a.browser(ip());
  await signedIn.post("/login", { option: "email" });
  await signedIn.post("/login/credentials", { email: account.email, password: PASSWORD });
  await signedIn.post("/login/email/send");
  await signedIn.post("/login/email/code", { code: await lastCode(account.email) });
  assert.is((await signedIn.post("/login/email/verified")).url, "/home");
  const cookie = `session=${signedIn.cookies.get("session")}`;

  const BOUND_MS = 15_000;
  const results: { status: number; ms: number; body: string; retryAfter: string | null; path: string }[] = [];
  let stop = false;
  const requests: Array<[string, RequestInit]> = [
    ["/home", { headers: { cookie } }],
    ["/login", { method: "POST", headers: { origin: PUBLIC_URL, "content-type": "application/x-www-form-urlencoded" }, body: "option=email" }],
    ["/forgot-password", { method: "POST", headers: { origin: PUBLIC_URL, "content-type": "application/x-www-form-urlencoded" }, body: `email=${encodeURIComponent(account.email)}` }],
    ["/readyz", {}],
  ];
  const client = async (which: number) => {
    let i = which;
    while (!stop) {
      const [path, init] = requests[i++ % requests.length]!;
      const started = Date.now();
      try {
        const response = await fetch(a.base + path, { ...init, redirect: "manual", signal: AbortSignal.timeout(BOUND_MS), headers: { ...(init.headers as Record<string, string>), "x-forwarded-for": `198.18.151.${which + 1}` } });
        results.push({ status: response.status, ms: Date.now() - started, body: await response.text(), retryAfter: response.headers.get("retry-after"), path });
      } catch (error) {
        results.push({ status: 0, ms: Date.now() - started, body: String(error), retryAfter: null, path });
      }
    }
  };
  const load = Promise.all(Array.from({ length: 8 }, (_, i) => client(i)));
  await new Promise((r) => setTimeout(r, 1500));
  const before = results.length;
  await cluster.stopServer();
  await new Promise((r) => setTimeout(r, 6000));
  const duringEnd = results.length;
  await cluster.startServer();
  // Recovery: the same process answers from the database again.
  await waitFor(async () => (await fetch(a.base + "/readyz")).status === 200, 30_000, "/readyz after the restart of the database");
  await new Promise((r) => setTimeout(r, 1500));
  stop = true;
  await load;

  const outage = results.slice(before, duringEnd);
  assert.ok(before > 0 && outage.length > 0, `requests before (${before}) and during (${outage.length}) the outage`);
  const hung = results.filter((r) => r.status === 0);
  assert.equal(hung.map((r) => `${r.path}: ${r.body}`), [], "every request answered within the bound");
  const errors = results.filter((r) => r.status >= 500 && r.status !== 503);
  assert.equal(errors.map((r) => `${r.path}: ${r.status}`), [], "no 500");
  const unavailable = results.filter((r) => r.status === 503);
  assert.ok(unavailable.length > 0, "the outage was seen");
  for (const r of unavailable) {
    if (r.path === "/readyz") continue;
    assert.match(r.body, /Temporarily unavailable/, "the 503 page");
    assert.is(r.retryAfter, "5");
  }
  assert.ok(Math.max(...results.map((r) => r.ms)) < BOUND_MS);
  // Full recovery: the session from before the outage still works, and a new sign-in completes.
  assert.is((await signedIn.get("/home")).url, "/home");
  const again = a.browser(ip());
  await again.post("/login", { option: "email" });
  assert.is((await again.post("/login/credentials", { email: account.email, password: PASSWORD })).url, "/login/email");
  console.log(`\n    outage: ${outage.length} requests, ${unavailable.length} answered 503, slowest ${Math.max(...results.map((r) => r.ms))} ms`);
});

test("ASVS 16.5.3: SIGKILL between two steps: the flow resumes after the restart; a queued and a half-sent message go out after it", async () => {
  const account = await user("email");
  const browser = a.browser(ip());
  await browser.post("/login", { option: "email" });
  await browser.post("/login/credentials", { email: account.email, password: PASSWORD });
  assert.is((await browser.post("/login/email/send")).url, "/login/email/code");
  const code = await lastCode(account.email);
  const port = a.port;
  await a.kill();
  // While it is down: a message queued but never dispatched, and one a dead sender had claimed.
  const [queued] = await sql<{ id: string }[]>`
    insert into outbox (channel, recipient, subject, body, status, attempts, next_attempt_at, created_at)
    values ('email', ${"queued." + account.email}, 'Queued', 'queued before the crash', 'pending', 0, now(), now()) returning id::text as id`;
  const [halfSent] = await sql<{ id: string }[]>`
    insert into outbox (channel, recipient, subject, body, status, attempts, next_attempt_at, locked_until, created_at)
    values ('email', ${"claimed." + account.email}, 'Claimed', 'claimed by the killed process', 'sending', 1, now(), now() - interval '1 second', now()) returning id::text as id`;
  a = await spawnApp({ databaseUrl: url, port });
  const resumed = remoteBrowser(a.base, ip());
  resumed.cookies = browser.cookies;
  // The email code lives 30 seconds; the restart may take longer, so ask for a new one if it died meanwhile.
  let page = await resumed.post("/login/email/code", { code });
  if (page.url !== "/login/email/verified") {
    assert.is(page.url, "/login/email/code", "the flow survived the kill");
    await resumed.post("/login/email/send");
    page = await resumed.post("/login/email/code", { code: await lastCode(account.email) });
  }
  assert.is(page.url, "/login/email/verified");
  assert.is((await resumed.post("/login/email/verified")).url, "/home");
  await waitFor(async () => {
    const rows = await sql<{ status: string }[]>`select status from outbox where id in ${sql([queued!.id, halfSent!.id])}`;
    return rows.every((r) => r.status === "sent");
  }, 90_000, "the queued and the half-sent message");
  for (const id of [queued!.id, halfSent!.id]) assert.is(a.output().split(`[dev outbox #${id}] `).length - 1, 1, `message ${id} sent once after the restart`);
});

test("ASVS 16.5.2: a provider failing: the stub answers 500 twice, then accepts: the SMS goes out once", async () => {
  const stub = await startStub(() => ({ status: 201, json: { sid: "SM" + "9".repeat(32), status: "queued" } }));
  try {
    stub.replies.push({ status: 500, json: { message: "down" } }, { status: 500, json: { message: "down" } });
    const config = testConfig({ TWILIO_ACCOUNT_SID: "AC" + "1".repeat(32), TWILIO_AUTH_TOKEN: "reliability-token-0123456789", TWILIO_FROM_NUMBER: "+15005550006", SECRET_KEY: SHARED_SECRET_KEY, TRUST_PROXY: "1" });
    if (config.phone.kind !== "twilio") throw new Error("expected Twilio settings");
    const db = postgres(url, { max: 4, onnotice: () => {} });
    await migrate(db);
    const clock = createManualClock(new Date());
    const twilio = createTwilioTransport(config.phone, config.publicUrl, { baseUrl: stub.url });
    const outbox = createOutbox({ sql: db, clock, config, log: silentLogger, print: () => {}, transports: { sms: twilio, voice: twilio } });
    const app = createApp({ config, sql: db, clock, outbox, assets: loadAssets(), log: silentLogger });
    const account = await user("phone");
    const { Browser } = await import("../support/harness.ts");
    const browser = new Browser(app);
    const headers = { "x-forwarded-for": ip() };
    await browser.post("/login", { option: "phone" }, { headers });
    await browser.post("/login/credentials", { email: account.email, password: PASSWORD }, { headers });
    assert.is((await browser.post("/login/phone/send", {}, { headers })).url, "/login/phone/code");
    await outbox.drain();
    for (const wait of [5, 30]) {
      clock.advance(wait * SECOND);
      outbox.kick();
      await outbox.drain();
    }
    const toAccount = stub.requests.filter((r) => new URLSearchParams(r.body).get("To") === account.phone);
    assert.is(toAccount.length, 3, "two failures, one acceptance");
    const [row] = await db<{ status: string; attempts: number; body: string | null; provider_id: string }[]>`
      select status, attempts, body, provider_id from outbox where recipient = ${account.phone!}`;
    assert.is(row!.status, "sent");
    assert.is(row!.attempts, 3);
    assert.is(row!.body, null);
    // Nothing more goes out later.
    clock.advance(3600 * SECOND);
    outbox.kick();
    await outbox.drain();
    assert.is(stub.requests.filter((r) => new URLSearchParams(r.body).get("To") === account.phone).length, 3, "sent once, never again");
    await outbox.stop();
    await db.end({ timeout: 2 });
  } finally {
    await stub.close();
  }
});

test.run();
