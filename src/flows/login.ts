import type { Db } from "../db/client.ts";
import { generateTokenPair } from "../auth/tokens.ts";
import type { Clock } from "../clock.ts";
import { MINUTE } from "../clock.ts";
import type { Config } from "../config.ts";
import { advanceFlow, bindFlowUser, createFlow, endFlow, replaceFlow, type Flow } from "./flow-store.ts";
import {
  findUserById,
  findUserWithPassword,
  hasFactor,
  isStaffEmail,
  maskPhone,
  recordSignIn,
  recordTermsAccepted,
  setPasswordHash,
  touchFactor,
  type LoginOption,
  type User,
} from "../auth/users.ts";
import { createSession } from "../auth/sessions.ts";
import { hashPassword, passwordNeedsRehash, verifyDummyPassword, verifyPassword } from "../auth/passwords.ts";
import { checkAttemptLimit, refundAttempt } from "../auth/rate-limit.ts";
import { isLocked, recordFailure, recordSuccess } from "../auth/lockout.ts";
import { createRememberToken, deleteRememberToken, forgetRememberTokens, rememberedProof, validateRememberToken } from "../auth/remember-me.ts";
import { describeDuration } from "../delivery/messages.ts";
import { TERMS_VERSION } from "../terms.ts";
import { audit, flowAndUser, ROLLBACK, unlessRolledBack, flowAt, isMoved, stepPaths, TERMS_REQUIRED, tooManyAttempts, tooManySends, type FlowDeps, type RequestMeta, type SteppedFlow, type StepResult } from "./steps.ts";
import { codeMessage, type CheckOutcome, type StartOutcome } from "./factors/code.ts";
import { emailCode } from "./factors/email-code.ts";
import { phone, type PhoneChannel } from "./factors/phone.ts";
import { totp } from "./factors/totp.ts";
import { recoveryCode } from "./factors/recovery-code.ts";
import { passkey, passkeyOwner, type AuthenticationResponseJSON } from "./factors/passkey.ts";

/**
 * Sign-in (Customer/Provider): a stored flow bound to the login option and the Remember Me box
 * the person pressed, moved step by step with guarded UPDATEs. No session exists before the
 * second factor passed; the flow token is replaced once the password was right (a new token at
 * each step that raises trust), and the route starts a brand-new session at the end, then goes
 * to the flow's returnTo (or /home).
 *
 *   credentials ─password right─▶ (new flow) phone_choose ─Send Code─▶ phone_code ─▶ [terms] ─▶ signed in
 *                                            phone_choose ─Call Me──▶ phone_call ─▶ [terms] ─▶ signed in
 *                                            email_send ─▶ email_code ─▶ email_verified ─▶ [terms] ─▶ signed in
 *                                            app_code ─▶ [terms] ─▶ signed in   (Login with Authenticator App)
 *                                            use_email (an account without a phone pressed Login with Phone)
 *                                            no_app (an account without an app pressed Login with Authenticator App)
 *   every second-factor step ─Use a recovery code─▶ /login/recovery ─▶ [terms] ─▶ signed in
 */
export type LoginState =
  | "credentials"
  | "use_email"
  | "no_app"
  | "phone_choose"
  | "phone_code"
  | "phone_call"
  | "email_send"
  | "email_code"
  | "email_verified"
  | "app_code"
  /** Sign in with a passkey: the challenge is out; then checked (the challenge used up). */
  | "passkey"
  | "passkey_checked"
  | "terms"
  /** Not a stored state: the page of Use a recovery code, reached from any second-factor step. */
  | "recovery";

/** Long enough to fetch a code from a phone or mailbox; each step's own code has its own, shorter life. */
const LOGIN_FLOW_TTL = 20 * MINUTE;
const LOGIN_CODE_PURPOSE = "login";

export const loginStepPath = stepPaths<LoginState>("/login", {
  credentials: "/login/credentials",
  use_email: "/login/use-email",
  phone_choose: "/login/phone",
  phone_code: "/login/phone/code",
  phone_call: "/login/phone/call",
  email_send: "/login/email",
  email_code: "/login/email/code",
  email_verified: "/login/email/verified",
  app_code: "/login/app",
  no_app: "/login/no-app",
  terms: "/login/terms",
});

