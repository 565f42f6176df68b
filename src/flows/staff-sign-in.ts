import * as oidc from "openid-client";
import { z } from "zod";
import { constantTimeEqual } from "@oslojs/crypto/subtle";
import type { Db } from "../db/client.ts";
import { HOUR, MINUTE } from "../clock.ts";
import type { StaffOidcConfig } from "../config.ts";
import { generateTokenPair, secretMatches, splitToken } from "../auth/tokens.ts";
import { checkAttemptLimit } from "../auth/rate-limit.ts";
import { appendAudit } from "../auth/audit.ts";
import { createStaffUser, findStaffUserForUpdate, isStaffEmail, updateStaffUser, type Role, type StaffProfile, type User } from "../auth/users.ts";
import { audit, tooManyAttempts, type FlowDeps, type RequestMeta } from "./steps.ts";
import { checkReturnTo } from "./return-to.ts";

/**
 * Staff sign-in (product.md §6, security.md "Staff sign-in"): the organization's own OpenID
 * Connect issuer signs staff in, through openid-client (a certified relying party), with the
 * authorization code flow + PKCE (S256) + state + nonce.
 *
 *   Staff Login ─▶ startStaffSignIn: a stored request (state, nonce, verifier) bound to the
 *                  browser by a cookie ─▶ the issuer's authorization endpoint
 *   issuer ─▶ /staff/callback ─▶ finishStaffSignIn: the request taken (deleted) once, the code
 *             exchanged and the ID token checked by openid-client (issuer, audience, signature,
 *             expiry, nonce), MFA evidence in `amr`, the account made or refreshed ─▶ signed in
 *
 * Accounts are keyed on issuer + `sub`; the email, name and (with STAFF_OIDC_ADMIN_GROUP) the
 * role follow the issuer at every sign-in. Knows nothing of Hono or cookies: the route does.
 */

/** Long enough to sign in at the issuer (a password, an MFA prompt); the row is deleted on return anyway. */
export const STAFF_REQUEST_TTL = 10 * MINUTE;
export const STAFF_CALLBACK_PATH = "/staff/callback";
/** The claims the account needs: who (sub), how to reach them (email), what to call them (name). */
const SCOPE = "openid email profile";
/** Discovery is re-read this often, so a changed issuer (new endpoints) is seen without a restart. */
const DISCOVERY_MAX_AGE = HOUR;
/** Seconds for each request to the issuer: well inside the app's request deadline. */
const ISSUER_TIMEOUT_SECONDS = 5;

export type StaffRefusal =
  | "not_started" // no request for this browser: expired, already used (a replayed callback), or another browser
  | "state_mismatch"
  | "issuer_error" // the issuer sent the browser back with error=… (cancelled, refused)
  | "invalid_response" // openid-client refused the answer or the ID token (nonce, issuer, audience, signature, expiry, PKCE)
  | "mfa_missing"
  | "no_email"
  | "email_taken"
  | "disabled"
  | "unavailable"
  | "rate_limited";

export const STAFF_MESSAGES: Record<StaffRefusal, string> = {
  not_started: "This staff sign-in has expired or was already used. Select Staff Login to start again.",
  state_mismatch:
    "Your organization's sign-in answered in a way the portal could not verify, so you are not signed in. Select Staff Login to try again; if it keeps happening, contact your IT department.",
  issuer_error: "Your organization's sign-in was canceled or did not let you in. Select Staff Login to try again.",
  invalid_response:
    "Your organization's sign-in answered in a way the portal could not verify, so you are not signed in. Select Staff Login to try again; if it keeps happening, contact your IT department.",
  mfa_missing:
    "Your organization's sign-in did not confirm a second factor (multi-factor authentication), which the portal requires. Sign in again with MFA, or ask your IT department to require MFA for the portal.",
  no_email:
    "Your organization's sign-in did not send an email address, which your portal account needs. Ask your IT department to release the email claim to the portal.",
  email_taken:
    "The email address from your organization's sign-in already belongs to a Customer/Provider account in the portal, so no staff account can be made with it. Contact your portal administrator.",
  disabled: "Your staff account in the portal is disabled. Contact your portal administrator.",
  unavailable: "Your organization's sign-in cannot be reached just now. Nothing was changed; try again in a few minutes.",
  rate_limited: "",
};

