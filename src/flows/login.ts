import type { Db, Sql } from "../db/client.ts";
import { generateTokenPair } from "../auth/tokens.ts";
import type { Clock } from "../clock.ts";
import { MINUTE } from "../clock.ts";
import type { Config } from "../config.ts";
import type { Outbox } from "../delivery/outbox.ts";
import { advanceFlow, createFlow, deleteFlow, loadFlow, type Flow, type FlowKind } from "./flow-store.ts";
import { findUserById, maskPhone, normalizeEmail, userColumns, type LoginOption, type User } from "../auth/users.ts";
import { hashPassword, passwordNeedsRehash, verifyDummyPassword, verifyPassword } from "../auth/passwords.ts";
import { createCode, takeConfirmedVoiceCode, verifyCode, type CodeChannel } from "../auth/codes.ts";
import { checkAttemptLimit, checkSendLimits, refundAttempt } from "../auth/rate-limit.ts";
import { isLocked, recordFailure, recordSuccess } from "../auth/lockout.ts";
import { appendAudit, listAudit } from "../auth/audit.ts";
import { createRememberToken, deleteRememberToken, forgetRememberTokens, validateRememberToken } from "../auth/remember-me.ts";
import { describeDuration, emailLoginCode, smsCode, voiceCallIntro } from "../delivery/messages.ts";
import { TERMS_VERSION } from "../terms.ts";

/**
 * Sign-in (Customer/Provider): a stored flow bound to the login option and the Remember Me box
 * the person pressed, moved step by step with guarded UPDATEs. No session exists before the
 * second factor passed; the flow token is replaced once the password was right (a new token at
 * each step that raises trust), and the route starts a brand-new session at the end.
 *
 *   credentials ─password right─▶ (new flow) phone_choose ─Send Code─▶ phone_code ─▶ [terms] ─▶ signed in
 *                                            phone_choose ─Call Me──▶ phone_call ─▶ [terms] ─▶ signed in
 *                                            email_send ─▶ email_code ─▶ email_verified ─▶ [terms] ─▶ signed in
 *                                            use_email (an email-only account pressed Login with Phone)
 */
export type LoginState =
  | "credentials"
  | "use_email"
  | "phone_choose"
  | "phone_code"
  | "phone_call"
  | "email_send"
  | "email_code"
  | "email_verified"
  | "terms"
  // Terminal: the row is deleted right after; a racing second request finds it gone.
  | "rotated"
  | "done";

/** Long enough to fetch a code from a phone or mailbox; each step's own code has its own, shorter life. */
export const LOGIN_FLOW_TTL = 20 * MINUTE;
export const LOGIN_CODE_PURPOSE = "login";

/** What the flows need from the app (structurally the same as AppDeps, without the web). */
export interface FlowDeps {
  sql: Sql;
  clock: Clock;
  config: Config;
  outbox: Outbox;
}

/** Who asked: for rate limits and the audit log. `rememberToken` is the browser's Remember Me token, if any. */
export interface RequestMeta {
  ip: string;
  userAgent: string;
  rememberToken?: string;
}

const STEP_PATHS: Record<Exclude<LoginState, "rotated" | "done">, string> = {
  credentials: "/login/credentials",
  use_email: "/login/use-email",
  phone_choose: "/login/phone",
  phone_code: "/login/phone/code",
  phone_call: "/login/phone/call",
  email_send: "/login/email",
  email_code: "/login/email/code",
  email_verified: "/login/email/verified",
  terms: "/login/terms",
};

export const PHONE_STATES: LoginState[] = ["phone_choose", "phone_code", "phone_call"];
export const EMAIL_SEND_STATES: LoginState[] = ["email_send", "email_code"];

/** The URL of the step a flow is on (a flow that ended, or none, means the sign-in page). */
export function loginStepPath(state: string | null | undefined): string {
  return (state && STEP_PATHS[state as keyof typeof STEP_PATHS]) || "/login";
}

/** What a step's page shows, from the flow (no database read per page view). */
export interface LoginView {
  state: LoginState;
  option: LoginOption;
  remember: boolean;
  email: string;
  maskedPhone: string;
  /** Email code: seconds until it expires (0 once it has), null before one was sent. */
  secondsLeft: number | null;
  /** Call Me: the code the person keys in during the call. */
  keypadCode: string | null;
  /** Email code: the code's life in words ("30 seconds"), for the explanation. */
  codeLifetime: string;
  /** When the flow arrived through Remember Me (only the Terms of Use step is left). */
  remembered: boolean;
}