/** The steps that ask a second factor, where Use a recovery code may stand in for it. */
export const SECOND_FACTOR_STATES: LoginState[] = ["phone_choose", "phone_code", "phone_call", "email_send", "email_code", "app_code"];

const PHONE_STATES: LoginState[] = ["phone_choose", "phone_code", "phone_call"];
const EMAIL_SEND_STATES: LoginState[] = ["email_send", "email_code"];

const LOGIN_FLOW: SteppedFlow<LoginState> = { kind: "login", start: "/login", stepPath: loginStepPath };

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
  /** Use a recovery code: the second-factor step it stands in for. */
  back?: string;
}

export type LoginResult = StepResult<LoginView>;

interface LoginData {
  email?: string;
  maskedPhone?: string;
  codeExpiresAt?: string;
  keypadCode?: string;
  remembered?: boolean;
  /** Where the last step goes (checked by return-to.ts when the flow began). */
  returnTo?: string | null;
  /** Sign in with a passkey: the challenge, until the answer uses it up. */
  challenge?: string | null;
  /** What the flow proved so far (RFC 8176), and when the last proof came. */
  amr?: string[];
  authenticatedAt?: string;
}

function data(flow: Flow): LoginData {
  return flow.data as LoginData;
}

function loginView(flow: Flow, clock: Clock, config: Config): LoginView {
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

/** A GET of a step: the view when the flow is on one of `states`, else where to go. */
export async function showLoginStep(deps: FlowDeps, token: string | undefined, states: LoginState[]): Promise<LoginResult> {
  const flow = await flowAt(deps, LOGIN_FLOW, token, states);
  if (isMoved(flow)) return flow;
  return { kind: "show", view: loginView(flow, deps.clock, deps.config) };
}

/** Where the login flow at its credentials step was to end (its checked returnTo), for home realm discovery; null without one. */
export async function loginReturnTo(deps: FlowDeps, token: string | undefined): Promise<string | null> {
  const flow = await flowAt(deps, LOGIN_FLOW, token, ["credentials"]);
  if (isMoved(flow)) return null;
  return data(flow).returnTo ?? null;
}

export const START_LIMITED = "Too many sign-in attempts from this network. Wait a minute and try again.";

/**
 * A Login button was pressed. Box checked and a live Remember Me token for THIS option in the
 * browser: signed in at once (with what that sign-in proved). Box unchecked: the browser's token
 * is forgotten (row and cookie). Otherwise a new flow asks for everything. `returnTo` was
 * checked by return-to.ts.
 */
export async function startLogin(
  deps: FlowDeps,
  meta: RequestMeta,
  input: { option: LoginOption; remember: boolean; returnTo: string | null },
): Promise<LoginResult | { kind: "start_limited"; message: string; retryAfterSeconds: number }> {
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
      const proof = await rememberedProof(deps.sql, meta.rememberToken);
      const proved = { amr: proof.amr, authenticatedAt: proof.authenticatedAt?.toISOString() };
      if (user.termsVersion !== TERMS_VERSION) {
        const { token } = await createFlow(deps.sql, deps.clock, {
          kind: "login",
          userId: user.id,
          state: "terms",
          ttlMs: LOGIN_FLOW_TTL,
          loginOption: input.option,
          remember: true,
          data: { email: user.email, maskedPhone: maskPhone(user.phoneE164), remembered: true, returnTo: input.returnTo, ...proved },
        });
        return { kind: "next", path: loginStepPath("terms"), token };
      }
      await audit(deps, meta, "signin.remembered", user.id, { option: input.option });
      return { kind: "signed_in", user, option: input.option, ...proof, rememberToken: null, returnTo: input.returnTo };
    }
  }
  const { token, flow } = await createFlow(deps.sql, deps.clock, {
    kind: "login",
    userId: null,
    state: "credentials",
    ttlMs: LOGIN_FLOW_TTL,
    loginOption: input.option,
    remember,
    data: { returnTo: input.returnTo },
  });
  return { kind: "next", path: loginStepPath("credentials"), token, clearRemember, flow };
}

