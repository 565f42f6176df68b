import { MINUTE } from "../clock.ts";
import { advanceFlow, createFlow, deleteUserFlows, endFlow, type Flow } from "./flow-store.ts";
import { findPasswordUserByEmail, findUserById, hasFactor, isStaffEmail, maskPhone, normalizeEmail, setPasswordHash, touchFactor, type LoginOption, type User } from "../auth/users.ts";
import { checkPasswordPolicy, hashPassword } from "../auth/passwords.ts";
import { createCode, verifyCode } from "../auth/codes.ts";
import { checkAttemptLimit, checkSendLimits } from "../auth/rate-limit.ts";
import { unlockUser } from "../auth/lockout.ts";
import { invalidateUserSessions } from "../auth/sessions.ts";
import { endApplicationSessions } from "../apps/application-sessions.ts";
import { forgetRememberTokens } from "../auth/remember-me.ts";
import { describeDuration, passwordChangedNotice, passwordResetCode } from "../delivery/messages.ts";
import { TERMS_VERSION } from "../terms.ts";
import { audit, flowAndUser, flowAt, isMoved, stepPaths, TERMS_REQUIRED, tooManyAttempts, tooManySends, type FlowDeps, type RequestMeta, type SteppedFlow, type StepResult } from "./steps.ts";
import { codeMessage, type CheckOutcome } from "./factors/code.ts";
import { emailCode } from "./factors/email-code.ts";
import { phone, type PhoneChannel } from "./factors/phone.ts";
import { totp } from "./factors/totp.ts";
import { recoveryCode } from "./factors/recovery-code.ts";
import { acceptCurrentTerms, RECOVERY_WRONG, STAFF_REFUSED } from "./login.ts";

/**
 * Forgot your password?: Email Address → Send verification code → the emailed code → Verify
 * code → Continue → (phone accounts) Send Code or Call Me, (app accounts) the app's code → New
 * Password + Confirm New Password → Continue → signed in. Use a recovery code stands in for the
 * phone or the app on each of their steps. An address without an account gets a flow and a code too (neither a
 * user nor an email), so every answer looks the same whether or not the address has an account. A reset works while
 * the account is locked and clears the lock; it ends every other session and Remember Me.
 */
export type ResetState =
  | "code"
  | "verified"
  | "phone_choose"
  | "phone_code"
  | "phone_call"
  | "app_code"
  | "new_password"
  | "terms"
  /** Not a stored state: the page of Use a recovery code, reached from any second-factor step. */
  | "recovery";

const RESET_FLOW_TTL = 30 * MINUTE;
const RESET_CODE_PURPOSE = "password_reset";
const RESET_PHONE_PURPOSE = "password_reset_phone";

export const resetStepPath = stepPaths<ResetState>("/forgot-password", {
  code: "/forgot-password/code",
  verified: "/forgot-password/verified",
  phone_choose: "/forgot-password/phone",
  phone_code: "/forgot-password/phone/code",
  phone_call: "/forgot-password/phone/call",
  app_code: "/forgot-password/app",
  new_password: "/forgot-password/new-password",
  terms: "/forgot-password/terms",
});

const PHONE_STATES: ResetState[] = ["phone_choose", "phone_code", "phone_call"];

/** The steps that ask a second factor (after the emailed code), where Use a recovery code may stand in for it. */
export const RESET_SECOND_FACTOR_STATES: ResetState[] = [...PHONE_STATES, "app_code"];

export interface ResetView {
  state: ResetState;
  /** The address as typed (shown back; an unknown one is shown the same way). */
  email: string;
  maskedPhone: string;
  keypadCode: string | null;
  codeLifetime: string;
  /** Use a recovery code: the second-factor step it stands in for. */
  back?: string;
}

export type ResetResult = StepResult<ResetView>;

interface ResetData {
  email?: string;
  maskedPhone?: string;
  keypadCode?: string | null;
  /** What the reset proved (RFC 8176): the emailed code, then the phone for a phone account. */
  amr?: string[];
  /** The authenticator app passed (the session's option is then the app's). */
  app?: boolean;
  /** A recovery code stood in for the second factor (no factor of the account was used). */
  recovery?: boolean;
}

