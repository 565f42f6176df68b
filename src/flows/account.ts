import Bowser from "bowser";
import { MINUTE } from "../clock.ts";
import type { Session } from "../auth/sessions.ts";
import {
  clearReauthGrant,
  invalidateOtherSession,
  invalidateOtherSessions,
  invalidateUserSessions,
  listUserSessions,
  recordReauthentication,
  type SessionSummary,
} from "../auth/sessions.ts";
import { findPasswordHash, hasFactor, listFactors, maskPhone, replacePhoneFactor, setPasswordHash, touchFactor, type User, type UserFactor } from "../auth/users.ts";
import { countRecoveryCodesLeft } from "../auth/recovery-codes.ts";
import { checkPasswordPolicy, hashPassword, verifyPassword } from "../auth/passwords.ts";
import { isLocked, recordFailure, recordSuccess } from "../auth/lockout.ts";
import { checkAttemptLimit } from "../auth/rate-limit.ts";
import { endApplicationSessions } from "../apps/application-sessions.ts";
import { forgetOtherRememberTokens, forgetRememberTokens, forgetRememberTokensFor } from "../auth/remember-me.ts";
import { parseUsPhone } from "../auth/phone.ts";
import { listUserEvents, type AuditEvent } from "../auth/audit.ts";
import { accountPasswordChangedNotice, describeDuration, phoneChangedNotice, sessionsEndedNotice } from "../delivery/messages.ts";
import { advanceFlow, createFlow, deleteUserFlows, endFlow, takeFlowChallenge, type Flow } from "./flow-store.ts";
import { audit, flowAt, isMoved, stepPaths, tooManyAttempts, tooManySends, type FlowDeps, type Moved, type RequestMeta, type SteppedFlow, type StepResult } from "./steps.ts";
import { codeMessage, type CheckOutcome, type StartOutcome } from "./factors/code.ts";
import { emailCode } from "./factors/email-code.ts";
import { phone, type PhoneChannel } from "./factors/phone.ts";
import { totp } from "./factors/totp.ts";
import { recoveryCode } from "./factors/recovery-code.ts";
import { passkey, passkeyConfirmationOptions, type AuthenticationResponseJSON } from "./factors/passkey.ts";
import { generateRecoveryCodes, removeFactor, SIGN_IN_METHODS, startAppSetup } from "./account-factors.ts";
import { PASSWORDS_DIFFER } from "./password-reset.ts";

/**
 * The account page (product.md §8): change password, change phone number, the sessions, recent
 * activity; and "Confirm it's you" before each change (security.md: a second factor within
 * REAUTH_TTL first, a notice after; ASVS 7.5.1, 6.3.7).
 *
 * A change may go ahead when the session's last second factor (its sign-in, or its last Confirm
 * it's you) is younger than REAUTH_TTL. Otherwise the person confirms with a factor of theirs (the
 * emailed code, or the phone's SMS or call; the authenticator app's code; one of their own
 * passkeys, JavaScript only; a recovery code, used up), which is recorded on the session together with the
 * change it was asked for: that one change may still finish within REAUTH_GRANT_MS, so a person
 * who takes their time choosing a password does not lose what they typed. A locked account cannot
 * confirm; wrong codes count toward the lockout as at sign-in (factors/code.ts decides).
 *
 * The confirmation and the proof of a new number are steps of an `account` flow (its codes are
 * bound to it), held by the flow cookie and by this session: another session's cookie finds nothing.
 */
export type AccountChange = "password" | "phone" | "sessions" | "factors";

/**
 * A change of the Sign-in methods section (src/flows/account-factors.ts) asked for before its
 * confirmation: adding an app, new recovery codes and a removal (pressed on its own page) are done
 * once confirmed; a passkey goes back to the section (its name is typed there, and the browser asks).
 */
export type FactorChange = { do: "app" } | { do: "recovery" } | { do: "passkey" } | { do: "remove"; factor: string } | { do: "list" };

/** What a confirmation leads to: a page to go back to, or the sign-out it was asked for (done once confirmed). */
export type PendingChange = { change: "password" } | { change: "phone" } | { change: "sessions"; end: string } | { change: "factors"; then: FactorChange };

export type AccountState = "confirm" | "confirm_code" | "confirm_call" | "phone_new" | "phone_code" | "phone_call";

/** How long a confirmation lets the change it was asked for finish, and how long the account flows live. */
export const REAUTH_GRANT_MS = 15 * MINUTE;

const CONFIRM_PURPOSE = "reauthentication";
const PHONE_CHANGE_PURPOSE = "phone_change";

export const accountStepPath = stepPaths<AccountState>("/account", {
  confirm: "/account/confirm",
  confirm_code: "/account/confirm/code",
  confirm_call: "/account/confirm/call",
  phone_new: "/account/phone",
  phone_code: "/account/phone/code",
  phone_call: "/account/phone/call",
});

const ACCOUNT_FLOW: SteppedFlow<AccountState> = { kind: "account", start: "/account", stepPath: accountStepPath };

const CONFIRM_STATES: AccountState[] = ["confirm", "confirm_code", "confirm_call"];
const PHONE_STATES: AccountState[] = ["phone_new", "phone_code", "phone_call"];

/** Where each change's page is. */
const CHANGE_PAGES: Record<AccountChange, string> = { password: "/account/password", phone: "/account/phone", sessions: "/account", factors: SIGN_IN_METHODS };

/** The signed-in person and the session asking. */
export interface Signed {
  user: User;
  session: Session;
}

