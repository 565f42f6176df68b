/**
 * Registration: the one-time wizard from the emailed link to the first session.
 *
 * A registration is a stored flow (flow-store.ts, kind "registration") held by one browser
 * through the flow cookie. Its `state` is the step reached:
 *
 *   invited ──chooseMethod──▶ method_chosen ──verifyEmailCode──▶ email_verified
 *     ──createPassword──▶ password_set ──(phone method) verifyPhoneCode | checkRegistrationCall──▶ phone_verified
 *     ──acceptRegistrationTerms──▶ done   (the user row becomes active in the same transaction)
 *
 *   Authenticator App: password_set ──verifyAppCode──▶ app_verified ──acceptRegistrationTerms──▶
 *   recovery_codes (the account is active; the codes shown once) ──confirmRecoveryCodesSaved──▶ done.
 *   The email method goes from password_set straight to acceptRegistrationTerms. An MFA reset (the admin's
 *   mfa_reset link) keeps the password: verifyEmailCode takes it from method_chosen to
 *   password_set. "failed" holds only the user of an expired or used link, so that Reset on the
 *   Registration error page knows whom to email; nothing continues from it.
 *
 * Every transition is ONE guarded advanceFlow (`where state = <expected>`): a double submit, a
 * second tab or a replayed form finds the row already moved and is sent to the step the flow is
 * on. Sending a code is a guarded self-transition in the same
 * transaction as the code and its outbox message, so a flow that moved on sends nothing.
 *
 * Progress lives in the flow row (state and data: method, the new password's hash, the phone),
 * not in the user row: the user row changes once, in acceptRegistrationTerms, together with the last step.
 * Reset and resume links copy the newest progress into a new flow for the browser that opens
 * them, which is how they "continue at the first unfinished step".
 *
 * Abuse: checkSendLimits before every email, SMS and call; checkAttemptLimit before every code
 * and password check; wrong codes count toward the account lockout (lockout.ts); a locked
 * account cannot verify codes. Every step writes an audit event; none carries a code, a token
 * or a password.
 *
 * Every step returns a StepResult (steps.ts), as sign-in and the password reset do; the route
 * renders it and knows nothing of the states.
 */
import { HOUR } from "../clock.ts";
import type { Db } from "../db/client.ts";
import { describeDuration, registrationResetLink, resumeLink } from "../delivery/messages.ts";
import { consumeLinkToken, createLinkToken, revokeLinkTokens, type LinkPurpose } from "../auth/links.ts";
import { isLocked, LOCKOUT_MS, recordFailure, recordSuccess } from "../auth/lockout.ts";
import { checkPasswordPolicy, hashPassword, MAX_PASSWORD_LENGTH, verifyDummyPassword, verifyPassword } from "../auth/passwords.ts";
import { parseUsPhone } from "../auth/phone.ts";
import { checkAttemptLimit, checkSendLimits } from "../auth/rate-limit.ts";
import { forgetRememberTokens } from "../auth/remember-me.ts";
import { invalidateUserSessions } from "../auth/sessions.ts";
import { activateUser, findUserByEmail, findUserById, lockUser, type FactorKind, type User } from "../auth/users.ts";
import { endApplicationSessions } from "../apps/application-sessions.ts";
import { TERMS_VERSION } from "../terms.ts";
import { advanceFlow, createFlow, deleteUserFlows, flowHolder, latestUserFlow, loadFlow, type Flow } from "./flow-store.ts";
import { audit, isMoved, type FlowDeps, type Moved, type RequestMeta, type StepResult } from "./steps.ts";
import { codeMessage, type CheckOutcome } from "./factors/code.ts";
import { emailCode } from "./factors/email-code.ts";
import { phone, type PhoneChannel } from "./factors/phone.ts";
import { newSealedTotpKey, sealedTotpBytes, totp, totpSetup } from "./factors/totp.ts";
import { recoveryCode, shownRecoveryCodes } from "./factors/recovery-code.ts";
import { deleteRecoveryCodes } from "../auth/recovery-codes.ts";

export type RegistrationStep = "invited" | "method_chosen" | "email_verified" | "password_set" | "phone_verified" | "app_verified" | "recovery_codes" | "done" | "failed";

export interface RegistrationData {
  /** "mfa_reset": an active user choosing and verifying a method again; the password is kept. */
  mode: "registration" | "mfa_reset";
  method?: FactorKind;
  emailCodeSent?: boolean;
  /** argon2id hash of the password from createPassword, written to the user row by acceptTerms. */
  passwordHash?: string;
  /** The number the last SMS or call went to, and how. */
  phone?: string;
  phoneChannel?: "sms" | "voice";
  /** Call Me: the code to key in on the call, shown on the call page (its GET; the codes table keeps only its HMAC). */
  keypadCode?: string | null;
  /** The number a code proved (the verified code's own destination), and how (RFC 8176: sms or tel). */
  phoneVerified?: string;
  phoneProof?: "sms" | "tel";
  /** Authenticator App: the new key, sealed (totp.ts), from the choice of the method on; the step its first code proved. */
  totpKey?: string;
  totpStep?: number;
  /** The recovery codes shown once the account is active, sealed, until the person said they saved them. */
  recoveryCodes?: string | null;
  /** Where the last step goes (checked by return-to.ts when the link was opened). */
  returnTo?: string | null;
}

