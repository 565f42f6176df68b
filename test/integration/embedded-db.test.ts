/**
 * The embedded database: one PGlite backend shared by several postgres.js connections through
 * src/db/embedded.ts. These tests hold the queue to its promise: a connection owns the backend
 * from its first message to Sync and through an open transaction, so extended-protocol groups
 * never interleave and no statement of another connection lands inside someone's transaction.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import postgres from "postgres";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, type Database } from "../../src/db/client.ts";

let db: Database;
let port: number;

test.before(async () => {
  db = await openDatabase({ memory: true });
  port = db.sql.options.port[0]!;
  await db.sql`create table embedded_counter (id int primary key, n int not null)`;
  await db.sql`create table embedded_log (id serial primary key, who text not null)`;
  await db.sql`insert into embedded_counter values (1, 0)`;
});

test.after(async () => {
  await db.close();
});

test("20 concurrent read-modify-write transactions under select … for update add up", async () => {
  await Promise.all(
    Array.from({ length: 20 }, () =>
      db.sql.begin(async (tx) => {
        const [row] = await tx<{ n: number }[]>`select n from embedded_counter where id = 1 for update`;
        // Yield between the read and the write: an interleaved transaction would read the same n.
        await new Promise((resolve) => setTimeout(resolve, 1));
        await tx`update embedded_counter set n = ${row!.n + 1} where id = 1`;
      }),
    ),
  );
  const [row] = await db.sql<{ n: number }[]>`select n from embedded_counter where id = 1`;
  assert.is(row!.n, 20);
});

test("concurrent extended-protocol queries on several connections never lose their portal", async () => {
  const clients = Array.from({ length: 4 }, () =>
    postgres({ host: "127.0.0.1", port, database: "postgres", username: "postgres", max: 3, onnotice: () => {} }),
  );
  try {
    const errors: string[] = [];
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const client = clients[i % clients.length]!;
        try {
          // Parameters force Parse/Bind/Describe/Execute/Sync; varied text gives each its own statement.
          const [row] = await client<{ v: number; s: string }[]>`select ${i}::int + ${i % 7}::int as v, ${"q" + i}::text as s`;
          return row!.v === i + (i % 7) && row!.s === "q" + i;
        } catch (error) {
          errors.push(String((error as Error).message));
          return false;
        }
      }),
    );
    assert.equal(errors, [], errors[0]);
    assert.ok(results.every(Boolean));
  } finally {
    await Promise.all(clients.map((client) => client.end({ timeout: 5 })));
  }
});

test("a second client's statement waits for another's open transaction instead of running inside it", async () => {
  const other = postgres({ host: "127.0.0.1", port, database: "postgres", username: "postgres", max: 1, onnotice: () => {} });
  try {
    let otherDone = false;
    let otherPromise: Promise<unknown> | undefined;
    const rolledBack = db.sql
      .begin(async (tx) => {
        await tx`insert into embedded_log (who) values ('first')`;
        // The other client writes while this transaction is open, then this transaction fails.
        otherPromise = other`insert into embedded_log (who) values ('second')`.then(() => {
          otherDone = true;
        });
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.is(otherDone, false, "the second client ran while the first held the backend in a transaction");
        const seen = await tx<{ who: string }[]>`select who from embedded_log order by id`;
        assert.equal(seen.map((r) => r.who), ["first"]);
        throw new Error("roll back");
      })
      .catch((error: Error) => error.message);
    assert.is(await rolledBack, "roll back");
    await otherPromise;
    assert.ok(otherDone);
    const rows = await db.sql<{ who: string }[]>`select who from embedded_log order by id`;
    // The first client's row was rolled back; the second client's committed on its own.
    assert.equal(rows.map((r) => r.who), ["second"]);
  } finally {
    await other.end({ timeout: 5 });
  }
});

test("a client that disconnects inside a transaction does not leave the backend stuck", async () => {
  const quitter = postgres({ host: "127.0.0.1", port, database: "postgres", username: "postgres", max: 1, onnotice: () => {} });
  const reserved = await quitter.reserve();
  await reserved`begin`;
  await reserved`insert into embedded_log (who) values ('abandoned')`;
  // Close the socket without commit: the server must roll back and hand the backend on.
  const closing = quitter.end({ timeout: 0 });
  const waiting = db.sql<{ count: number }[]>`select count(*)::int as count from embedded_log where who = 'abandoned'`;
  const [row] = await waiting;
  await closing.catch(() => {});
  assert.is(row!.count, 0);
});

test("errors inside an extended-protocol group release the backend to other connections", async () => {
  const other = postgres({ host: "127.0.0.1", port, database: "postgres", username: "postgres", max: 1, onnotice: () => {} });
  try {
    const failures = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? db.sql : other)`select ${i}::int / 0 as boom`.then(
          () => "no error",
          (error: { code?: string }) => error.code,
        ),
      ),
    );
    assert.equal(new Set(failures), new Set(["22012"]));
    const [row] = await other<{ ok: number }[]>`select 1 as ok`;
    assert.is(row!.ok, 1);
  } finally {
    await other.end({ timeout: 5 });
  }
});

test("a data directory another live process is opening is waited for, never opened twice; a dead holder's lock is taken over", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mfa-portal-lock-"));
  // A live process holds the lock but serves nothing yet, as an app does while PGlite starts.
  const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
  try {
    writeFileSync(join(dir, "embedded.lock"), String(holder.pid));
    let opened: Database | null = null;
    const opening = openDatabase({ dataDir: dir }).then((db) => (opened = db));
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.is(opened, null, "opened a directory whose lock a live process holds");
    assert.not.ok(existsSync(join(dir, "pglite")), "touched the directory while it was held");
    holder.kill("SIGKILL"); // the holder dies without cleaning up: its lock is stale now
    const db = await opening;
    try {
      assert.is(db.kind, "embedded");
      const [row] = await db.sql<{ ok: number }[]>`select 1 as ok`;
      assert.is(row!.ok, 1);
      const second = await openDatabase({ dataDir: dir }).then(
        (extra) => extra.close().then(() => "opened twice"),
        (error: Error) => error.message,
      );
      assert.match(second, /already open in this process/);
    } finally {
      await db.close();
    }
    assert.not.ok(existsSync(join(dir, "embedded.lock")), "close releases the lock");
    assert.not.ok(existsSync(join(dir, "embedded.json")), "close removes the marker");
  } finally {
    holder.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