const STATUS: Record<StaffRefusal, 400 | 403 | 429 | 503> = {
  not_started: 400,
  state_mismatch: 400,
  issuer_error: 400,
  invalid_response: 400,
  mfa_missing: 403,
  no_email: 403,
  email_taken: 403,
  disabled: 403,
  unavailable: 503,
  rate_limited: 429,
};

export type StaffRefused = { kind: "refused"; reason: StaffRefusal; message: string; status: 400 | 403 | 429 | 503; retryAfterSeconds?: number };

export type StaffStart = { kind: "redirect"; url: string; token: string } | StaffRefused;

export type StaffFinish =
  | {
      kind: "signed_in";
      user: User;
      /** What the session proved, as the issuer reported it: its `amr` (RFC 8176 values) and `auth_time` (else the token's `iat`). */
      proof: { amr: string[]; authenticatedAt: Date };
      created: boolean;
      /** Where the sign-in ends (the request's `rd`, checked again here), else null: /home. */
      returnTo: string | null;
    }
  | StaffRefused;

function refused(reason: StaffRefusal, retryAfterSeconds?: number): StaffRefused {
  const message = reason === "rate_limited" ? tooManyAttempts(retryAfterSeconds ?? 60) : STAFF_MESSAGES[reason];
  return { kind: "refused", reason, message, status: STATUS[reason], retryAfterSeconds };
}

/** True when staff sign-in is set up (STAFF_OIDC_ISSUER, _CLIENT_ID and _CLIENT_SECRET). */
export function staffSignInEnabled(deps: Pick<FlowDeps, "config">): boolean {
  return deps.config.staffOidc !== null;
}

/** Where Staff Login starts, with the address as `login_hint` and where to end as `rd` when they are known. */
export function staffLoginPath(email?: string, returnTo?: string | null): string {
  const query = new URLSearchParams();
  if (email) query.set("login_hint", email);
  if (returnTo) query.set("rd", returnTo);
  return query.size ? `/staff/login?${query}` : "/staff/login";
}

/**
 * Home realm discovery: an address of STAFF_EMAIL_DOMAINS typed into the Customer/Provider
 * sign-in goes to Staff Login (no password asked) when staff sign-in is set up. Null: not a staff
 * address, or staff sign-in is not set up (the sign-in then refuses it as before).
 */
export async function discoverStaffRealm(
  deps: FlowDeps,
  meta: RequestMeta,
  email: unknown,
  /** Where the sign-in was to end (read only for a staff address): carried to Staff Login as `rd`. */
  returnTo: () => Promise<string | null> = async () => null,
): Promise<string | null> {
  if (!staffSignInEnabled(deps) || typeof email !== "string") return null;
  const address = loginHintSchema.safeParse(email);
  if (!address.success || !isStaffEmail(deps.config, address.data)) return null;
  await audit(deps, meta, "signin.staff_redirected", null);
  return staffLoginPath(address.data, await returnTo());
}

const loginHintSchema = z.string().trim().max(320).pipe(z.email());

// ── The issuer ───────────────────────────────────────────────────────────────────────────────

const discovered = new Map<string, { at: number; configuration: Promise<oidc.Configuration> }>();

/**
 * The issuer's configuration from its discovery document (openid-client checks that the
 * document names the same issuer). Kept per process; a failed discovery is not kept.
 */