export interface Registration {
  flow: Flow;
  data: RegistrationData;
  user: User;
}

const EMAIL_PURPOSE = "registration_email";
const PHONE_PURPOSE = "registration_phone";
const APP_PURPOSE = "registration_app";
/** A failed flow only remembers whom Reset may email; an hour is plenty for pressing the button. */
const FAILED_FLOW_TTL = HOUR;
const LINK_PURPOSES: LinkPurpose[] = ["registration", "registration_reset", "resume", "mfa_reset"];

/** The pages the wizard shows, in order. */
export type Step = "method" | "email" | "phone" | "app" | "terms" | "recovery" | "done" | "error";

/** Where each page lives. A request for any other step's URL is sent to the one the flow is on (303). */
const STEP_PATHS: Record<Step, string> = {
  method: "/register/method",
  email: "/register/email",
  phone: "/register/phone",
  app: "/register/app",
  terms: "/register/terms",
  recovery: "/register/recovery-codes",
  done: "/home",
  error: "/register/error?reason=session",
};

/** The call page after Call Me: a GET of its own (post/redirect/get), on the phone step. */
export const REGISTRATION_CALL_PATH = "/register/phone/call";

/** Where a browser without a live registration goes (the route sends someone signed in home instead). */
export const REGISTRATION_GONE = STEP_PATHS.error;

/** The page a flow is on: where an out-of-order request is sent. */
function currentStep(flow: Flow): Step {
  const data = flow.data as Partial<RegistrationData>;
  switch (flow.state as RegistrationStep) {
    case "invited":
      return "method";
    case "method_chosen":
    case "email_verified":
      return "email";
    case "password_set":
      return data.method === "phone" ? "phone" : data.method === "totp" ? "app" : "terms";
    case "phone_verified":
    case "app_verified":
      return "terms";
    case "recovery_codes":
      return "recovery";
    case "done":
      return "done";
    default:
      return "error";
  }
}

function registrationStepPath(flow: Flow): string {
  return STEP_PATHS[currentStep(flow)];
}

/** What a page of the wizard shows, from the flow and its user. */
export interface RegistrationView {
  step: Exclude<Step, "done" | "error">;
  mfaReset: boolean;
  email: string;
  /** The email step: send (no code yet), verify (a code was sent), verified (the password next). */
  emailStage: "send" | "verify" | "verified";
  /** The number the last SMS or call went to (E.164), if any. */
  phone: string | null;
  /** The Phone Number field as typed, when a send was refused (shown back as typed). */
  typed?: string;
  /** An SMS code was sent: the phone step shows Verification Code → Verify Code. */
  smsSent: boolean;
  /** Call Me: the code to key in on the call (the call page only). */
  call?: { keypadCode: string };
  /** A line about the page that is no error (the call has not confirmed the code yet). */
  problem?: string;
  /** The method chosen at the first step (null before), which decides how many steps there are. */
  method: FactorKind | null;
  /** Authenticator App set-up: the key as text and its QR code (SVG). */
  totp?: { secret: string; qrSvg: string };
  /** The recovery codes to save (the recovery step only). */
  recoveryCodes?: string[];
}

export type RegistrationResult = StepResult<RegistrationView>;

function viewOf(reg: Registration, step: RegistrationView["step"]): RegistrationView {
  return {
    step,
    mfaReset: reg.data.mode === "mfa_reset",
    email: reg.user.email,
    emailStage: reg.flow.state === "email_verified" ? "verified" : reg.data.emailCodeSent ? "verify" : "send",
    phone: reg.data.phone ?? null,
    smsSent: reg.data.phoneChannel === "sms" && !!reg.data.phone,
    method: reg.data.method ?? null,
  };
}

/* ───────────────────────────── the emailed link ───────────────────────────── */

/**
 * The landing of every emailed link: registration (from the invitation), registration_reset
 * (Reset on the error page), resume (Having trouble logging in?) and mfa_reset (the admin area).
 * The token is used up here; the browser gets a new flow (`token`) on the step it continues at.
 * A dead link goes to the error page, with a flow that only holds the user for Reset (the page
 * must not say whose account it is), or none (`token: null`: the cookie is cleared).
 * `returnTo` (checked by return-to.ts) is where the last step goes instead of /home.
 */
