import { MINUTE } from "../clock.ts";
import { advanceFlow, createFlow, deleteFlow, type Flow } from "./flow-store.ts";
import { findUserByEmail, findUserById, maskPhone, normalizeEmail, type User } from "../auth/users.ts";
import { checkPasswordPolicy, hashPassword } from "../auth/passwords.ts";
import { createCode, verifyCode } from "../auth/codes.ts";
import { checkAttemptLimit, checkSendLimits } from "../auth/rate-limit.ts";
import { unlockUser } from "../auth/lockout.ts";
import { appendAudit } from "../auth/audit.ts";
import { invalidateUserSessions } from "../auth/sessions.ts";
import { endApplicationSessions } from "../apps/application-sessions.ts";
import { forgetRememberTokens } from "../auth/remember-me.ts";
import { describeDuration, passwordChangedNotice, passwordResetCode } from "../delivery/messages.ts";
import { TERMS_VERSION } from "../terms.ts";
import {
  acceptTerms,
  audit,
  checkCall,
  checkTypedCode,
  flowAndUser,
  flowAt,
  isMoved,
  isStaffEmail,
  sendPhoneFactor,
  STAFF_REFUSED,
  TERMS_REQUIRED,
  tooManyAttempts,
  tooManySends,
  type FlowDeps,
  type PhoneSteps,
  type RequestMeta,
  type SteppedFlow,
} from "./login.ts";
import type { LoginOption } from "../auth/users.ts";

/**
 * Forgot your password?: Email Address → Send verification code → the emailed code → Verify
 * code → Continue → (phone accounts) Send Code or Call Me → New Password + Confirm New Password
 * → Continue → signed in. An address without an account gets a flow and a code too (neither a
 * user nor an email), so every answer looks the same whether or not the address has an account. A reset works while
 * the account is locked and clears the lock; it ends every other session and Remember Me.
 */
export type ResetState =
  | "code"
  | "verified"
  | "phone_choose"
  | "phone_code"
  | "phone_call"
  | "new_password"
  | "terms"
  | "done";

export const RESET_FLOW_TTL = 30 * MINUTE;
export const RESET_CODE_PURPOSE = "password_reset";
export const RESET_PHONE_PURPOSE = "password_reset_phone";

const STEP_PATHS: Record<Exclude<ResetState, "done">, string> = {
  code: "/forgot-password/code",
  verified: "/forgot-password/verified",
  phone_choose: "/forgot-password/phone",
  phone_code: "/forgot-password/phone/code",
  phone_call: "/forgot-password/phone/call",
  new_password: "/forgot-password/new-password",
  terms: "/forgot-password/terms",
};

const PHONE_STEPS: PhoneSteps = { choose: "phone_choose", code: "phone_code", call: "phone_call" };
const PHONE_STATES: ResetState[] = ["phone_choose", "phone_code", "phone_call"];

export function resetStepPath(state: string | null | undefined): string {
  return (state && STEP_PATHS[state as keyof typeof STEP_PATHS]) || "/forgot-password";
}

export interface ResetView {
  state: ResetState;
  /** The address as typed (shown back; an unknown one is shown the same way). */
  email: string;
  maskedPhone: string;
  keypadCode: string | null;
  codeLifetime: string;
}

interface ResetData {
  email?: string;
  maskedPhone?: string;
  keypadCode?: string | null;
}

export type ResetResult =
  | { kind: "moved"; path: string; expired?: boolean }
  | { kind: "next"; path: string; token?: string }
  | { kind: "error"; view: ResetView; message: string; field?: string; status: 400 | 401 | 422 | 429 }
  | { kind: "pending"; view: ResetView }
  | { kind: "signed_in"; user: User; option: LoginOption; rememberToken: null; clearRemember: true };

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