/** What a step of sign-in (and, with its own view, of the password reset) comes to. */
export type StepResult<V = LoginView> =
  /** No such flow, or it is on another step: 303 there (the sign-in page when it is gone). */
  | { kind: "moved"; path: string; expired?: boolean }
  /** Moved on: 303 to `path`; a `token` replaces the flow cookie. */
  | { kind: "next"; path: string; token?: string; clearRemember?: boolean }
  /** The step again, with a message: `field` names the input it belongs to (else the form). */
  | { kind: "error"; view: V; message: string; field?: string; status: 400 | 401 | 409 | 422 | 429 }
  /** A poll that found nothing new. */
  | { kind: "pending"; view: V }
  /** Every factor passed: the route starts the session and writes the Remember Me cookie when a token is given. */
  | { kind: "signed_in"; user: User; option: LoginOption; rememberToken: string | null; clearRemember?: boolean };

interface LoginData {
  email?: string;
  maskedPhone?: string;
  codeExpiresAt?: string;
  keypadCode?: string;
  remembered?: boolean;
}

function data(flow: Flow): LoginData {
  return flow.data as LoginData;
}

export function loginView(flow: Flow, clock: Clock, config: Config): LoginView {
  const d = data(flow);
  const expires = d.codeExpiresAt ? new Date(d.codeExpiresAt).getTime() : null;
  return {
    state: flow.state as LoginState,
    option: flow.loginOption ?? "email",
    remember: flow.remember,
    email: d.email ?? "",
    maskedPhone: d.maskedPhone ?? "",
    secondsLeft: expires === null ? null : Math.max(0, Math.ceil((expires - clock.now().getTime()) / 1000)),
    keypadCode: flow.state === "phone_call" ? (d.keypadCode ?? null) : null,
    codeLifetime: describeDuration(config.ttl.emailLoginCode),
    remembered: d.remembered === true,
  };
}

export function isStaffEmail(config: Config, email: string): boolean {
  const domain = normalizeEmail(email).split("@").pop() ?? "";
  return config.staffEmailDomains.some((staff) => domain === staff || domain.endsWith(`.${staff}`));
}

/** An audit event of this request (its address and browser). */
export function audit(deps: FlowDeps, meta: RequestMeta, event: string, userId: string | null, detail: Record<string, unknown> = {}) {
  return auditIn(deps.sql, deps, meta, event, userId, detail);
}

/** The same, inside the step's transaction. */
function auditIn(db: Db, deps: FlowDeps, meta: RequestMeta, event: string, userId: string | null, detail: Record<string, unknown> = {}) {
  return appendAudit(db, deps.clock, { event, userId, ip: meta.ip, userAgent: meta.userAgent, detail });
}

/** Where the browser goes instead of the step it asked for: the step its flow is on, or (no live flow) the first page. */
export type Moved = { kind: "moved"; path: string; expired?: boolean };

/** A flow taken one step at a time by the browser (sign-in, password reset): its stored kind, its first page, its step URLs. */
export interface SteppedFlow<S extends string> {
  kind: FlowKind;
  start: string;
  stepPath(state: string | null | undefined): string;
  /** Never set: it ties the flow to its state names, so flowAt and flowAndUser refuse a name of another flow. */
  readonly states?: readonly S[];
}

const LOGIN_FLOW: SteppedFlow<LoginState> = { kind: "login", start: "/login", stepPath: loginStepPath };

/** Loads the flow and checks it is on one of `states`; otherwise where the browser should go instead. */
export async function flowAt<S extends string>(deps: FlowDeps, of: SteppedFlow<S>, token: string | undefined, states: readonly NoInfer<S>[]): Promise<Flow | Moved> {
  const flow = await loadFlow(deps.sql, deps.clock, token, of.kind);
  if (!flow) return { kind: "moved", path: of.start, expired: token !== undefined };
  if (!(states as readonly string[]).includes(flow.state)) return { kind: "moved", path: of.stepPath(flow.state) };
  return flow;
}

export function isMoved(value: Flow | Moved): value is Moved {
  return value.kind === "moved";
}

/** The flow and its account, for a step after the password or the emailed code; a gone or disabled account ends the flow. */
export async function flowAndUser<S extends string>(
  deps: FlowDeps,
  of: SteppedFlow<S>,
  token: string | undefined,
  states: readonly NoInfer<S>[],
): Promise<{ flow: Flow; user: User } | Moved> {
  const flow = await flowAt(deps, of, token, states);
  if (isMoved(flow)) return flow;
  const user = flow.userId ? await findUserById(deps.sql, flow.userId) : null;
  if (!user || user.status !== "active") {
    await deleteFlow(deps.sql, flow.id);
    return { kind: "moved", path: of.start, expired: true };
  }
  return { flow, user };
}

/** A GET of a step: the view when the flow is on one of `states`, else where to go. */
export async function showLoginStep(
  deps: FlowDeps,
  token: string | undefined,
  states: LoginState[],
): Promise<{ kind: "show"; view: LoginView } | { kind: "moved"; path: string; expired?: boolean }> {
  const flow = await flowAt(deps, LOGIN_FLOW, token, states);
  if (isMoved(flow)) return flow;
  return { kind: "show", view: loginView(flow, deps.clock, deps.config) };
}