export async function openRegistrationLink(deps: FlowDeps, meta: RequestMeta, token: string, returnTo: string | null = null): Promise<RegistrationResult> {
  const consumed = await consumeLinkToken(deps.sql, deps.clock, token, LINK_PURPOSES);
  if (!consumed.ok) {
    await audit(deps, meta, "registration.link_refused", consumed.userId ?? null, { reason: consumed.reason });
    const path = `/register/error?reason=${consumed.reason}`;
    if (!consumed.userId) return { kind: "next", path, token: null };
    const holder = await createFlow(deps.sql, deps.clock, { kind: "registration", userId: consumed.userId, state: "failed", ttlMs: FAILED_FLOW_TTL });
    return { kind: "next", path, token: holder.token };
  }

  const { userId, purpose } = consumed;
  const outcome = await deps.sql.begin(async (tx) => {
    const user = await lockUser(tx, userId);
    if (!user || user.status === "disabled") return { ok: false as const, reason: "unavailable" as const };
    let state: RegistrationStep = "invited";
    let data: RegistrationData = { mode: "registration" };
    if (purpose === "mfa_reset") {
      data = { mode: "mfa_reset" };
    } else {
      if (user.status === "active") return { ok: false as const, reason: "completed" as const };
      if (purpose !== "registration") {
        const progress = await latestProgress(tx, userId);
        if (progress) ({ state, data } = resumeFrom(progress));
        // A resume link is only ever sent after the password was created; anything less means the
        // progress it was sent for is gone (a new invitation started over).
        if (purpose === "resume" && !progress?.data.passwordHash) return { ok: false as const, reason: "unavailable" as const };
      }
    }
    data = { ...data, returnTo };
    await deleteUserFlows(tx, userId, "registration");
    const created = await createFlow(tx, deps.clock, {
      kind: "registration",
      userId,
      state,
      ttlMs: deps.config.ttl.registrationLink,
      data: data as unknown as Record<string, unknown>,
    });
    await audit(deps, meta, "registration.link_opened", userId, { purpose, state }, tx);
    return { ok: true as const, token: created.token, flow: created.flow };
  });
  if (!outcome.ok) {
    await audit(deps, meta, "registration.link_refused", userId, { reason: outcome.reason, purpose });
    return { kind: "next", path: `/register/error?reason=${outcome.reason}`, token: null };
  }
  return { kind: "next", path: registrationStepPath(outcome.flow), token: outcome.token };
}

/** The newest progress a user made in any registration flow (expired ones included). */
async function latestProgress(db: Db, userId: string): Promise<{ state: RegistrationStep; data: RegistrationData } | null> {
  return (await latestUserFlow(db, userId, "registration", "failed")) as { state: RegistrationStep; data: RegistrationData } | null;
}

/** The first unfinished step of earlier progress. Codes belong to the old flow, so "sent" is forgotten. */
function resumeFrom(progress: { state: RegistrationStep; data: RegistrationData }): { state: RegistrationStep; data: RegistrationData } {
  const { emailCodeSent: _sent, phone: _phone, phoneChannel: _channel, keypadCode: _keypad, returnTo: _returnTo, ...kept } = progress.data;
  const data: RegistrationData = { ...kept, mode: kept.mode ?? "registration" };
  if (progress.state === "done") return { state: "invited", data: { mode: data.mode } };
  if (progress.state === "phone_verified" && !data.phoneVerified) return { state: "password_set", data };
  return { state: progress.state, data };
}

/* ───────────────────────────── the browser's flow ───────────────────────────── */

/** The registration the flow cookie names, with its user; nothing when it expired, ended or failed. */
async function loadRegistration(deps: FlowDeps, flowToken: string | undefined): Promise<Registration | null> {
  const flow = await loadFlow(deps.sql, deps.clock, flowToken, "registration");
  if (!flow || !flow.userId || flow.state === "failed") return null;
  const user = await findUserById(deps.sql, flow.userId);
  if (!user || user.status === "disabled") return null;
  const data = flow.data as unknown as RegistrationData;
  if (user.status === "active" && data.mode !== "mfa_reset" && flow.state !== "done" && flow.state !== "recovery_codes") return null;
  return { flow, data, user };
}

/**
 * The registration, if it is on page `step` (and, when given, in one of `states` of it);
 * otherwise where the browser belongs: the page it is on, or the error page without one.
 */
async function registrationAt(deps: FlowDeps, token: string | undefined, step: Step, states?: RegistrationStep[]): Promise<Registration | Moved> {
  const reg = await loadRegistration(deps, token);
  if (!reg) return { kind: "moved", path: REGISTRATION_GONE };
  if (currentStep(reg.flow) !== step) return { kind: "moved", path: registrationStepPath(reg.flow) };
  if (states && !states.includes(reg.flow.state as RegistrationStep)) return { kind: "moved", path: STEP_PATHS[step] };
  return reg;
}

/** The page the flow is on, or where the browser belongs (GET /register: wherever the flow is). */
export async function showRegistrationStep(deps: FlowDeps, token: string | undefined, step: Step | null, states?: RegistrationStep[]): Promise<RegistrationResult> {
  if (step === null) {
    const reg = await loadRegistration(deps, token);
    return { kind: "moved", path: reg ? registrationStepPath(reg.flow) : REGISTRATION_GONE };
  }
  const reg = await registrationAt(deps, token, step, states);
  if (isMoved(reg)) return reg;
  if (step === "done" || step === "error") return { kind: "moved", path: STEP_PATHS[step] };
  return { kind: "show", view: await fullView(deps, reg, step) };
}