interface AccountData {
  sessionId?: string;
  pending?: PendingChange;
  /** The factor the confirmation uses: the emailed code, or the phone (sms / voice). */
  channel?: "email" | PhoneChannel;
  keypadCode?: string | null;
  /** The number being proved (E.164), for a phone change. */
  newPhone?: string;
  /** Confirm with a passkey: the challenge of the options last given, until an answer uses it up. */
  challenge?: string | null;
}

/** The views of the account page's steps. */
export type AccountView =
  | { page: "overview" }
  | { page: "password" }
  | { page: "phone"; phone: string }
  | {
      page: "confirm";
      state: "confirm" | "confirm_code" | "confirm_call";
      /** The account's own factor (none: an account whose factors are only an app or passkeys). */
      factor: "email" | "phone" | "none";
      shown: string;
      channel: "email" | PhoneChannel | null;
      keypadCode: string | null;
      change: AccountChange;
      codeLifetime: string;
      /** The stronger ways offered beside it: the authenticator app's code, a passkey (JavaScript only), a recovery code. */
      app: boolean;
      passkey: boolean;
      recovery: boolean;
      /** The page of Use a recovery code (Recovery Code → Verify Code) rather than the factor's. */
      using: "recovery" | null;
    }
  | { page: "phone_proof"; state: "phone_code" | "phone_call"; maskedPhone: string; keypadCode: string | null };

export type AccountResult = StepResult<AccountView>;

export const LOCKED_MESSAGE = "Your account is locked after too many wrong tries. Wait 15 minutes and try again, or ask your portal administrator to unlock it.";
export const NO_FACTOR_MESSAGE = "Your account signs in through your organization's sign-in, which holds your second factor. Sign in again there to confirm it's you.";

/* ── freshness ── */

/** True when `change` may go ahead now without asking for a second factor again. */
export function isConfirmed(deps: FlowDeps, session: Session, change: AccountChange): boolean {
  const now = deps.clock.now().getTime();
  const last = Math.max(session.authenticatedAt?.getTime() ?? 0, session.reauthenticatedAt?.getTime() ?? 0);
  if (now - last < deps.config.ttl.reauth) return true;
  const grantedAt = session.reauthenticatedAt?.getTime();
  return session.reauthFor === change && grantedAt !== undefined && now - grantedAt < REAUTH_GRANT_MS;
}

/** The account's own factor for a confirmation: the phone when it holds one, else its email address; none for staff accounts. */
function ownFactor(user: User): { factor: "phone"; phone: string } | { factor: "email" } | null {
  if (user.phoneE164) return { factor: "phone", phone: user.phoneE164 };
  if (user.mfaMethod === "email") return { factor: "email" };
  return null;
}

/** The ways this account can confirm: its own factor, its authenticator app, its passkeys, its recovery codes. */
async function confirmWays(deps: FlowDeps, user: User): Promise<{ own: ReturnType<typeof ownFactor>; app: boolean; passkey: boolean; recovery: boolean }> {
  const [app, passkey, left] = await Promise.all([hasFactor(deps.sql, user.id, "totp"), hasFactor(deps.sql, user.id, "passkey"), countRecoveryCodesLeft(deps.sql, user.id)]);
  return { own: ownFactor(user), app, passkey, recovery: left > 0 };
}

const canConfirm = (ways: Awaited<ReturnType<typeof confirmWays>>) => ways.own !== null || ways.app || ways.passkey || ways.recovery;

/* ── the overview ── */

/** What the account page shows: factors, live sessions (this one marked), recent activity. */
export interface AccountOverview {
  user: User;
  factors: UserFactor[];
  /** Recovery codes not used yet. */
  recoveryLeft: number;
  sessions: (SessionSummary & { current: boolean; browser: string })[];
  activity: AuditEvent[];
  hasPassword: boolean;
}

/** The events Recent activity lists (the template words each; a new one here fails its type check). */
export const ACTIVITY_EVENTS = [
  "signin.success",
  "signin.remembered",
  "staff.signed_in",
  "registration.completed",
  "registration.mfa_reset_completed",
  "signin.locked",
  "password.reset",
  "account.password_changed",
  "account.phone_changed",
  "account.sessions_ended",
  "admin.mfa_reset",
  "admin.user_unlocked",
  "factor.added",
  "factor.removed",
  "recovery_code.used",
] as const;

export type ActivityEvent = (typeof ACTIVITY_EVENTS)[number];

export async function loadAccountOverview(deps: FlowDeps, who: Signed): Promise<AccountOverview> {
  const [factors, recoveryLeft, sessions, activity, hash] = await Promise.all([
    listFactors(deps.sql, who.user.id),
    countRecoveryCodesLeft(deps.sql, who.user.id),
    listUserSessions(deps.sql, deps.clock, deps.config.ttl, who.user.id),
    listUserEvents(deps.sql, who.user.id, ACTIVITY_EVENTS, 15),
    findPasswordHash(deps.sql, who.user.id),
  ]);
  return {
    user: who.user,
    factors,
    recoveryLeft,
    sessions: sessions.map((s) => ({ ...s, current: s.id === who.session.id, browser: browserName(s.userAgent) })),
    activity,
    hasPassword: hash !== null,
  };
}

/** "Chrome 131 on Linux": a person's own words for a session's browser (bowser reads the user agent). */
export function browserName(userAgent: string | null): string {
  if (!userAgent) return "Unknown browser";
  const parsed = Bowser.parse(userAgent);
  const name = parsed.browser.name || "Unknown browser";
  const major = parsed.browser.version?.split(".")[0];
  const os = parsed.os.name;
  return `${name}${parsed.browser.name && major ? ` ${major}` : ""}${os ? ` on ${os}` : ""}`;
}

/* ── Confirm it's you ── */

