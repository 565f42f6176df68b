import { createRequire } from "node:module";
import { hash, parseOptions, verify, type Algorithm, type Options } from "@node-rs/argon2";
import type { OptionsType, ZxcvbnFactory as ZxcvbnFactoryType } from "@zxcvbn-ts/core";
import { randomString } from "./tokens.ts";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "../password-policy.ts";

/**
 * Passwords: argon2id with OWASP's minimum parameters (m=19456 KiB, t=2, p=1), and the policy of
 * security.md (12..256 characters, no composition rules, refused when common or when it holds
 * the email's local part or the portal name). ASVS 6.2.x, 11.4.2.
 */
export { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH };

// Algorithm is an ambient const enum, which isolated modules cannot read; 2 is its Argon2id member.
const ARGON2ID = 2 as Algorithm;
export const ARGON2_OPTIONS = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const satisfies Options;

export async function hashPassword(password: string): Promise<string> {
  // Callers check the policy first; this guard keeps an unbounded input from ever reaching argon2.
  if (password.length > MAX_PASSWORD_LENGTH) throw new RangeError("password longer than MAX_PASSWORD_LENGTH");
  return hash(password, ARGON2_OPTIONS);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  try {
    return await verify(passwordHash, password);
  } catch {
    return false; // a malformed stored hash is a failed sign-in, not a crash
  }
}

/** True when the stored hash was made with another algorithm or weaker parameters than today's. */
export function passwordNeedsRehash(passwordHash: string): boolean {
  try {
    const used = parseOptions(passwordHash);
    return (
      used.algorithm !== ARGON2_OPTIONS.algorithm ||
      used.version !== (1 as typeof used.version) || // 0x13
      used.memoryCost < ARGON2_OPTIONS.memoryCost ||
      used.timeCost < ARGON2_OPTIONS.timeCost ||
      used.parallelism < ARGON2_OPTIONS.parallelism
    );
  } catch {
    return true;
  }
}

let dummyHash: Promise<string> | null = null;

/**
 * For an unknown account: the same argon2 work as a real check, so the answer's timing does not
 * tell whether the address exists (ASVS 6.3.8). Always false.
 */
export async function verifyDummyPassword(password: string): Promise<false> {
  dummyHash ??= hash(randomString(20), ARGON2_OPTIONS);
  await verifyPassword(await dummyHash, password.slice(0, MAX_PASSWORD_LENGTH));
  return false;
}

export type PasswordPolicyResult = { ok: true } | { ok: false; reason: string };

// zxcvbn's dictionaries take a few hundred milliseconds to load; they are read on the first check,
// not at start-up, and synchronously (createRequire) so the policy check can stay synchronous.
let zxcvbn: ZxcvbnFactoryType | null = null;
function strengthChecker(): ZxcvbnFactoryType {
  if (zxcvbn) return zxcvbn;
  const require = createRequire(import.meta.url);
  const { ZxcvbnFactory } = require("@zxcvbn-ts/core") as typeof import("@zxcvbn-ts/core");
  const common = require("@zxcvbn-ts/language-common") as typeof import("@zxcvbn-ts/language-common");
  const en = require("@zxcvbn-ts/language-en") as typeof import("@zxcvbn-ts/language-en");
  const options: OptionsType = {
    dictionary: { ...common.dictionary, ...en.dictionary },
    graphs: common.adjacencyGraphs,
    translations: en.translations,
  };
  zxcvbn = new ZxcvbnFactory(options);
  return zxcvbn;
}

/** zxcvbn score needed: 3 means "safely unguessable" (about 10^8 guesses or more). */
const MIN_SCORE = 3;
/** A local part shorter than this ("jo") would refuse too many unrelated passwords. */
const MIN_PERSONAL_PART = 3;

export function checkPasswordPolicy(password: string, context: { email: string; portalName: string }): PasswordPolicyResult {
  // Length first, before anything expensive looks at the text. Counted in code points, as a person counts.
  const length = [...password].length;
  if (password.length > MAX_PASSWORD_LENGTH * 2 || length > MAX_PASSWORD_LENGTH) {
    return { ok: false, reason: `Use at most ${MAX_PASSWORD_LENGTH} characters.` };
  }
  if (length < MIN_PASSWORD_LENGTH) {
    return { ok: false, reason: `Use at least ${MIN_PASSWORD_LENGTH} characters.` };
  }
  const lower = password.toLowerCase();
  const squashed = lower.replace(/[^\p{L}\p{N}]/gu, "");
  const localPart = context.email.trim().toLowerCase().split("@")[0] ?? "";
  if (localPart.length >= MIN_PERSONAL_PART && (lower.includes(localPart) || squashed.includes(localPart.replace(/[^\p{L}\p{N}]/gu, "") || "\u0000"))) {
    return { ok: false, reason: "Do not use your email address in your password." };
  }
  const portal = context.portalName.trim().toLowerCase();
  const portalSquashed = portal.replace(/[^\p{L}\p{N}]/gu, "");
  if (portal.length >= MIN_PERSONAL_PART && (lower.includes(portal) || (portalSquashed.length >= MIN_PERSONAL_PART && squashed.includes(portalSquashed)))) {
    return { ok: false, reason: `Do not use the name of the portal (${context.portalName.trim()}) in your password.` };
  }
  const result = strengthChecker().check(password, [context.email, localPart, context.portalName]);
  if (result.score < MIN_SCORE) {
    const why = result.feedback.warning ? ` ${result.feedback.warning}` : "";
    return { ok: false, reason: `This password is too easy to guess.${why} Try a longer phrase of unrelated words.` };
  }
  return { ok: true };
}
