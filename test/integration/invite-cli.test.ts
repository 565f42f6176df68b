/**
 * `npm run invite` as an operator runs it: a child process with its own DATA_DIR, the embedded
 * database opened by the command itself, then again while the server runs on that same DATA_DIR
 * (the command connects to the server's database). The link is the last line of the output.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { openDatabase } from "../../src/db/client.ts";
import { compiledArgs } from "../support/compiled.ts";

const root = resolve(import.meta.dirname, "../..");
const LINK = /^https?:\/\/[^\s/]+\/register\/link\/[a-z2-7]{32}$/;

function baseEnv(dataDir: string, port: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, NODE_ENV: "development" };
  for (const name of ["DATABASE_URL", "TEST_DATABASE_URL", "SENDGRID_API_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER", "SECRET_KEY"]) delete env[name];
  return env;
}

function runInvite(env: NodeJS.ProcessEnv, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [...compiledArgs("src/cli/invite.ts"), ...args], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

function lastLine(text: string): string {
  return text.trimEnd().split("\n").pop() ?? "";
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
    server.on("error", fail);
  });
}

function startServer(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, compiledArgs("src/main.ts"), { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (/listening on port/.test(output)) {
        child.stdout!.off("data", onData);
        child.stdout!.resume();
        child.stderr!.resume();
        done(child);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk) => (output += chunk));
    child.on("error", fail);
    child.on("exit", (code) => fail(new Error(`server exited with ${code} before listening:\n${output}`)));
  });
}

function stopServer(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null) return done();
    child.removeAllListeners("exit");
    child.on("exit", () => done());
    child.kill("SIGTERM");
  });
}

test("without a running server: invites, prints the link last, re-invites with a new link, refuses bad and active addresses", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "mfa-invite-"));
  const env = baseEnv(dataDir, await freePort());
  const first = await runInvite(env, ["--email", "Pat.Provider@Clinic.example", "--name", "Pat Provider", "--admin"]);
  assert.equal(first.code, 0, first.stderr);
  const link = lastLine(first.stdout);
  assert.match(link, LINK);
  assert.ok(link.startsWith(env.PUBLIC_URL!), "built from PUBLIC_URL");
  assert.match(first.stdout, /administrator/);

  const again = await runInvite(env, ["--email", "pat.provider@clinic.example"]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(lastLine(again.stdout), LINK);
  assert.not.equal(lastLine(again.stdout), link, "a new link");

  for (const args of [["--email", "not-an-address"], ["--email", "someone@kepro.com"], [], ["--email"], ["--bogus"]]) {
    const refused = await runInvite(env, args);
    assert.equal(refused.code, 1, `${args.join(" ")}: exit 1`);
    assert.ok(refused.stderr.trim().length > 0, `${args.join(" ")}: says why`);
    assert.not.match(refused.stdout, /register\/link/);
  }

  const db = await openDatabase({ dataDir });
  const [row] = await db.sql<{ role: string; name: string }[]>`select role, name from users where email_normalized = 'pat.provider@clinic.example'`;
  assert.equal(row, { role: "admin", name: "Pat Provider" });
  await db.sql`update users set status = 'active' where email_normalized = 'pat.provider@clinic.example'`;
  await db.close();
  const duplicate = await runInvite(env, ["--email", "pat.provider@clinic.example"]);
  assert.equal(duplicate.code, 1);
  assert.match(duplicate.stderr, /already has an active account/);
});

test("with the server running on the same DATA_DIR: the command uses the server's database and the link opens on the server", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "mfa-invite-server-"));
  const port = await freePort();
  const env = baseEnv(dataDir, port);
  const server = await startServer(env);
  try {
    const result = await runInvite(env, ["--email", "river.provider@clinic.example"]);
    assert.equal(result.code, 0, result.stderr);
    const link = lastLine(result.stdout);
    assert.match(link, LINK);
    const response = await fetch(link, { redirect: "manual" });
    assert.equal(response.status, 303);
    assert.equal(response.headers.get("location"), "/register/method");
  } finally {
    await stopServer(server);
  }
});

test.run();