/** This session's confirmation flow, or (from the first page of a change, `?for=`) a new one. */
async function confirmationFlow(deps: FlowDeps, meta: RequestMeta, who: Signed, token: string | undefined, change?: ConfirmFor): Promise<{ flow: Flow; token?: string } | AccountResult> {
  const flow = await ownFlow(deps, who, token, CONFIRM_STATES);
  if (!isMoved(flow)) return { flow };
  if (!change) return flow;
  const created = await createConfirmation(deps, meta, who, pendingFor(change));
  if (!created) return { kind: "error", view: { page: "overview" }, message: NO_FACTOR_MESSAGE, status: 403 };
  return created;
}

/** A new account flow for this session's confirmation of `pending` (an older one of the account ends); null for an account without a factor here. */
async function createConfirmation(deps: FlowDeps, meta: RequestMeta, who: Signed, pending: PendingChange): Promise<{ flow: Flow; token: string } | null> {
  const own = ownFactor(who.user);
  if (!canConfirm(await confirmWays(deps, who.user))) return null;
  const created = await createFlow(deps.sql, deps.clock, {
    kind: "account",
    userId: who.user.id,
    state: "confirm",
    ttlMs: REAUTH_GRANT_MS,
    data: { sessionId: who.session.id, pending, channel: own?.factor === "email" ? "email" : undefined } satisfies AccountData,
  });
  await deleteUserFlows(deps.sql, who.user.id, "account", created.flow.id);
  await audit(deps, meta, "account.confirmation_asked", who.user.id, { change: pending.change });
  return created;
}

/**
 * A POST that needs a confirmation first: its account flow starts (the sign-out asked for is
 * kept in it) and the browser goes to Confirm it's you. A GET never starts one: it goes to
 * askConfirmation's page, whose buttons POST.
 */
export async function beginConfirmation(deps: FlowDeps, meta: RequestMeta, who: Signed, pending: PendingChange): Promise<AccountResult> {
  const created = await createConfirmation(deps, meta, who, pending);
  if (!created) return { kind: "error", view: { page: "overview" }, message: NO_FACTOR_MESSAGE, status: 403 };
  return { kind: "next", path: accountStepPath("confirm"), token: created.token };
}

/** Where a GET of a change goes when it needs a confirmation first (nothing is written yet). */
function askConfirmation(change: "password" | "phone"): Moved {
  return { kind: "moved", path: `${accountStepPath("confirm")}?for=${change}` };
}

/** The account flow of this session on one of `states`; a flow of another session or person is no flow. */
async function ownFlow(deps: FlowDeps, who: Signed, token: string | undefined, states: AccountState[]): Promise<Flow | Moved> {
  const flow = await flowAt(deps, ACCOUNT_FLOW, token, states);
  if (isMoved(flow)) return flow;
  if (flow.userId !== who.user.id || (flow.data as AccountData).sessionId !== who.session.id) return { kind: "moved", path: "/account", expired: true };
  return flow;
}

async function confirmView(deps: FlowDeps, who: Signed, flow: Flow, using: "recovery" | null = null): Promise<AccountView> {
  const d = flow.data as AccountData;
  const ways = await confirmWays(deps, who.user);
  const own = ways.own;
  const channel = d.channel ?? null;
  return {
    page: "confirm",
    state: flow.state as "confirm" | "confirm_code" | "confirm_call",
    factor: own?.factor ?? "none",
    app: ways.app,
    passkey: ways.passkey,
    recovery: ways.recovery,
    using,
    shown: own?.factor === "phone" ? maskPhone(own.phone) : own?.factor === "email" ? who.user.email : "",
    channel,
    keypadCode: flow.state === "confirm_call" ? (d.keypadCode ?? null) : null,
    change: d.pending?.change ?? "password",
    codeLifetime: describeDuration(channel === "email" || channel === null ? deps.config.ttl.emailVerificationCode : deps.config.ttl.smsCode),
  };
}

/** A confirmation step; Confirm it's you's first page also shows, with nothing stored, for a change named by `?for=`. */
export async function showConfirmStep(
  deps: FlowDeps,
  who: Signed,
  token: string | undefined,
  states: AccountState[],
  change?: ConfirmFor,
  using: "recovery" | null = null,
): Promise<AccountResult> {
  const flow = await ownFlow(deps, who, token, states);
  if (!isMoved(flow)) {
    const view = await await confirmView(deps, who, flow, using);
    if (using === "recovery" && !(view as ConfirmViewOf).recovery) return { kind: "moved", path: accountStepPath(flow.state as AccountState) };
    return { kind: "show", view };
  }
  if (!change || !states.includes("confirm")) return flow;
  if (!canConfirm(await confirmWays(deps, who.user))) return { kind: "error", view: { page: "overview" }, message: NO_FACTOR_MESSAGE, status: 403 };
  if (isConfirmed(deps, who.session, change)) return { kind: "moved", path: CHANGE_PAGES[change] };
  const unsaved = { state: "confirm", data: { pending: pendingFor(change), channel: who.user.phoneE164 ? undefined : who.user.mfaMethod === "email" ? "email" : undefined } } as unknown as Flow;
  return { kind: "show", view: await await confirmView(deps, who, unsaved, using) };
}

/** The changes a Confirm it's you page may be opened for before its flow exists (`?for=`). */
export type ConfirmFor = "password" | "phone" | "factors";
type ConfirmViewOf = Extract<AccountView, { page: "confirm" }>;

function pendingFor(change: ConfirmFor): PendingChange {
  return change === "factors" ? { change, then: { do: "list" } } : { change };
}

/**
 * Send Verification Code (email), Send Code (SMS) or Call Me, to the person's own factor. From
 * the first page of a change's confirmation (`change`, no flow yet) this POST starts the flow.
 */
