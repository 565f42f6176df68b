/**
 * Registration: the one-time wizard from the emailed link to the first session.
 *
 * A registration is a stored flow (flow-store.ts, kind "registration") held by one browser
 * through the flow cookie. Its `state` is the step reached:
 *
 *   invited ──chooseMethod──▶ method_chosen ──verifyEmailCode──▶ email_verified
 *     ──createPassword──▶ password_set ──(phone method) verifyPhoneCode | checkCall──▶ phone_verified
 *     ──acceptTerms──▶ done   (the user row becomes active in the same transaction)
 *
 *   The email method goes from password_set straight to acceptTerms. An MFA reset (the admin's
 *   mfa_reset link) keeps the password: verifyEmailCode takes it from method_chosen to
 *   password_set. "failed" holds only the user of an expired or used link, so that Reset on the
 *   Registration error page knows whom to email; nothing continues from it.
 *
 * Every transition is ONE guarded advanceFlow (`where state = <expected>`): a double submit, a
 * second tab or a replayed form finds the row already moved and gets "out_of_order" (the route
 * then shows the step the flow is on). Sending a code is a guarded self-transition in the same
 * transaction as the code and its outbox message, so a flow that moved on sends nothing.
 *
 * Progress lives in the flow row (state and data: method, the new password's hash, the phone),
 * not in the user row: the user row changes once, in acceptTerms, together with the last step.
 * Reset and resume links copy the newest progress into a new flow for the browser that opens
 * them, which is how they "continue at the first unfinished step".
 *
 * Abuse: checkSendLimits before every email, SMS and call; checkAttemptLimit before every code
 * and password check; wrong codes count toward the account lockout (lockout.ts); a locked
 * account cannot verify codes. Every step writes an audit event; none carries a code, a token
 * or a password.
 *
 * Functions return unions the route renders; they know nothing of HTTP, cookies or HTML.
 */
import { HOUR } from "../clock.ts";
import type { Db } from "../db/client.ts";
import { describeDuration, registrationResetLink, resumeLink } from "../delivery/messages.ts";
import { consumeLinkToken, createLinkToken, revokeLinkTokens, type LinkPurpose } from "../auth/links.ts";
import { isLocked, recordFailure, recordSuccess } from "../auth/lockout.ts";
import { checkPasswordPolicy, hashPassword, MAX_PASSWORD_LENGTH, verifyDummyPassword, verifyPassword } from "../auth/passwords.ts";
import { parseUsPhone } from "../auth/phone.ts";
import { checkAttemptLimit, checkSendLimits } from "../auth/rate-limit.ts";
import { forgetRememberTokens } from "../auth/remember-me.ts";
import { invalidateUserSessions } from "../auth/sessions.ts";
import { activateUser, findUserByEmail, findUserById, lockUser, type FactorKind, type User } from "../auth/users.ts";
import { TERMS_VERSION } from "../terms.ts";
import { advanceFlow, createFlow, deleteUserFlows, flowHolder, latestUserFlow, loadFlow, type Flow } from "./flow-store.ts";
import { audit, type FlowDeps, type RequestMeta } from "./steps.ts";
import type { CheckOutcome } from "./factors/code.ts";
import { checkEmailCode, startEmailCode } from "./factors/email-code.ts";
import { checkPhone, describePhone, startPhone, type PhoneChannel } from "./factors/phone.ts";

export type RegistrationStep = "invited" | "method_chosen" | "email_verified" | "password_set" | "phone_verified" | "done" | "failed";

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
  /** The number a code proved (the verified code's own destination), and how (RFC 8176: sms or tel). */
  phoneVerified?: string;
  phoneProof?: "sms" | "tel";
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
/** A failed flow only remembers whom Reset may email; an hour is plenty for pressing the button. */
const FAILED_FLOW_TTL = HOUR;
const LINK_PURPOSES: LinkPurpose[] = ["registration", "registration_reset", "resume", "mfa_reset"];

/** Steps the wizard shows, in order. */
export type Step = "method" | "email" | "phone" | "terms" | "done" | "error";

/** Where each step lives. A request for any other step's URL is sent here (303). */
const STEP_PATHS: Record<Step, string> = {
  method: "/register/method",
  email: "/register/email",
  phone: "/register/phone",
  terms: "/register/terms",
  done: "/home",
  error: "/register/error?reason=session",
};

/** The step a flow is on: where an out-of-order request is sent. */
export function currentStep(flow: Flow): Step {
  const data = flow.data as Partial<RegistrationData>;
  switch (flow.state as RegistrationStep) {
    case "invited":
      return "method";
    case "method_chosen":
    case "email_verified":
      return "email";
    case "password_set":
      return data.method === "phone" ? "phone" : "terms";
    case "phone_verified":
      return "terms";
    case "done":
      return "done";
    default:
      return "error";
  }
}

