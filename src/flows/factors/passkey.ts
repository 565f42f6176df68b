import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from "@simplewebauthn/server";
import type { Db } from "../../db/client.ts";
import type { Config } from "../../config.ts";
import { countsTowardLockout, isLocked, recordFailure, recordSuccess } from "../../auth/lockout.ts";
import { checkAttemptLimit } from "../../auth/rate-limit.ts";
import { findPasskeyByCredentialId, listPasskeys, recordPasskeyUse, type User } from "../../auth/users.ts";
import type { Flow } from "../flow-store.ts";
import { audit, type FlowDeps, type RequestMeta } from "../steps.ts";
import type { CheckInput, CheckOutcome, FactorModule, StartOutcome } from "./code.ts";

/**
 * Passkeys (WebAuthn through @simplewebauthn/server): the relying party is PUBLIC_URL (its host
 * is the RP ID, its origin the only expected origin). User verification is required, so a passkey
 * is something held and something known or been: it counts as both factors. Synced passkeys are
 * accepted (amr swk; a device-bound one is hwk). Each challenge is made for one flow, kept in it,
 * and used up by the flow's guarded move before the answer is checked, so it works once. The
 * signature counter must move forward (unless the authenticator keeps none).
 */
export type { AuthenticationResponseJSON, RegistrationResponseJSON };

export function relyingParty(config: Pick<Config, "publicUrl" | "portalName">): { rpID: string; origin: string; rpName: string } {
  const url = new URL(config.publicUrl);
  return { rpID: url.hostname, origin: url.origin, rpName: config.portalName };
}

export interface PasskeyStartInput {
  flow: Flow;
  /** The flow's guarded move, keeping the challenge (single use: the check moves the flow on first). */
  move(tx: Db, challenge: string): Promise<Flow | null>;
}

/** Sign in with a passkey: options for a discoverable credential (no account named), the challenge kept in the flow. */
async function startPasskeySignIn(deps: FlowDeps, _meta: RequestMeta, input: PasskeyStartInput): Promise<StartOutcome> {
  const options = await generateAuthenticationOptions({ rpID: relyingParty(deps.config).rpID, userVerification: "required", allowCredentials: [] });
  const moved = await input.move(deps.sql, options.challenge);
  return moved ? { kind: "sent", flow: moved, options } : { kind: "moved" };
}

/** Confirm it's you with a passkey: options naming only the account's own passkeys (user verification required). */
export async function passkeyConfirmationOptions(deps: FlowDeps, user: User) {
  const own = await listPasskeys(deps.sql, user.id);
  return generateAuthenticationOptions({
    rpID: relyingParty(deps.config).rpID,
    userVerification: "required",
    allowCredentials: own.map((p) => ({ id: p.credentialId, transports: p.transports })),
  });
}

/** Options to create a passkey for the account (its own ones excluded), and the challenge to keep. */
export async function passkeyCreationOptions(deps: FlowDeps, user: User) {
  const rp = relyingParty(deps.config);
  const existing = await listPasskeys(deps.sql, user.id);
  return generateRegistrationOptions({
    rpName: rp.rpName,
    rpID: rp.rpID,
    userName: user.email,
    userDisplayName: user.name || user.email,
    userID: new TextEncoder().encode(user.id),
    attestationType: "none",
    excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: p.transports })),
    authenticatorSelection: { residentKey: "required", userVerification: "required" },
  });
}

/** The browser's answer to the creation options: the credential to keep, or null (any failure: origin, RP ID, challenge, no user verification). */
export async function verifyPasskeyCreation(deps: FlowDeps, response: RegistrationResponseJSON, challenge: string) {
  const rp = relyingParty(deps.config);
  try {
    const verified = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpID,
      requireUserVerification: true,
    });
    if (!verified.verified) return null;
    const { credential, credentialDeviceType } = verified.registrationInfo;
    return { credentialId: credential.id, publicKey: credential.publicKey, signCount: credential.counter, transports: credential.transports ?? [], synced: credentialDeviceType === "multiDevice" };
  } catch {
    return null;
  }
}

/** The account a discoverable credential belongs to (the answer names its credential; nothing else is trusted yet). */
export async function passkeyOwner(db: Db, response: AuthenticationResponseJSON): Promise<string | null> {
  if (typeof response?.id !== "string" || response.id.length > 1024) return null;
  return (await findPasskeyByCredentialId(db, response.id))?.userId ?? null;
}

export interface PasskeyCheckInput extends CheckInput {
  response: AuthenticationResponseJSON;
  /** The challenge the flow held (already used up by the flow's move). */
  challenge: string;
}

/** Checks a passkey's answer: limits and lock as for any factor, the signature, user verification, the counter. `destination` is swk or hwk. */
async function checkPasskey(deps: FlowDeps, meta: RequestMeta, input: PasskeyCheckInput, db: Db = deps.sql): Promise<CheckOutcome> {
  const { user, purpose } = input;
  const what = { purpose, channel: "passkey" };
  const limit = await checkAttemptLimit(db, deps.clock, { ip: meta.ip, action: "code" });
  if (!limit.ok) return { kind: "rate_limited", retryAfterSeconds: limit.retryAfterSeconds };
  if (input.respectLock && isLocked(user, deps.clock)) {
    await audit(deps, meta, "code.failed", user.id, { ...what, reason: "locked" }, db);
    return { kind: "locked" };
  }
  const stored = await findPasskeyByCredentialId(db, input.response.id);
  if (!stored || stored.userId !== user.id) {
    await audit(deps, meta, "code.failed", user.id, { ...what, reason: "none" }, db);
    return { kind: "failed", reason: "none", locked: false };
  }
  const rp = relyingParty(deps.config);
  let verified: Awaited<ReturnType<typeof verifyAuthenticationResponse>> | null = null;
  try {
    verified = await verifyAuthenticationResponse({
      response: input.response,
      expectedChallenge: input.challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpID,
      credential: { id: stored.credentialId, publicKey: new Uint8Array(stored.publicKey), counter: stored.signCount, transports: stored.transports },
      requireUserVerification: true,
    });
  } catch {
    verified = null;
  }
  if (!verified?.verified) {
    await audit(deps, meta, "code.failed", user.id, { ...what, reason: "wrong" }, db);
    const locked = countsTowardLockout("wrong") ? (await recordFailure(db, deps.clock, user.id)).locked : false;
    return { kind: "failed", reason: "wrong", locked };
  }
  // A counter that did not move forward: a cloned authenticator, or a replayed answer.
  if (!(await recordPasskeyUse(db, deps.clock, stored.id, verified.authenticationInfo.newCounter))) {
    await audit(deps, meta, "code.failed", user.id, { ...what, reason: "counter" }, db);
    return { kind: "failed", reason: "none", locked: false };
  }
  await recordSuccess(db, user.id);
  return { kind: "passed", destination: verified.authenticationInfo.credentialDeviceType === "multiDevice" ? "swk" : "hwk" };
}

/** What the page and the audit say of this factor; `amr`: swk for a synced passkey, hwk for one bound to its device (RFC 8176). */
function describePasskey(proof: "swk" | "hwk"): { kind: "passkey"; label: string; shown: string; amr: "swk" | "hwk" } {
  return { kind: "passkey", label: "Passkey", shown: "your passkey", amr: proof };
}

export const passkey = {
  start: startPasskeySignIn,
  check: checkPasskey,
  describe: describePasskey,
} satisfies FactorModule<PasskeyStartInput, PasskeyCheckInput, [proof: "swk" | "hwk"]>;