export async function sendConfirmation(
  deps: FlowDeps,
  meta: RequestMeta,
  who: Signed,
  token: string | undefined,
  channel: "email" | PhoneChannel,
  change?: ConfirmFor,
): Promise<AccountResult> {
  const found = await confirmationFlow(deps, meta, who, token, change);
  if ("kind" in found) return found;
  const { flow: started, token: newToken } = found;
  const own = ownFactor(who.user);
  if (!own || (own.factor === "email") !== (channel === "email")) return { kind: "moved", path: accountStepPath(started.state) };
  if (isLocked(who.user, deps.clock)) {
    await audit(deps, meta, "account.confirmation_locked", who.user.id);
    return { kind: "error", view: await confirmView(deps, who, started), message: LOCKED_MESSAGE, status: 403 };
  }
  const target: AccountState = channel === "voice" ? "confirm_call" : "confirm_code";
  const move = (tx: Parameters<typeof advanceFlow>[0]) => advanceFlow(tx, deps.clock, started.id, CONFIRM_STATES, target, { data: { channel, keypadCode: null } });
  let outcome: StartOutcome;
  if (own.factor === "email") {
    outcome = await emailCode.start(deps, meta, {
      flow: started,
      userId: who.user.id,
      purpose: CONFIRM_PURPOSE,
      email: who.user.email,
      wording: "reauthentication",
      ttlMs: deps.config.ttl.emailVerificationCode,
      move,
    });
  } else {
    outcome = await phone.start(deps, meta, {
      flow: started,
      userId: who.user.id,
      purpose: CONFIRM_PURPOSE,
      channel: channel as PhoneChannel,
      phone: own.phone,
      move,
      withCode: channel === "voice" ? (tx, code) => advanceFlow(tx, deps.clock, started.id, target, target, { data: { keypadCode: code } }) : undefined,
    });
  }
  if (outcome.kind === "sent") return { kind: "next", path: accountStepPath(outcome.flow.state), token: newToken };
  if (outcome.kind === "rate_limited") {
    return { kind: "error", view: await confirmView(deps, who, started), message: tooManySends(outcome.retryAfterSeconds), status: 429, retryAfterSeconds: outcome.retryAfterSeconds };
  }
  return { kind: "moved", path: accountStepPath(started.state) };
}

const SEND_NEW_EMAIL = "Select Send New Code for a new one.";

/** What a code that did not pass says, on the step it was typed on. */
function notPassed(view: AccountView, outcome: Exclude<CheckOutcome, { kind: "passed" | "pending" }>, next: string): AccountResult {
  if (outcome.kind === "rate_limited") return { kind: "error", view, field: "code", message: tooManyAttempts(outcome.retryAfterSeconds), status: 429 };
  if (outcome.kind === "locked" || outcome.locked) return { kind: "error", view, message: LOCKED_MESSAGE, status: 403 };
  return { kind: "error", view, field: "code", message: codeMessage(outcome.reason, next), status: outcome.reason === "wrong" ? 401 : 400 };
}

/** Verification Code → Verify Code (the emailed code or the SMS). */
export async function checkConfirmationCode(deps: FlowDeps, meta: RequestMeta, who: Signed, token: string | undefined, code: string): Promise<AccountResult> {
  const flow = await ownFlow(deps, who, token, ["confirm_code"]);
  if (isMoved(flow)) return flow;
  const channel = (flow.data as AccountData).channel;
  const input = { flow, user: who.user, purpose: CONFIRM_PURPOSE, code, respectLock: true };
  const outcome = channel === "email" ? await emailCode.check(deps, meta, input) : await phone.check(deps, meta, { ...input, channel: "sms" });
  if (outcome.kind === "pending") return { kind: "pending", view: await confirmView(deps, who, flow) };
  if (outcome.kind !== "passed") return notPassed(await confirmView(deps, who, flow), outcome, SEND_NEW_EMAIL);
  return confirmed(deps, meta, who, flow, channel === "email" ? "email" : "sms");
}

/** Has the call confirmed the code yet? (the poll and Continue) */
export async function checkConfirmationCall(deps: FlowDeps, meta: RequestMeta, who: Signed, token: string | undefined): Promise<AccountResult> {
  const flow = await ownFlow(deps, who, token, ["confirm_call"]);
  if (isMoved(flow)) return flow;
  const outcome = await phone.check(deps, meta, { flow, user: who.user, purpose: CONFIRM_PURPOSE, channel: "voice", respectLock: true });
  if (outcome.kind === "pending") return { kind: "pending", view: await confirmView(deps, who, flow), wrongTries: outcome.wrongTries };
  if (outcome.kind === "passed") return confirmed(deps, meta, who, flow, "voice");
  if (outcome.kind === "locked") return { kind: "error", view: await confirmView(deps, who, flow), message: LOCKED_MESSAGE, status: 403 };
  const back = await advanceFlow(deps.sql, deps.clock, flow.id, "confirm_call", "confirm", { data: { keypadCode: null } });
  return { kind: "error", view: await confirmView(deps, who, back ?? flow), message: "The call did not confirm the code. Choose Call Me to be called again, or Send Code.", status: 400 };
}

/** Confirm it's you with the authenticator app: Verification Code → Verify Code (a code accepted once, as at sign-in). */
export async function checkConfirmationApp(deps: FlowDeps, meta: RequestMeta, who: Signed, token: string | undefined, code: string, change?: ConfirmFor): Promise<AccountResult> {
  const found = await confirmationFlow(deps, meta, who, token, change);
  if ("kind" in found) return found;
  const { flow, token: newToken } = found;
  const outcome = await totp.check(deps, meta, { flow, user: who.user, purpose: CONFIRM_PURPOSE, code, respectLock: true });
  if (outcome.kind === "pending") return { kind: "moved", path: accountStepPath("confirm") };
  if (outcome.kind !== "passed") return withToken(notPassed({ ...((await confirmView(deps, who, flow)) as ConfirmViewOf), state: "confirm" }, outcome, APP_NEXT), newToken);
  return confirmed(deps, meta, who, flow, "totp");
}

