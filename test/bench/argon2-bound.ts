/**
 * The physical limit of a sign-in: how many argon2id verifications per second this machine does
 * at a given concurrency, with the portal's own parameters. Runs as its own process (started by
 * run.ts while nothing else of the bench is working) so its main thread is not the load
 * generator's; the hashing itself runs on libuv's thread pool, as in the app.
 *
 *   node --import tsx test/bench/argon2-bound.ts <concurrency> <milliseconds>
 * prints one JSON line: { perSecond, verifications, seconds, source, params }.
 */
import { verify as rawVerify, hash as rawHash } from "@node-rs/argon2";

const concurrency = Number(process.argv[2] ?? 4);
const durationMs = Number(process.argv[3] ?? 4000);
const PASSWORD = "correct horse battery staple 42";

// The app's own module when it exists, so the parameters are the ones the app uses.
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
// Warm-up: one round at full concurrency (first use allocates the thread pool and memory).
await Promise.all(Array.from({ length: concurrency }, () => verifyPassword(stored, PASSWORD)));

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
console.log(JSON.stringify({ perSecond: count / seconds, verifications: count, seconds, source, params, threadpool: process.env.UV_THREADPOOL_SIZE ?? "4 (default)" }));