export function stepPath(step: Step): string {
  return STEP_PATHS[step];
}

/** The URL of the step a flow is on. */
export function registrationStepPath(flow: Flow): string {
  return STEP_PATHS[currentStep(flow)];
}

/* ───────────────────────────── the emailed link ───────────────────────────── */

export type OpenLinkResult =
  | { ok: true; flowToken: string; registration: Registration; purpose: LinkPurpose }
  /** `flowToken` (when set) holds the user for Reset; the page must not say whose account it is. */
  | { ok: false; reason: "invalid" | "expired" | "used" | "unavailable" | "completed"; flowToken?: string };

/**
 * The landing of every emailed link: registration (from the invitation), registration_reset
 * (Reset on the error page), resume (Having trouble logging in?) and mfa_reset (the admin area).
 * The token is used up here; the browser gets a new flow bound to it by the returned flowToken.
 * `returnTo` (checked by return-to.ts) is where the last step goes instead of /home.
 */
export async function openRegistrationLink(deps: FlowDeps, token: string, meta: RequestMeta, returnTo: string | null = null): Promise<OpenLinkResult> {
  const consumed = await consumeLinkToken(deps.sql, deps.clock, token, LINK_PURPOSES);
  if (!consumed.ok) {
    await audit(deps, meta, "registration.link_refused", consumed.userId ?? null, { reason: consumed.reason });
    if (!consumed.userId) return { ok: false, reason: consumed.reason };
    const holder = await createFlow(deps.sql, deps.clock, {
      kind: "registration",
      userId: consumed.userId,
      state: "failed",
      ttlMs: FAILED_FLOW_TTL,
    });
    return { ok: false, reason: consumed.reason, flowToken: holder.token };
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
    return { ok: true as const, flowToken: created.token, registration: { flow: created.flow, data, user } };
  });
  if (!outcome.ok) {
    await audit(deps, meta, "registration.link_refused", userId, { reason: outcome.reason, purpose });
    return outcome;
  }
  return { ...outcome, purpose };
}

/** The newest progress a user made in any registration flow (expired ones included). */
async function latestProgress(db: Db, userId: string): Promise<{ state: RegistrationStep; data: RegistrationData } | null> {
  return (await latestUserFlow(db, userId, "registration", "failed")) as { state: RegistrationStep; data: RegistrationData } | null;
}

/** The first unfinished step of earlier progress. Codes belong to the old flow, so "sent" is forgotten. */
function resumeFrom(progress: { state: RegistrationStep; data: RegistrationData }): { state: RegistrationStep; data: RegistrationData } {
  const { emailCodeSent: _sent, phone: _phone, phoneChannel: _channel, returnTo: _returnTo, ...kept } = progress.data;
  const data: RegistrationData = { ...kept, mode: kept.mode ?? "registration" };
  if (progress.state === "done") return { state: "invited", data: { mode: data.mode } };
  if (progress.state === "phone_verified" && !data.phoneVerified) return { state: "password_set", data };
  return { state: progress.state, data };
}

/* ───────────────────────────── the browser's flow ───────────────────────────── */

export type LoadResult = { ok: true; registration: Registration } | { ok: false };