/** The view with what only some pages show: the app's key and QR code, the recovery codes. */
async function fullView(deps: FlowDeps, reg: Registration, step: RegistrationView["step"]): Promise<RegistrationView> {
  const view = viewOf(reg, step);
  if (step === "app" && reg.data.totpKey) view.totp = await totpSetup(deps.config.secretKey, reg.data.totpKey, deps.config.portalName, reg.user.email);
  if (step === "recovery") view.recoveryCodes = shownRecoveryCodes(deps.config.secretKey, reg.data.recoveryCodes);
  return view;
}

/** Moves the flow and returns the new registration, or null when another request moved it first. */
async function advance(
  db: Db,
  deps: FlowDeps,
  reg: Registration,
  from: RegistrationStep,
  to: RegistrationStep,
  data: Partial<RegistrationData> = {},
): Promise<Registration | null> {
  const flow = await advanceFlow(db, deps.clock, reg.flow.id, from, to, { data: data as Record<string, unknown> });
  return flow ? { ...reg, flow, data: flow.data as unknown as RegistrationData } : null;
}

/** After a move that found the flow moved by someone else: wherever it is now. */
async function wherever(deps: FlowDeps, token: string | undefined): Promise<RegistrationResult> {
  return showRegistrationStep(deps, token, null);
}

/** On to the page the moved flow is on. */
function next(reg: Registration, query = ""): RegistrationResult {
  return { kind: "next", path: `${registrationStepPath(reg.flow)}${query}` };
}

const LOCKED_MESSAGE = `Too many wrong attempts: your account is locked for ${describeDuration(LOCKOUT_MS)}. Try again later, or ask your portal administrator to unlock it.`;

function tooMany(view: RegistrationView, retryAfterSeconds: number): RegistrationResult {
  const minutes = Math.ceil(retryAfterSeconds / 60);
  return { kind: "error", view, message: `Too many requests. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`, status: 429, retryAfterSeconds };
}

/** A check that did not pass, in registration's words: a locked account (before the try, or by this wrong code) is said to be locked. */
function notPassed(view: RegistrationView, outcome: Exclude<CheckOutcome, { kind: "passed" | "pending" }>): RegistrationResult {
  if (outcome.kind === "rate_limited") return tooMany(view, outcome.retryAfterSeconds);
  if (outcome.kind === "locked" || outcome.locked) return { kind: "error", view, message: LOCKED_MESSAGE, status: 403 };
  const message = outcome.reason === "wrong" ? "That code is not right. Check the code and try again." : codeMessage(outcome.reason, "Select Send New Code for a new one.");
  return { kind: "error", view, field: "code", message, status: 422 };
}

/* ───────────────────────────── step 1: Phone or Email ───────────────────────────── */

export async function chooseMethod(deps: FlowDeps, meta: RequestMeta, token: string | undefined, method: FactorKind): Promise<RegistrationResult> {
  const reg = await loadRegistration(deps, token);
  if (!reg) return { kind: "moved", path: REGISTRATION_GONE };
  // The app's key is made with the choice, so a resumed registration shows the same QR code.
  const moved = await advance(deps.sql, deps, reg, "invited", "method_chosen", method === "totp" ? { method, totpKey: newSealedTotpKey(deps.config.secretKey) } : { method });
  if (!moved) return wherever(deps, token);
  await audit(deps, meta, "registration.method_chosen", reg.user.id, { method, mode: reg.data.mode });
  return next(moved);
}

/* ───────────────────────────── step 2: verify the email ───────────────────────────── */

/** Sends (or replaces) the email verification code. Codes go only to the invited address. */
export async function sendEmailCode(deps: FlowDeps, meta: RequestMeta, token: string | undefined): Promise<RegistrationResult> {
  const reg = await registrationAt(deps, token, "email");
  if (isMoved(reg)) return reg;
  if (reg.flow.state !== "method_chosen") return wherever(deps, token);
  const resent = !!reg.data.emailCodeSent;
  const outcome = await emailCode.start(deps, meta, {
    flow: reg.flow,
    userId: reg.user.id,
    email: reg.user.email,
    purpose: EMAIL_PURPOSE,
    ttlMs: deps.config.ttl.emailVerificationCode,
    wording: "verification",
    move: (tx) => advanceFlow(tx, deps.clock, reg.flow.id, "method_chosen", "method_chosen", { data: { emailCodeSent: true } }),
    event: "registration.email_code_sent",
    detail: { resent },
  });
  if (outcome.kind === "rate_limited") return tooMany(viewOf(reg, "email"), outcome.retryAfterSeconds);
  if (outcome.kind === "moved") return wherever(deps, token);
  return { kind: "next", path: `${STEP_PATHS.email}?sent=${resent ? "new" : "1"}` };
}