export async function showResetStep(
  deps: FlowDeps,
  token: string | undefined,
  states: ResetState[],
): Promise<{ kind: "show"; view: ResetView } | { kind: "moved"; path: string; expired?: boolean }> {
  const flow = await flowAt(deps, RESET_FLOW, token, states);
  if (isMoved(flow)) return flow;
  return { kind: "show", view: resetView(flow, deps) };
}

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

  const found = await findUserByEmail(deps.sql, input.email);
  const user = canReset(found) ? found : null;
  const ttlMs = deps.config.ttl.passwordResetCode;
  const destination = user?.email ?? input.email;
  // The same work, in one transaction (one commit), whether or not the address has an account
  // (ASVS 6.3.8): the send limits, the flow, a code, the audit; only an account's code is sent.
  // Over a send limit the page still says the same thing; only the audit log knows.
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
    // The newest reset wins: an older one in another browser cannot go on (matches nothing without an account).
    await tx`delete from flows where user_id = ${user?.id ?? null} and kind = 'password_reset' and id <> ${created.flow.id}`;
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
    if (send) {
      await deps.outbox.enqueue(tx, { channel: "email", to: user!.email, ...passwordResetCode(code.code, describeDuration(ttlMs), deps.config.portalName) });
    } else {
      await tx`select 1 from outbox where id = 0`; // stands in for the enqueue's round trip
    }
    const event = !user ? "password_reset.no_account" : send ? "code.sent" : "code.send_limited";
    const who = { userId: user?.id ?? null, ip: meta.ip, userAgent: meta.userAgent };
    await appendAudit(tx, deps.clock, { event, ...who, detail: { purpose: RESET_CODE_PURPOSE, channel: "email" } });
    await appendAudit(tx, deps.clock, { event: "password_reset.requested", ...who, detail: { account: user ? "known" : "unknown" } });
    return created.token;
  });
  // After the answer's own work, so the dispatch does not lengthen only the known address's answer.
  if (send) deps.outbox.kick();
  return { kind: "next", path: STEP_PATHS.code, token };
}

const RESET_CODE_MESSAGES = {
  wrong: "That code is not right. Check it and try again.",
  expired: "That code has expired. Start again to get a new code.",
  exhausted: "That code was tried too many times. Start again to get a new code.",
  none: "That code can no longer be used. Start again to get a new code.",
} as const;

/** The emailed 6-digit code → Verify code. */
export async function verifyResetCode(deps: FlowDeps, meta: RequestMeta, token: string | undefined, code: string): Promise<ResetResult> {
  const flow = await flowAt(deps, RESET_FLOW, token, ["code"]);
  if (isMoved(flow)) return flow;
  const view = resetView(flow, deps);
  const user = flow.userId ? await findUserById(deps.sql, flow.userId) : null;
  if (!user || user.status !== "active") return unsentCodeFailure(deps, meta, flow, view, code);
  const outcome = await checkTypedCode(deps, meta, flow, user, { code, purpose: RESET_CODE_PURPOSE, channel: "email", respectLock: false });
  if (outcome.kind === "failed") {
    const message = outcome.reason === "rate_limited" ? outcome.message : RESET_CODE_MESSAGES[outcome.reason];
    return { kind: "error", view, field: "code", message, status: outcome.status };
  }
  if (outcome.kind === "pending") return { kind: "pending", view };
  const moved = await advanceFlow(deps.sql, deps.clock, flow.id, "code", "verified");
  if (!moved) return { kind: "moved", path: "/forgot-password" };
  await audit(deps, meta, "password_reset.email_verified", user.id);
  return { kind: "next", path: STEP_PATHS.verified };
}

/**
 * An address without an account: its code was never sent, so the typed code is checked against
 * it (taking an attempt, expiring, as any code) and refused whatever it is.
 */