/** The registration the flow cookie names, with its user; nothing when it expired, ended or failed. */
export async function loadRegistration(deps: FlowDeps, flowToken: string | undefined): Promise<LoadResult> {
  const flow = await loadFlow(deps.sql, deps.clock, flowToken, "registration");
  if (!flow || !flow.userId || flow.state === "failed") return { ok: false };
  const user = await findUserById(deps.sql, flow.userId);
  if (!user || user.status === "disabled") return { ok: false };
  const data = flow.data as unknown as RegistrationData;
  if (user.status === "active" && data.mode !== "mfa_reset" && flow.state !== "done") return { ok: false };
  return { ok: true, registration: { flow, data, user } };
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

type Refusal =
  | { ok: false; reason: "out_of_order" }
  | { ok: false; reason: "rate_limited"; retryAfterSeconds: number }
  | { ok: false; reason: "locked" };

const OUT_OF_ORDER = { ok: false, reason: "out_of_order" } as const;

/* ───────────────────────────── step 1: Phone or Email ───────────────────────────── */

export async function chooseMethod(deps: FlowDeps, reg: Registration, method: FactorKind, meta: RequestMeta): Promise<{ ok: true; registration: Registration } | Refusal> {
  const moved = await advance(deps.sql, deps, reg, "invited", "method_chosen", { method });
  if (!moved) return OUT_OF_ORDER;
  await audit(deps, meta, "registration.method_chosen", reg.user.id, { method, mode: reg.data.mode });
  return { ok: true, registration: moved };
}

/* ───────────────────────────── step 2: verify the email ───────────────────────────── */

/** Sends (or replaces) the email verification code. Codes go only to the invited address. */
export async function sendEmailCode(deps: FlowDeps, reg: Registration, meta: RequestMeta): Promise<{ ok: true; resent: boolean } | Refusal> {
  if (reg.flow.state !== "method_chosen") return OUT_OF_ORDER;
  const resent = !!reg.data.emailCodeSent;
  const outcome = await startEmailCode(deps, meta, {
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
  if (outcome.kind === "rate_limited") return { ok: false, reason: "rate_limited", retryAfterSeconds: outcome.retryAfterSeconds };
  if (outcome.kind === "moved") return OUT_OF_ORDER;
  return { ok: true, resent };
}

export type CodeRefusal = { ok: false; reason: "wrong" | "expired" | "exhausted" | "none" };

/** A check's outcome in registration's words: a locked account (before the try, or by this wrong code) is said to be locked. */
function refusalOf(outcome: Exclude<CheckOutcome, { kind: "passed" }>): Refusal | CodeRefusal | { ok: false; reason: "pending" } {
  switch (outcome.kind) {
    case "pending":
      return { ok: false, reason: "pending" };
    case "locked":
      return { ok: false, reason: "locked" };
    case "rate_limited":
      return { ok: false, reason: "rate_limited", retryAfterSeconds: outcome.retryAfterSeconds };
    case "failed":
      return outcome.locked ? { ok: false, reason: "locked" } : { ok: false, reason: outcome.reason };
  }
}

export async function verifyEmailCode(
  deps: FlowDeps,
  reg: Registration,
  code: string,
  meta: RequestMeta,
): Promise<{ ok: true; registration: Registration } | Refusal | CodeRefusal> {
  if (reg.flow.state !== "method_chosen") return OUT_OF_ORDER;
  const checked = await checkEmailCode(deps, meta, { flow: reg.flow, user: reg.user, purpose: EMAIL_PURPOSE, code, respectLock: true });
  if (checked.kind !== "passed") {
    const refusal = refusalOf(checked);
    return refusal.reason === "pending" ? { ok: false, reason: "none" } : refusal;
  }
  // An MFA reset keeps the password, so the password step is skipped.
  const to: RegistrationStep = reg.data.mode === "mfa_reset" ? "password_set" : "email_verified";
  const moved = await advance(deps.sql, deps, reg, "method_chosen", to);
  if (!moved) return OUT_OF_ORDER;
  await audit(deps, meta, "registration.email_verified", reg.user.id);
  return { ok: true, registration: moved };
}

/* ───────────────────────────── step 3: the password ───────────────────────────── */

export async function createPassword(
  deps: FlowDeps,
  reg: Registration,
  input: { password: string; confirm: string },
  meta: RequestMeta,
): Promise<{ ok: true; registration: Registration } | Refusal | { ok: false; reason: "invalid"; field: "password" | "confirm"; message: string }> {
  if (reg.flow.state !== "email_verified") return OUT_OF_ORDER;
  const policy = checkPasswordPolicy(input.password, { email: reg.user.email, portalName: deps.config.portalName });
  if (!policy.ok) return { ok: false, reason: "invalid", field: "password", message: policy.reason };
  if (input.password !== input.confirm) {
    return { ok: false, reason: "invalid", field: "confirm", message: "The two passwords are not the same. Enter the new password again." };
  }
  const passwordHash = await hashPassword(input.password);
  const moved = await advance(deps.sql, deps, reg, "email_verified", "password_set", { passwordHash });
  if (!moved) return OUT_OF_ORDER;
  await audit(deps, meta, "registration.password_created", reg.user.id);
  return { ok: true, registration: moved };
}

/* ───────────────────────────── step 4 (phone method): the phone ───────────────────────────── */

export type PhoneSendResult =
  | { ok: true; channel: PhoneChannel; e164: string; /** voice only: shown on screen, keyed in on the call */ keypadCode?: string }
  | Refusal
  | { ok: false; reason: "invalid_phone"; message: string };

/** Send Code (an SMS with a code to type in) or Call Me (a call asking for the code shown on screen) to the number typed. */
export async function sendToPhone(deps: FlowDeps, reg: Registration, phoneInput: string, channel: PhoneChannel, meta: RequestMeta): Promise<PhoneSendResult> {
  if (reg.flow.state !== "password_set" || reg.data.method !== "phone") return OUT_OF_ORDER;
  const parsed = parseUsPhone(phoneInput);
  if (!parsed.ok) return { ok: false, reason: "invalid_phone", message: parsed.reason };
  const e164 = parsed.e164;
  const outcome = await startPhone(deps, meta, {
    flow: reg.flow,
    userId: reg.user.id,
    purpose: PHONE_PURPOSE,
    channel,
    phone: e164,
    move: (tx) => advanceFlow(tx, deps.clock, reg.flow.id, "password_set", "password_set", { data: { phone: e164, phoneChannel: channel } }),
    event: channel === "sms" ? "registration.phone_code_sent" : "registration.call_started",
    detail: { phoneLast4: e164.slice(-4) },
  });
  if (outcome.kind === "rate_limited") return { ok: false, reason: "rate_limited", retryAfterSeconds: outcome.retryAfterSeconds };
  if (outcome.kind === "moved") return OUT_OF_ORDER;
  return channel === "sms" ? { ok: true, channel, e164 } : { ok: true, channel, e164, keypadCode: outcome.keypadCode };
}

export async function verifyPhoneCode(
  deps: FlowDeps,
  reg: Registration,
  code: string,
  meta: RequestMeta,
): Promise<{ ok: true; registration: Registration } | Refusal | CodeRefusal> {
  if (reg.flow.state !== "password_set" || reg.data.method !== "phone") return OUT_OF_ORDER;
  const checked = await checkPhone(deps, meta, { flow: reg.flow, user: reg.user, purpose: PHONE_PURPOSE, channel: "sms", code, respectLock: true });
  if (checked.kind !== "passed") {
    const refusal = refusalOf(checked);
    return refusal.reason === "pending" ? { ok: false, reason: "none" } : refusal;
  }
  return phoneProved(deps, reg, checked.destination, "sms", meta);
}

/** The page's poll (or its Continue button) after Call Me: moves on once the call confirmed the code. */
export async function checkRegistrationCall(
  deps: FlowDeps,
  reg: Registration,
  meta: RequestMeta,
): Promise<{ ok: true; registration: Registration } | Refusal | { ok: false; reason: "pending" | "expired" | "exhausted" | "none" | "wrong" }> {
  if (reg.flow.state !== "password_set" || reg.data.method !== "phone") return OUT_OF_ORDER;
  const checked = await checkPhone(deps, meta, { flow: reg.flow, user: reg.user, purpose: PHONE_PURPOSE, channel: "voice", respectLock: true });
  if (checked.kind !== "passed") return refusalOf(checked);
  return phoneProved(deps, reg, checked.destination, "voice", meta);
}

async function phoneProved(deps: FlowDeps, reg: Registration, destination: string, channel: PhoneChannel, meta: RequestMeta) {
  // The number proved is the one the verified code went to, whatever the flow says it sent last.
  const { amr, last4 } = describePhone(channel, destination);
  const moved = await advance(deps.sql, deps, reg, "password_set", "phone_verified", { phoneVerified: destination, phoneProof: amr });
  if (!moved) return OUT_OF_ORDER;
  await audit(deps, meta, "registration.phone_verified", reg.user.id, { channel, phoneLast4: last4 });
  return { ok: true as const, registration: moved };
}

/* ───────────────────────────── step 5: Terms of Use, and the account becomes active ───────────────────────────── */

export async function acceptRegistrationTerms(
  deps: FlowDeps,
  reg: Registration,
  agreed: boolean,
  meta: RequestMeta,
): Promise<{ ok: true; user: User; method: FactorKind; amr: string[]; returnTo: string | null } | Refusal | { ok: false; reason: "not_agreed" | "unavailable" }> {
  const method = reg.data.method;
  const from: RegistrationStep = method === "phone" ? "phone_verified" : "password_set";
  if (!method || reg.flow.state !== from) return OUT_OF_ORDER;
  if (!agreed) return { ok: false, reason: "not_agreed" };
  return deps.sql.begin(async (tx) => {
    const moved = await advance(tx, deps, reg, from, "done");
    if (!moved) return OUT_OF_ORDER;
    const destination = method === "phone" ? moved.data.phoneVerified : reg.user.email;
    // A phone registration always proved a number on its way here (phoneProved); none means a bug.
    if (!destination) throw new Error("registration reached its terms without a proved phone");
    const user = await activateUser(tx, deps.clock, {
      userId: reg.user.id,
      factor: { kind: method, destination },
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
    }
    await audit(deps, meta, reg.data.mode === "mfa_reset" ? "registration.mfa_reset_completed" : "registration.completed", user.id, { method, termsVersion: TERMS_VERSION }, tx);
    // The emailed code proved the address and a password was set in this browser; a phone adds its own proof.
    const amr = method === "phone" ? ["pwd", "email", moved.data.phoneProof ?? "sms", "mfa"] : ["pwd", "email", "mfa"];
    return { ok: true as const, user, method, amr, returnTo: reg.data.returnTo ?? null };
  }).catch((error: unknown) => {
    if (error instanceof Unavailable) return { ok: false as const, reason: "unavailable" as const };
    throw error;
  });
}

class Unavailable extends Error {}

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