function resetView(flow: Flow, deps: FlowDeps): ResetView {
  const d = flow.data as ResetData;
  return {
    state: flow.state as ResetState,
    email: d.email ?? "",
    maskedPhone: d.maskedPhone ?? "",
    keypadCode: flow.state === "phone_call" ? (d.keypadCode ?? null) : null,
    codeLifetime: describeDuration(deps.config.ttl.passwordResetCode),
  };
}

const RESET_FLOW: SteppedFlow<ResetState> = { kind: "password_reset", start: "/forgot-password", stepPath: resetStepPath };

export async function showResetStep(deps: FlowDeps, token: string | undefined, states: ResetState[]): Promise<ResetResult> {
  const flow = await flowAt(deps, RESET_FLOW, token, states);
  if (isMoved(flow)) return flow;
  return { kind: "show", view: resetView(flow, deps) };
}

/** How long after a reset's answer its email is dispatched (startPasswordReset). */
const DISPATCH_DELAY_MS = 100;

/** Only accounts that can sign in get a code; every other address gets the same answer and no email. */
function canReset(user: User | null): user is User {
  return user !== null && user.status === "active";
}

/** Email Address → Send verification code. */
export async function startPasswordReset(deps: FlowDeps, meta: RequestMeta, input: { email: string }): Promise<ResetResult> {
  const blank: ResetView = { state: "code", email: input.email, maskedPhone: "", keypadCode: null, codeLifetime: describeDuration(deps.config.ttl.passwordResetCode) };
  if (isStaffEmail(deps.config, input.email)) {
    await audit(deps, meta, "password_reset.staff_refused", null);
    return { kind: "error", view: blank, field: "email", message: STAFF_REFUSED, status: 400 };
  }
  const limit = await checkAttemptLimit(deps.sql, deps.clock, { ip: meta.ip, action: "password_reset" });
  if (!limit.ok) return { kind: "error", view: blank, message: tooManyAttempts(limit.retryAfterSeconds), status: 429 };

  // Only accounts with a password here: a staff account (none) is answered as an unknown address.
  const found = await findPasswordUserByEmail(deps.sql, input.email);
  const user = canReset(found) ? found : null;
  const ttlMs = deps.config.ttl.passwordResetCode;
  const destination = user?.email ?? input.email;
  // The same work, in one transaction (one commit), whether or not the address has an account
  // (ASVS 6.3.8): the send limits, the flow, a code, the audit; only an account's code is sent.
  // Over a send limit the page still says the same thing; only the audit log knows. This is why
  // the emailed code is not sent through factors/email-code.ts here: that one sends or refuses.
  let send = false;
  const token = await deps.sql.begin(async (tx) => {
    // An unknown address fills a bucket of its own where an account's would be: the same upserts.
    const bucket = user?.id ?? `unknown:${normalizeEmail(input.email)}`;
    const sendable = await checkSendLimits(tx, deps.clock, { userId: bucket, channel: "email", destination, ip: meta.ip });
    send = user !== null && sendable.ok;
    const created = await createFlow(tx, deps.clock, {
      kind: "password_reset",
      userId: user?.id ?? null,
      state: "code",
      ttlMs: RESET_FLOW_TTL,
      data: { email: input.email, maskedPhone: user ? maskPhone(user.phoneE164) : "" },
    });
    // The newest reset wins: an older one in another browser cannot go on (the same statement,
    // matching nothing, without an account).
    await deleteUserFlows(tx, user?.id ?? null, "password_reset", created.flow.id);
    // An address without an account gets a code too, never sent: its answers to typed codes
    // (wrong, too many tries, expired) are then those of a real code.
    const code = await createCode(tx, deps.clock, deps.config.secretKey, {
      flowId: created.flow.id,
      userId: user?.id ?? null,
      purpose: RESET_CODE_PURPOSE,
      channel: "email",
      destination,
      ttlMs,
    });
    // The message is written for every address; only an account's is enqueued, the rest go
    // through the same statement inserting nothing.
    const message = { channel: "email" as const, to: destination, ...passwordResetCode(code.code, describeDuration(ttlMs), deps.config.portalName) };
    if (send) await deps.outbox.enqueue(tx, message);
    else await deps.outbox.rehearse(tx, message);
    const event = !user ? "password_reset.no_account" : send ? "code.sent" : "code.send_limited";
    await audit(deps, meta, event, user?.id ?? null, { purpose: RESET_CODE_PURPOSE, channel: "email" }, tx);
    await audit(deps, meta, "password_reset.requested", user?.id ?? null, { account: user ? "known" : "unknown" }, tx);
    return created.token;
  });
  // Not at once: dispatched right away, the send's own work (its claim, the transport, the
  // row marked sent) ran beside this answer and lengthened only a known address's (about 1 ms,
  // ASVS 6.3.8). A moment later it lands on whatever the server is doing then.
  if (send) setTimeout(() => deps.outbox.kick(), DISPATCH_DELAY_MS).unref?.();
  return { kind: "next", path: resetStepPath("code"), token };
}