async function unsentCodeFailure(deps: FlowDeps, meta: RequestMeta, flow: Flow, view: ResetView, code: string): Promise<ResetResult> {
  const limit = await checkAttemptLimit(deps.sql, deps.clock, { ip: meta.ip, action: "code" });
  if (!limit.ok) return { kind: "error", view, field: "code", message: tooManyAttempts(limit.retryAfterSeconds), status: 429 };
  const result = await verifyCode(deps.sql, deps.clock, deps.config.secretKey, { flowId: flow.id, purpose: RESET_CODE_PURPOSE, code });
  const reason = result.ok ? "wrong" : result.reason;
  await audit(deps, meta, "code.failed", null, { purpose: RESET_CODE_PURPOSE, channel: "email", reason });
  return { kind: "error", view, field: "code", message: RESET_CODE_MESSAGES[reason], status: reason === "wrong" ? 401 : 400 };
}

/** The confirmation's Continue: phone accounts verify their phone too; email-only ones choose a password. */
export async function continueReset(deps: FlowDeps, meta: RequestMeta, token: string | undefined): Promise<ResetResult> {
  const found = await flowAndUser(deps, RESET_FLOW, token, ["verified"]);
  if ("kind" in found) return found;
  const { flow, user } = found;
  const next: ResetState = user.mfaMethod === "phone" && user.phoneE164 ? "phone_choose" : "new_password";
  const moved = await advanceFlow(deps.sql, deps.clock, flow.id, "verified", next, { data: { maskedPhone: maskPhone(user.phoneE164) } });
  if (!moved) return { kind: "moved", path: "/forgot-password" };
  void meta;
  return { kind: "next", path: STEP_PATHS[next] };
}

/** Send Code / Call Me for the reset (a purpose of its own, so a sign-in code never passes here). */
export async function sendResetPhoneCode(deps: FlowDeps, meta: RequestMeta, token: string | undefined, channel: "sms" | "voice"): Promise<ResetResult> {
  const found = await flowAndUser(deps, RESET_FLOW, token, PHONE_STATES);
  if ("kind" in found) return found;
  const { flow, user } = found;
  const outcome = await sendPhoneFactor(deps, meta, flow, user, { channel, purpose: RESET_PHONE_PURPOSE, steps: PHONE_STEPS });
  if (outcome.kind === "sent") return { kind: "next", path: resetStepPath(outcome.flow.state) };
  if (outcome.kind === "rate_limited") {
    return { kind: "error", view: resetView(flow, deps), message: tooManySends(outcome.retryAfterSeconds), status: 429 };
  }
  return { kind: "moved", path: "/forgot-password" };
}

export async function verifyResetSmsCode(deps: FlowDeps, meta: RequestMeta, token: string | undefined, code: string): Promise<ResetResult> {
  const found = await flowAndUser(deps, RESET_FLOW, token, ["phone_code"]);
  if ("kind" in found) return found;
  const { flow, user } = found;
  const outcome = await checkTypedCode(deps, meta, flow, user, { code, purpose: RESET_PHONE_PURPOSE, channel: "sms", respectLock: false });
  if (outcome.kind === "failed") return { kind: "error", view: resetView(flow, deps), field: "code", message: outcome.message, status: outcome.status };
  return phoneVerified(deps, meta, flow, "phone_code");
}

export async function checkResetCall(deps: FlowDeps, meta: RequestMeta, token: string | undefined): Promise<ResetResult> {
  const found = await flowAndUser(deps, RESET_FLOW, token, ["phone_call"]);
  if ("kind" in found) return found;
  const { flow, user } = found;
  const outcome = await checkCall(deps, meta, flow, user, { purpose: RESET_PHONE_PURPOSE, respectLock: false });
  if (outcome.kind === "pending") return { kind: "pending", view: resetView(flow, deps) };
  if (outcome.kind === "failed") {
    const back = await advanceFlow(deps.sql, deps.clock, flow.id, "phone_call", "phone_choose", { data: { keypadCode: null } });
    return { kind: "error", view: resetView(back ?? flow, deps), message: outcome.message, status: outcome.status };
  }
  return phoneVerified(deps, meta, flow, "phone_call");
}