export async function verifyEmailCode(deps: FlowDeps, meta: RequestMeta, token: string | undefined, code: string): Promise<RegistrationResult> {
  const reg = await registrationAt(deps, token, "email", ["method_chosen"]);
  if (isMoved(reg)) return reg;
  const checked = await emailCode.check(deps, meta, { flow: reg.flow, user: reg.user, purpose: EMAIL_PURPOSE, code, respectLock: true });
  if (checked.kind === "pending") return notPassed(viewOf(reg, "email"), { kind: "failed", reason: "none", locked: false });
  if (checked.kind !== "passed") return notPassed(viewOf(reg, "email"), checked);
  // An MFA reset keeps the password, so the password step is skipped.
  const to: RegistrationStep = reg.data.mode === "mfa_reset" ? "password_set" : "email_verified";
  const moved = await advance(deps.sql, deps, reg, "method_chosen", to);
  if (!moved) return wherever(deps, token);
  await audit(deps, meta, "registration.email_verified", reg.user.id);
  return next(moved);
}

/* ───────────────────────────── step 3: the password ───────────────────────────── */

const PASSWORDS_NOT_THE_SAME = "The two passwords are not the same. Enter the new password again.";

export async function createPassword(deps: FlowDeps, meta: RequestMeta, token: string | undefined, input: { password: string; confirm: string }): Promise<RegistrationResult> {
  const reg = await registrationAt(deps, token, "email", ["email_verified"]);
  if (isMoved(reg)) return reg;
  const view = viewOf(reg, "email");
  const policy = checkPasswordPolicy(input.password, { email: reg.user.email, portalName: deps.config.portalName });
  // Both problems at once when both are there: a weak password and a confirmation that differs.
  const differ = input.password !== input.confirm ? { confirm: PASSWORDS_NOT_THE_SAME } : undefined;
  if (!policy.ok) return { kind: "error", view, field: "password", message: policy.reason, also: differ, status: 422 };
  if (differ) return { kind: "error", view, field: "confirm", message: differ.confirm, status: 422 };
  const passwordHash = await hashPassword(input.password);
  const moved = await advance(deps.sql, deps, reg, "email_verified", "password_set", { passwordHash });
  if (!moved) return wherever(deps, token);
  await audit(deps, meta, "registration.password_created", reg.user.id);
  return next(moved);
}

/* ───────────────────────────── step 4 (phone method): the phone ───────────────────────────── */

/**
 * Send Code (an SMS with a code to type in) or Call Me (a call asking for the code shown on
 * screen) to the number typed. The flow keeps the keypad code (whoever holds this browser sees
 * it on screen anyway; what proves the phone is that the call to it was answered with it), so
 * Call Me answers with a 303 to the call page like every other step.
 */
export async function sendToPhone(deps: FlowDeps, meta: RequestMeta, token: string | undefined, input: { phone: string; channel: PhoneChannel }): Promise<RegistrationResult> {
  const reg = await registrationAt(deps, token, "phone");
  if (isMoved(reg)) return reg;
  const view = viewOf(reg, "phone");
  const parsed = parseUsPhone(input.phone);
  if (!parsed.ok) return { kind: "error", view: { ...view, typed: input.phone }, field: "phone", message: parsed.reason, status: 422 };
  const e164 = parsed.e164;
  const { channel } = input;
  const outcome = await phone.start(deps, meta, {
    flow: reg.flow,
    userId: reg.user.id,
    purpose: PHONE_PURPOSE,
    channel,
    phone: e164,
    move: (tx) => advanceFlow(tx, deps.clock, reg.flow.id, "password_set", "password_set", { data: { phone: e164, phoneChannel: channel, keypadCode: null } }),
    withCode: channel === "voice" ? (tx, code) => advanceFlow(tx, deps.clock, reg.flow.id, "password_set", "password_set", { data: { keypadCode: code } }) : undefined,
    event: channel === "sms" ? "registration.phone_code_sent" : "registration.call_started",
    detail: { phoneLast4: e164.slice(-4) },
  });
  if (outcome.kind === "rate_limited") return tooMany({ ...view, typed: input.phone }, outcome.retryAfterSeconds);
  if (outcome.kind === "moved") return wherever(deps, token);
  if (channel === "sms") return { kind: "next", path: `${STEP_PATHS.phone}?sent=1` };
  return { kind: "next", path: REGISTRATION_CALL_PATH };
}

/** The call page's view: the phone step with the call's keypad code, or null when no call is waiting. */
function callView(reg: Registration): RegistrationView | null {
  if (reg.data.phoneChannel !== "voice" || !reg.data.keypadCode) return null;
  return { ...viewOf(reg, "phone"), call: { keypadCode: reg.data.keypadCode } };
}