/** Use a recovery code: Recovery Code → Verify Code. The code is used up (once), and a notice is emailed. */
export async function checkConfirmationRecovery(deps: FlowDeps, meta: RequestMeta, who: Signed, token: string | undefined, code: string, change?: ConfirmFor): Promise<AccountResult> {
  const found = await confirmationFlow(deps, meta, who, token, change);
  if ("kind" in found) return found;
  const { flow, token: newToken } = found;
  const outcome = await recoveryCode.check(deps, meta, { flow, user: who.user, purpose: CONFIRM_PURPOSE, code, respectLock: true });
  if (outcome.kind === "passed") return confirmed(deps, meta, who, flow, "recovery_code");
  const view = await confirmView(deps, who, flow, "recovery");
  if (outcome.kind === "pending") return { kind: "moved", path: accountStepPath("confirm") };
  const failed = notPassed(view, outcome, "");
  if (failed.kind !== "error" || failed.status === 429 || failed.status === 403) return withToken(failed, newToken);
  const message = outcome.kind === "failed" && outcome.reason === "exhausted" ? RECOVERY_EXHAUSTED : RECOVERY_WRONG;
  return withToken({ ...failed, message }, newToken);
}

export const NO_PASSKEY_MESSAGE = "Your account has no passkey. Confirm it's you another way on this page.";
export const PASSKEY_NOT_CONFIRMED = "That passkey could not confirm it's you. Try again with a passkey of this account, or confirm another way.";
const PASSKEY_INTERRUPTED = "Confirm it's you was not finished in time, or it was interrupted. Start again.";

/** What Confirm with a passkey's JSON calls answer: options for the browser, the address to go on to, or a refusal. */
export type PasskeyConfirmResult =
  | { kind: "options"; options: unknown; token?: string }
  | { kind: "redirect"; path: string; token?: string | null }
  | { kind: "refused"; message: string; status: 400 | 401 | 403 | 409 | 429; redirect?: string };

/** An account result (a step's refusal or a move) in the words of the JSON calls. */
function asPasskeyResult(result: AccountResult): PasskeyConfirmResult {
  if (result.kind === "next") return { kind: "redirect", path: result.path, token: result.token };
  if (result.kind === "error") return { kind: "refused", message: result.message, status: result.status === 429 ? 429 : result.status === 403 ? 403 : 400 };
  if (result.kind === "moved") return { kind: "refused", message: PASSKEY_INTERRUPTED, status: 409, redirect: result.path };
  return { kind: "refused", message: PASSKEY_INTERRUPTED, status: 409 };
}

/**
 * Confirm with a passkey (JavaScript only), its options: only this person's own passkeys are
 * allowed, user verification required; the challenge is kept in the confirmation's flow (made
 * now from a `?for=` page), replacing any earlier one.
 */
export async function startConfirmationPasskey(deps: FlowDeps, meta: RequestMeta, who: Signed, token: string | undefined, change?: ConfirmFor): Promise<PasskeyConfirmResult> {
  if (!(await hasFactor(deps.sql, who.user.id, "passkey"))) return { kind: "refused", message: NO_PASSKEY_MESSAGE, status: 400 };
  const found = await confirmationFlow(deps, meta, who, token, change);
  if ("kind" in found) return asPasskeyResult(found);
  const { flow, token: newToken } = found;
  if (isLocked(who.user, deps.clock)) {
    await audit(deps, meta, "account.confirmation_locked", who.user.id);
    return { kind: "refused", message: LOCKED_MESSAGE, status: 403 };
  }
  const options = await passkeyConfirmationOptions(deps, who.user);
  const kept = await advanceFlow(deps.sql, deps.clock, flow.id, flow.state, flow.state, { data: { challenge: options.challenge } });
  if (!kept) return { kind: "refused", message: PASSKEY_INTERRUPTED, status: 409, redirect: "/account" };
  return { kind: "options", options, token: newToken };
}

/**
 * Confirm with a passkey, the browser's answer: the challenge is used up first (once), then the
 * answer must be signed by one of THIS person's passkeys (another account's is refused, as a
 * wrong code is) with user verification; then the confirmation is done as for any factor.
 */
export async function checkConfirmationPasskey(deps: FlowDeps, meta: RequestMeta, who: Signed, token: string | undefined, response: AuthenticationResponseJSON): Promise<PasskeyConfirmResult> {
  const flow = await ownFlow(deps, who, token, CONFIRM_STATES);
  if (isMoved(flow)) return asPasskeyResult(flow);
  const challenge = (flow.data as AccountData).challenge;
  const taken = typeof challenge === "string" ? await takeFlowChallenge(deps.sql, deps.clock, flow.id, challenge) : null;
  if (!taken) return { kind: "refused", message: PASSKEY_NOT_CONFIRMED, status: 401 };
  const outcome = await passkey.check(deps, meta, { flow: taken, user: who.user, purpose: CONFIRM_PURPOSE, respectLock: true, response, challenge: challenge as string });
  if (outcome.kind === "rate_limited") return { kind: "refused", message: tooManyAttempts(outcome.retryAfterSeconds), status: 429 };
  if (outcome.kind === "locked" || (outcome.kind === "failed" && outcome.locked)) return { kind: "refused", message: LOCKED_MESSAGE, status: 403 };
  if (outcome.kind !== "passed") return { kind: "refused", message: PASSKEY_NOT_CONFIRMED, status: 401 };
  return asPasskeyResult(await confirmed(deps, meta, who, taken, "passkey"));
}

