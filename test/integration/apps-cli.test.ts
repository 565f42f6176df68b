/**
 * `npm run application` as an operator runs it: a child process with its own DATA_DIR (the
 * embedded database opened by the command itself). The result is the last line, as JSON.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { openDatabase } from "../../src/db/client.ts";

const root = resolve(import.meta.dirname, "../..");
const dataDir = mkdtempSync(join(tmpdir(), "mfa-portal-app-cli-"));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; last: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, NODE_ENV: "development", PUBLIC_URL: "http://localhost:3999" };
  for (const name of ["DATABASE_URL", "TEST_DATABASE_URL", "SECRET_KEY"]) delete env[name];
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/application.ts", ...args], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr, last: stdout.trimEnd().split("\n").pop() ?? "" }));
  });
}

test("add, list, rotate-secret, remove an OIDC client; forward-auth and public ones; rotate-keys; refusals", async () => {
  const added = await run(["add", "--name", "Demo", "--redirect-uri", "http://localhost:8080/callback", "--redirect-uri", "https://demo.example.org/cb"]);
  assert.is(added.code, 0, added.stderr);
  const client = JSON.parse(added.last) as { client_id: string; client_secret: string };
  assert.match(client.client_id, /^[a-z2-7]{24}$/);
  assert.ok(client.client_secret.length >= 40, "a 256-bit secret");

  const pub = await run(["add", "--name", "Phone app", "--redirect-uri", "http://127.0.0.1:7000/cb", "--public"]);
  assert.is(pub.code, 0, pub.stderr);
  assert.equal(Object.keys(JSON.parse(pub.last)), ["client_id"], "no secret for --public");

  const forward = await run(["add", "--name", "EHR", "--forward-auth-url", "https://ehr.example.org/", "--group", "admin"]);
  assert.is(forward.code, 0, forward.stderr);
  const { id } = JSON.parse(forward.last) as { id: string };
  assert.match(id, /^[0-9a-f-]{36}$/);

  const bad = await run(["add", "--name", "Bad", "--redirect-uri", "http://evil.example.org/cb"]);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /https:\/\//);
  const both = await run(["add", "--name", "Both", "--redirect-uri", "https://a.example.org/cb", "--forward-auth-url", "https://a.example.org/"]);
  assert.is(both.code, 1);

  const rotated = await run(["rotate-secret", client.client_id]);
  assert.is(rotated.code, 0, rotated.stderr);
  const fresh = JSON.parse(rotated.last) as { client_id: string; client_secret: string };
  assert.is(fresh.client_id, client.client_id);
  assert.is.not(fresh.client_secret, client.client_secret);

  const keys = await run(["rotate-keys"]);
  assert.is(keys.code, 0, keys.stderr);
  const rotation = JSON.parse(keys.last) as { kid: string; retired: string[] };
  assert.is(rotation.retired.length, 1, "the first key, made by the command, is retired");

  const listed = await run(["list"]);
  const apps = JSON.parse(listed.last) as { name: string; client_id?: string }[];
  assert.equal(apps.map((a) => a.name), ["Demo", "EHR", "Phone app"]);

  const db = await openDatabase({ dataDir });
  try {
    const rows = await db.sql<{ text: string }[]>`select row_to_json(a)::text as text from applications a`;
    for (const row of rows) {
      assert.not.ok(row.text.includes(client.client_secret) || row.text.includes(fresh.client_secret), "secrets are never stored in clear");
    }
    const [key] = await db.sql<{ sealed: Uint8Array; pub: Record<string, unknown> }[]>`select private_jwk_sealed as sealed, public_jwk as pub from oidc_signing_keys where kid = ${rotation.kid}`;
    assert.is(key!.pub.d, undefined);
    assert.not.ok(Buffer.from(key!.sealed).toString("utf8").includes('"d"'), "the private key is sealed");
  } finally {
    await db.close();
  }

  const removed = await run(["remove", client.client_id]);
  assert.is(removed.code, 0, removed.stderr);
  const again = await run(["remove", client.client_id]);
  assert.is(again.code, 1);
});

test("--backchannel-logout-uri: stored and listed; a bad URL or a forward-auth application refused with a clear reason", async () => {
  const added = await run(["add", "--name", "Reports", "--redirect-uri", "https://reports.example.org/cb", "--backchannel-logout-uri", "https://reports.example.org/backchannel-logout"]);
  assert.is(added.code, 0, added.stderr);
  assert.match(added.stdout, /back-channel logout https:\/\/reports\.example\.org\/backchannel-logout/);
  const { client_id } = JSON.parse(added.last) as { client_id: string };

  const plain = await run(["add", "--name", "Plain", "--redirect-uri", "https://plain.example.org/cb", "--backchannel-logout-uri", "http://plain.example.org/logout"]);
  assert.is(plain.code, 1);
  assert.match(plain.stderr, /http:\/\/plain\.example\.org\/logout must start with https:\/\//);
  const garbled = await run(["add", "--name", "Garbled", "--redirect-uri", "https://g.example.org/cb", "--backchannel-logout-uri", "not a url"]);
  assert.is(garbled.code, 1);
  assert.match(garbled.stderr, /"not a url" is not a full URL \(such as https:\/\/app\.example\.org\/backchannel-logout\)/);
  const forward = await run(["add", "--name", "Proxy", "--forward-auth-url", "https://p.example.org/", "--backchannel-logout-uri", "https://p.example.org/logout"]);
  assert.is(forward.code, 1);
  assert.match(forward.stderr, /--backchannel-logout-uri .*for OIDC clients/);

  const listed = await run(["list"]);
  const apps = JSON.parse(listed.last) as { client_id?: string; backchannel_logout_uri?: string | null; name: string }[];
  assert.is(apps.find((a) => a.client_id === client_id)?.backchannel_logout_uri, "https://reports.example.org/backchannel-logout");
  assert.not.ok(apps.some((a) => ["Plain", "Garbled", "Proxy"].includes(a.name)), "nothing refused was stored");
});

test.run();
