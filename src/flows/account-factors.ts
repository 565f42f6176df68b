import { MINUTE } from "../clock.ts";
import { factorAddedNotice, factorRemovedNotice } from "../delivery/messages.ts";
import { countRecoveryCodesLeft } from "../auth/recovery-codes.ts";
import { addFactor, hasFactor, listFactors, lockUser, removeFactorById, removeFactorsOfKind, type User, type UserFactor } from "../auth/users.ts";
import { forgetRememberTokensFor } from "../auth/remember-me.ts";
import type { Db } from "../db/client.ts";
import { advanceFlow, createFlow, endFlow, loadFlow, type Flow } from "./flow-store.ts";
import { audit, type FlowDeps, type RequestMeta, type StepResult } from "./steps.ts";
import { codeMessage } from "./factors/code.ts";
import { newSealedTotpKey, sealedTotpBytes, totp, totpSetup } from "./factors/totp.ts";
import { passkeyCreationOptions, verifyPasskeyCreation, type RegistrationResponseJSON } from "./factors/passkey.ts";
import { recoveryCode, shownRecoveryCodes } from "./factors/recovery-code.ts";

/**
 * The account page's stronger factors (product.md §8), for a signed-in person: add an
 * authenticator app, add a passkey (named; several allowed), Generate new recovery codes. Each
 * runs in a flow of kind factor_setup held by the signed-in browser and bound to its account
 * (the app's pending key, a passkey's challenge, the codes to show once). The first app or
 * passkey of an account brings its recovery codes. Every addition emails a notice.
 *
 * Re-authentication (Confirm it's you within REAUTH_TTL) belongs to the account page: its guard
 * (src/web/routes/account.tsx, requireRecentFactorAuth) runs before every POST here, and after a
 * confirmation account.ts's `confirmed` comes back to the change asked for (resumeFactorChange).
 * The list itself is the account page's Sign-in methods section; these are its steps.
 *
 * Remove (the authenticator app or a passkey) is confirmed on a page of its own and refused for
 * the account's last factor: every account keeps a second factor (the phone or email factor of
 * its registration counts, recovery codes alone do not).
 *
 *   app ─Verify Code─▶ [recovery] ─Continue─▶ done      passkey ─answer─▶ [recovery] ─▶ done
 *   recovery (Generate new recovery codes) ─Continue─▶ done
 */
export type FactorSetupState = "app" | "passkey" | "passkey_checked" | "recovery";

const SETUP_TTL = 15 * MINUTE;
const APP_PURPOSE = "account_app";
export const FACTORS_PAGE = "/account/factors";
/** Where the list is: the account page's Sign-in methods section. */
export const SIGN_IN_METHODS = "/account#sign-in-methods";

export type AccountFactorsView =
  | { page: "list"; factors: UserFactor[]; recoveryLeft: number; email: string }
  | { page: "app"; secret: string; qrSvg: string }
  | { page: "recovery"; codes: string[] }
  | { page: "remove"; factor: UserFactor | null; last: boolean };

export type AccountFactorsResult = StepResult<AccountFactorsView>;

interface SetupData {
  totpKey?: string;
  challenge?: string | null;
  name?: string;
  recoveryCodes?: string | null;
}

/** What the Sign-in methods section lists: every factor (passkeys by their names), and how many recovery codes are left. */
export async function showAccountFactors(deps: FlowDeps, user: User): Promise<AccountFactorsView> {
  return { page: "list", factors: await listFactors(deps.sql, user.id), recoveryLeft: await countRecoveryCodesLeft(deps.sql, user.id), email: user.email };
}

/** The signed-in person's set-up flow on one of `states`, or where to go. */
async function setupAt(deps: FlowDeps, token: string | undefined, user: User, states: FactorSetupState[]): Promise<Flow | null> {
  const flow = await loadFlow(deps.sql, deps.clock, token, "factor_setup");
  if (!flow || flow.userId !== user.id || !(states as string[]).includes(flow.state)) return null;
  return flow;
}

const gone: AccountFactorsResult = { kind: "moved", path: SIGN_IN_METHODS };