function issuerConfiguration(settings: StaffOidcConfig, now: number): Promise<oidc.Configuration> {
  const key = JSON.stringify([settings.issuer, settings.clientId]);
  const cached = discovered.get(key);
  if (cached && now - cached.at < DISCOVERY_MAX_AGE) return cached.configuration;
  const insecure = new URL(settings.issuer).protocol === "http:"; // config.ts allows http outside production only
  // client_secret_basic: OpenID Connect's default method, the one every issuer must accept.
  const authentication = oidc.ClientSecretBasic(settings.clientSecret);
  const configuration = oidc.discovery(new URL(settings.issuer), settings.clientId, settings.clientSecret, authentication, {
    execute: insecure ? [oidc.allowInsecureRequests] : [],
    timeout: ISSUER_TIMEOUT_SECONDS,
  });
  discovered.set(key, { at: now, configuration });
  configuration.catch(() => {
    if (discovered.get(key)?.configuration === configuration) discovered.delete(key);
  });
  return configuration;
}

function callbackUrl(deps: FlowDeps): string {
  return `${deps.config.publicUrl}${STAFF_CALLBACK_PATH}`;
}

// ── Staff Login ──────────────────────────────────────────────────────────────────────────────

/**
 * Staff Login: a new request bound to this browser (the token goes in its cookie) and the issuer's
 * URL. `returnTo` is the raw `rd`: kept with the request only when return-to.ts accepts it.
 */
export async function startStaffSignIn(deps: FlowDeps, meta: RequestMeta, input: { loginHint?: string; returnTo?: string }): Promise<StaffStart> {
  const settings = deps.config.staffOidc;
  if (!settings) throw new Error("startStaffSignIn called without STAFF_OIDC_* settings");
  // Each press stores a row before anyone is known: limited per address like Login with Phone/Email.
  const limit = await checkAttemptLimit(deps.sql, deps.clock, { ip: meta.ip, action: "staff_start" });
  if (!limit.ok) return refused("rate_limited", limit.retryAfterSeconds);
  let configuration: oidc.Configuration;
  try {
    configuration = await issuerConfiguration(settings, deps.clock.now().getTime());
  } catch (error) {
    await audit(deps, meta, "staff.refused", null, { reason: "unavailable", issuer: settings.issuer, error: describeError(error) });
    return refused("unavailable");
  }
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const parameters: Record<string, string> = {
    redirect_uri: callbackUrl(deps),
    scope: SCOPE,
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: "S256",
    state,
    nonce,
  };
  const hint = input.loginHint === undefined ? null : loginHintSchema.safeParse(input.loginHint);
  if (hint?.success) parameters.login_hint = hint.data;
  const url = oidc.buildAuthorizationUrl(configuration, parameters);

  const returnTo = await checkReturnTo(deps, input.returnTo);
  const pair = generateTokenPair();
  const now = deps.clock.now();
  await deps.sql.begin(async (tx) => {
    // Requests nobody came back for: a few at a time, so the table holds only live ones.
    await tx`delete from staff_sign_ins where id in (
      select id from staff_sign_ins where expires_at <= ${now} order by expires_at limit 20 for update skip locked)`;
    await tx`insert into staff_sign_ins (id, secret_hash, state, nonce, code_verifier, return_to, created_at, expires_at)
      values (${pair.id}, ${pair.secretHash}, ${state}, ${nonce}, ${codeVerifier}, ${returnTo}, ${now}, ${new Date(now.getTime() + STAFF_REQUEST_TTL)})`;
  });
  return { kind: "redirect", url: url.href, token: pair.token };
}

interface StoredRequest {
  secretHash: Uint8Array;
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string | null;
}

/** Takes this browser's request: deleted in the same statement, so a second callback finds nothing. */
async function takeRequest(db: Db, now: Date, token: string | undefined): Promise<StoredRequest | null> {
  const parts = splitToken(token);
  if (!parts) return null;
  const [row] = await db<StoredRequest[]>`
    delete from staff_sign_ins where id = ${parts.id} and expires_at > ${now}
    returning secret_hash as "secretHash", state, nonce, code_verifier as "codeVerifier", return_to as "returnTo"`;
  if (!row || !secretMatches(parts.secret, row.secretHash)) return null;
  return row;
}