/** GET of the call page: shown while a call placed by Call Me waits; otherwise the phone step (or wherever the flow is). */
export async function showRegistrationCall(deps: FlowDeps, token: string | undefined): Promise<RegistrationResult> {
  const reg = await registrationAt(deps, token, "phone");
  if (isMoved(reg)) return reg;
  const view = callView(reg);
  return view ? { kind: "show", view } : { kind: "moved", path: STEP_PATHS.phone };
}

export async function verifyPhoneCode(deps: FlowDeps, meta: RequestMeta, token: string | undefined, code: string): Promise<RegistrationResult> {
  const reg = await registrationAt(deps, token, "phone");
  if (isMoved(reg)) return reg;
  const checked = await phone.check(deps, meta, { flow: reg.flow, user: reg.user, purpose: PHONE_PURPOSE, channel: "sms", code, respectLock: true });
  if (checked.kind === "pending") return notPassed(viewOf(reg, "phone"), { kind: "failed", reason: "none", locked: false });
  if (checked.kind !== "passed") return notPassed(viewOf(reg, "phone"), checked);
  return phoneProved(deps, meta, token, reg, checked.destination, "sms");
}

const CALL_PROBLEMS = {
  pending: "The call has not confirmed the code yet. Select Call Me to be called again.",
  exhausted: "The code was keyed in wrong too many times. Select Call Me for a new call, or Send Code for a text message.",
  ended: "The call ended without confirming the code, or its time ran out. Select Call Me for a new call, or Send Code for a text message.",
} as const;

/**
 * The call page's poll (every 2 s with htmx) or its Continue (without JavaScript): on once the
 * call confirmed the code; pending, with the wrong codes keyed on the call so far.
 */
export async function checkRegistrationCall(deps: FlowDeps, meta: RequestMeta, token: string | undefined): Promise<RegistrationResult> {
  const reg = await registrationAt(deps, token, "phone");
  if (isMoved(reg)) return reg;
  const view = viewOf(reg, "phone");
  const checked = await phone.check(deps, meta, { flow: reg.flow, user: reg.user, purpose: PHONE_PURPOSE, channel: "voice", respectLock: true });
  if (checked.kind === "passed") return phoneProved(deps, meta, token, reg, checked.destination, "voice");
  if (checked.kind === "pending") {
    const waiting = callView(reg);
    return waiting ? { kind: "pending", view: waiting, wrongTries: checked.wrongTries } : { kind: "pending", view: { ...view, problem: CALL_PROBLEMS.pending } };
  }
  if (checked.kind === "rate_limited") return tooMany(view, checked.retryAfterSeconds);
  if (checked.kind === "locked") return { kind: "error", view, message: LOCKED_MESSAGE, status: 422 };
  return { kind: "error", view, message: checked.reason === "exhausted" ? CALL_PROBLEMS.exhausted : CALL_PROBLEMS.ended, status: 422 };
}

async function phoneProved(deps: FlowDeps, meta: RequestMeta, token: string | undefined, reg: Registration, destination: string, channel: PhoneChannel): Promise<RegistrationResult> {
  // The number proved is the one the verified code went to, whatever the flow says it sent last.
  const { amr, last4 } = phone.describe(channel, destination);
  const moved = await advance(deps.sql, deps, reg, "password_set", "phone_verified", { phoneVerified: destination, phoneProof: amr, keypadCode: null });
  if (!moved) return wherever(deps, token);
  await audit(deps, meta, "registration.phone_verified", reg.user.id, { channel, phoneLast4: last4 });
  return next(moved);
}

/* ───────────────────────────── step 4 (Authenticator App): the app's first code ───────────────────────────── */

/** Verification Code → Verify Code: the first code of the app proves it holds the key; that step is used. */
export async function verifyAppCode(deps: FlowDeps, meta: RequestMeta, token: string | undefined, code: string): Promise<RegistrationResult> {
  const reg = await registrationAt(deps, token, "app");
  if (isMoved(reg)) return reg;
  if (!reg.data.totpKey) throw new Error("an Authenticator App registration without a key");
  const checked = await totp.check(deps, meta, { flow: reg.flow, user: reg.user, purpose: APP_PURPOSE, code, respectLock: true, pendingKey: reg.data.totpKey });
  if (checked.kind === "pending") return notPassed(await fullView(deps, reg, "app"), { kind: "failed", reason: "none", locked: false });
  if (checked.kind !== "passed") {
    const failed = notPassed(await fullView(deps, reg, "app"), checked);
    return failed.kind === "error" && checked.kind === "failed" && checked.reason === "wrong"
      ? { ...failed, message: "That code is not right. Check the code in your authenticator app and try again." }
      : failed;
  }
  const moved = await advance(deps.sql, deps, reg, "password_set", "app_verified", { totpStep: checked.step });
  if (!moved) return wherever(deps, token);
  await audit(deps, meta, "registration.app_verified", reg.user.id);
  return next(moved);
}

/* ───────────────────────────── step 5: Terms of Use, and the account becomes active ───────────────────────────── */

const TERMS_NOT_AGREED = "Check the box to agree to the Terms of Use.";