/** Add an authenticator app: a new key in a new set-up flow (the old app, if any, stays until the new one is proved). */
export async function startAppSetup(deps: FlowDeps, meta: RequestMeta, user: User): Promise<AccountFactorsResult> {
  const { token } = await createFlow(deps.sql, deps.clock, { kind: "factor_setup", userId: user.id, state: "app", ttlMs: SETUP_TTL, data: { totpKey: newSealedTotpKey(deps.config.secretKey) } });
  await audit(deps, meta, "factor.app_setup_started", user.id);
  return { kind: "next", path: `${FACTORS_PAGE}/app`, token };
}

async function appView(deps: FlowDeps, flow: Flow, user: User): Promise<AccountFactorsView> {
  const { secret, qrSvg } = await totpSetup(deps.config.secretKey, (flow.data as SetupData).totpKey!, deps.config.portalName, user.email);
  return { page: "app", secret, qrSvg };
}

export async function showAppSetup(deps: FlowDeps, token: string | undefined, user: User): Promise<AccountFactorsResult> {
  const flow = await setupAt(deps, token, user, ["app"]);
  if (!flow) return gone;
  return { kind: "show", view: await appView(deps, flow, user) };
}

/** Verification Code → Verify Code: the app replaces any earlier one; the first strong factor brings recovery codes. */
export async function verifyAppSetup(deps: FlowDeps, meta: RequestMeta, token: string | undefined, user: User, code: string): Promise<AccountFactorsResult> {
  const flow = await setupAt(deps, token, user, ["app"]);
  if (!flow) return gone;
  const key = (flow.data as SetupData).totpKey!;
  return deps.sql.begin(async (tx): Promise<AccountFactorsResult> => {
    const checked = await totp.check(deps, meta, { flow, user, purpose: APP_PURPOSE, code, respectLock: true, pendingKey: key }, tx);
    if (checked.kind !== "passed") {
      const view = await appView(deps, flow, user);
      if (checked.kind === "rate_limited") return { kind: "error", view, message: "Too many attempts from this network. Wait a minute and try again.", status: 429 };
      const reason = checked.kind === "failed" ? checked.reason : "wrong";
      return { kind: "error", view, field: "code", message: codeMessage(reason === "none" ? "wrong" : reason, "Select Back and start again."), status: 422 };
    }
    const first = !(await hasFactor(tx, user.id, "totp")) && !(await hasFactor(tx, user.id, "passkey"));
    await removeFactorsOfKind(tx, user.id, "totp");
    await addFactor(tx, deps.clock, user.id, { kind: "totp", destination: null, secret: sealedTotpBytes(key), lastUsedStep: checked.step ?? null });
    await audit(deps, meta, "factor.added", user.id, { kind: "totp" }, tx);
    await deps.outbox.enqueue(tx, { channel: "email", to: user.email, ...factorAddedNotice(deps.config.portalName, "An authenticator app") });
    return finishAddition(tx, deps, meta, flow, user, "app", first);
  }).finally(() => deps.outbox.kick());
}

/** After an addition: the recovery codes when this was the account's first app or passkey, else back to the list. */
async function finishAddition(tx: Db, deps: FlowDeps, meta: RequestMeta, flow: Flow, user: User, from: FactorSetupState, first: boolean): Promise<AccountFactorsResult> {
  if (!first) {
    await endFlow(tx, deps.clock, flow.id, from);
    return { kind: "next", path: "/account?done=factor_added#sign-in-methods", token: null };
  }
  const issued = await recoveryCode.start(deps, meta, {
    flow,
    userId: user.id,
    move: (db, sealed) => advanceFlow(db, deps.clock, flow.id, from, "recovery", { data: { recoveryCodes: sealed, totpKey: null, challenge: null } }),
  }, tx);
  if (issued.kind !== "sent") return gone;
  return { kind: "next", path: `${FACTORS_PAGE}/recovery-codes` };
}