/** What the reset's code steps say to do after a code that cannot be used. */
const START_AGAIN = "Start again to get a new code.";
const SEND_NEW = "Select Send New Code for a new one.";

function notPassed(deps: FlowDeps, flow: Flow, outcome: Exclude<CheckOutcome, { kind: "passed" | "pending" }>, next: string): ResetResult {
  const view = resetView(flow, deps);
  if (outcome.kind === "rate_limited") return { kind: "error", view, field: "code", message: tooManyAttempts(outcome.retryAfterSeconds), status: 429 };
  // A reset works on a locked account (it does not ask the lock), so "locked" never comes here; answer it as a wrong code.
  const reason = outcome.kind === "locked" ? "wrong" : outcome.reason;
  return { kind: "error", view, field: "code", message: codeMessage(reason, next), status: reason === "wrong" ? 401 : 400 };
}

/** The emailed 6-digit code → Verify code. */
export async function verifyResetCode(deps: FlowDeps, meta: RequestMeta, token: string | undefined, code: string): Promise<ResetResult> {
  const flow = await flowAt(deps, RESET_FLOW, token, ["code"]);
  if (isMoved(flow)) return flow;
  const user = flow.userId ? await findUserById(deps.sql, flow.userId) : null;
  if (!user || user.status !== "active") return unsentCodeFailure(deps, meta, flow, code);
  const outcome = await emailCode.check(deps, meta, { flow, user, purpose: RESET_CODE_PURPOSE, code, respectLock: false });
  if (outcome.kind === "pending") return { kind: "pending", view: resetView(flow, deps) };
  if (outcome.kind !== "passed") return notPassed(deps, flow, outcome, START_AGAIN);
  const moved = await advanceFlow(deps.sql, deps.clock, flow.id, "code", "verified", { data: { amr: ["email"] } });
  if (!moved) return { kind: "moved", path: "/forgot-password" };
  await audit(deps, meta, "password_reset.email_verified", user.id);
  return { kind: "next", path: resetStepPath("verified") };
}

/**
 * An address without an account: its code was never sent, so the typed code is checked against
 * it (taking an attempt, expiring, as any code) and refused whatever it is.
 */
async function unsentCodeFailure(deps: FlowDeps, meta: RequestMeta, flow: Flow, code: string): Promise<ResetResult> {
  const view = resetView(flow, deps);
  const limit = await checkAttemptLimit(deps.sql, deps.clock, { ip: meta.ip, action: "code" });
  if (!limit.ok) return { kind: "error", view, field: "code", message: tooManyAttempts(limit.retryAfterSeconds), status: 429 };
  const result = await verifyCode(deps.sql, deps.clock, deps.config.secretKey, { flowId: flow.id, purpose: RESET_CODE_PURPOSE, code });
  const reason = result.ok ? "wrong" : result.reason;
  await audit(deps, meta, "code.failed", null, { purpose: RESET_CODE_PURPOSE, channel: "email", reason });
  return { kind: "error", view, field: "code", message: codeMessage(reason, START_AGAIN), status: reason === "wrong" ? 401 : 400 };
}

/** The confirmation's Continue: accounts with a phone factor verify their phone too; the others choose a password. */
export async function continueReset(deps: FlowDeps, _meta: RequestMeta, token: string | undefined): Promise<ResetResult> {
  const found = await flowAndUser(deps, RESET_FLOW, token, ["verified"]);
  if (isMoved(found)) return found;
  const { flow, user } = found;
  // An account with an authenticator app proves it where a phone account proves the phone.
  const next: ResetState = (await hasFactor(deps.sql, user.id, "totp")) ? "app_code" : user.phoneE164 ? "phone_choose" : "new_password";
  const moved = await advanceFlow(deps.sql, deps.clock, flow.id, "verified", next, { data: { maskedPhone: maskPhone(user.phoneE164) } });
  if (!moved) return { kind: "moved", path: "/forgot-password" };
  return { kind: "next", path: resetStepPath(next) };
}