/**
 * A Login button was pressed. Box checked and a live Remember Me token for THIS option in the
 * browser: signed in at once. Box unchecked: the browser's token is forgotten (row and cookie).
 * Otherwise a new flow asks for everything.
 */
export async function startLogin(
  deps: FlowDeps,
  meta: RequestMeta,
  input: { option: LoginOption; remember: boolean },
): Promise<StepResult | StartRefused> {
  // Each press stores a flow before anyone is known: per address, so a script cannot fill the
  // flows table (and no audit row for a refusal, which would fill that table instead).
  const limit = await checkAttemptLimit(deps.sql, deps.clock, { ip: meta.ip, action: "start", rule: deps.config.limits.signInStarts });
  if (!limit.ok) return { kind: "start_limited", message: START_LIMITED, retryAfterSeconds: limit.retryAfterSeconds };
  const enabled = deps.config.ttl.rememberMe > 0;
  const remember = enabled && input.remember;
  let clearRemember = false;
  if (meta.rememberToken && !remember) {
    await deleteRememberToken(deps.sql, meta.rememberToken);
    clearRemember = true;
  }
  if (remember && meta.rememberToken) {
    const remembered = await validateRememberToken(deps.sql, deps.clock, meta.rememberToken, input.option);
    const user = remembered ? await findUserById(deps.sql, remembered.userId) : null;
    if (user && user.status === "active") {
      if (user.termsVersion !== TERMS_VERSION) {
        const { token } = await createFlow(deps.sql, deps.clock, {
          kind: "login",
          userId: user.id,
          state: "terms",
          ttlMs: LOGIN_FLOW_TTL,
          loginOption: input.option,
          remember: true,
          data: { email: user.email, maskedPhone: maskPhone(user.phoneE164), remembered: true },
        });
        return { kind: "next", path: STEP_PATHS.terms, token };
      }
      await audit(deps, meta, "signin.remembered", user.id, { option: input.option });
      return { kind: "signed_in", user, option: input.option, rememberToken: null };
    }
  }
  const { token } = await createFlow(deps.sql, deps.clock, {
    kind: "login",
    userId: null,
    state: "credentials",
    ttlMs: LOGIN_FLOW_TTL,
    loginOption: input.option,
    remember,
  });
  return { kind: "next", path: STEP_PATHS.credentials, token, clearRemember };
}

export const START_LIMITED = "Too many sign-in attempts from this network. Wait a minute and try again.";

/** Login with Phone / Login with Email pressed too often from one address (the route answers 429). */
export interface StartRefused {
  kind: "start_limited";
  message: string;
  retryAfterSeconds: number;
}

const NO_USER = "00000000-0000-0000-0000-000000000000";

export const SIGN_IN_REFUSED = "The email address or password is not right. Check both and try again.";
export const STAFF_REFUSED =
  "This is a staff email address. Staff do not sign in here: use the staff sign-in instead. This page is for customers and providers.";

/**
 * Email Address + Password → Sign in. Every refusal (unknown address, wrong password, locked,
 * disabled, registration not finished) answers the same message and status after the same
 * argon2 work, so the answer tells nothing about the account. A right password replaces the
 * flow (new id and cookie token) before the second factor.
 */