async function phoneVerified(deps: FlowDeps, meta: RequestMeta, flow: Flow, from: ResetState): Promise<ResetResult> {
  const moved = await advanceFlow(deps.sql, deps.clock, flow.id, from, "new_password", { data: { keypadCode: null } });
  if (!moved) return { kind: "moved", path: "/forgot-password" };
  await audit(deps, meta, "password_reset.phone_verified", flow.userId);
  return { kind: "next", path: STEP_PATHS.new_password };
}

export const PASSWORDS_DIFFER = "The passwords do not match. Type the same new password in both fields.";

/**
 * New Password + Confirm New Password → Continue. One transaction changes the password, lifts
 * the lock, ends every session, Remember Me and unfinished sign-in of the account and queues the
 * notice; then the Terms of Use if they changed, else the person is signed in.
 */
export async function setNewPassword(
  deps: FlowDeps,
  meta: RequestMeta,
  token: string | undefined,
  input: { password: string; confirm: string },
): Promise<ResetResult> {
  const found = await flowAndUser(deps, RESET_FLOW, token, ["new_password"]);
  if ("kind" in found) return found;
  const { flow, user } = found;
  const view = resetView(flow, deps);
  const policy = checkPasswordPolicy(input.password, { email: user.email, portalName: deps.config.portalName });
  if (!policy.ok) return { kind: "error", view, field: "password", message: policy.reason, status: 422 };
  if (input.password !== input.confirm) return { kind: "error", view, field: "confirm", message: PASSWORDS_DIFFER, status: 422 };

  const passwordHash = await hashPassword(input.password);
  const termsDue = user.termsVersion !== TERMS_VERSION;
  const moved = await deps.sql.begin(async (tx) => {
    const next = await advanceFlow(tx, deps.clock, flow.id, "new_password", termsDue ? "terms" : "done");
    if (!next) return null;
    const now = deps.clock.now();
    await tx`update users set password_hash = ${passwordHash}, updated_at = ${now} where id = ${user.id}`;
    await unlockUser(tx, user.id);
    await invalidateUserSessions(tx, user.id);
    await endApplicationSessions(tx, user.id);
    await forgetRememberTokens(tx, user.id);
    await tx`delete from flows where user_id = ${user.id} and kind in ('login', 'password_reset') and id <> ${flow.id}`;
    await deps.outbox.enqueue(tx, { channel: "email", to: user.email, ...passwordChangedNotice(deps.config.portalName) });
    return next;
  });
  if (!moved) return { kind: "moved", path: "/forgot-password" };
  deps.outbox.kick();
  await audit(deps, meta, "password.reset", user.id);
  if (termsDue) return { kind: "next", path: STEP_PATHS.terms };
  return signedIn(deps, meta, flow, user);
}

export async function acceptResetTerms(deps: FlowDeps, meta: RequestMeta, token: string | undefined, agreed: boolean): Promise<ResetResult> {
  const found = await flowAndUser(deps, RESET_FLOW, token, ["terms"]);
  if ("kind" in found) return found;
  const { flow, user } = found;
  if (!agreed) return { kind: "error", view: resetView(flow, deps), field: "agree", message: TERMS_REQUIRED, status: 400 };
  const moved = await advanceFlow(deps.sql, deps.clock, flow.id, "terms", "done");
  if (!moved) return { kind: "moved", path: "/forgot-password" };
  await acceptTerms(deps, meta, user.id);
  return signedIn(deps, meta, flow, { ...user, termsVersion: TERMS_VERSION });
}

async function signedIn(deps: FlowDeps, meta: RequestMeta, flow: Flow, user: User): Promise<ResetResult> {
  await deleteFlow(deps.sql, flow.id);
  const option: LoginOption = user.mfaMethod === "phone" && user.phoneE164 ? "phone" : "email";
  await audit(deps, meta, "signin.success", user.id, { option, via: "password_reset" });
  return { kind: "signed_in", user, option, rememberToken: null, clearRemember: true };
}