/**
 * The issuer sent the browser back. `currentUrl` is the callback URL as the issuer addressed it
 * (PUBLIC_URL + /staff/callback + the query it added); `token` is the browser's request cookie.
 */
export async function finishStaffSignIn(deps: FlowDeps, meta: RequestMeta, token: string | undefined, currentUrl: URL): Promise<StaffFinish> {
  const settings = deps.config.staffOidc;
  if (!settings) throw new Error("finishStaffSignIn called without STAFF_OIDC_* settings");
  const refuse = async (reason: StaffRefusal, detail: Record<string, unknown> = {}, userId: string | null = null) => {
    await audit(deps, meta, "staff.refused", userId, { reason, issuer: settings.issuer, ...detail });
    return refused(reason);
  };
  const limit = await checkAttemptLimit(deps.sql, deps.clock, { ip: meta.ip, action: "staff_callback" });
  if (!limit.ok) {
    await audit(deps, meta, "staff.rate_limited", null, { issuer: settings.issuer });
    return refused("rate_limited", limit.retryAfterSeconds);
  }

  const request = await takeRequest(deps.sql, deps.clock.now(), token);
  if (!request) return refuse("not_started");
  const returnedState = currentUrl.searchParams.get("state");
  if (returnedState === null || !sameText(returnedState, request.state)) return refuse("state_mismatch");
  const issuerError = currentUrl.searchParams.get("error");
  // Only its letters go to the audit log: the value came through the browser (and Postgres refuses a NUL).
  if (issuerError !== null) return refuse("issuer_error", { error: issuerError.replace(/[^\w.-]/g, "").slice(0, 100) });

  let configuration: oidc.Configuration;
  try {
    configuration = await issuerConfiguration(settings, deps.clock.now().getTime());
  } catch (error) {
    return refuse("unavailable", { error: describeError(error) });
  }
  let claims: oidc.IDToken;
  try {
    const tokens = await oidc.authorizationCodeGrant(configuration, currentUrl, {
      pkceCodeVerifier: request.codeVerifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
      idTokenExpected: true,
    });
    claims = tokens.claims()!;
  } catch (error) {
    // A network failure is the issuer being away; anything else is an answer openid-client refused.
    const code = (error as { code?: unknown } | null)?.code;
    const unreachable = (error instanceof TypeError && code === undefined) || code === "OAUTH_TIMEOUT" || code === "OAUTH_ABORT";
    return refuse(unreachable ? "unavailable" : "invalid_response", { error: describeError(error) });
  }

  const amr = stringList(claims.amr);
  const identity = { issuer: claims.iss, subject: claims.sub };
  if (settings.requireMfa && !showsMfa(amr)) return refuse("mfa_missing", { sub: claims.sub, amr });
  const email = emailOf(claims);
  if (!email) return refuse("no_email", { sub: claims.sub });
  const groups = stringList(claims.groups);
  const role: Role | undefined = settings.adminGroup === undefined ? undefined : groups.includes(settings.adminGroup) ? "admin" : "provider";
  const profile: StaffProfile = { email, name: nameOf(claims, email), role };

  // The account, made or refreshed, and its audit rows in one transaction.
  const outcome = await deps.sql.begin(async (tx) => {
    const at = { ip: meta.ip, userAgent: meta.userAgent };
    // A racing first sign-in of the same person may insert first: the insert below then finds
    // the conflict and this looks again (its row is committed by then), so both sign in.
    for (let attempt = 0; attempt < 2; attempt++) {
      const existing = await findStaffUserForUpdate(tx, identity);
      if (!existing) {
        const user = await createStaffUser(tx, deps.clock, identity, profile);
        if (!user) continue;
        await appendAudit(tx, deps.clock, { event: "staff.account_created", userId: user.id, ...at, detail: { issuer: identity.issuer, role: user.role } });
        return { kind: "user" as const, user, created: true };
      }
      if (existing.status !== "active") return { kind: "disabled" as const, userId: existing.id };
      const { user, emailKept } = await updateStaffUser(tx, deps.clock, existing.id, profile);
      if (user.role !== existing.role) {
        await appendAudit(tx, deps.clock, { event: "staff.role_changed", userId: user.id, ...at, detail: { from: existing.role, to: user.role, issuer: identity.issuer } });
      }
      if (emailKept) await appendAudit(tx, deps.clock, { event: "staff.email_kept", userId: user.id, ...at, detail: { issuer: identity.issuer } });
      return { kind: "user" as const, user, created: false };
    }
    // Still no account of this issuer + sub: the insert met another account's email.
    return { kind: "email_taken" as const };
  });
  if (outcome.kind === "disabled") return refuse("disabled", {}, outcome.userId);
  if (outcome.kind === "email_taken") return refuse("email_taken", { sub: claims.sub });

  const authTime = typeof claims.auth_time === "number" ? claims.auth_time : claims.iat;
  await audit(deps, meta, "staff.signed_in", outcome.user.id, { issuer: identity.issuer, amr, created: outcome.created });
  // Checked again on the way out, like every `rd`: the row's text is never a redirect by itself.
  const returnTo = await checkReturnTo(deps, request.returnTo ?? undefined);
  return { kind: "signed_in", user: outcome.user, proof: { amr, authenticatedAt: new Date(authTime * 1000) }, created: outcome.created, returnTo };
}