/** Send Code / Call Me for the reset (a purpose of its own, so a sign-in code never passes here). */
export async function sendResetPhoneCode(deps: FlowDeps, meta: RequestMeta, token: string | undefined, channel: PhoneChannel): Promise<ResetResult> {
  const found = await flowAndUser(deps, RESET_FLOW, token, PHONE_STATES);
  if (isMoved(found)) return found;
  const { flow, user } = found;
  if (!user.phoneE164) return { kind: "moved", path: "/forgot-password" };
  const target: ResetState = channel === "sms" ? "phone_code" : "phone_call";
  const outcome = await phone.start(deps, meta, {
    flow,
    userId: user.id,
    purpose: RESET_PHONE_PURPOSE,
    channel,
    phone: user.phoneE164,
    move: (tx) => advanceFlow(tx, deps.clock, flow.id, PHONE_STATES, target, { data: { keypadCode: null } }),
    withCode: channel === "voice" ? (tx, code) => advanceFlow(tx, deps.clock, flow.id, target, target, { data: { keypadCode: code } }) : undefined,
  });
  if (outcome.kind === "sent") return { kind: "next", path: resetStepPath(outcome.flow.state) };
  if (outcome.kind === "rate_limited") {
    return { kind: "error", view: resetView(flow, deps), message: tooManySends(outcome.retryAfterSeconds), status: 429, retryAfterSeconds: outcome.retryAfterSeconds };
  }
  return { kind: "moved", path: "/forgot-password" };
}

export async function verifyResetSmsCode(deps: FlowDeps, meta: RequestMeta, token: string | undefined, code: string): Promise<ResetResult> {
  const found = await flowAndUser(deps, RESET_FLOW, token, ["phone_code"]);
  if (isMoved(found)) return found;
  const { flow, user } = found;
  const outcome = await phone.check(deps, meta, { flow, user, purpose: RESET_PHONE_PURPOSE, channel: "sms", code, respectLock: false });
  if (outcome.kind === "pending") return { kind: "pending", view: resetView(flow, deps) };
  if (outcome.kind !== "passed") return notPassed(deps, flow, outcome, SEND_NEW);
  return phoneVerified(deps, meta, flow, "phone_code", phone.describe("sms", outcome.destination).amr);
}

const RESET_APP_PURPOSE = "password_reset_app";

/** The app's code (an account with an authenticator app): accepted once, as at sign-in; the reset works on a locked account. */
export async function verifyResetAppCode(deps: FlowDeps, meta: RequestMeta, token: string | undefined, code: string): Promise<ResetResult> {
  const found = await flowAndUser(deps, RESET_FLOW, token, ["app_code"]);
  if (isMoved(found)) return found;
  const { flow, user } = found;
  const outcome = await totp.check(deps, meta, { flow, user, purpose: RESET_APP_PURPOSE, code, respectLock: false });
  if (outcome.kind === "pending") return { kind: "pending", view: resetView(flow, deps) };
  if (outcome.kind !== "passed") return notPassed(deps, flow, outcome, "Wait for the next code in your authenticator app and enter that one.");
  const amr = [...((flow.data as ResetData).amr ?? []), totp.describe().amr];
  const moved = await advanceFlow(deps.sql, deps.clock, flow.id, "app_code", "new_password", { data: { amr, app: true } });
  if (!moved) return { kind: "moved", path: "/forgot-password" };
  await audit(deps, meta, "password_reset.app_verified", flow.userId);
  return { kind: "next", path: resetStepPath("new_password") };
}

const RESET_RECOVERY_PURPOSE = "password_reset_recovery";
const RECOVERY_EXHAUSTED = "Too many wrong recovery codes. Start again from Forgot your password?.";

function recoveryView(flow: Flow, deps: FlowDeps): ResetView {
  return { ...resetView(flow, deps), state: "recovery", back: resetStepPath(flow.state) };
}