/** Add a passkey (JavaScript): the creation options, the challenge kept in a new set-up flow with the name typed. */
export async function startPasskeySetup(deps: FlowDeps, meta: RequestMeta, user: User, name: string): Promise<{ token: string; options: unknown }> {
  const options = await passkeyCreationOptions(deps, user);
  const { token } = await createFlow(deps.sql, deps.clock, { kind: "factor_setup", userId: user.id, state: "passkey", ttlMs: 5 * MINUTE, data: { challenge: options.challenge, name } });
  await audit(deps, meta, "factor.passkey_setup_started", user.id);
  return { token, options };
}

export const PASSKEY_NOT_ADDED = "The passkey could not be added. Select Add a passkey to try again.";

/** The browser's answer: the challenge is used up first, then @simplewebauthn/server checks it; the passkey is kept under its name. */
export async function finishPasskeySetup(deps: FlowDeps, meta: RequestMeta, token: string | undefined, user: User, response: RegistrationResponseJSON): Promise<AccountFactorsResult> {
  const flow = await setupAt(deps, token, user, ["passkey"]);
  if (!flow) return gone;
  const data = flow.data as SetupData;
  const taken = await advanceFlow(deps.sql, deps.clock, flow.id, "passkey", "passkey_checked", { data: { challenge: null } });
  if (!taken || !data.challenge) return gone;
  const list = await showAccountFactors(deps, user);
  const credential = await verifyPasskeyCreation(deps, response, data.challenge);
  if (!credential) {
    await audit(deps, meta, "factor.passkey_refused", user.id);
    return { kind: "error", view: list, message: PASSKEY_NOT_ADDED, status: 400 };
  }
  return deps.sql.begin(async (tx): Promise<AccountFactorsResult> => {
    const first = !(await hasFactor(tx, user.id, "totp")) && !(await hasFactor(tx, user.id, "passkey"));
    await addFactor(tx, deps.clock, user.id, {
      kind: "passkey",
      destination: null,
      label: data.name || "Passkey",
      secret: credential.publicKey,
      credentialId: credential.credentialId,
      signCount: credential.signCount,
      transports: credential.transports,
    });
    await audit(deps, meta, "factor.added", user.id, { kind: "passkey", synced: credential.synced }, tx);
    await deps.outbox.enqueue(tx, { channel: "email", to: user.email, ...factorAddedNotice(deps.config.portalName, `A passkey (${data.name || "Passkey"})`) });
    return finishAddition(tx, deps, meta, taken, user, "passkey_checked", first);
  }).finally(() => deps.outbox.kick());
}

/** Generate new recovery codes: the old ones die at once; the new ones are shown once. */
export async function generateRecoveryCodes(deps: FlowDeps, meta: RequestMeta, user: User): Promise<AccountFactorsResult> {
  return deps.sql.begin(async (tx): Promise<AccountFactorsResult> => {
    const { flow, token } = await createFlow(tx, deps.clock, { kind: "factor_setup", userId: user.id, state: "recovery", ttlMs: SETUP_TTL });
    const issued = await recoveryCode.start(deps, meta, { flow, userId: user.id, move: (db, sealed) => advanceFlow(db, deps.clock, flow.id, "recovery", "recovery", { data: { recoveryCodes: sealed } }) }, tx);
    if (issued.kind !== "sent") return gone;
    await deps.outbox.enqueue(tx, { channel: "email", to: user.email, ...factorAddedNotice(deps.config.portalName, "A new set of recovery codes") });
    return { kind: "next", path: `${FACTORS_PAGE}/recovery-codes`, token };
  }).finally(() => deps.outbox.kick());
}

export async function showSetupRecoveryCodes(deps: FlowDeps, token: string | undefined, user: User): Promise<AccountFactorsResult> {
  const flow = await setupAt(deps, token, user, ["recovery"]);
  if (!flow) return gone;
  return { kind: "show", view: { page: "recovery", codes: shownRecoveryCodes(deps.config.secretKey, (flow.data as SetupData).recoveryCodes) } };
}

