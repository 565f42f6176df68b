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
import type { Clock } from "../clock.ts";
import { HOUR } from "../clock.ts";
import type { Config } from "../config.ts";
import type { Db, Sql } from "../db/client.ts";
import type { Outbox } from "../delivery/outbox.ts";
import {
  describeDuration,
  emailVerificationCode,
  registrationResetLink,
  resumeLink,
  smsCode,
  voiceCallIntro,
} from "../delivery/messages.ts";
import { appendAudit } from "../auth/audit.ts";
import { createCode, takeConfirmedVoiceCode, verifyCode } from "../auth/codes.ts";
import { consumeLinkToken, createLinkToken, revokeLinkTokens, type LinkPurpose } from "../auth/links.ts";
import { isLocked, recordFailure, recordSuccess } from "../auth/lockout.ts";
import { checkPasswordPolicy, hashPassword, MAX_PASSWORD_LENGTH, verifyDummyPassword, verifyPassword } from "../auth/passwords.ts";
import { parseUsPhone } from "../auth/phone.ts";
import { checkAttemptLimit, checkSendLimits } from "../auth/rate-limit.ts";
import { forgetRememberTokens } from "../auth/remember-me.ts";
import { invalidateUserSessions } from "../auth/sessions.ts";
import { endApplicationSessions } from "../apps/application-sessions.ts";
import { secretMatches, splitToken } from "../auth/tokens.ts";
import { findUserByEmail, findUserById, userColumns, type MfaMethod, type User } from "../auth/users.ts";
import { TERMS_VERSION } from "../terms.ts";
import { advanceFlow, createFlow, deleteUserFlows, loadFlow, type Flow } from "./flow-store.ts";

export interface RegistrationDeps {
  sql: Sql;
  clock: Clock;
  config: Config;
  outbox: Outbox;
}

/** Who is asking, for rate limits and the audit log. */
export interface Requester {
  ip: string;
  userAgent: string;
}

export type RegistrationState = "invited" | "method_chosen" | "email_verified" | "password_set" | "phone_verified" | "done" | "failed";

