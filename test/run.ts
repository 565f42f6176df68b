/**
 * Test runner: uvu suites from test/unit, test/integration, test/contract and test/security
 * (or the folders named on the command line), one process, one fresh database for the run.
 * With DATABASE_URL: a new database is created on that server and dropped afterwards.
 * Without it: an in-memory embedded Postgres. Builds dist/ first (the process tests start it).
 * Last line: "N passed, N failed".
 */
import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import postgres from "postgres";
// @ts-expect-error: plain JavaScript, no declarations
import { buildServer } from "../scripts/build.mjs";

const root = resolve(import.meta.dirname, "..");
const folders = process.argv.slice(2).length ? process.argv.slice(2) : ["unit", "integration", "contract", "security"];
const filter = process.env.TEST_FILTER;

function collect(dir: string): string[] {
  let out: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(collect(path));
    else if (/\.test\.tsx?$/.test(name) && (!filter || path.includes(filter))) out.push(path);
  }
  return out;
}

let dropDatabase: (() => Promise<void>) | null = null;
if (process.env.DATABASE_URL && !process.env.TEST_DATABASE_URL) {
  const name = `mfa_test_${Date.now()}_${process.pid}`;
  const admin = postgres(process.env.DATABASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(process.env.DATABASE_URL);
  url.pathname = `/${name}`;
  process.env.TEST_DATABASE_URL = url.toString();
  dropDatabase = async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  };
  console.log(`test database: ${name} (dropped after the run)`);
}

// The process tests start dist/main.js, what `npm start` runs: compiled from this checkout first.
await buildServer({ quiet: true });

const files = folders.flatMap((folder) => collect(join(root, "test", folder)));
(globalThis as any).UVU_DEFER = 1;
const uvu = await import("uvu");
let index = 0;
for (const file of files) {
  (globalThis as any).UVU_INDEX = index++;
  (globalThis as any).UVU_QUEUE.push([file.slice(root.length + 1)]);
  await import(pathToFileURL(file).href);
}

// uvu prints its own summary; capture it to print the one line CI reads.
let output = "";
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: any, ...rest: any[]) => {
  output += String(chunk);
  return write(chunk, ...rest);
}) as typeof process.stdout.write;
await uvu.exec(false);
process.stdout.write = write;

const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");
const total = Number(/Total:\s+(\d+)/.exec(strip(output))?.[1] ?? 0);
const passed = Number(/Passed:\s+(\d+)/.exec(strip(output))?.[1] ?? 0);
const skipped = Number(/Skipped:\s+(\d+)/.exec(strip(output))?.[1] ?? 0);
const failed = total - passed - skipped;

const { closeTestDatabase } = await import("./support/harness.ts");
await closeTestDatabase();
await dropDatabase?.();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || total === 0 ? 1 : 0);