const APP_NEXT = "Wait for the next code in your authenticator app and enter that one.";
export const RECOVERY_WRONG = "That recovery code is not right, or it was used before. Check it and try again.";
const RECOVERY_EXHAUSTED = "Too many wrong recovery codes. Select Back to Account and start again.";

/** A refusal on a flow this request made (from a ?for= page): the browser keeps its cookie, so the next try finds it. */
function withToken(result: AccountResult, token: string | undefined): AccountResult {
  if (!token || result.kind !== "error") return result;
  return { ...result, token };
}

/**
 * The second factor passed: recorded on the session for the change asked for, the flow ends, and
 * the person goes back to that change (a sign-out asked for is done now: that was the request).
 */
async function confirmed(deps: FlowDeps, meta: RequestMeta, who: Signed, flow: Flow, channel: "email" | PhoneChannel | "totp" | "recovery_code" | "passkey"): Promise<AccountResult> {
  const pending = (flow.data as AccountData).pending ?? { change: "password" };
  const done = await deps.sql.begin(async (tx) => {
    if (!(await endFlow(tx, deps.clock, flow.id, flow.state))) return false;
    await recordReauthentication(tx, deps.clock, who.session.id, pending.change);
    // The app's last use was written with its time step, a passkey's with its counter; a recovery code is no factor row.
    if (channel === "email" || channel === "sms" || channel === "voice") await touchFactor(tx, deps.clock, who.user.id, channel === "email" ? "email" : "phone");
    await audit(deps, meta, "account.reauthenticated", who.user.id, { change: pending.change, channel }, tx);
    return true;
  });
  if (!done) return { kind: "moved", path: "/account" };
  const session = { ...who.session, reauthenticatedAt: deps.clock.now(), reauthFor: pending.change };
  if (pending.change === "sessions") {
    const ended = await endSessions(deps, meta, { user: who.user, session }, pending.end);
    return ended.kind === "next" ? { ...ended, token: null } : ended;
  }
  if (pending.change === "factors") return resumeFactorChange(deps, meta, { user: who.user, session }, pending.then);
  return { kind: "next", path: CHANGE_PAGES[pending.change], token: null };
}

/**
 * Back to the Sign-in methods change that asked for the confirmation: Add an authenticator app
 * and Generate new recovery codes start now (their set-up flow's cookie replaces this one's);
 * Remove (pressed on its own page) is done now; a passkey's name is typed on the section, so that goes back there.
 */
async function resumeFactorChange(deps: FlowDeps, meta: RequestMeta, who: Signed, then: FactorChange): Promise<AccountResult> {
  if (then.do === "app" || then.do === "recovery") {
    const started = then.do === "app" ? await startAppSetup(deps, meta, who.user) : await generateRecoveryCodes(deps, meta, who.user);
    return started.kind === "next" ? started : { kind: "next", path: SIGN_IN_METHODS, token: null };
  }
  if (then.do === "remove") {
    // The person pressed Remove on its own page before confirming: that was the request. A refusal (the last factor) shows there.
    const removed = await removeFactor(deps, meta, who.user, then.factor);
    return removed.kind === "next" ? { ...removed, token: null } : { kind: "next", path: `/account/factors/${encodeURIComponent(then.factor)}/remove`, token: null };
  }
  return { kind: "next", path: SIGN_IN_METHODS, token: null };
}

/**
 * A change of the Sign-in methods section (a POST under /account/factors) when the last second
 * factor is older than REAUTH_TTL: Confirm it's you first, then back to `then`. Null: go ahead.
 */
export async function guardFactorChange(deps: FlowDeps, meta: RequestMeta, who: Signed, then: FactorChange): Promise<AccountResult | null> {
  if (isConfirmed(deps, who.session, "factors")) return null;
  return beginConfirmation(deps, meta, who, { change: "factors", then });
}


/* ── Change password ── */

export const WRONG_CURRENT_PASSWORD = "Your current password is not right. Check it and try again.";

/** Current Password, New Password, Confirm New Password → Change password. */
export async function changePassword(
  deps: FlowDeps,
  meta: RequestMeta,
  who: Signed,
  input: { current: string; password: string; confirm: string },
): Promise<AccountResult> {
  const view: AccountView = { page: "password" };
  if (!isConfirmed(deps, who.session, "password")) return beginConfirmation(deps, meta, who, { change: "password" });
  const user = who.user;
  if (isLocked(user, deps.clock)) return { kind: "error", view, message: LOCKED_MESSAGE, status: 403 };
  const limit = await checkAttemptLimit(deps.sql, deps.clock, { ip: meta.ip, action: "password" });
  if (!limit.ok) return { kind: "error", view, message: tooManyAttempts(limit.retryAfterSeconds), status: 429, retryAfterSeconds: limit.retryAfterSeconds };
  const hash = await findPasswordHash(deps.sql, user.id);
  if (!hash) return { kind: "error", view: { page: "overview" }, message: NO_FACTOR_MESSAGE, status: 403 };
  if (!(await verifyPassword(hash, input.current))) {
    const { locked } = await recordFailure(deps.sql, deps.clock, user.id);
    await audit(deps, meta, "account.password_failed", user.id);
    if (locked) {
      await audit(deps, meta, "signin.locked", user.id, { purpose: "password_change" });
      return { kind: "error", view, message: LOCKED_MESSAGE, status: 403 };
    }
    return { kind: "error", view, field: "current", message: WRONG_CURRENT_PASSWORD, status: 401 };
  }
  await recordSuccess(deps.sql, user.id);
  const policy = checkPasswordPolicy(input.password, { email: user.email, portalName: deps.config.portalName });
  if (!policy.ok) return { kind: "error", view, field: "password", message: policy.reason, status: 422 };
  if (input.password !== input.confirm) return { kind: "error", view, field: "confirm", message: PASSWORDS_DIFFER, status: 422 };

  const passwordHash = await hashPassword(input.password);
  await deps.sql.begin(async (tx) => {
    await setPasswordHash(tx, deps.clock, user.id, passwordHash);
    // Every other sign-in ends: sessions, Remember Me (this browser's too), unfinished sign-ins and resets.
    await invalidateUserSessions(tx, user.id, who.session.id);
    await forgetRememberTokens(tx, user.id);
    // The applications' sessions and refresh tokens too, as after a password reset (product.md §5).
    await endApplicationSessions(tx, user.id);
    await deleteUserFlows(tx, user.id, ["login", "password_reset"]);
    await clearReauthGrant(tx, who.session.id);
    await deps.outbox.enqueue(tx, { channel: "email", to: user.email, ...accountPasswordChangedNotice(deps.config.portalName) });
    await audit(deps, meta, "account.password_changed", user.id, {}, tx);
  });
  deps.outbox.kick();
  return { kind: "next", path: "/account?done=password", clearRemember: true };
}