/**
 * MFA evidence in `amr` (RFC 8176): `mfa` itself, or two different kinds of factor (say `pwd`
 * and `otp`, or `hwk` with `pin`). A single method (`pwd` alone) is not MFA.
 */
export function showsMfa(amr: string[]): boolean {
  if (amr.includes("mfa")) return true;
  const kinds = new Set(amr.map((method) => FACTOR_KIND[method]).filter(Boolean));
  return kinds.size >= 2;
}

/** RFC 8176 methods by the kind of factor they prove: something known, held, or been. */
const FACTOR_KIND: Record<string, "know" | "have" | "are"> = {
  pwd: "know",
  pin: "know",
  kba: "know",
  otp: "have",
  sms: "have",
  tel: "have",
  hwk: "have",
  swk: "have",
  sc: "have",
  face: "are",
  fpt: "are",
  iris: "are",
  retina: "are",
  vbm: "are",
};

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string").slice(0, 200) : [];
}

const emailSchema = z.string().trim().max(320).pipe(z.email());

/** `email`, else (Entra ID without the optional email claim) `preferred_username` when it is an address. */
function emailOf(claims: oidc.IDToken): string | null {
  for (const candidate of [claims.email, claims.preferred_username]) {
    const parsed = emailSchema.safeParse(candidate);
    if (parsed.success) return parsed.data;
  }
  return null;
}

function nameOf(claims: oidc.IDToken, email: string): string {
  const given = [claims.given_name, claims.family_name].filter((part) => typeof part === "string" && part.trim()).join(" ");
  const name = typeof claims.name === "string" && claims.name.trim() ? claims.name.trim() : given || email;
  return name.slice(0, 200);
}

function sameText(a: string, b: string): boolean {
  const encoder = new TextEncoder();
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  return left.length === right.length && constantTimeEqual(left, right);
}

/** For the audit log: openid-client's error code and message, never a token. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 200);
  const code = (error as { code?: unknown }).code;
  // openid-client wraps oauth4webapi's error, whose message names the claim that failed (nonce, iss, aud, …).
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
  return `${typeof code === "string" ? code + ": " : ""}${error.message}${cause}`.slice(0, 300);
}
