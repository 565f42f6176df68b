/**
 * Account enumeration (ASVS 6.3.8): sign-in, Forgot your password?, Having trouble logging in?
 * and the registration Reset answer with the same status, body, cookie names and time whether
 * the account exists or not. Timing is measured against a real server process (node, the real
 * HTTP stack, a private Postgres cluster), 24 interleaved pairs per round (after 3 warm-up pairs), the
 * known side's median shift from the unknown side's within 10% (see support/timing.ts).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import postgres from "postgres";
import type { Browser, Page } from "../support/harness.ts";
import { hashPassword } from "../../src/auth/passwords.ts";
import { generateTokenPair } from "../../src/auth/tokens.ts";
import { createFlow } from "../../src/flows/flow-store.ts";
import { HOUR, systemClock } from "../../src/clock.ts";
import { TERMS_VERSION } from "../../src/terms.ts";
import { sharedCluster } from "./support/cluster.ts";
import { spawnApp, type AppProcess } from "./support/app-process.ts";
import { compareTimings } from "./support/timing.ts";
import { comparable, cookieNames } from "./support/steps.ts";

let app: AppProcess;
let sql: postgres.Sql;
let passwordHash: string;
const PASSWORD = "amber-kettle-orbit-7-violin";
const WRONG = "wrong-password-1234567";

test.before(async () => {
  const cluster = await sharedCluster();
  const url = await cluster.createDatabase("enum");
  app = await spawnApp({ databaseUrl: url });
  sql = postgres(url, { max: 4, onnotice: () => {} });
  passwordHash = await hashPassword(PASSWORD);
});

test.after(async () => {
  await sql.end({ timeout: 5 });
  await app.stop();
});

let n = 0;
const tag = () => `${Date.now().toString(36)}.${process.pid}.${++n}`;
/** A client address per request, so the per-address limits never decide the answer. */
const ip = () => `198.19.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
const unknownEmail = () => `nobody.${tag()}@clinic.example`;

async function activeUser(): Promise<string> {
  const email = `known.${tag()}@clinic.example`;
  await sql`insert into users (email, email_normalized, name, status, mfa_method, password_hash, terms_version, terms_accepted_at)
    values (${email}, ${email}, 'Known', 'active', 'email', ${passwordHash}, ${TERMS_VERSION}, now())`;
  return email;
}

/** Registered up to the password (the people Having trouble logging in? is for). */
async function stoppedAfterPassword(): Promise<{ email: string; id: string }> {
  const email = `stopped.${tag()}@clinic.example`;
  const [row] = await sql<{ id: string }[]>`insert into users (email, email_normalized, name, status) values (${email}, ${email}, 'Stopped', 'invited') returning id`;
  await createFlow(sql, systemClock, { kind: "registration", userId: row!.id, state: "password_set", ttlMs: HOUR, data: { mode: "registration", method: "phone", passwordHash } });
  return { email, id: row!.id };
}

/** The cookie a browser holds after a registration link that had expired (names the user for Reset). */
async function holderCookie(): Promise<string> {
  const { id } = await stoppedAfterPassword();
  return (await createFlow(sql, systemClock, { kind: "registration", userId: id, state: "failed", ttlMs: HOUR })).token;
}

interface Endpoint {
  name: string;
  /** Builds one request (fixtures untimed); returns the function that sends it. */
  known(): Promise<(follow?: boolean) => Promise<Page>>;
  unknown(): Promise<(follow?: boolean) => Promise<Page>>;
  typed: (page: Page) => string[];
}

const browser = (): Browser => app.browser(ip());

const endpoints: Endpoint[] = [
  {
    name: "sign-in (Email Address + Password)",
    async known() {
      const email = await activeUser();
      const b = browser();
      await b.post("/login", { option: "email" });
      return (follow = false) => b.post("/login/credentials", { email, password: WRONG }, { follow });
    },
    async unknown() {
      const email = unknownEmail();
      const b = browser();
      await b.post("/login", { option: "email" });
      return (follow = false) => b.post("/login/credentials", { email, password: WRONG }, { follow });
    },
    typed: () => [],
  },
  {
    name: "Forgot your password?",
    async known() {
      const email = await activeUser();
      const b = browser();
      return (follow = false) => b.post("/forgot-password", { email }, { follow });
    },
    async unknown() {
      const email = unknownEmail();
      const b = browser();
      return (follow = false) => b.post("/forgot-password", { email }, { follow });
    },
    typed: () => [],
  },
  {
    name: "Having trouble logging in? (/trouble)",
    async known() {
      const { email } = await stoppedAfterPassword();
      const b = browser();
      return (follow = false) => b.post("/trouble", { email, password: WRONG }, { follow });
    },
    async unknown() {
      const email = unknownEmail();
      const b = browser();
      return (follow = false) => b.post("/trouble", { email, password: WRONG }, { follow });
    },
    typed: () => [],
  },
  {
    name: "registration Reset",
    async known() {
      const token = await holderCookie();
      const b = browser();
      b.cookies.set("flow", token);
      return (follow = false) => b.post("/register/reset", {}, { follow });
    },
    async unknown() {
      const b = browser();
      b.cookies.set("flow", generateTokenPair().token);
      return (follow = false) => b.post("/register/reset", {}, { follow });
    },
    typed: () => [],
  },
];

/** The address typed into a page, to take out before comparing two answers. */
function typedIn(page: Page): string[] {
  return [...page.text.matchAll(/(?:known|nobody|stopped)\.[a-z0-9.]+@clinic\.example/g)].map((m) => m[0]);
}

for (const endpoint of endpoints) {
  test(`ASVS 6.3.8: ${endpoint.name}: same status, body and cookie names for a known and an unknown account`, async () => {
    const knownFirst = await (await endpoint.known())();
    const unknownFirst = await (await endpoint.unknown())();
    assert.is(knownFirst.status, unknownFirst.status, "status");
    assert.equal(cookieNames(knownFirst), cookieNames(unknownFirst), "Set-Cookie names");
    assert.is(knownFirst.headers.get("location"), unknownFirst.headers.get("location"), "Location");
    assert.is(comparable(knownFirst, ...typedIn(knownFirst)), comparable(unknownFirst, ...typedIn(unknownFirst)), "body of the answer");
    const knownPage = await (await endpoint.known())(true);
    const unknownPage = await (await endpoint.unknown())(true);
    assert.is(knownPage.status, unknownPage.status, "status of the page shown");
    assert.is(knownPage.url, unknownPage.url, "the page shown");
    assert.is(comparable(knownPage, ...typedIn(knownPage)), comparable(unknownPage, ...typedIn(unknownPage)), "body of the page shown");
  });

  test(`ASVS 6.3.8: ${endpoint.name}: median response times for known and unknown accounts within 10% (real server)`, async () => {
    const result = await compareTimings(
      async () => {
        const send = await endpoint.known();
        return () => send(false);
      },
      async () => {
        const send = await endpoint.unknown();
        return () => send(false);
      },
    );
    console.log(`\n    ${endpoint.name}: ${result.rounds.join("; ")}`);
    assert.ok(
      Math.abs(result.shift) <= 0.1,
      `known ${result.known.toFixed(1)} ms vs unknown ${result.unknown.toFixed(1)} ms: paired shift ${(result.shift * 100).toFixed(1)}% (${result.rounds.join("; ")})`,
    );
  });
}

test.run();
