/**
 * The physical limit of a sign-in: how many argon2id verifications per second this machine does
 * at a given concurrency, with the portal's own parameters (the app's own hashPassword and
 * verifyPassword when src/auth/passwords.ts exists). A process of its own, so its main thread is
 * not the load generator's; the hashing runs on libuv's thread pool, as in the app (same
 * UV_THREADPOOL_SIZE, inherited from the environment).
 *
 *   node --import tsx test/bench/argon2-bound.ts <concurrency>
 * then one line per measurement on stdin, the milliseconds to run ("3000"); each answers one JSON
 * line on stdout: { perSecond, verifications, seconds, source, params, threadpool }. run.ts keeps
 * it alive between rounds so each round measures only hashing, not a process start.
 */
import { createInterface } from "node:readline";
import { verify as rawVerify, hash as rawHash } from "@node-rs/argon2";

const concurrency = Number(process.argv[2] ?? 4);
const PASSWORD = "correct horse battery staple 42";

let hashPassword: (pw: string) => Promise<string>;
let verifyPassword: (hash: string, pw: string) => Promise<boolean>;
let source = "src/auth/passwords.ts";
try {
  const passwords = await import("../../src/auth/passwords.ts");
  hashPassword = passwords.hashPassword;
  verifyPassword = passwords.verifyPassword;
} catch {
  source = "@node-rs/argon2 with m=19456 t=2 p=1 (src/auth/passwords.ts not found)";
  const options = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
  hashPassword = (pw) => rawHash(pw, options);
  verifyPassword = (h, pw) => rawVerify(h, pw);
}

const stored = await hashPassword(PASSWORD);
const params = /\$argon2id\$v=\d+\$([^$]+)\$/.exec(stored)?.[1] ?? "?";
// Warm-up: one round at full concurrency (the first use starts the pool's threads and maps memory).
await Promise.all(Array.from({ length: concurrency }, () => verifyPassword(stored, PASSWORD)));

async function measure(durationMs: number) {
  let count = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        if (!(await verifyPassword(stored, PASSWORD))) throw new Error("verify returned false for the right password");
        count++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: count / seconds, verifications: count, seconds, source, params, threadpool: process.env.UV_THREADPOOL_SIZE ?? "4 (default)" };
}

console.log(JSON.stringify({ ready: true }));
for await (const line of createInterface({ input: process.stdin })) {
  const ms = Number(line.trim());
  if (!Number.isFinite(ms) || ms <= 0) break;
  console.log(JSON.stringify(await measure(ms)));
}
