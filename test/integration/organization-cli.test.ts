/**
 * `npm run organization` and the organization flags of `npm run invite`, as an operator runs
 * them (child processes on their own DATA_DIR, the embedded database): add a group and a
 * provider of it, invite a Provider Administrator into the provider, and import a CSV (a dry run
 * first, then for real). Each command's result is its last line.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { openDatabase } from "../../src/db/client.ts";

const root = resolve(import.meta.dirname, "../..");
const dataDir = mkdtempSync(join(tmpdir(), "mfa-organization-"));

function env(): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: "39127", PUBLIC_URL: "http://127.0.0.1:39127", NODE_ENV: "development" };
  for (const name of ["DATABASE_URL", "TEST_DATABASE_URL", "SENDGRID_API_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER", "SECRET_KEY"]) delete out[name];
  return out;
}

function run(script: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", `src/cli/${script}.ts`, ...args], { cwd: root, env: env(), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

const lastLine = (text: string) => text.trimEnd().split("\n").pop() ?? "";

test("organization add: a group, a provider of it (--parent), and the refusals (a name in use, an unknown group, a provider as a parent)", async () => {
  const group = await run("organization", ["add", "--name", "Northside Health"]);
  assert.equal(group.code, 0, group.stderr);
  const added = JSON.parse(lastLine(group.stdout));
  assert.equal(added.name, "Northside Health");
  assert.equal(added.parent, null);
  assert.match(added.id, /^[0-9a-f-]{36}$/);

  const clinic = await run("organization", ["add", "--name", "Northside Pediatrics", "--parent", "northside health"]);
  assert.equal(clinic.code, 0, clinic.stderr);
  assert.equal(JSON.parse(lastLine(clinic.stdout)).parent, "Northside Health");

  for (const [args, reason] of [
    [["add", "--name", "NORTHSIDE HEALTH"], /already exists/],
    [["add", "--name", "Elsewhere", "--parent", "No Such Group"], /no provider group with that name/],
    [["add", "--name", "Deeper", "--parent", "Northside Pediatrics"], /providers cannot have providers/],
    [["add"], /--name is required/],
    [["remove", "--name", "X"], /Say what to do/],
  ] as [string[], RegExp][]) {
    const refused = await run("organization", args);
    assert.equal(refused.code, 1, args.join(" "));
    assert.match(refused.stderr, reason);
  }
});

test("invite --organization --role: the user joins with that role; a bad role or an unknown organization is refused", async () => {
  const invited = await run("invite", ["--email", "lee.admin@northside.example", "--name", "Lee Admin", "--organization", "Northside Pediatrics", "--role", "provider-admin"]);
  assert.equal(invited.code, 0, invited.stderr);
  assert.match(lastLine(invited.stdout), /\/register\/link\/[a-z2-7]{32}$/);
  assert.match(invited.stdout, /provider-admin of Northside Pediatrics/);
  for (const args of [
    ["--email", "x@northside.example", "--organization", "Northside Pediatrics", "--role", "boss"],
    ["--email", "x@northside.example", "--organization", "Nowhere", "--role", "provider-staff"],
    ["--email", "x@northside.example", "--organization", "Northside Pediatrics"],
  ]) {
    const refused = await run("invite", args);
    assert.equal(refused.code, 1, args.join(" "));
    assert.not.match(refused.stdout, /register\/link/);
  }
});

test("invite --csv: every row's result, a dry run sends nothing, the real run invites the good rows", async () => {
  const file = join(dataDir, "staff.csv");
  writeFileSync(
    file,
    "\uFEFFemail,name,role\r\n" +
      "ana@northside.example,\"Ana, RN\",provider-staff\r\n" +
      "\r\n" +
      "not-an-address,Bad,provider-staff\r\n" +
      "ben@northside.example,Ben,Provider Administrator\r\n" +
      "ana@northside.example,Ana again,provider-staff\r\n" +
      "cy@northside.example,Cy,chief\r\n" +
      "lee.admin@northside.example,Lee,provider-staff\r\n",
  );
  const dry = await run("invite", ["--csv", file, "--organization", "Northside Pediatrics", "--dry-run"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /line 4: not-an-address: Enter a valid email address/);
  assert.match(dry.stdout, /line 6: ana@northside.example: The same address is on line 2/);
  assert.match(dry.stdout, /line 7: cy@northside.example: Use one of the roles/);
  assert.match(dry.stdout, /line 8: lee.admin@northside.example: This address already has an account/);
  assert.equal(lastLine(dry.stdout), "Dry run: 2 invitations would be sent; 4 rows have errors.");

  let db = await openDatabase({ dataDir });
  const [{ n }] = (await db.sql`select count(*)::int as n from users where email_normalized in ('ana@northside.example', 'ben@northside.example')`) as unknown as [{ n: number }];
  assert.equal(n, 0, "the dry run sent nothing");
  await db.close();

  const real = await run("invite", ["--csv", file, "--organization", "Northside Pediatrics"]);
  assert.equal(real.code, 0, real.stderr);
  assert.equal(lastLine(real.stdout), "Sent 2 invitations; 4 rows not sent.");
  // (The dev outbox prints each email it sends, links included; the command itself prints none.)
  assert.not.match(real.stdout.split("\n").filter((line) => line.startsWith("line ")).join("\n"), /register\/link/);
  db = await openDatabase({ dataDir });
  const members = await db.sql<{ email: string; role: string; name: string }[]>`
    select u.email, m.role, u.name from memberships m join users u on u.id = m.user_id join organizations o on o.id = m.organization_id
    where o.name = 'Northside Pediatrics' order by u.email`;
  assert.equal([...members], [
    { email: "ana@northside.example", role: "provider_staff", name: "Ana, RN" },
    { email: "ben@northside.example", role: "provider_admin", name: "Ben" },
    { email: "lee.admin@northside.example", role: "provider_admin", name: "Lee Admin" },
  ]);
  await db.close();
});

test.run();