export async function submitCredentials(
  deps: FlowDeps,
  meta: RequestMeta,
  token: string | undefined,
  input: { email: string; password: string },
): Promise<StepResult> {
  const flow = await flowAt(deps, LOGIN_FLOW, token, ["credentials"]);
  if (isMoved(flow)) return flow;
  const view = { ...loginView(flow, deps.clock, deps.config), email: input.email };
  const option = flow.loginOption ?? "email";
  if (isStaffEmail(deps.config, input.email)) {
    await audit(deps, meta, "signin.staff_refused", null, { option });
    return { kind: "error", view, field: "email", message: STAFF_REFUSED, status: 400 };
  }
  // Failures only (SIGNIN_FAILURE_LIMIT): a right password gives its token back below, so a
  // clinic's staff behind one address are not held back by each other's sign-ins.
  const attempt = { ip: meta.ip, action: "signin_password", rule: deps.config.limits.signInFailures };
  const limit = await checkAttemptLimit(deps.sql, deps.clock, attempt);
  if (!limit.ok) {
    await audit(deps, meta, "signin.rate_limited", null, { option });
    return { kind: "error", view, message: tooManyAttempts(limit.retryAfterSeconds), status: 429 };
  }
  const refused: StepResult = { kind: "error", view, message: SIGN_IN_REFUSED, status: 401 };

  // One read and, for every refusal, one write transaction, whether or not the address has an
  // account, so neither the work nor the commits tell the two apart (ASVS 6.3.8).
  const [found] = await deps.sql<(User & { passwordHash: string | null })[]>`
    select ${userColumns(deps.sql)}, password_hash as "passwordHash" from users where email_normalized = ${normalizeEmail(input.email)}`;
  const { passwordHash = null, ...account } = found ?? {};
  const user = found ? (account as User) : null;
  const refuse = async (reason: string, failure: boolean) => {
    await deps.sql.begin(async (tx) => {
      let locked = false;
      if (failure && user) locked = (await recordFailure(tx, deps.clock, user.id)).locked;
      // Stands in for the failure count's UPDATE (an index lookup that changes nothing).
      else await tx`update users set failed_attempts = failed_attempts where id = ${NO_USER}`;
      await appendAudit(tx, deps.clock, { event: "signin.password_failed", userId: user?.id ?? null, ip: meta.ip, userAgent: meta.userAgent, detail: { option, reason } });
      if (locked) await appendAudit(tx, deps.clock, { event: "signin.locked", userId: user!.id, ip: meta.ip, userAgent: meta.userAgent, detail: { option } });
    });
    return refused;
  };
  if (!user || !passwordHash || user.status !== "active") {
    if (passwordHash) await verifyPassword(passwordHash, input.password);
    else await verifyDummyPassword(input.password);
    return refuse(!user ? "unknown_account" : user.status === "disabled" ? "disabled" : "not_registered", false);
  }
  if (isLocked(user, deps.clock)) {
    // The same argon2 work as any other answer, and the same answer: a lock must not be visible.
    await verifyPassword(passwordHash, input.password);
    return refuse("locked", false);
  }
  if (!(await verifyPassword(passwordHash, input.password))) return refuse("wrong_password", true);
  await refundAttempt(deps.sql, deps.clock, attempt);
  // Hashed before the transaction: argon2 must not hold a connection and row locks.
  const rehashed = passwordNeedsRehash(passwordHash) ? await hashPassword(input.password) : null;

  const next: LoginState =
    option === "email" ? "email_send" : user.mfaMethod === "phone" && user.phoneE164 ? "phone_choose" : "use_email";
  // One transaction, like a refusal's: the rotation, the rehash and the audit rows commit together.
  const rotated = await deps.sql.begin(async (tx) => {
    const token = await rotateCredentialsFlow(tx, deps.clock, flow.id, {
      userId: user.id,
      state: next,
      loginOption: option,
      data: { email: user.email, maskedPhone: maskPhone(user.phoneE164) },
    });
    if (!token) return null;
    const at = { ip: meta.ip, userAgent: meta.userAgent };
    if (rehashed) {
      await tx`update users set password_hash = ${rehashed}, updated_at = ${deps.clock.now()} where id = ${user.id}`;
      await appendAudit(tx, deps.clock, { event: "password.rehashed", userId: user.id, ...at });
    }
    await appendAudit(tx, deps.clock, { event: "signin.password_verified", userId: user.id, ...at, detail: { option } });
    if (next === "use_email") await appendAudit(tx, deps.clock, { event: "signin.wrong_option", userId: user.id, ...at, detail: { option } });
    return token;
  });
  if (!rotated) return { kind: "moved", path: "/login" };
  return { kind: "next", path: STEP_PATHS[next], token: rotated };
}

/**
 * Replaces a login flow still on "credentials" by a new one (new id and secret, so a new cookie
 * token) in ONE statement: the guarded delete is the old flow's claim (a racing second right
 * password finds it gone and gets null), the insert takes its remember box from the deleted row.
 */
async function rotateCredentialsFlow(
  db: Db,
  clock: Clock,
  flowId: string,
  input: { userId: string; state: LoginState; loginOption: LoginOption; data: Record<string, unknown> },
): Promise<string | null> {
  const pair = generateTokenPair();
  const now = clock.now();
  const expiresAt = new Date(now.getTime() + LOGIN_FLOW_TTL);
  const rows = await db`
    with old as (
      delete from flows where id = ${flowId} and kind = 'login' and state = 'credentials' and expires_at > ${now}
      returning remember)
    insert into flows (id, secret_hash, kind, user_id, state, login_option, remember, data, created_at, updated_at, expires_at)
    select ${pair.id}, ${pair.secretHash}, 'login', ${input.userId}, ${input.state}, ${input.loginOption}, old.remember,
      ${db.json(input.data as never)}, ${now}, ${now}, ${expiresAt}
    from old
    returning id`;
  return rows.length === 1 ? pair.token : null;
}

export function tooManyAttempts(seconds: number): string {
  return `Too many attempts from this network. Wait ${describeWait(seconds)} and try again.`;
}

export function tooManySends(seconds: number): string {
  return `Too many codes were sent. Wait ${describeWait(seconds)} before asking for another.`;
}