export async function acceptRegistrationTerms(deps: FlowDeps, meta: RequestMeta, token: string | undefined, agreed: boolean): Promise<RegistrationResult> {
  const reg = await registrationAt(deps, token, "terms");
  if (isMoved(reg)) return reg;
  const method = reg.data.method;
  const from: RegistrationStep = method === "phone" ? "phone_verified" : method === "totp" ? "app_verified" : "password_set";
  if (!method || reg.flow.state !== from) return wherever(deps, token);
  if (!agreed) return { kind: "error", view: viewOf(reg, "terms"), field: "agree", message: TERMS_NOT_AGREED, status: 400 };
  const outcome = await deps.sql.begin(async (tx) => {
    // The app's recovery codes are shown before the session starts (and only then).
    const moved = await advance(tx, deps, reg, from, method === "totp" ? "recovery_codes" : "done");
    if (!moved) return null;
    const destination = method === "phone" ? moved.data.phoneVerified : method === "totp" ? null : reg.user.email;
    // A phone registration always proved a number on its way here (phoneProved); none means a bug.
    if (method === "phone" && !destination) throw new Error("registration reached its terms without a proved phone");
    if (method === "totp" && (!moved.data.totpKey || moved.data.totpStep === undefined)) throw new Error("registration reached its terms without a proved app");
    const factor =
      method === "totp"
        ? { kind: method, destination: null, secret: sealedTotpBytes(moved.data.totpKey!), lastUsedStep: moved.data.totpStep ?? null }
        : { kind: method, destination: destination ?? null };
    const user = await activateUser(tx, deps.clock, {
      userId: reg.user.id,
      factor,
      passwordHash: moved.data.passwordHash ?? null,
      termsVersion: TERMS_VERSION,
    });
    // Disabled (or, for an MFA reset, a user left without any password) while the last step ran.
    if (!user) throw new Unavailable();
    // Nothing from the registration is needed any more; links still in mailboxes must not reopen it.
    await revokeLinkTokens(tx, user.id, LINK_PURPOSES);
    if (reg.data.mode === "mfa_reset") {
      // A new second factor: what was remembered or signed in under the old one ends.
      await forgetRememberTokens(tx, user.id);
      await invalidateUserSessions(tx, user.id);
      await endApplicationSessions(tx, user.id);
    }
    await audit(deps, meta, reg.data.mode === "mfa_reset" ? "registration.mfa_reset_completed" : "registration.completed", user.id, { method, termsVersion: TERMS_VERSION }, tx);
    if (method === "totp") {
      const issued = await recoveryCode.start(deps, meta, {
        flow: moved.flow,
        userId: user.id,
        move: (db, sealed) => advanceFlow(db, deps.clock, moved.flow.id, "recovery_codes", "recovery_codes", { data: { recoveryCodes: sealed } }),
      }, tx);
      if (issued.kind !== "sent") throw new Error("the recovery codes of a flow just moved found it moved");
    } else {
      // The codes belonged to the factors an MFA reset just replaced.
      await deleteRecoveryCodes(tx, user.id);
    }
    return { user, phoneProof: moved.data.phoneProof };
  }).catch((error: unknown) => {
    if (error instanceof Unavailable) return "unavailable" as const;
    throw error;
  });
  if (outcome === "unavailable") return { kind: "next", path: "/register/error?reason=unavailable" };
  if (!outcome) return wherever(deps, token);
  if (method === "totp") return { kind: "next", path: STEP_PATHS.recovery };
  // The emailed code proved the address and the password was set in this browser; a phone adds its own proof.
  const amr = method === "phone" ? ["pwd", "email", outcome.phoneProof ?? "sms", "mfa"] : ["pwd", "email", "mfa"];
  return { kind: "signed_in", user: outcome.user, option: method, amr, authenticatedAt: deps.clock.now(), rememberToken: null, returnTo: reg.data.returnTo ?? null };
}

class Unavailable extends Error {}

export const RECOVERY_NOT_SAVED = "Select the box to confirm you have saved your recovery codes.";

/** Recovery codes → I have saved my recovery codes → Continue: the codes are forgotten, and the session starts. */
export async function confirmRecoveryCodesSaved(deps: FlowDeps, meta: RequestMeta, token: string | undefined, saved: boolean): Promise<RegistrationResult> {
  const reg = await registrationAt(deps, token, "recovery");
  if (isMoved(reg)) return reg;
  if (!saved) return { kind: "error", view: await fullView(deps, reg, "recovery"), field: "saved", message: RECOVERY_NOT_SAVED, status: 400 };
  const moved = await advance(deps.sql, deps, reg, "recovery_codes", "done", { recoveryCodes: null });
  if (!moved) return wherever(deps, token);
  const user = await findUserById(deps.sql, reg.user.id);
  if (!user || user.status !== "active") return { kind: "next", path: "/register/error?reason=unavailable" };
  await audit(deps, meta, "registration.recovery_codes_saved", user.id);
  return { kind: "signed_in", user, option: "totp", amr: ["pwd", "email", "otp", "mfa"], authenticatedAt: deps.clock.now(), rememberToken: null, returnTo: reg.data.returnTo ?? null };
}