/** Use a recovery code: the page, from any second-factor step of the reset. */
export async function showResetRecoveryStep(deps: FlowDeps, token: string | undefined): Promise<ResetResult> {
  const flow = await flowAt(deps, RESET_FLOW, token, RESET_SECOND_FACTOR_STATES);
  if (isMoved(flow)) return flow;
  return { kind: "show", view: recoveryView(flow, deps) };
}

class NotMoved extends Error {}

/**
 * Recovery Code → Verify Code: the code stands in for the phone or the app, once (the same
 * factor module as sign-in: a notice is emailed, wrong codes count toward the lockout), then on
 * to the new password. The code is used up in the transaction that moves the flow, so a flow
 * that moved on meanwhile (a second tab) leaves the code unused.
 */
export async function verifyResetRecoveryCode(deps: FlowDeps, meta: RequestMeta, token: string | undefined, code: string): Promise<ResetResult> {
  const found = await flowAndUser(deps, RESET_FLOW, token, RESET_SECOND_FACTOR_STATES);
  if (isMoved(found)) return found;
  const { flow, user } = found;
  const view = recoveryView(flow, deps);
  let outcome: CheckOutcome;
  try {
    outcome = await deps.sql.begin(async (tx) => {
      const checked = await recoveryCode.check(deps, meta, { flow, user, purpose: RESET_RECOVERY_PURPOSE, code, respectLock: false }, tx);
      if (checked.kind !== "passed") return checked;
      const amr = [...((flow.data as ResetData).amr ?? []), recoveryCode.describe().amr];
      const moved = await advanceFlow(tx, deps.clock, flow.id, RESET_SECOND_FACTOR_STATES, "new_password", { data: { keypadCode: null, amr, recovery: true } });
      if (!moved) throw new NotMoved();
      await audit(deps, meta, "password_reset.recovery_code_verified", user.id, {}, tx);
      return checked;
    });
  } catch (error) {
    if (error instanceof NotMoved) return { kind: "moved", path: "/forgot-password" };
    throw error;
  }
  if (outcome.kind === "passed") return { kind: "next", path: resetStepPath("new_password") };
  if (outcome.kind === "rate_limited") return { kind: "error", view, field: "code", message: tooManyAttempts(outcome.retryAfterSeconds), status: 429 };
  // A reset does not ask the lock, so only "wrong" (a used code looks the same) and "exhausted" come here.
  const exhausted = outcome.kind === "failed" && outcome.reason === "exhausted";
  return { kind: "error", view, field: "code", message: exhausted ? RECOVERY_EXHAUSTED : RECOVERY_WRONG, status: exhausted ? 400 : 401 };
}

const CALL_FAILED = {
  expired: "The call was not answered with the code in time. Choose Call Me to be called again, or Send Code.",
  exhausted: "The code was keyed in wrong too many times. Choose Call Me to be called again, or Send Code.",
  none: "There is no call to wait for. Choose Call Me or Send Code.",
} as const;

export async function checkResetCall(deps: FlowDeps, meta: RequestMeta, token: string | undefined): Promise<ResetResult> {
  const found = await flowAndUser(deps, RESET_FLOW, token, ["phone_call"]);
  if (isMoved(found)) return found;
  const { flow, user } = found;
  const outcome = await phone.check(deps, meta, { flow, user, purpose: RESET_PHONE_PURPOSE, channel: "voice", respectLock: false });
  if (outcome.kind === "pending") return { kind: "pending", view: resetView(flow, deps), wrongTries: outcome.wrongTries };
  if (outcome.kind === "passed") return phoneVerified(deps, meta, flow, "phone_call", phone.describe("voice", outcome.destination).amr);
  const back = await advanceFlow(deps.sql, deps.clock, flow.id, "phone_call", "phone_choose", { data: { keypadCode: null } });
  const reason = outcome.kind === "failed" && outcome.reason !== "wrong" ? outcome.reason : "none";
  return { kind: "error", view: resetView(back ?? flow, deps), message: CALL_FAILED[reason], status: 400 };
}

async function phoneVerified(deps: FlowDeps, meta: RequestMeta, flow: Flow, from: ResetState, factor: "sms" | "tel"): Promise<ResetResult> {
  const amr = [...((flow.data as ResetData).amr ?? []), factor];
  const moved = await advanceFlow(deps.sql, deps.clock, flow.id, from, "new_password", { data: { keypadCode: null, amr } });
  if (!moved) return { kind: "moved", path: "/forgot-password" };
  await audit(deps, meta, "password_reset.phone_verified", flow.userId);
  return { kind: "next", path: resetStepPath("new_password") };
}