function describeWait(seconds: number): string {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minutes`;
}

/** An email-only account pressed Login with Phone: it may go on with the email code instead (the password was right). */
export async function switchToEmail(deps: FlowDeps, meta: RequestMeta, token: string | undefined): Promise<StepResult> {
  const flow = await flowAt(deps, LOGIN_FLOW, token, ["use_email"]);
  if (isMoved(flow)) return flow;
  const moved = await advanceFlow(deps.sql, deps.clock, flow.id, "use_email", "email_send", { loginOption: "email" });
  if (!moved) return { kind: "moved", path: "/login" };
  await audit(deps, meta, "signin.option_switched", flow.userId, { option: "email" });
  return { kind: "next", path: STEP_PATHS.email_send };
}

// ── The phone factor, shared with the password reset ─────────────────────────────────────────

export interface PhoneSteps {
  choose: string;
  code: string;
  call: string;
}

export type PhoneSendOutcome =
  | { kind: "sent"; flow: Flow }
  | { kind: "moved" }
  | { kind: "rate_limited"; retryAfterSeconds: number }
  | { kind: "no_phone" };

/**
 * Send Code (SMS) or Call Me: a new code for the flow (the earlier one dies), the message in the
 * outbox in the same transaction, and the flow moved to the code or call step.
 */
export async function sendPhoneFactor(
  deps: FlowDeps,
  meta: RequestMeta,
  flow: Flow,
  user: User,
  input: { channel: "sms" | "voice"; purpose: string; steps: PhoneSteps },
): Promise<PhoneSendOutcome> {
  if (!user.phoneE164) return { kind: "no_phone" };
  const phone = user.phoneE164;
  const limit = await checkSendLimits(deps.sql, deps.clock, { userId: user.id, channel: input.channel, destination: phone, ip: meta.ip, perAddress: deps.config.limits.signInSends });
  if (!limit.ok) {
    await audit(deps, meta, "code.send_limited", user.id, { purpose: input.purpose, channel: input.channel });
    return { kind: "rate_limited", retryAfterSeconds: limit.retryAfterSeconds };
  }
  const from = [input.steps.choose, input.steps.code, input.steps.call];
  const target = input.channel === "sms" ? input.steps.code : input.steps.call;
  const moved = await deps.sql.begin(async (tx) => {
    // The guarded move first: a second tab or a double submit finds the row moved and sends nothing.
    const next = await advanceFlow(tx, deps.clock, flow.id, from, target, { data: { keypadCode: null } });
    if (!next) return null;
    const ttlMs = input.channel === "sms" ? deps.config.ttl.smsCode : deps.config.ttl.voiceCall;
    const code = await createCode(tx, deps.clock, deps.config.secretKey, {
      flowId: flow.id,
      userId: user.id,
      purpose: input.purpose,
      channel: input.channel,
      destination: phone,
      ttlMs,
    });
    if (input.channel === "sms") {
      await deps.outbox.enqueue(tx, { channel: "sms", to: phone, ...smsCode(code.code, describeDuration(ttlMs)) });
      return next;
    }
    await deps.outbox.enqueue(tx, { channel: "voice", to: phone, codeId: code.id, ...voiceCallIntro(deps.config.portalName) });
    // The keypad code is shown on the screen that asked for the call (whoever holds this browser
    // sees it anyway); what proves the phone is that the call to it was answered with it.
    return advanceFlow(tx, deps.clock, flow.id, target, target, { data: { keypadCode: code.code } });
  });
  if (!moved) return { kind: "moved" };
  deps.outbox.kick();
  await audit(deps, meta, "code.sent", user.id, { purpose: input.purpose, channel: input.channel });
  return { kind: "sent", flow: moved };
}

export type CodeCheckOutcome =
  | { kind: "passed" }
  | { kind: "failed"; message: string; status: 400 | 401 | 429; reason: "wrong" | "expired" | "exhausted" | "none" | "rate_limited" }
  | { kind: "pending" };

const CODE_MESSAGES = {
  wrong: "That code is not right. Check it and try again.",
  expired: "That code has expired. Ask for a new code.",
  exhausted: "That code was tried too many times. Ask for a new code.",
  none: "There is no code to check. Ask for a new code.",
} as const;

export function codeFailureMessage(reason: keyof typeof CODE_MESSAGES): string {
  return CODE_MESSAGES[reason];
}

/**
 * Checks a typed code (SMS or email) for the flow. A wrong code counts toward the account's
 * lockout; while the account is locked (and `respectLock`), no code is even tried and the answer
 * is that of a wrong code.
 */
export async function checkTypedCode(
  deps: FlowDeps,
  meta: RequestMeta,
  flow: Flow,
  user: User,
  input: { code: string; purpose: string; channel: CodeChannel; respectLock: boolean },
  /** The step's transaction, when the caller has one (every write of the check commits with the step's). */
  db: Db = deps.sql,
): Promise<CodeCheckOutcome> {
  const attempt = { ip: meta.ip, action: "signin_code", rule: deps.config.limits.signInFailures };
  const limit = await checkAttemptLimit(db, deps.clock, attempt);
  if (!limit.ok) {
    await auditIn(db, deps, meta, "code.rate_limited", user.id, { purpose: input.purpose, channel: input.channel });
    return { kind: "failed", message: tooManyAttempts(limit.retryAfterSeconds), status: 429, reason: "rate_limited" };
  }
  if (input.respectLock && isLocked(user, deps.clock)) {
    await auditIn(db, deps, meta, "code.failed", user.id, { purpose: input.purpose, channel: input.channel, reason: "locked" });
    return { kind: "failed", message: CODE_MESSAGES.wrong, status: 401, reason: "wrong" };
  }
  const result = await verifyCode(db, deps.clock, deps.config.secretKey, { flowId: flow.id, purpose: input.purpose, code: input.code });
  if (result.ok) {
    await refundAttempt(db, deps.clock, attempt); // a right code is no failure
    return { kind: "passed" };
  }
  const { locked } = await recordFailure(db, deps.clock, user.id);
  await auditIn(db, deps, meta, "code.failed", user.id, { purpose: input.purpose, channel: input.channel, reason: result.reason });
  if (locked) await auditIn(db, deps, meta, "signin.locked", user.id, { purpose: input.purpose });
  return { kind: "failed", message: CODE_MESSAGES[result.reason], status: result.reason === "wrong" ? 401 : 400, reason: result.reason };
}

/** The Call Me step's poll or Continue: passed once the call confirmed the keypad code. */
export async function checkCall(
  deps: FlowDeps,
  meta: RequestMeta,
  flow: Flow,
  user: User,
  input: { purpose: string; respectLock: boolean },
): Promise<CodeCheckOutcome> {
  if (input.respectLock && isLocked(user, deps.clock)) {
    return { kind: "failed", message: "The call could not verify your phone. Choose Call Me or Send Code to try again.", status: 401, reason: "wrong" };
  }
  const result = await takeConfirmedVoiceCode(deps.sql, deps.clock, { flowId: flow.id, purpose: input.purpose });
  if (result.ok) return { kind: "passed" };
  if (result.reason === "pending") return { kind: "pending" };
  await audit(deps, meta, "code.failed", user.id, { purpose: input.purpose, channel: "voice", reason: result.reason });
  const message =
    result.reason === "expired"
      ? "The call was not answered with the code in time. Choose Call Me to be called again, or Send Code."
      : result.reason === "exhausted"
        ? "The code was keyed in wrong too many times. Choose Call Me to be called again, or Send Code."
        : "There is no call to wait for. Choose Call Me or Send Code.";
  return { kind: "failed", message, status: 400, reason: result.reason };
}

// ── Login steps ──────────────────────────────────────────────────────────────────────────────

const LOGIN_PHONE_STEPS: PhoneSteps = { choose: "phone_choose", code: "phone_code", call: "phone_call" };

/** Send Code / Call Me (also Send New Code and Call Me again from the code and call steps). */
export async function sendLoginPhoneCode(
  deps: FlowDeps,
  meta: RequestMeta,
  token: string | undefined,
  channel: "sms" | "voice",
): Promise<StepResult> {
  const found = await flowAndUser(deps, LOGIN_FLOW, token, PHONE_STATES);
  if ("kind" in found) return found;
  const { flow, user } = found;
  const outcome = await sendPhoneFactor(deps, meta, flow, user, { channel, purpose: LOGIN_CODE_PURPOSE, steps: LOGIN_PHONE_STEPS });
  if (outcome.kind === "sent") return { kind: "next", path: loginStepPath(outcome.flow.state) };
  if (outcome.kind === "rate_limited") {
    return { kind: "error", view: loginView(flow, deps.clock, deps.config), message: tooManySends(outcome.retryAfterSeconds), status: 429 };
  }
  return { kind: "moved", path: outcome.kind === "no_phone" ? STEP_PATHS.use_email : "/login" };
}

/** Verification Code → Verify Code (SMS). */
export async function verifyLoginSmsCode(deps: FlowDeps, meta: RequestMeta, token: string | undefined, code: string): Promise<StepResult> {
  const found = await flowAndUser(deps, LOGIN_FLOW, token, ["phone_code"]);
  if ("kind" in found) return found;
  const { flow, user } = found;
  // One transaction: the attempt, the code's use, the flow's end and the sign-in's writes.
  return deps.sql.begin(async (tx): Promise<StepResult> => {
    const outcome = await checkTypedCode(deps, meta, flow, user, { code, purpose: LOGIN_CODE_PURPOSE, channel: "sms", respectLock: true }, tx);
    if (outcome.kind === "failed") {
      return { kind: "error", view: loginView(flow, deps.clock, deps.config), field: "code", message: outcome.message, status: outcome.status };
    }
    return finishLogin(tx, deps, meta, flow, user, "phone_code");
  });
}

/** Call Me: the poll (every 2 s with htmx) and the Continue button (without JavaScript). */
export async function checkLoginCall(deps: FlowDeps, meta: RequestMeta, token: string | undefined): Promise<StepResult> {
  const found = await flowAndUser(deps, LOGIN_FLOW, token, ["phone_call"]);
  if ("kind" in found) return found;
  const { flow, user } = found;
  const outcome = await checkCall(deps, meta, flow, user, { purpose: LOGIN_CODE_PURPOSE, respectLock: true });
  if (outcome.kind === "pending") return { kind: "pending", view: loginView(flow, deps.clock, deps.config) };
  if (outcome.kind === "failed") {
    const back = await advanceFlow(deps.sql, deps.clock, flow.id, "phone_call", "phone_choose", { data: { keypadCode: null } });
    const view = loginView(back ?? flow, deps.clock, deps.config);
    return { kind: "error", view, message: outcome.message, status: outcome.status };
  }
  return deps.sql.begin((tx) => finishLogin(tx, deps, meta, flow, user, "phone_call"));
}

/** Login with Email: Send Verification Code (and Send New Code). The code lives EMAIL_LOGIN_CODE_TTL. */
export async function sendLoginEmailCode(deps: FlowDeps, meta: RequestMeta, token: string | undefined): Promise<StepResult> {
  const found = await flowAndUser(deps, LOGIN_FLOW, token, EMAIL_SEND_STATES);
  if ("kind" in found) return found;
  const { flow, user } = found;
  const limit = await checkSendLimits(deps.sql, deps.clock, { userId: user.id, channel: "email", destination: user.email, ip: meta.ip, perAddress: deps.config.limits.signInSends });
  if (!limit.ok) {
    await audit(deps, meta, "code.send_limited", user.id, { purpose: LOGIN_CODE_PURPOSE, channel: "email" });
    return { kind: "error", view: loginView(flow, deps.clock, deps.config), message: tooManySends(limit.retryAfterSeconds), status: 429 };
  }
  const ttlMs = deps.config.ttl.emailLoginCode;
  const moved = await deps.sql.begin(async (tx) => {
    const expiresAt = new Date(deps.clock.now().getTime() + ttlMs).toISOString();
    const next = await advanceFlow(tx, deps.clock, flow.id, EMAIL_SEND_STATES, "email_code", { data: { codeExpiresAt: expiresAt } });
    if (!next) return null;
    const code = await createCode(tx, deps.clock, deps.config.secretKey, {
      flowId: flow.id,
      userId: user.id,
      purpose: LOGIN_CODE_PURPOSE,
      channel: "email",
      destination: user.email,
      ttlMs,
    });
    await deps.outbox.enqueue(tx, { channel: "email", to: user.email, ...emailLoginCode(code.code, describeDuration(ttlMs), deps.config.portalName) });
    return next;
  });
  if (!moved) return { kind: "moved", path: "/login" };
  deps.outbox.kick();
  await audit(deps, meta, "code.sent", user.id, { purpose: LOGIN_CODE_PURPOSE, channel: "email" });
  return { kind: "next", path: STEP_PATHS.email_code };
}

/** Verification Code → Verify Code (email): on to the confirmation. */
export async function verifyLoginEmailCode(deps: FlowDeps, meta: RequestMeta, token: string | undefined, code: string): Promise<StepResult> {
  const found = await flowAndUser(deps, LOGIN_FLOW, token, ["email_code"]);
  if ("kind" in found) return found;
  const { flow, user } = found;
  // One transaction: the attempt limit, the code's attempt and use (or the failure count) and the move.
  return deps.sql.begin(async (tx): Promise<StepResult> => {
    const outcome = await checkTypedCode(deps, meta, flow, user, { code, purpose: LOGIN_CODE_PURPOSE, channel: "email", respectLock: true }, tx);
    if (outcome.kind === "failed") {
      return { kind: "error", view: loginView(flow, deps.clock, deps.config), field: "code", message: outcome.message, status: outcome.status };
    }
    const moved = await advanceFlow(tx, deps.clock, flow.id, "email_code", "email_verified", { data: { codeExpiresAt: null } });
    if (!moved) return { kind: "moved", path: "/login" };
    return { kind: "next", path: STEP_PATHS.email_verified };
  });
}

/** The confirmation's Continue. */
export async function continueAfterEmail(deps: FlowDeps, meta: RequestMeta, token: string | undefined): Promise<StepResult> {
  const found = await flowAndUser(deps, LOGIN_FLOW, token, ["email_verified"]);
  if ("kind" in found) return found;
  return deps.sql.begin((tx) => finishLogin(tx, deps, meta, found.flow, found.user, "email_verified"));
}

export const TERMS_REQUIRED = "Select the box to agree to the Terms of Use.";

/** Terms of Use → Continue, when the accepted version is not the current one. */
export async function acceptLoginTerms(deps: FlowDeps, meta: RequestMeta, token: string | undefined, agreed: boolean): Promise<StepResult> {
  const found = await flowAndUser(deps, LOGIN_FLOW, token, ["terms"]);
  if ("kind" in found) return found;
  const { flow, user } = found;
  if (!agreed) return { kind: "error", view: loginView(flow, deps.clock, deps.config), field: "agree", message: TERMS_REQUIRED, status: 400 };
  await acceptTerms(deps, meta, user.id);
  return deps.sql.begin((tx) => finishLogin(tx, deps, meta, flow, { ...user, termsVersion: TERMS_VERSION }, "terms"));
}

/** Stores the acceptance of the current Terms of Use (shared with the password reset). */
export async function acceptTerms(deps: FlowDeps, meta: RequestMeta, userId: string): Promise<void> {
  const now = deps.clock.now();
  await deps.sql`update users set terms_version = ${TERMS_VERSION}, terms_accepted_at = ${now}, updated_at = ${now} where id = ${userId}`;
  await audit(deps, meta, "terms.accepted", userId, { version: TERMS_VERSION });
}

/**
 * Every factor passed. The Terms of Use come first when the accepted version is old. Then the
 * flow ends (guarded, so a double submit signs in once), the failure count restarts, and with
 * Remember Me a token for this option replaces the browser's earlier one.
 */
async function finishLogin(db: Db, deps: FlowDeps, meta: RequestMeta, flow: Flow, user: User, from: LoginState): Promise<StepResult> {
  if (user.termsVersion !== TERMS_VERSION) {
    const moved = await advanceFlow(db, deps.clock, flow.id, from, "terms", { data: { keypadCode: null } });
    return moved ? { kind: "next", path: STEP_PATHS.terms } : { kind: "moved", path: "/login" };
  }
  const option = flow.loginOption ?? "email";
  const remembered = data(flow).remembered === true;
  // The guarded delete is the flow's end: of two racing requests only one finds the row.
  const ended = await db`
    delete from flows where id = ${flow.id} and state = ${from} and expires_at > ${deps.clock.now()} returning id`;
  if (ended.length === 0) return { kind: "moved", path: "/login" };
  if (remembered) {
    await auditIn(db, deps, meta, "signin.remembered", user.id, { option });
    return { kind: "signed_in", user, option, rememberToken: null };
  }
  await recordSuccess(db, user.id);
  let rememberToken: string | null = null;
  if (flow.remember && deps.config.ttl.rememberMe > 0) {
    if (meta.rememberToken) await deleteRememberToken(db, meta.rememberToken);
    rememberToken = await createRememberToken(db, deps.clock, user.id, option, deps.config.ttl.rememberMe);
  }
  await auditIn(db, deps, meta, "signin.success", user.id, { option, remember: rememberToken !== null });
  return { kind: "signed_in", user, option, rememberToken };
}

/**
 * Sign out: the route ends the session; here every Remember Me of the person ends too (a shared
 * computer must not sign them in again from another tab's cookie), or, with nobody signed in,
 * the browser's own token.
 */
export async function signOut(deps: FlowDeps, meta: RequestMeta, user: User | null): Promise<void> {
  if (user) {
    await forgetRememberTokens(deps.sql, user.id);
    await audit(deps, meta, "signout", user.id);
  } else if (meta.rememberToken) {
    await deleteRememberToken(deps.sql, meta.rememberToken);
  }
}

export interface SignInRecord {
  at: Date;
  option: LoginOption | null;
  ip: string | null;
  how: "credentials" | "remembered" | "password_reset";
}

/** The person's last sign-ins (completed ones only), newest first, for the home page. */
export async function recentSignIns(deps: Pick<FlowDeps, "sql">, userId: string, limit = 10): Promise<SignInRecord[]> {
  const [success, remembered] = await Promise.all([
    listAudit(deps.sql, { userId, event: "signin.success", limit }),
    listAudit(deps.sql, { userId, event: "signin.remembered", limit }),
  ]);
  return [...success, ...remembered]
    .sort((a, b) => b.at.getTime() - a.at.getTime() || Number(b.id) - Number(a.id))
    .slice(0, limit)
    .map((event) => {
      const option = event.detail.option;
      return {
        at: event.at,
        option: option === "phone" || option === "email" ? option : null,
        ip: event.ip,
        how: event.event === "signin.remembered" ? "remembered" : event.detail.via === "password_reset" ? "password_reset" : "credentials",
      };
    });
}