/* ───────────────────────────── Registration error → Reset ───────────────────────────── */

/**
 * Reset on the Registration error page. The browser's flow cookie (live, expired or a "failed"
 * holder from a dead link) names the user; a user still registering gets a link valid
 * REGISTRATION_RESET_LINK_TTL at the registered address. Nothing is returned: the page after
 * Reset must read the same whatever happened here.
 */
export async function requestRegistrationReset(deps: FlowDeps, flowToken: string | undefined, meta: RequestMeta): Promise<void> {
  const started = performance.now();
  const userId = await flowHolder(deps.sql, flowToken, "registration");
  const user = userId ? await findUserById(deps.sql, userId) : null;
  if (!user || user.status !== "invited") {
    await audit(deps, meta, "registration.reset_ignored", user?.id ?? null);
  } else {
    await sendLink(deps, user, "registration_reset", meta);
  }
  await evenOut(started);
}

/**
 * Reset and Having trouble logging in? answer no sooner than this after they began, whether they
 * sent a link, counted a failure or did nothing: what they did then never shows in how long the
 * answer took (ASVS 6.3.8). Longer than any of their paths takes, short for a person.
 */
const EVEN_ANSWER_MS = 400;

async function evenOut(startedAt: number): Promise<void> {
  const left = EVEN_ANSWER_MS - (performance.now() - startedAt);
  if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
}

/* ───────────────────────────── Having trouble logging in? ───────────────────────────── */

/**
 * For someone who verified the email and created a password but did not finish: the address and
 * that password bring a resume link (RESUME_LINK_TTL) to the registered address. The same argon2
 * work runs for every input and nothing is returned, so the answer cannot tell accounts apart.
 * Only the client address's attempt limit can refuse, and it refuses everyone alike.
 */
export async function requestResumeLink(
  deps: FlowDeps,
  input: { email: string; password: string },
  meta: RequestMeta,
): Promise<{ ok: true } | { ok: false; reason: "rate_limited"; retryAfterSeconds: number }> {
  const limit = await checkAttemptLimit(deps.sql, deps.clock, { ip: meta.ip, action: "password" });
  if (!limit.ok) return { ok: false, reason: "rate_limited", retryAfterSeconds: limit.retryAfterSeconds };
  const started = performance.now();
  try {
    await resumeIfPasswordMatches(deps, input, meta);
  } finally {
    await evenOut(started);
  }
  return { ok: true };
}

async function resumeIfPasswordMatches(deps: FlowDeps, input: { email: string; password: string }, meta: RequestMeta): Promise<void> {
  const password = input.password.slice(0, MAX_PASSWORD_LENGTH);
  const user = input.email.length <= 254 ? await findUserByEmail(deps.sql, input.email) : null;
  const progress = user && user.status === "invited" ? await latestProgress(deps.sql, user.id) : null;
  const hash = progress?.data.passwordHash;
  const matched = hash ? await verifyPassword(hash, password) : await verifyDummyPassword(password);
  if (!user || !hash) {
    await audit(deps, meta, "registration.resume_ignored", user?.id ?? null);
    return;
  }
  if (!matched || isLocked(user, deps.clock)) {
    await audit(deps, meta, "registration.resume_password_failed", user.id);
    if (!matched) {
      const { locked } = await recordFailure(deps.sql, deps.clock, user.id);
      if (locked) await audit(deps, meta, "signin.locked", user.id, { during: "resume" });
    }
    return;
  }
  await recordSuccess(deps.sql, user.id);
  await sendLink(deps, user, "resume", meta);
}

/** A registration_reset or resume link to the registered address, within the send limits. */
async function sendLink(deps: FlowDeps, user: User, purpose: "registration_reset" | "resume", meta: RequestMeta): Promise<void> {
  const limit = await checkSendLimits(deps.sql, deps.clock, { userId: user.id, channel: "email", destination: user.email, ip: meta.ip });
  if (!limit.ok) {
    await audit(deps, meta, "registration.send_limited", user.id, { channel: "email", purpose });
    return;
  }
  const ttl = purpose === "resume" ? deps.config.ttl.resumeLink : deps.config.ttl.registrationResetLink;
  await deps.sql.begin(async (tx) => {
    const token = await createLinkToken(tx, deps.clock, { userId: user.id, purpose, ttlMs: ttl });
    const link = `${deps.config.publicUrl}/register/link/${token}`;
    const text = purpose === "resume" ? resumeLink : registrationResetLink;
    await deps.outbox.enqueue(tx, { channel: "email", to: user.email, ...text(deps.config.portalName, link, describeDuration(ttl)) });
    await audit(deps, meta, purpose === "resume" ? "registration.resume_sent" : "registration.reset_sent", user.id, {}, tx);
  });
  deps.outbox.kick();
}
