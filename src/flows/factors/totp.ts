import { createTOTPKeyURI, verifyHOTP } from "@oslojs/otp";
import { encodeBase32UpperCaseNoPadding } from "@oslojs/encoding";
import QRCode from "qrcode";
import type { Db } from "../../db/client.ts";
import type { Clock } from "../../clock.ts";
import { countsTowardLockout, recordFailure, recordSuccess } from "../../auth/lockout.ts";
import { openSecret, sealSecret } from "../../auth/secret-box.ts";
import { findTotpFactor, takeTotpStep } from "../../auth/users.ts";
import { MAX_CODE_ATTEMPTS } from "../../auth/codes.ts";
import { countFlowFailure, type Flow } from "../flow-store.ts";
import { audit, type FlowDeps, type RequestMeta } from "../steps.ts";
import { refuseBeforeCompare, type CheckInput, type CheckOutcome, type FactorModule, type StartOutcome } from "./code.ts";

/**
 * The authenticator app (TOTP, RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps), through
 * @oslojs/otp's HOTP with the time step taken from the injected clock. The key is 160 bits from
 * the CSPRNG, sealed at rest under SECRET_KEY (secret-box.ts). A code is accepted for the step
 * it belongs to, one step either side of now, and each step once: the account's last accepted
 * step is moved forward by a guarded UPDATE, so the same code (or an older one) again is refused.
 * Wrong codes count as other codes do: MAX_CODE_ATTEMPTS per flow, and toward the account lockout.
 */
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps accepted either side of now: a phone clock a little off, or a code typed as it turned. */
export const TOTP_SKEW_STEPS = 1;
const KEY_BYTES = 20;
const SEAL_PURPOSE = "totp";
/** The flow's count of wrong app codes (in its data). */
const FAILURES = "totpFailures";

export function timeStep(clock: Clock): number {
  return Math.floor(clock.now().getTime() / 1000 / TOTP_PERIOD_SECONDS);
}

/** The step within ±TOTP_SKEW_STEPS of now whose code this is (nearest first), or null. */
export function matchTotpStep(key: Uint8Array, code: string, clock: Clock): number | null {
  const now = timeStep(clock);
  for (const offset of [0, -1, 1].filter((o) => Math.abs(o) <= TOTP_SKEW_STEPS)) {
    if (verifyHOTP(key, BigInt(now + offset), TOTP_DIGITS, code)) return now + offset;
  }
  return null;
}

/** A new key, sealed for the flow's data (base64), as set-up keeps it until the first code proves it. */
export function newSealedTotpKey(secretKey: string): string {
  const key = crypto.getRandomValues(new Uint8Array(KEY_BYTES));
  return Buffer.from(sealSecret(secretKey, SEAL_PURPOSE, key)).toString("base64");
}

export function openTotpKey(secretKey: string, sealed: Uint8Array | string): Uint8Array | null {
  const bytes = typeof sealed === "string" ? new Uint8Array(Buffer.from(sealed, "base64")) : sealed;
  return openSecret(secretKey, SEAL_PURPOSE, bytes);
}

/** The sealed key as the user_factors row keeps it. */
export function sealedTotpBytes(sealed: string): Uint8Array {
  return new Uint8Array(Buffer.from(sealed, "base64"));
}

/** What the set-up page shows: the key in Base32 (in groups of four, spaces allowed when typed) and the QR code as SVG. */
export async function totpSetup(secretKey: string, sealed: string, issuer: string, account: string): Promise<{ secret: string; qrSvg: string }> {
  const key = openTotpKey(secretKey, sealed);
  if (!key) throw new Error("a set-up's authenticator key does not open under SECRET_KEY");
  const uri = createTOTPKeyURI(issuer, account, key, TOTP_PERIOD_SECONDS, TOTP_DIGITS);
  const qrSvg = await QRCode.toString(uri, { type: "svg", errorCorrectionLevel: "M", margin: 2 });
  return { secret: encodeBase32UpperCaseNoPadding(key).match(/.{1,4}/g)!.join(" "), qrSvg };
}

export interface TotpStartInput {
  flow: Flow;
  /** The flow's guarded move, given the new sealed key to keep until the first code proves it. */
  move(tx: Db, sealedKey: string): Promise<Flow | null>;
}

/** Set-up begins: a new key for the flow (nothing is sent: the person scans it). */
async function startTotp(deps: FlowDeps, _meta: RequestMeta, input: TotpStartInput): Promise<StartOutcome> {
  const moved = await input.move(deps.sql, newSealedTotpKey(deps.config.secretKey));
  return moved ? { kind: "sent", flow: moved } : { kind: "moved" };
}

export interface TotpCheckInput extends CheckInput {
  code: string;
  /** Set-up: the sealed key in the flow, not yet the account's. Without it, the account's app. */
  pendingKey?: string;
}

/**
 * Checks a code of the app: the client address's attempt limit, the lock, the flow's tries, the
 * code against the key, then (for the account's app) the step taken once. A set-up's `passed`
 * carries the step, which the new factor row starts from.
 */
async function checkTotp(deps: FlowDeps, meta: RequestMeta, input: TotpCheckInput, db: Db = deps.sql): Promise<CheckOutcome> {
  const { user, purpose } = input;
  const what = { purpose, channel: "totp" };
  const refused = await refuseBeforeCompare(deps, meta, input, what.channel, db);
  if (refused) return refused;
  if (((input.flow.data[FAILURES] as number | undefined) ?? 0) >= MAX_CODE_ATTEMPTS) {
    await audit(deps, meta, "code.failed", user.id, { ...what, reason: "exhausted" }, db);
    return { kind: "failed", reason: "exhausted", locked: false };
  }
  const factor = input.pendingKey === undefined ? await findTotpFactor(db, user.id) : null;
  const key = input.pendingKey !== undefined ? openTotpKey(deps.config.secretKey, input.pendingKey) : factor ? openTotpKey(deps.config.secretKey, factor.secret) : null;
  if (!key) {
    await audit(deps, meta, "code.failed", user.id, { ...what, reason: "none" }, db);
    return { kind: "failed", reason: "none", locked: false };
  }
  const step = matchTotpStep(key, input.code, deps.clock);
  if (step !== null && (!factor || (await takeTotpStep(db, deps.clock, factor.id, step)))) {
    await recordSuccess(db, user.id);
    return { kind: "passed", destination: "", step };
  }
  // A right code of a step already used is a replay: refused, and (like any code that could not
  // be tried) counted nowhere, by the one rule of lockout.ts.
  const reason = step === null ? "wrong" : "none";
  await audit(deps, meta, "code.failed", user.id, { ...what, reason: step === null ? "wrong" : "replayed" }, db);
  let locked = false;
  if (countsTowardLockout(reason)) {
    await countFlowFailure(db, input.flow.id, FAILURES);
    locked = (await recordFailure(db, deps.clock, user.id)).locked;
    if (locked) await audit(deps, meta, "signin.locked", user.id, { purpose }, db);
  }
  return { kind: "failed", reason, locked };
}

/** What the page and the audit say of this factor; `amr` is what passing it proves (RFC 8176: otp). */
function describeTotp(): { kind: "totp"; label: string; shown: string; amr: "otp" } {
  return { kind: "totp", label: "Authenticator app", shown: "your authenticator app", amr: "otp" };
}

export const totp = {
  start: startTotp,
  check: checkTotp,
  describe: describeTotp,
} satisfies FactorModule<TotpStartInput, TotpCheckInput, []>;
