/**
 * migrations/0005_user_factors.sql on a database made with the old schema: every account keeps
 * its factor (now a user_factors row), the User read model answers as before, the factor CHECK
 * is gone, and sessions and Remember Me tokens from before say what they proved.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { openDatabase, type Database } from "../../src/db/client.ts";
import { migrate } from "../../src/db/migrate.ts";
import { findUserById, listFactors } from "../../src/auth/users.ts";

const DIR = fileURLToPath(new URL("../../migrations/", import.meta.url));
const OLD = readdirSync(DIR).filter((name) => /^\d{4}_[\w-]+\.sql$/.test(name) && name < "0005").sort();

let db: Database;
let dropDatabase: (() => Promise<void>) | null = null;

test.before(async () => {
  // A database of its own: on the run's server when there is one (a real Postgres), else embedded.
  if (process.env.TEST_DATABASE_URL) {
    const url = new URL(process.env.TEST_DATABASE_URL);
    const name = `${url.pathname.slice(1)}_m5`;
    const admin = postgres(process.env.TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    url.pathname = `/${name}`;
    db = await openDatabase({ url: url.toString() });
    dropDatabase = async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    };
  } else {
    db = await openDatabase({ memory: true });
  }
  // The schema as it was before 0005, applied the way migrate() records it.
  await db.sql`create table schema_migrations (name text primary key, applied_at timestamptz not null default now())`;
  for (const name of OLD) {
    await db.sql.unsafe(readFileSync(DIR + name, "utf8"));
    await db.sql`insert into schema_migrations (name) values (${name})`;
  }
});

test.after(async () => {
  await db.close();
  await dropDatabase?.();
});

test("the old schema had no user_factors and refused a factor other than phone or email", async () => {
  assert.ok(OLD.includes("0001_initial.sql") && !OLD.some((name) => name.startsWith("0005")));
  const [table] = await db.sql`select to_regclass('user_factors') as t`;
  assert.is(table!.t, null);
  await db.sql`insert into users (email, email_normalized) values ('probe@old.example', 'probe@old.example')`;
  let refused = false;
  await db.sql`update users set mfa_method = 'totp' where email_normalized = 'probe@old.example'`.catch(() => (refused = true));
  assert.ok(refused, "users_mfa_method_check");
  await db.sql`delete from users where email_normalized = 'probe@old.example'`;
});

test("0005 carries every existing account across in place: its factor as a row, the same User as before", async () => {
  const sql = db.sql;
  const at = new Date("2026-01-05T09:00:00Z");
  const insert = async (email: string, status: string, method: string | null, phone: string | null, signedIn: Date | null = null) => {
    const [row] = await sql<{ id: string }[]>`
      insert into users (email, email_normalized, name, status, mfa_method, phone_e164, password_hash, terms_version, terms_accepted_at, last_sign_in_at, created_at, updated_at)
      values (${email}, ${email.toLowerCase()}, 'Old', ${status}, ${method}, ${phone}, ${method ? "hash" : null}, ${method ? "v1" : null}, ${method ? at : null}, ${signedIn}, ${at}, ${at})
      returning id`;
    return row!.id;
  };
  const phone = await insert("Phone@Old.example", "active", "phone", "+14155550143", new Date("2026-02-01T00:00:00Z"));
  const email = await insert("email@old.example", "active", "email", null);
  const disabled = await insert("disabled@old.example", "disabled", "phone", "+14155550144");
  const invited = await insert("invited@old.example", "invited", null, null);
  // A phone account that lost its number: the old sign-in offered it the email code; it holds no phone factor.
  const numberless = await insert("numberless@old.example", "active", "phone", null);
  const before = await Promise.all([phone, email, disabled, invited, numberless].map(async (id) => {
    const [row] = await sql<{ mfaMethod: string | null; phoneE164: string | null }[]>`select mfa_method as "mfaMethod", phone_e164 as "phoneE164" from users where id = ${id}`;
    return row!;
  }));
  const [session] = await sql<{ id: string }[]>`
    insert into sessions (id, secret_hash, user_id, created_at, last_active_at, login_option) values ('old-session', '\\x00', ${phone}, ${at}, ${at}, 'phone') returning id`;
  await sql`insert into remember_tokens (id, secret_hash, user_id, login_option, created_at, expires_at) values ('old-remember', '\\x00', ${email}, 'email', ${at}, ${at})`;

  const applied = await migrate(sql);
  assert.ok(applied.includes("0005_user_factors.sql"), applied.join(", "));

  const factors = async (id: string) => (await listFactors(sql, id)).map((f) => ({ kind: f.kind, label: f.label, destination: f.destination, lastUsedAt: f.lastUsedAt }));
  assert.equal(await factors(phone), [{ kind: "phone", label: "Phone ending 0143", destination: "+14155550143", lastUsedAt: new Date("2026-02-01T00:00:00Z") }]);
  assert.equal(await factors(email), [{ kind: "email", label: "Email", destination: "email@old.example", lastUsedAt: null }]);
  assert.equal((await factors(disabled)).map((f) => f.kind), ["phone"], "a disabled account keeps its factor for when it is enabled");
  assert.equal(await factors(invited), [], "registration not finished: no factor yet");
  assert.equal(await factors(numberless), []);

  // The read model gives what the old columns said (the numberless phone account: no phone, as before).
  for (const [i, id] of [phone, email, disabled, invited].entries()) {
    const user = (await findUserById(sql, id))!;
    assert.equal({ mfaMethod: user.mfaMethod, phoneE164: user.phoneE164 }, before[i], id);
  }
  assert.is((await findUserById(sql, numberless))!.phoneE164, null);

  // What a session or token from before proved: a password and a second factor.
  const [s] = await sql<{ amr: string[]; authenticatedAt: Date }[]>`select amr, authenticated_at as "authenticatedAt" from sessions where id = ${session!.id}`;
  assert.equal(s, { amr: ["pwd", "mfa"], authenticatedAt: at });
  const [r] = await sql<{ amr: string[] }[]>`select amr from remember_tokens where id = 'old-remember'`;
  assert.equal(r!.amr, ["pwd", "mfa"]);

  // The factor kind is no longer held to phone|email: the next factor needs no schema change.
  await sql`update users set mfa_method = 'totp' where id = ${invited}`;
  await sql`insert into user_factors (user_id, kind, label, created_at) values (${invited}, 'totp', 'Authenticator app', now())`;
  assert.equal((await listFactors(sql, invited)).map((f) => f.kind), ["totp"]);
  assert.equal(await migrate(sql), [], "applied once");
});

test.run();