export const PASSWORDS_DIFFER = "The passwords do not match. Type the same new password in both fields.";

/**
 * New Password + Confirm New Password → Continue. One transaction changes the password, lifts
 * the lock, ends every session, Remember Me and unfinished sign-in of the account and queues the
 * notice; then the Terms of Use if they changed, else the person is signed in.
 */
export async function setNewPassword(deps: FlowDeps, meta: RequestMeta, token: string | undefined, input: { password: string; confirm: string }): Promise<ResetResult> {
  const found = await flowAndUser(deps, RESET_FLOW, token, ["new_password"]);
  if (isMoved(found)) return found;
  const { flow, user } = found;
  const view = resetView(flow, deps);
  const policy = checkPasswordPolicy(input.password, { email: user.email, portalName: deps.config.portalName });
  // Both problems at once when both are there: a weak password and a confirmation that differs.
  const differ = input.password !== input.confirm ? { confirm: PASSWORDS_DIFFER } : undefined;
  if (!policy.ok) return { kind: "error", view, field: "password", message: policy.reason, also: differ, status: 422 };
  if (differ) return { kind: "error", view, field: "confirm", message: differ.confirm, status: 422 };

  const passwordHash = await hashPassword(input.password);
  const termsDue = user.termsVersion !== TERMS_VERSION;
  const moved = await deps.sql.begin(async (tx) => {
    // Terms due: on to them; else the flow ends here (guarded: a double submit changes the password once).
    const next = termsDue ? (await advanceFlow(tx, deps.clock, flow.id, "new_password", "terms")) !== null : await endFlow(tx, deps.clock, flow.id, "new_password");
    if (!next) return false;
    await setPasswordHash(tx, deps.clock, user.id, passwordHash);
    await unlockUser(tx, user.id);
    await invalidateUserSessions(tx, user.id);
    await endApplicationSessions(tx, user.id);
    await forgetRememberTokens(tx, user.id);
    await deleteUserFlows(tx, user.id, ["login", "password_reset"], flow.id);
    await deps.outbox.enqueue(tx, { channel: "email", to: user.email, ...passwordChangedNotice(deps.config.portalName) });
    return true;
  });
  if (!moved) return { kind: "moved", path: "/forgot-password" };
  deps.outbox.kick();
  await audit(deps, meta, "password.reset", user.id);
  if (termsDue) return { kind: "next", path: resetStepPath("terms") };
  return signedIn(deps, meta, flow, user);
}

export async function acceptResetTerms(deps: FlowDeps, meta: RequestMeta, token: string | undefined, agreed: boolean): Promise<ResetResult> {
  const found = await flowAndUser(deps, RESET_FLOW, token, ["terms"]);
  if (isMoved(found)) return found;
  const { flow, user } = found;
  if (!agreed) return { kind: "error", view: resetView(flow, deps), field: "agree", message: TERMS_REQUIRED, status: 400 };
  if (!(await endFlow(deps.sql, deps.clock, flow.id, "terms"))) return { kind: "moved", path: "/forgot-password" };
  await acceptCurrentTerms(deps, meta, user.id);
  return signedIn(deps, meta, flow, { ...user, termsVersion: TERMS_VERSION });
}

/**
 * The reset signs the person in with what it proved: the emailed code, the phone for a phone
 * account, and the new password set in this browser (as registration counts the one it sets).
 */
async function signedIn(deps: FlowDeps, meta: RequestMeta, flow: Flow, user: User): Promise<ResetResult> {
  const d = flow.data as ResetData;
  const option: LoginOption = d.app ? "totp" : user.phoneE164 ? "phone" : (await hasFactor(deps.sql, user.id, "totp")) ? "totp" : "email";
  // A recovery code stood in for the factor: the factor itself was not used.
  if (!d.recovery) await touchFactor(deps.sql, deps.clock, user.id, option);
  await audit(deps, meta, "signin.success", user.id, { option, via: "password_reset" });
  const amr = [...new Set(["pwd", ...((flow.data as ResetData).amr ?? ["email"]), "mfa"])];
  return { kind: "signed_in", user, option, amr, authenticatedAt: deps.clock.now(), rememberToken: null, clearRemember: true, returnTo: null };
}