export interface RegistrationData {
  /** "mfa_reset": an active user choosing and verifying a method again; the password is kept. */
  mode: "registration" | "mfa_reset";
  method?: MfaMethod;
  emailCodeSent?: boolean;
  /** argon2id hash of the password from createPassword, written to the user row by acceptTerms. */
  passwordHash?: string;
  /** The number the last SMS or call went to, and how. */
  phone?: string;
  phoneChannel?: "sms" | "voice";
  /** The number a code proved (the verified code's own destination). */
  phoneVerified?: string;
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

/** Steps the wizard shows, in order; the route maps each to its URL. */
export type Step = "method" | "email" | "phone" | "terms" | "done" | "error";

/** The step a flow is on: where an out-of-order request is sent. */
export function currentStep(flow: Flow): Step {
  const data = flow.data as Partial<RegistrationData>;
  switch (flow.state as RegistrationState) {
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

/* ───────────────────────────── the emailed link ───────────────────────────── */

export type OpenLinkResult =
  | { ok: true; flowToken: string; registration: Registration; purpose: LinkPurpose }
  /** `flowToken` (when set) holds the user for Reset; the page must not say whose account it is. */
  | { ok: false; reason: "invalid" | "expired" | "used" | "unavailable" | "completed"; flowToken?: string };

/**
 * The landing of every emailed link: registration (from the invitation), registration_reset
 * (Reset on the error page), resume (Having trouble logging in?) and mfa_reset (the admin area).
 * The token is used up here; the browser gets a new flow bound to it by the returned flowToken.
 */
export async function openRegistrationLink(deps: RegistrationDeps, token: string, who: Requester): Promise<OpenLinkResult> {
  const consumed = await consumeLinkToken(deps.sql, deps.clock, token, ["registration", "registration_reset", "resume", "mfa_reset"]);
  if (!consumed.ok) {
    await appendAudit(deps.sql, deps.clock, {
      event: "registration.link_refused",
      userId: consumed.userId ?? null,
      ...who,
      detail: { reason: consumed.reason },
    });
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
    const [user] = await tx<User[]>`select ${userColumns(tx)} from users where id = ${userId} for update`;
    if (!user || user.status === "disabled") return { ok: false as const, reason: "unavailable" as const };
    let state: RegistrationState = "invited";
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
    await deleteUserFlows(tx, userId, "registration");
    const created = await createFlow(tx, deps.clock, {
      kind: "registration",
      userId,
      state,
      ttlMs: deps.config.ttl.registrationLink,
      data: data as unknown as Record<string, unknown>,
    });
    await appendAudit(tx, deps.clock, { event: "registration.link_opened", userId, ...who, detail: { purpose, state } });
    return { ok: true as const, flowToken: created.token, registration: { flow: created.flow, data, user } };
  });
  if (!outcome.ok) {
    await appendAudit(deps.sql, deps.clock, { event: "registration.link_refused", userId, ...who, detail: { reason: outcome.reason, purpose } });
    return outcome;
  }
  return { ...outcome, purpose };
}

/** The newest progress a user made in any registration flow (expired ones included). */
async function latestProgress(db: Db, userId: string): Promise<{ state: RegistrationState; data: RegistrationData } | null> {
  const [row] = await db<{ state: RegistrationState; data: RegistrationData }[]>`
    select state, data from flows
    where user_id = ${userId} and kind = 'registration' and state <> 'failed'
    order by updated_at desc limit 1`;
  return row ?? null;
}

/** The first unfinished step of earlier progress. Codes belong to the old flow, so "sent" is forgotten. */
function resumeFrom(progress: { state: RegistrationState; data: RegistrationData }): { state: RegistrationState; data: RegistrationData } {
  const { emailCodeSent: _sent, phone: _phone, phoneChannel: _channel, ...kept } = progress.data;
  const data: RegistrationData = { ...kept, mode: kept.mode ?? "registration" };
  if (progress.state === "done") return { state: "invited", data: { mode: data.mode } };
  if (progress.state === "phone_verified" && !data.phoneVerified) return { state: "password_set", data };
  return { state: progress.state, data };
}

/* ───────────────────────────── the browser's flow ───────────────────────────── */

export type LoadResult = { ok: true; registration: Registration } | { ok: false };

/** The registration the flow cookie names, with its user; nothing when it expired, ended or failed. */
export async function loadRegistration(deps: RegistrationDeps, flowToken: string | undefined): Promise<LoadResult> {
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
  deps: RegistrationDeps,
  reg: Registration,
  from: RegistrationState,
  to: RegistrationState,
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

export async function chooseMethod(deps: RegistrationDeps, reg: Registration, method: MfaMethod, who: Requester): Promise<{ ok: true; registration: Registration } | Refusal> {
  const moved = await advance(deps.sql, deps, reg, "invited", "method_chosen", { method });
  if (!moved) return OUT_OF_ORDER;
  await appendAudit(deps.sql, deps.clock, { event: "registration.method_chosen", userId: reg.user.id, ...who, detail: { method, mode: reg.data.mode } });
  return { ok: true, registration: moved };
}

/* ───────────────────────────── step 2: verify the email ───────────────────────────── */

/** Sends (or replaces) the email verification code. Codes go only to the invited address. */
export async function sendEmailCode(deps: RegistrationDeps, reg: Registration, who: Requester): Promise<{ ok: true; resent: boolean } | Refusal> {
  if (reg.flow.state !== "method_chosen") return OUT_OF_ORDER;
  const limit = await checkSendLimits(deps.sql, deps.clock, { userId: reg.user.id, channel: "email", destination: reg.user.email, ip: who.ip });
  if (!limit.ok) {
    await appendAudit(deps.sql, deps.clock, { event: "registration.send_limited", userId: reg.user.id, ...who, detail: { channel: "email" } });
    return { ok: false, reason: "rate_limited", retryAfterSeconds: limit.retryAfterSeconds };
  }
  const resent = !!reg.data.emailCodeSent;
  const sent = await deps.sql.begin(async (tx) => {
    const moved = await advance(tx, deps, reg, "method_chosen", "method_chosen", { emailCodeSent: true });
    if (!moved) return false;
    const ttl = deps.config.ttl.emailVerificationCode;
    const { code } = await createCode(tx, deps.clock, deps.config.secretKey, {
      flowId: reg.flow.id,
      userId: reg.user.id,
      purpose: EMAIL_PURPOSE,
      channel: "email",
      destination: reg.user.email,
      ttlMs: ttl,
    });
    const message = emailVerificationCode(code, describeDuration(ttl), deps.config.portalName);
    await deps.outbox.enqueue(tx, { channel: "email", to: reg.user.email, ...message });
    await appendAudit(tx, deps.clock, { event: "registration.email_code_sent", userId: reg.user.id, ...who, detail: { resent } });
    return true;
  });
  if (!sent) return OUT_OF_ORDER;
  deps.outbox.kick();
  return { ok: true, resent };
}

export type CodeRefusal = { ok: false; reason: "wrong" | "expired" | "exhausted" | "none" };

export async function verifyEmailCode(
  deps: RegistrationDeps,
  reg: Registration,
  code: string,
  who: Requester,
): Promise<{ ok: true; registration: Registration } | Refusal | CodeRefusal> {
  if (reg.flow.state !== "method_chosen") return OUT_OF_ORDER;
  const checked = await checkCode(deps, reg, EMAIL_PURPOSE, code, who);
  if (!checked.ok) return checked;
  // An MFA reset keeps the password, so the password step is skipped.
  const to: RegistrationState = reg.data.mode === "mfa_reset" ? "password_set" : "email_verified";
  const moved = await advance(deps.sql, deps, reg, "method_chosen", to);
  if (!moved) return OUT_OF_ORDER;
  await appendAudit(deps.sql, deps.clock, { event: "registration.email_verified", userId: reg.user.id, ...who });
  return { ok: true, registration: moved };
}

/** The shared part of every typed-code check: lock, rate limit, the code itself, lockout counting. */
async function checkCode(
  deps: RegistrationDeps,
  reg: Registration,
  purpose: string,
  code: string,
  who: Requester,
): Promise<{ ok: true; codeId: string } | Refusal | CodeRefusal> {
  if (isLocked(reg.user, deps.clock)) return { ok: false, reason: "locked" };
  const limit = await checkAttemptLimit(deps.sql, deps.clock, { ip: who.ip, action: "code" });
  if (!limit.ok) return { ok: false, reason: "rate_limited", retryAfterSeconds: limit.retryAfterSeconds };
  const result = await verifyCode(deps.sql, deps.clock, deps.config.secretKey, { flowId: reg.flow.id, purpose, code });
  if (result.ok) {
    await recordSuccess(deps.sql, reg.user.id);
    return result;
  }
  await appendAudit(deps.sql, deps.clock, { event: "code.failed", userId: reg.user.id, ...who, detail: { purpose, reason: result.reason } });
  // Only a wrong guess counts toward the lock; an expired or used-up code is no guess.
  if (result.reason === "wrong") {
    const { locked } = await recordFailure(deps.sql, deps.clock, reg.user.id);
    if (locked) {
      await appendAudit(deps.sql, deps.clock, { event: "account.locked", userId: reg.user.id, ...who, detail: { during: "registration" } });
      return { ok: false, reason: "locked" };
    }
  }
  return result;
}

/* ───────────────────────────── step 3: the password ───────────────────────────── */

export async function createPassword(
  deps: RegistrationDeps,
  reg: Registration,
  input: { password: string; confirm: string },
  who: Requester,
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
  await appendAudit(deps.sql, deps.clock, { event: "registration.password_created", userId: reg.user.id, ...who });
  return { ok: true, registration: moved };
}

/* ───────────────────────────── step 4 (phone method): the phone ───────────────────────────── */

export type PhoneSendResult =
  | { ok: true; channel: "sms" | "voice"; e164: string; /** voice only: shown on screen, keyed in on the call */ keypadCode?: string }
  | Refusal
  | { ok: false; reason: "invalid_phone"; message: string };

/** Send Code: an SMS with a code to type in. */
export function sendPhoneCode(deps: RegistrationDeps, reg: Registration, phoneInput: string, who: Requester): Promise<PhoneSendResult> {
  return sendToPhone(deps, reg, phoneInput, "sms", who);
}

/**
 * Call Me: a call that asks for the code shown on screen, then #. The person proves they hold
 * both the phone and this browser (an approve-only call invites a reflexive "#" from a victim).
 */
export function startCall(deps: RegistrationDeps, reg: Registration, phoneInput: string, who: Requester): Promise<PhoneSendResult> {
  return sendToPhone(deps, reg, phoneInput, "voice", who);
}

async function sendToPhone(deps: RegistrationDeps, reg: Registration, phoneInput: string, channel: "sms" | "voice", who: Requester): Promise<PhoneSendResult> {
  if (reg.flow.state !== "password_set" || reg.data.method !== "phone") return OUT_OF_ORDER;
  const parsed = parseUsPhone(phoneInput);
  if (!parsed.ok) return { ok: false, reason: "invalid_phone", message: parsed.reason };
  const e164 = parsed.e164;
  const limit = await checkSendLimits(deps.sql, deps.clock, { userId: reg.user.id, channel, destination: e164, ip: who.ip });
  if (!limit.ok) {
    await appendAudit(deps.sql, deps.clock, { event: "registration.send_limited", userId: reg.user.id, ...who, detail: { channel } });
    return { ok: false, reason: "rate_limited", retryAfterSeconds: limit.retryAfterSeconds };
  }
  const keypad = await deps.sql.begin(async (tx) => {
    const moved = await advance(tx, deps, reg, "password_set", "password_set", { phone: e164, phoneChannel: channel });
    if (!moved) return null;
    const ttl = channel === "sms" ? deps.config.ttl.smsCode : deps.config.ttl.voiceCall;
    const { id, code } = await createCode(tx, deps.clock, deps.config.secretKey, {
      flowId: reg.flow.id,
      userId: reg.user.id,
      purpose: PHONE_PURPOSE,
      channel,
      destination: e164,
      ttlMs: ttl,
    });
    if (channel === "sms") await deps.outbox.enqueue(tx, { channel: "sms", to: e164, ...smsCode(code, describeDuration(ttl)) });
    else await deps.outbox.enqueue(tx, { channel: "voice", to: e164, ...voiceCallIntro(deps.config.portalName), codeId: id });
    await appendAudit(tx, deps.clock, {
      event: channel === "sms" ? "registration.phone_code_sent" : "registration.call_started",
      userId: reg.user.id,
      ...who,
      detail: { phoneLast4: e164.slice(-4) },
    });
    return code;
  });
  if (keypad === null) return OUT_OF_ORDER;
  deps.outbox.kick();
  return channel === "sms" ? { ok: true, channel, e164 } : { ok: true, channel, e164, keypadCode: keypad };
}

export async function verifyPhoneCode(
  deps: RegistrationDeps,
  reg: Registration,
  code: string,
  who: Requester,
): Promise<{ ok: true; registration: Registration } | Refusal | CodeRefusal> {
  if (reg.flow.state !== "password_set" || reg.data.method !== "phone") return OUT_OF_ORDER;
  const checked = await checkCode(deps, reg, PHONE_PURPOSE, code, who);
  if (!checked.ok) return checked;
  return phoneProved(deps, reg, checked.codeId, "sms", who);
}

/** The page's poll (or its Continue button) after Call Me: moves on once the call confirmed the code. */
export async function checkCall(
  deps: RegistrationDeps,
  reg: Registration,
  who: Requester,
): Promise<{ ok: true; registration: Registration } | Refusal | { ok: false; reason: "pending" | "expired" | "exhausted" | "none" }> {
  if (reg.flow.state !== "password_set" || reg.data.method !== "phone") return OUT_OF_ORDER;
  const taken = await takeConfirmedVoiceCode(deps.sql, deps.clock, { flowId: reg.flow.id, purpose: PHONE_PURPOSE });
  if (!taken.ok) return taken;
  return phoneProved(deps, reg, taken.codeId, "voice", who);
}

async function phoneProved(deps: RegistrationDeps, reg: Registration, codeId: string, channel: "sms" | "voice", who: Requester) {
  // The number proved is the one the verified code went to, whatever the flow says it sent last.
  const [row] = await deps.sql<{ destination: string }[]>`select destination from codes where id = ${codeId}`;
  const moved = await advance(deps.sql, deps, reg, "password_set", "phone_verified", { phoneVerified: row!.destination });
  if (!moved) return OUT_OF_ORDER;
  await appendAudit(deps.sql, deps.clock, {
    event: "registration.phone_verified",
    userId: reg.user.id,
    ...who,
    detail: { channel, phoneLast4: row!.destination.slice(-4) },
  });
  return { ok: true as const, registration: moved };
}

/* ───────────────────────────── step 5: Terms of Use, and the account becomes active ───────────────────────────── */

export async function acceptTerms(
  deps: RegistrationDeps,
  reg: Registration,
  agreed: boolean,
  who: Requester,
): Promise<{ ok: true; user: User; method: MfaMethod } | Refusal | { ok: false; reason: "not_agreed" | "unavailable" }> {
  const method = reg.data.method;
  const from: RegistrationState = method === "phone" ? "phone_verified" : "password_set";
  if (!method || reg.flow.state !== from) return OUT_OF_ORDER;
  if (!agreed) return { ok: false, reason: "not_agreed" };
  const outcome = await deps.sql.begin(async (tx) => {
    const moved = await advance(tx, deps, reg, from, "done");
    if (!moved) return OUT_OF_ORDER;
    const now = deps.clock.now();
    const phone = method === "phone" ? (moved.data.phoneVerified ?? null) : null;
    const [user] = await tx<User[]>`
      update users set
        status = 'active',
        mfa_method = ${method},
        phone_e164 = ${phone},
        password_hash = coalesce(${moved.data.passwordHash ?? null}, password_hash),
        terms_version = ${TERMS_VERSION},
        terms_accepted_at = ${now},
        updated_at = ${now}
      where id = ${reg.user.id} and status <> 'disabled' and (password_hash is not null or ${moved.data.passwordHash ?? null}::text is not null)
      returning ${userColumns(tx)}`;
    // Disabled (or, for an MFA reset, a user left without any password) while the last step ran.
    if (!user) throw new Unavailable();
    // Nothing from the registration is needed any more; links still in mailboxes must not reopen it.
    await revokeLinkTokens(tx, user.id, ["registration", "registration_reset", "resume", "mfa_reset"]);
    if (reg.data.mode === "mfa_reset") {
      // A new second factor: what was remembered or signed in under the old one ends.
      await forgetRememberTokens(tx, user.id);
      await invalidateUserSessions(tx, user.id);
      await endApplicationSessions(tx, user.id);
    }
    await appendAudit(tx, deps.clock, {
      event: reg.data.mode === "mfa_reset" ? "registration.mfa_reset_completed" : "registration.completed",
      userId: user.id,
      ...who,
      detail: { method, termsVersion: TERMS_VERSION },
    });
    return { ok: true as const, user, method };
  }).catch((error: unknown) => {
    if (error instanceof Unavailable) return { ok: false as const, reason: "unavailable" as const };
    throw error;
  });
  return outcome;
}

class Unavailable extends Error {}

/* ───────────────────────────── Registration error → Reset ───────────────────────────── */

/**
 * Reset on the Registration error page. The browser's flow cookie (live, expired or a "failed"
 * holder from a dead link) names the user; a user still registering gets a link valid
 * REGISTRATION_RESET_LINK_TTL at the registered address. Nothing is returned: the page after
 * Reset must read the same whatever happened here.
 */
export async function requestRegistrationReset(deps: RegistrationDeps, flowToken: string | undefined, who: Requester): Promise<void> {
  const started = performance.now();
  const userId = await flowUser(deps.sql, flowToken);
  const user = userId ? await findUserById(deps.sql, userId) : null;
  if (!user || user.status !== "invited") {
    await appendAudit(deps.sql, deps.clock, { event: "registration.reset_ignored", userId: user?.id ?? null, ...who });
  } else {
    await sendLink(deps, user, "registration_reset", who);
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

/** The user a registration flow cookie names, even when that flow expired or failed. */
async function flowUser(db: Db, flowToken: string | undefined): Promise<string | null> {
  const parts = splitToken(flowToken);
  if (!parts) return null;
  const [row] = await db<{ userId: string | null; secretHash: Uint8Array }[]>`
    select user_id as "userId", secret_hash as "secretHash" from flows where id = ${parts.id} and kind = 'registration'`;
  if (!row || !row.userId || !secretMatches(parts.secret, row.secretHash)) return null;
  return row.userId;
}

/* ───────────────────────────── Having trouble logging in? ───────────────────────────── */

/**
 * For someone who verified the email and created a password but did not finish: the address and
 * that password bring a resume link (RESUME_LINK_TTL) to the registered address. The same argon2
 * work runs for every input and nothing is returned, so the answer cannot tell accounts apart.
 * Only the client address's attempt limit can refuse, and it refuses everyone alike.
 */
export async function requestResumeLink(
  deps: RegistrationDeps,
  input: { email: string; password: string },
  who: Requester,
): Promise<{ ok: true } | { ok: false; reason: "rate_limited"; retryAfterSeconds: number }> {
  const limit = await checkAttemptLimit(deps.sql, deps.clock, { ip: who.ip, action: "password" });
  if (!limit.ok) return { ok: false, reason: "rate_limited", retryAfterSeconds: limit.retryAfterSeconds };
  const started = performance.now();
  try {
    await resumeIfPasswordMatches(deps, input, who);
  } finally {
    await evenOut(started);
  }
  return { ok: true };
}

async function resumeIfPasswordMatches(deps: RegistrationDeps, input: { email: string; password: string }, who: Requester): Promise<void> {
  const password = input.password.slice(0, MAX_PASSWORD_LENGTH);
  const user = input.email.length <= 254 ? await findUserByEmail(deps.sql, input.email) : null;
  const progress = user && user.status === "invited" ? await latestProgress(deps.sql, user.id) : null;
  const hash = progress?.data.passwordHash;
  const matched = hash ? await verifyPassword(hash, password) : await verifyDummyPassword(password);
  if (!user || !hash) {
    await appendAudit(deps.sql, deps.clock, { event: "registration.resume_ignored", userId: user?.id ?? null, ...who });
    return;
  }
  if (!matched || isLocked(user, deps.clock)) {
    await appendAudit(deps.sql, deps.clock, { event: "registration.resume_password_failed", userId: user.id, ...who });
    if (!matched) {
      const { locked } = await recordFailure(deps.sql, deps.clock, user.id);
      if (locked) await appendAudit(deps.sql, deps.clock, { event: "account.locked", userId: user.id, ...who, detail: { during: "resume" } });
    }
    return;
  }
  await recordSuccess(deps.sql, user.id);
  await sendLink(deps, user, "resume", who);
}

/** A registration_reset or resume link to the registered address, within the send limits. */
async function sendLink(deps: RegistrationDeps, user: User, purpose: "registration_reset" | "resume", who: Requester): Promise<void> {
  const limit = await checkSendLimits(deps.sql, deps.clock, { userId: user.id, channel: "email", destination: user.email, ip: who.ip });
  if (!limit.ok) {
    await appendAudit(deps.sql, deps.clock, { event: "registration.send_limited", userId: user.id, ...who, detail: { channel: "email", purpose } });
    return;
  }
  const ttl = purpose === "resume" ? deps.config.ttl.resumeLink : deps.config.ttl.registrationResetLink;
  await deps.sql.begin(async (tx) => {
    const token = await createLinkToken(tx, deps.clock, { userId: user.id, purpose, ttlMs: ttl });
    const link = `${deps.config.publicUrl}/register/link/${token}`;
    const text = purpose === "resume" ? resumeLink : registrationResetLink;
    await deps.outbox.enqueue(tx, { channel: "email", to: user.email, ...text(deps.config.portalName, link, describeDuration(ttl)) });
    await appendAudit(tx, deps.clock, { event: purpose === "resume" ? "registration.resume_sent" : "registration.reset_sent", userId: user.id, ...who });
  });
  deps.outbox.kick();
}