/* ── Change phone number ── */

/** GET /account/password and /account/phone: the form, or Confirm it's you first. */
export async function openChange(deps: FlowDeps, who: Signed, change: "password" | "phone"): Promise<AccountResult> {
  if (change === "phone" && !who.user.phoneE164) return { kind: "moved", path: "/account" };
  if (change === "password" && !(await findPasswordHash(deps.sql, who.user.id))) return { kind: "moved", path: "/account" };
  if (!isConfirmed(deps, who.session, change)) return askConfirmation(change);
  return { kind: "show", view: change === "password" ? { page: "password" } : { page: "phone", phone: "" } };
}

function phoneProofView(flow: Flow): AccountView {
  const d = flow.data as AccountData;
  return {
    page: "phone_proof",
    state: flow.state as "phone_code" | "phone_call",
    maskedPhone: maskPhone(d.newPhone ?? null),
    keypadCode: flow.state === "phone_call" ? (d.keypadCode ?? null) : null,
  };
}

export async function showPhoneProof(deps: FlowDeps, who: Signed, token: string | undefined, states: AccountState[]): Promise<AccountResult> {
  if (!isConfirmed(deps, who.session, "phone")) return { kind: "moved", path: "/account/phone" };
  const flow = await ownFlow(deps, who, token, states);
  if (isMoved(flow)) return flow;
  return { kind: "show", view: phoneProofView(flow) };
}

export const SAME_PHONE = "That is already your phone number. Enter the new number.";

/**
 * Phone Number → Send Code or Call Me: the new number gets a code (the send limits of every
 * send); the old number stays the account's until the new one is proved.
 */
export async function startPhoneChange(deps: FlowDeps, meta: RequestMeta, who: Signed, input: { phone: string; channel: PhoneChannel }): Promise<AccountResult> {
  const view: AccountView = { page: "phone", phone: input.phone };
  if (!who.user.phoneE164) return { kind: "moved", path: "/account" };
  if (!isConfirmed(deps, who.session, "phone")) return beginConfirmation(deps, meta, who, { change: "phone" });
  if (isLocked(who.user, deps.clock)) return { kind: "error", view, message: LOCKED_MESSAGE, status: 403 };
  const parsed = parseUsPhone(input.phone);
  if (!parsed.ok) return { kind: "error", view, field: "phone", message: parsed.reason, status: 400 };
  if (parsed.e164 === who.user.phoneE164) return { kind: "error", view, field: "phone", message: SAME_PHONE, status: 400 };
  const created = await createFlow(deps.sql, deps.clock, {
    kind: "account",
    userId: who.user.id,
    state: "phone_new",
    ttlMs: REAUTH_GRANT_MS,
    data: { sessionId: who.session.id, newPhone: parsed.e164 } satisfies AccountData,
  });
  await deleteUserFlows(deps.sql, who.user.id, "account", created.flow.id);
  const sent = await sendToNewPhone(deps, meta, who, created.flow, parsed.e164, input.channel);
  if (sent.kind === "error") return { ...sent, view };
  return { ...sent, token: created.token } as AccountResult;
}

/** Send New Code / Call Me again, to the number being proved. */
export async function resendPhoneChange(deps: FlowDeps, meta: RequestMeta, who: Signed, token: string | undefined, channel: PhoneChannel): Promise<AccountResult> {
  if (!isConfirmed(deps, who.session, "phone")) return { kind: "moved", path: "/account/phone" };
  const flow = await ownFlow(deps, who, token, ["phone_code", "phone_call"]);
  if (isMoved(flow)) return flow;
  const newPhone = (flow.data as AccountData).newPhone;
  if (!newPhone) return { kind: "moved", path: "/account/phone" };
  return sendToNewPhone(deps, meta, who, flow, newPhone, channel);
}