/** I have saved my recovery codes → Continue: the flow (and the codes it held) ends. */
export async function confirmSetupRecoveryCodes(deps: FlowDeps, meta: RequestMeta, token: string | undefined, user: User, saved: boolean): Promise<AccountFactorsResult> {
  const flow = await setupAt(deps, token, user, ["recovery"]);
  if (!flow) return gone;
  if (!saved) {
    const codes = shownRecoveryCodes(deps.config.secretKey, (flow.data as SetupData).recoveryCodes);
    return { kind: "error", view: { page: "recovery", codes }, field: "saved", message: "Select the box to confirm you have saved your recovery codes.", status: 400 };
  }
  if (!(await endFlow(deps.sql, deps.clock, flow.id, "recovery"))) return gone;
  await audit(deps, meta, "recovery_codes.saved", user.id);
  return { kind: "next", path: "/account?done=codes_saved#sign-in-methods", token: null };
}

/* ── Remove ── */

export const LAST_FACTOR =
  "This is the only sign-in method on your account, so it cannot be removed. Add another (an authenticator app or a passkey) first, then remove this one.";
export const FACTOR_GONE = "That sign-in method is not on your account. It may have been removed already.";

const isFactorId = (id: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
/** The kinds a person removes themselves; the phone or email factor is changed (or reset by an administrator), never removed. */
const REMOVABLE = new Set(["totp", "passkey"]);

/** The account's factors, and the one asked for if it can be removed (the last one of all cannot). */
async function removalOf(db: Db, user: User, factorId: string): Promise<{ factor: UserFactor | null; last: boolean }> {
  if (!isFactorId(factorId)) return { factor: null, last: false };
  const factors = await listFactors(db, user.id);
  const factor = factors.find((f) => f.id === factorId && REMOVABLE.has(f.kind)) ?? null;
  return { factor, last: factors.length <= 1 };
}

/** Remove's own page (a GET: it works without JavaScript): what goes, or why it cannot. */
export async function showRemoval(deps: FlowDeps, user: User, factorId: string): Promise<AccountFactorsResult> {
  const { factor, last } = await removalOf(deps.sql, user, factorId);
  if (!factor) return { kind: "error", view: { page: "remove", factor: null, last: false }, message: FACTOR_GONE, status: 404 };
  return { kind: "show", view: { page: "remove", factor, last } };
}

/** What a factor is called in a notice and the audit's words. */
function factorWords(factor: { kind: string; label: string }): string {
  return factor.kind === "totp" ? "The authenticator app" : `The passkey ${factor.label}`;
}

/**
 * Remove: the account's row is locked first, so two removals at once cannot leave it with none;
 * the app's Remember Me ends with it (Login with Authenticator App would skip a factor now gone).
 */
export async function removeFactor(deps: FlowDeps, meta: RequestMeta, user: User, factorId: string): Promise<AccountFactorsResult> {
  return deps.sql
    .begin(async (tx): Promise<AccountFactorsResult> => {
      await lockUser(tx, user.id);
      const { factor, last } = await removalOf(tx, user, factorId);
      if (!factor) return { kind: "error", view: { page: "remove", factor: null, last: false }, message: FACTOR_GONE, status: 404 };
      if (last) {
        await audit(deps, meta, "factor.remove_refused", user.id, { kind: factor.kind, reason: "last" }, tx);
        return { kind: "error", view: { page: "remove", factor, last }, message: LAST_FACTOR, status: 409 };
      }
      const removed = await removeFactorById(tx, user.id, factor.id);
      if (!removed) return { kind: "error", view: { page: "remove", factor: null, last: false }, message: FACTOR_GONE, status: 404 };
      if (removed.kind === "totp") await forgetRememberTokensFor(tx, user.id, "totp");
      await audit(deps, meta, "factor.removed", user.id, { kind: removed.kind }, tx);
      await deps.outbox.enqueue(tx, { channel: "email", to: user.email, ...factorRemovedNotice(deps.config.portalName, factorWords(removed)) });
      return { kind: "next", path: "/account?done=factor_removed#sign-in-methods" };
    })
    .finally(() => deps.outbox.kick());
}