export const SIGN_IN_REFUSED = "The email address or password is not right. Check both and try again.";
export const STAFF_REFUSED =
  "This is a staff email address. Staff do not sign in here: use the staff sign-in instead. This page is for customers and providers.";

/** The id a refusal without an account writes to (an index lookup that changes nothing). */
const NO_USER = "00000000-0000-0000-0000-000000000000";

/**
 * Email Address + Password → Sign in. Every refusal (unknown address, wrong password, locked,
 * disabled, registration not finished) answers the same message and status after the same
 * argon2 work, so the answer tells nothing about the account. A right password replaces the
 * flow (new id and cookie token) before the second factor.
 */
export async function submitCredentials(deps: FlowDeps, meta: RequestMeta, token: string | undefined, input: { email: string; password: string }): Promise<LoginResult> {
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
  // One read and, for every refusal, one write transaction, whether or not the address has an
  // account, so neither the work nor the commits tell the two apart (ASVS 6.3.8). The read goes
  // with the attempt limit (one round trip); a refused attempt only discards it.
  const [limit, found] = await Promise.all([checkAttemptLimit(deps.sql, deps.clock, attempt), findUserWithPassword(deps.sql, input.email)]);
  if (!limit.ok) {
    await audit(deps, meta, "signin.rate_limited", null, { option });
    return { kind: "error", view, message: tooManyAttempts(limit.retryAfterSeconds), status: 429 };
  }
  const refused: LoginResult = { kind: "error", view, message: SIGN_IN_REFUSED, status: 401 };

  const user = found?.user ?? null;
  const passwordHash = found?.passwordHash ?? null;
  const refuse = async (reason: string, failure: boolean) => {
    await deps.sql.begin(async (tx) => {
      let locked = false;
      if (failure && user) locked = (await recordFailure(tx, deps.clock, user.id)).locked;
      // Without a count to take, the same statement shape on no row, so the commit looks alike.
      else await recordSuccess(tx, NO_USER);
      await audit(deps, meta, "signin.password_failed", user?.id ?? null, { option, reason }, tx);
      if (locked) await audit(deps, meta, "signin.locked", user!.id, { option }, tx);
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
  // Hashed before the transaction: argon2 must not hold a connection and row locks.
  const rehashed = passwordNeedsRehash(passwordHash) ? await hashPassword(input.password) : null;

  // The option pressed picks the factor asked; an account without a phone factor is offered the
  // emailed code, one without an app is told which buttons it has.
  const next: LoginState =
    option === "email" ? "email_send" : option === "totp" ? ((await hasFactor(deps.sql, user.id, "totp")) ? "app_code" : "no_app") : user.phoneE164 ? "phone_choose" : "use_email";
  // One transaction, like a refusal's: the attempt's refund, the rotation, the rehash and the
  // audit rows commit together (one commit, a WAL flush, fewer per password step). The refund,
  // the rotation and the audit row are independent, so they go to Postgres together (one round trip).
  const rotated = await unlessRolledBack(deps.sql.begin(async (tx) => {
    const pair = generateTokenPair();
    const [replaced] = await Promise.all([replaceFlow(tx, deps.clock, pair, {
      flowId: flow.id,
      kind: "login",
      from: "credentials",
      userId: user.id,
      state: next,
      loginOption: option,
      ttlMs: LOGIN_FLOW_TTL,
      data: {
        email: user.email,
        maskedPhone: maskPhone(user.phoneE164),
        returnTo: data(flow).returnTo ?? null,
        amr: ["pwd"],
        authenticatedAt: deps.clock.now().toISOString(),
      },
    }), refundAttempt(tx, deps.clock, attempt), audit(deps, meta, "signin.password_verified", user.id, { option }, tx)]);
    // Another request moved the flow on first: nothing of this one stays.
    if (!replaced) throw ROLLBACK;
    if (rehashed) {
      await setPasswordHash(tx, deps.clock, user.id, rehashed);
      await audit(deps, meta, "password.rehashed", user.id, {}, tx);
    }
    if (next === "use_email" || next === "no_app") await audit(deps, meta, "signin.wrong_option", user.id, { option }, tx);
    return { token: pair.token, flow: replaced };
  }));
  if (!rotated) return { kind: "moved", path: "/login" };
  return { kind: "next", path: loginStepPath(next), ...rotated };
}

/** An account without a phone pressed Login with Phone: it may go on with the email code instead (the password was right). */
export async function switchToEmail(deps: FlowDeps, meta: RequestMeta, token: string | undefined): Promise<LoginResult> {
  const flow = await flowAt(deps, LOGIN_FLOW, token, ["use_email"]);
  if (isMoved(flow)) return flow;
  const moved = await advanceFlow(deps.sql, deps.clock, flow.id, "use_email", "email_send", { loginOption: "email" });
  if (!moved) return { kind: "moved", path: "/login" };
  await audit(deps, meta, "signin.option_switched", flow.userId, { option: "email" });
  return { kind: "next", path: loginStepPath("email_send") };
}

/** A factor that did not start: over a send limit (the step again, 429) or moved meanwhile. */
function notStarted(deps: FlowDeps, flow: Flow, outcome: Exclude<StartOutcome, { kind: "sent" }>): LoginResult {
  if (outcome.kind === "rate_limited") {
    return { kind: "error", view: loginView(flow, deps.clock, deps.config), message: tooManySends(outcome.retryAfterSeconds), status: 429, retryAfterSeconds: outcome.retryAfterSeconds };
  }
  return { kind: "moved", path: "/login" };
}

/**
 * What a failed check shows on sign-in. A lock answers exactly like a wrong code (it must not be
 * visible); the rest say why and what to press.
 */
function notPassed(deps: FlowDeps, flow: Flow, outcome: Exclude<CheckOutcome, { kind: "passed" | "pending" }>, next: string): LoginResult {
  const view = loginView(flow, deps.clock, deps.config);
  if (outcome.kind === "rate_limited") return { kind: "error", view, field: "code", message: tooManyAttempts(outcome.retryAfterSeconds), status: 429 };
  const reason = outcome.kind === "locked" ? "wrong" : outcome.reason;
  return { kind: "error", view, field: "code", message: codeMessage(reason, next), status: reason === "wrong" ? 401 : 400 };
}

/** Sign-in's code checks count failures only, in their own bucket (registration's keep ATTEMPT_LIMIT). */
function codeAttempt(deps: FlowDeps) {
  return { action: "signin_code", rule: deps.config.limits.signInFailures, refundOnPass: true } as const;
}

/** Send Code / Call Me (also Send New Code and Call Me again from the code and call steps). */
export async function sendLoginPhoneCode(deps: FlowDeps, meta: RequestMeta, token: string | undefined, channel: PhoneChannel): Promise<LoginResult> {
  const found = await flowAndUser(deps, LOGIN_FLOW, token, PHONE_STATES);
  if (isMoved(found)) return found;
  const { flow, user } = found;
  if (!user.phoneE164) return { kind: "moved", path: loginStepPath("use_email") };
  const target: LoginState = channel === "sms" ? "phone_code" : "phone_call";
  const outcome = await phone.start(deps, meta, {
    perAddress: deps.config.limits.signInSends,
    flow,
    userId: user.id,
    purpose: LOGIN_CODE_PURPOSE,
    channel,
    phone: user.phoneE164,
    move: (tx) => advanceFlow(tx, deps.clock, flow.id, PHONE_STATES, target, { data: { keypadCode: null } }),
    // The keypad code is shown on the screen that asked for the call (whoever holds this browser
    // sees it anyway); what proves the phone is that the call to it was answered with it.
    withCode: channel === "voice" ? (tx, code) => advanceFlow(tx, deps.clock, flow.id, target, target, { data: { keypadCode: code } }) : undefined,
  });
  if (outcome.kind !== "sent") return notStarted(deps, flow, outcome);
  return { kind: "next", path: loginStepPath(outcome.flow.state) };
}

/** Verification Code → Verify Code (SMS). */
export async function verifyLoginSmsCode(deps: FlowDeps, meta: RequestMeta, token: string | undefined, code: string): Promise<LoginResult> {
  const found = await flowAndUser(deps, LOGIN_FLOW, token, ["phone_code"]);
  if (isMoved(found)) return found;
  const { flow, user } = found;
  // One transaction: the attempt, the code's use, the flow's end and the sign-in's writes.
  return deps.sql.begin(async (tx): Promise<LoginResult> => {
    const outcome = await phone.check(deps, meta, { flow, user, purpose: LOGIN_CODE_PURPOSE, channel: "sms", code, respectLock: true, attempt: codeAttempt(deps) }, tx);
    if (outcome.kind === "pending") return { kind: "pending", view: loginView(flow, deps.clock, deps.config) };
    if (outcome.kind !== "passed") return notPassed(deps, flow, outcome, "Select Send New Code for a new one.");
    return finishLogin(tx, deps, meta, flow, user, "phone_code", phone.describe("sms", outcome.destination).amr);
  });
}

const CALL_FAILED = {
  locked: "The call could not verify your phone. Choose Call Me or Send Code to try again.",
  expired: "The call was not answered with the code in time. Choose Call Me to be called again, or Send Code.",
  exhausted: "The code was keyed in wrong too many times. Choose Call Me to be called again, or Send Code.",
  none: "There is no call to wait for. Choose Call Me or Send Code.",
} as const;

/** Call Me: the poll (every 2 s with htmx) and the Continue button (without JavaScript). */
export async function checkLoginCall(deps: FlowDeps, meta: RequestMeta, token: string | undefined): Promise<LoginResult> {
  const found = await flowAndUser(deps, LOGIN_FLOW, token, ["phone_call"]);
  if (isMoved(found)) return found;
  const { flow, user } = found;
  const outcome = await phone.check(deps, meta, { flow, user, purpose: LOGIN_CODE_PURPOSE, channel: "voice", respectLock: true });
  if (outcome.kind === "pending") return { kind: "pending", view: loginView(flow, deps.clock, deps.config), wrongTries: outcome.wrongTries };
  if (outcome.kind === "passed") return deps.sql.begin((tx) => finishLogin(tx, deps, meta, flow, user, "phone_call", phone.describe("voice", outcome.destination).amr));
  const back = await advanceFlow(deps.sql, deps.clock, flow.id, "phone_call", "phone_choose", { data: { keypadCode: null } });
  const view = loginView(back ?? flow, deps.clock, deps.config);
  const reason = outcome.kind === "failed" ? (outcome.reason === "wrong" ? "none" : outcome.reason) : "locked";
  return { kind: "error", view, message: CALL_FAILED[reason], status: reason === "locked" ? 401 : 400 };
}

/** Login with Email: Send Verification Code (and Send New Code). The code lives EMAIL_LOGIN_CODE_TTL. */
export async function sendLoginEmailCode(deps: FlowDeps, meta: RequestMeta, token: string | undefined): Promise<LoginResult> {
  const found = await flowAndUser(deps, LOGIN_FLOW, token, EMAIL_SEND_STATES);
  if (isMoved(found)) return found;
  const { flow, user } = found;
  const ttlMs = deps.config.ttl.emailLoginCode;
  const outcome = await emailCode.start(deps, meta, {
    perAddress: deps.config.limits.signInSends,
    flow,
    userId: user.id,
    email: user.email,
    purpose: LOGIN_CODE_PURPOSE,
    ttlMs,
    wording: "login",
    move: (tx) =>
      advanceFlow(tx, deps.clock, flow.id, EMAIL_SEND_STATES, "email_code", { data: { codeExpiresAt: new Date(deps.clock.now().getTime() + ttlMs).toISOString() } }),
  });
  if (outcome.kind !== "sent") return notStarted(deps, flow, outcome);
  return { kind: "next", path: loginStepPath("email_code"), flow: outcome.flow };
}

/** Verification Code → Verify Code (email): on to the confirmation. */
export async function verifyLoginEmailCode(deps: FlowDeps, meta: RequestMeta, token: string | undefined, code: string): Promise<LoginResult> {
  const found = await flowAndUser(deps, LOGIN_FLOW, token, ["email_code"]);
  if (isMoved(found)) return found;
  const { flow, user } = found;
  // One transaction: the attempt limit, the code's attempt and use (or the failure count) and the move.
  return deps.sql.begin(async (tx): Promise<LoginResult> => {
    const outcome = await emailCode.check(deps, meta, { flow, user, purpose: LOGIN_CODE_PURPOSE, code, respectLock: true, attempt: codeAttempt(deps) }, tx);
    if (outcome.kind === "pending") return { kind: "pending", view: loginView(flow, deps.clock, deps.config) };
    if (outcome.kind !== "passed") return notPassed(deps, flow, outcome, "Select Send New Code for a new one.");
    const moved = await advanceFlow(tx, deps.clock, flow.id, "email_code", "email_verified", {
      data: { codeExpiresAt: null, ...proved(deps, flow, emailCode.describe(outcome.destination).amr) },
    });
    if (!moved) return { kind: "moved", path: "/login" };
    return { kind: "next", path: loginStepPath("email_verified"), flow: moved };
  });
}

/** Login with Authenticator App: Verification Code → Verify Code. */
export async function verifyLoginAppCode(deps: FlowDeps, meta: RequestMeta, token: string | undefined, code: string): Promise<LoginResult> {
  const found = await flowAndUser(deps, LOGIN_FLOW, token, ["app_code"]);
  if (isMoved(found)) return found;
  const { flow, user } = found;
  return deps.sql.begin(async (tx): Promise<LoginResult> => {
    const outcome = await totp.check(deps, meta, { flow, user, purpose: LOGIN_CODE_PURPOSE, code, respectLock: true }, tx);
    if (outcome.kind === "pending") return { kind: "pending", view: loginView(flow, deps.clock, deps.config) };
    if (outcome.kind !== "passed") return notPassed(deps, flow, outcome, "Wait for the next code in your authenticator app and enter that one.");
    return finishLogin(tx, deps, meta, flow, user, "app_code", totp.describe().amr);
  });
}

/** Use a recovery code: the page, from any second-factor step. */
export async function showRecoveryStep(deps: FlowDeps, token: string | undefined): Promise<LoginResult> {
  const flow = await flowAt(deps, LOGIN_FLOW, token, SECOND_FACTOR_STATES);
  if (isMoved(flow)) return flow;
  return { kind: "show", view: { ...loginView(flow, deps.clock, deps.config), state: "recovery", back: loginStepPath(flow.state) } };
}

/** Recovery Code → Verify Code: the code stands in for the second factor, once; a notice is emailed. */
export async function verifyLoginRecoveryCode(deps: FlowDeps, meta: RequestMeta, token: string | undefined, code: string): Promise<LoginResult> {
  const found = await flowAndUser(deps, LOGIN_FLOW, token, SECOND_FACTOR_STATES);
  if (isMoved(found)) return found;
  const { flow, user } = found;
  const view = { ...loginView(flow, deps.clock, deps.config), state: "recovery" as const, back: loginStepPath(flow.state) };
  return deps.sql.begin(async (tx): Promise<LoginResult> => {
    const outcome = await recoveryCode.check(deps, meta, { flow, user, purpose: LOGIN_CODE_PURPOSE, code, respectLock: true }, tx);
    if (outcome.kind === "passed") return finishLogin(tx, deps, meta, flow, user, flow.state as LoginState, recoveryCode.describe().amr);
    const failed = notPassed(deps, flow, outcome.kind === "pending" ? { kind: "failed", reason: "none", locked: false } : outcome, "");
    if (failed.kind !== "error") return failed;
    const message = failed.status === 429 ? failed.message : outcome.kind === "failed" && outcome.reason === "exhausted" ? RECOVERY_EXHAUSTED : RECOVERY_WRONG;
    return { ...failed, view, message };
  });
}

export const RECOVERY_WRONG = "That recovery code is not right, or it was used before. Check it and try again.";
const RECOVERY_EXHAUSTED = "Too many wrong recovery codes. Select Back to the sign-in page and start again.";

/**
 * Sign in with a passkey (JavaScript only): a new flow holding a challenge for a discoverable
 * credential, and the options for the browser. The Remember Me box does not apply (nothing to skip).
 */
export async function startPasskeySignIn(
  deps: FlowDeps,
  meta: RequestMeta,
  returnTo: string | null,
): Promise<{ kind: "started"; token: string; options: unknown } | { kind: "start_limited"; message: string; retryAfterSeconds: number }> {
  const limit = await checkAttemptLimit(deps.sql, deps.clock, { ip: meta.ip, action: "start" });
  if (!limit.ok) return { kind: "start_limited", message: START_LIMITED, retryAfterSeconds: limit.retryAfterSeconds };
  const { token, flow } = await createFlow(deps.sql, deps.clock, { kind: "login", userId: null, state: "passkey", ttlMs: 5 * MINUTE, loginOption: "passkey", data: { returnTo } });
  const started = await passkey.start(deps, meta, { flow, move: (tx, challenge) => advanceFlow(tx, deps.clock, flow.id, "passkey", "passkey", { data: { challenge } }) });
  if (started.kind !== "sent") throw new Error("a passkey sign-in just made was moved");
  return { kind: "started", token, options: started.options };
}

export const PASSKEY_REFUSED = "That passkey could not sign you in. Try again, or sign in with your email address and password.";

/**
 * The browser's answer: the challenge is used up first (the flow's guarded move), then the
 * credential names its account and the passkey's check decides. Every refusal says the same.
 */
export async function finishPasskeySignIn(deps: FlowDeps, meta: RequestMeta, token: string | undefined, response: AuthenticationResponseJSON): Promise<LoginResult> {
  const flow = await flowAt(deps, LOGIN_FLOW, token, ["passkey"]);
  if (isMoved(flow)) return flow;
  const challenge = data(flow).challenge;
  const taken = await advanceFlow(deps.sql, deps.clock, flow.id, "passkey", "passkey_checked", { data: { challenge: null } });
  if (!taken || typeof challenge !== "string") return { kind: "moved", path: "/login" };
  const view = loginView(taken, deps.clock, deps.config);
  const refused: LoginResult = { kind: "error", view, message: PASSKEY_REFUSED, status: 401 };
  const userId = await passkeyOwner(deps.sql, response);
  const user = userId ? await findUserById(deps.sql, userId) : null;
  if (!user || user.status !== "active") {
    await audit(deps, meta, "signin.passkey_failed", user?.id ?? null, { reason: user ? "inactive" : "unknown_credential" });
    return refused;
  }
  return deps.sql.begin(async (tx): Promise<LoginResult> => {
    const outcome = await passkey.check(deps, meta, { flow: taken, user, purpose: LOGIN_CODE_PURPOSE, respectLock: true, response, challenge }, tx);
    if (outcome.kind !== "passed") {
      await audit(deps, meta, "signin.passkey_failed", user.id, { reason: outcome.kind === "failed" ? outcome.reason : outcome.kind }, tx);
      return outcome.kind === "rate_limited" ? { ...refused, message: tooManyAttempts(outcome.retryAfterSeconds), status: 429 } : refused;
    }
    const bound = await advanceFlow(tx, deps.clock, taken.id, "passkey_checked", "passkey_checked", { data: { email: user.email } });
    if (!bound) return { kind: "moved", path: "/login" };
    // The account is known from the credential now: the flow is its own (the Terms of Use step needs it).
    await bindFlowUser(tx, deps.clock, taken.id, user.id);
    return finishLogin(tx, deps, meta, { ...bound, userId: user.id }, user, "passkey_checked", passkey.describe(outcome.destination as "swk" | "hwk").amr);
  });
}

/** The confirmation's Continue. */
export async function continueAfterEmail(deps: FlowDeps, meta: RequestMeta, token: string | undefined): Promise<LoginResult> {
  const found = await flowAndUser(deps, LOGIN_FLOW, token, ["email_verified"]);
  if (isMoved(found)) return found;
  return deps.sql.begin((tx) => finishLogin(tx, deps, meta, found.flow, found.user, "email_verified", null));
}

/** Terms of Use → Continue, when the accepted version is not the current one. */
export async function acceptLoginTerms(deps: FlowDeps, meta: RequestMeta, token: string | undefined, agreed: boolean): Promise<LoginResult> {
  const found = await flowAndUser(deps, LOGIN_FLOW, token, ["terms"]);
  if (isMoved(found)) return found;
  const { flow, user } = found;
  if (!agreed) return { kind: "error", view: loginView(flow, deps.clock, deps.config), field: "agree", message: TERMS_REQUIRED, status: 400 };
  await acceptCurrentTerms(deps, meta, user.id);
  return deps.sql.begin((tx) => finishLogin(tx, deps, meta, flow, { ...user, termsVersion: TERMS_VERSION }, "terms", null));
}

/** Stores the acceptance of the current Terms of Use (sign-in and the password reset). */
export async function acceptCurrentTerms(deps: FlowDeps, meta: RequestMeta, userId: string): Promise<void> {
  await recordTermsAccepted(deps.sql, deps.clock, userId, TERMS_VERSION);
  await audit(deps, meta, "terms.accepted", userId, { version: TERMS_VERSION });
}

/** The flow's proofs with one more: a second factor makes it "mfa" (RFC 8176). */
function proved(deps: FlowDeps, flow: Flow, factor: string): { amr: string[]; authenticatedAt: string } {
  const amr = new Set(data(flow).amr ?? []);
  amr.add(factor);
  // A passkey with user verification is two factors by itself (product.md §8).
  if (amr.has("pwd") || factor === "hwk" || factor === "swk") amr.add("mfa");
  return { amr: [...amr], authenticatedAt: deps.clock.now().toISOString() };
}

/**
 * Every factor passed (`factor`: the amr value of the one that passed in this very step, else
 * the flow already holds it). The Terms of Use come first when the accepted version is old. Then
 * the flow ends (guarded, so a double submit signs in once) and with Remember Me a token for this
 * option, holding what was proved, replaces the browser's. The failure count restarted when the
 * factor's check passed (every factor module does it), so it is not written again here.
 */
async function finishLogin(db: Db, deps: FlowDeps, meta: RequestMeta, flow: Flow, user: User, from: LoginState, factor: string | null): Promise<LoginResult> {
  const proof = factor ? proved(deps, flow, factor) : { amr: data(flow).amr ?? [], authenticatedAt: data(flow).authenticatedAt ?? null };
  if (user.termsVersion !== TERMS_VERSION) {
    const moved = await advanceFlow(db, deps.clock, flow.id, from, "terms", { data: { keypadCode: null, ...proof } });
    return moved ? { kind: "next", path: loginStepPath("terms") } : { kind: "moved", path: "/login" };
  }
  const option = flow.loginOption ?? "email";
  const returnTo = data(flow).returnTo ?? null;
  const amr = proof.amr;
  const authenticatedAt = proof.authenticatedAt ? new Date(proof.authenticatedAt) : deps.clock.now();
  // The guarded end: of two racing requests only one finds the row.
  if (!(await endFlow(db, deps.clock, flow.id, from))) return { kind: "moved", path: "/login" };
  if (data(flow).remembered === true) {
    await audit(deps, meta, "signin.remembered", user.id, { option }, db);
    return { kind: "signed_in", user, option, amr, authenticatedAt, rememberToken: null, returnTo };
  }
  const remember = flow.remember && deps.config.ttl.rememberMe > 0;
  // The flow is ended: the rest are independent writes, sent to Postgres together (one round
  // trip), the new session among them, so the flow's end and the session commit as one.
  const [rememberToken, started] = await Promise.all([
    remember
      ? (async () => {
          if (meta.rememberToken) await deleteRememberToken(db, meta.rememberToken);
          return createRememberToken(db, deps.clock, user.id, option, deps.config.ttl.rememberMe, { amr, authenticatedAt });
        })()
      : null,
    createSession(db, deps.clock, user.id, option, { amr, authenticatedAt }, { ip: meta.ip, userAgent: meta.userAgent }),
    recordSignIn(db, deps.clock, user.id),
    // A passkey's own use was recorded with its counter (recordPasskeyUse); the account may hold several.
    option !== "passkey" ? touchFactor(db, deps.clock, user.id, option) : null,
    audit(deps, meta, "signin.success", user.id, { option, remember }, db),
  ]);
  return { kind: "signed_in", user, option, amr, authenticatedAt, rememberToken, returnTo, started };
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