async function sendToNewPhone(deps: FlowDeps, meta: RequestMeta, who: Signed, flow: Flow, newPhone: string, channel: PhoneChannel): Promise<AccountResult> {
  const target: AccountState = channel === "sms" ? "phone_code" : "phone_call";
  const outcome = await phone.start(deps, meta, {
    flow,
    userId: who.user.id,
    purpose: PHONE_CHANGE_PURPOSE,
    channel,
    phone: newPhone,
    move: (tx) => advanceFlow(tx, deps.clock, flow.id, PHONE_STATES, target, { data: { keypadCode: null } }),
    withCode: channel === "voice" ? (tx, code) => advanceFlow(tx, deps.clock, flow.id, target, target, { data: { keypadCode: code } }) : undefined,
  });
  if (outcome.kind === "sent") return { kind: "next", path: accountStepPath(outcome.flow.state) };
  if (outcome.kind === "rate_limited") {
    const view: AccountView = flow.state === "phone_new" ? { page: "phone", phone: "" } : phoneProofView(flow);
    return { kind: "error", view, message: tooManySends(outcome.retryAfterSeconds), status: 429, retryAfterSeconds: outcome.retryAfterSeconds };
  }
  return { kind: "moved", path: accountStepPath(flow.state) };
}

export async function checkPhoneChangeCode(deps: FlowDeps, meta: RequestMeta, who: Signed, token: string | undefined, code: string): Promise<AccountResult> {
  if (!isConfirmed(deps, who.session, "phone")) return { kind: "moved", path: "/account/phone" };
  const flow = await ownFlow(deps, who, token, ["phone_code"]);
  if (isMoved(flow)) return flow;
  const outcome = await phone.check(deps, meta, { flow, user: who.user, purpose: PHONE_CHANGE_PURPOSE, channel: "sms", code, respectLock: true });
  if (outcome.kind === "pending") return { kind: "pending", view: phoneProofView(flow) };
  if (outcome.kind !== "passed") return notPassed(phoneProofView(flow), outcome, SEND_NEW_EMAIL);
  return phoneProved(deps, meta, who, flow);
}

export async function checkPhoneChangeCall(deps: FlowDeps, meta: RequestMeta, who: Signed, token: string | undefined): Promise<AccountResult> {
  if (!isConfirmed(deps, who.session, "phone")) return { kind: "moved", path: "/account/phone" };
  const flow = await ownFlow(deps, who, token, ["phone_call"]);
  if (isMoved(flow)) return flow;
  const outcome = await phone.check(deps, meta, { flow, user: who.user, purpose: PHONE_CHANGE_PURPOSE, channel: "voice", respectLock: true });
  if (outcome.kind === "pending") return { kind: "pending", view: phoneProofView(flow), wrongTries: outcome.wrongTries };
  if (outcome.kind === "passed") return phoneProved(deps, meta, who, flow);
  if (outcome.kind === "locked") return { kind: "error", view: phoneProofView(flow), message: LOCKED_MESSAGE, status: 403 };
  return { kind: "error", view: phoneProofView(flow), message: "The call did not confirm the code. Choose Call Me to be called again, or Send Code.", status: 400 };
}

/** The new number is proved: it replaces the old one, Login with Phone's Remember Me ends, a notice goes to the address. */
async function phoneProved(deps: FlowDeps, meta: RequestMeta, who: Signed, flow: Flow): Promise<AccountResult> {
  const newPhone = (flow.data as AccountData).newPhone!;
  const done = await deps.sql.begin(async (tx) => {
    if (!(await endFlow(tx, deps.clock, flow.id, flow.state))) return false;
    if (!(await replacePhoneFactor(tx, deps.clock, who.user.id, newPhone))) return false;
    await touchFactor(tx, deps.clock, who.user.id, "phone");
    await forgetRememberTokensFor(tx, who.user.id, "phone");
    await clearReauthGrant(tx, who.session.id);
    await deps.outbox.enqueue(tx, { channel: "email", to: who.user.email, ...phoneChangedNotice(deps.config.portalName, newPhone.slice(-4)) });
    await audit(deps, meta, "account.phone_changed", who.user.id, { last4: newPhone.slice(-4) }, tx);
    return true;
  });
  if (!done) return { kind: "moved", path: "/account" };
  deps.outbox.kick();
  return { kind: "next", path: "/account?done=phone", token: null };
}

/* ── Sessions ── */

export const CURRENT_SESSION = "This is the session you are using now. To end it, use Sign out.";
export const SESSION_GONE = "That session has already ended.";

/**
 * Sign out (one other session, by id) or Sign out of all other sessions (`"others"`). An id that
 * is not one of this person's sessions ends nothing and says so. Ending all others also ends the
 * Remember Me of every other browser.
 */
export async function endSessions(deps: FlowDeps, meta: RequestMeta, who: Signed, target: string): Promise<AccountResult> {
  const view: AccountView = { page: "overview" };
  if (!isConfirmed(deps, who.session, "sessions")) return beginConfirmation(deps, meta, who, { change: "sessions", end: target });
  if (target === who.session.id) return { kind: "error", view, message: CURRENT_SESSION, status: 400 };
  const count = await deps.sql.begin(async (tx) => {
    let ended: number;
    if (target === "others") {
      ended = await invalidateOtherSessions(tx, who.user.id, who.session.id);
      await forgetOtherRememberTokens(tx, who.user.id, meta.rememberToken);
    } else {
      ended = (await invalidateOtherSession(tx, who.user.id, target, who.session.id)) ? 1 : 0;
    }
    if (ended > 0) {
      await clearReauthGrant(tx, who.session.id);
      await deps.outbox.enqueue(tx, { channel: "email", to: who.user.email, ...sessionsEndedNotice(deps.config.portalName, ended) });
      await audit(deps, meta, "account.sessions_ended", who.user.id, { count: ended, all: target === "others" }, tx);
    }
    return ended;
  });
  if (count === 0 && target !== "others") return { kind: "error", view, message: SESSION_GONE, status: 409 };
  if (count > 0) deps.outbox.kick();
  return { kind: "next", path: `/account?done=${count > 0 ? "sessions" : "no_sessions"}#sessions` };
}
