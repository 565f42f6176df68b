import { z } from "zod";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { DAY, HOUR, MINUTE, SECOND } from "./clock.ts";

const UNITS: Record<string, number> = { s: SECOND, m: MINUTE, h: HOUR, d: DAY };

/** `30s`, `20m`, `4h`, `2d` (and `0`, which some settings read as "off") → milliseconds. */
export function parseDuration(text: string): number | null {
  if (text === "0") return 0;
  const match = /^(\d{1,6})(s|m|h|d)$/.exec(text);
  if (!match) return null;
  return Number(match[1]) * UNITS[match[2]!]!;
}

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const ms = parseDuration(text.trim());
      if (ms === null) {
        ctx.addIssue({ code: "custom", message: `expected a whole number and a unit (30s, 20m, 4h, 2d), got "${text}"` });
        return z.NEVER;
      }
      return ms;
    });

/** `30/1m`: a count per duration (a token bucket's size and refill time). */
const rate = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const match = /^(\d{1,6})\/(.+)$/.exec(text.trim());
      const perMs = match ? parseDuration(match[2]!) : null;
      // At most a day: housekeeping deletes buckets idle that long as full (RATE_LIMIT_IDLE_MS).
      if (!match || !perMs || perMs > DAY || Number(match[1]) < 1) {
        ctx.addIssue({ code: "custom", message: `expected a count and a duration of at most 1d, such as 30/1m or 600/1h, got "${text}"` });
        return z.NEVER;
      }
      return { capacity: Number(match[1]), perMs };
    });

const optional = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

const schema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number({ message: "expected a port number" }).int().min(0).max(65535).default(3000),
  PUBLIC_URL: optional.pipe(z.url({ protocol: /^https?$/, message: "expected an http(s) URL such as https://portal.example.org" }).optional()),
  DATABASE_URL: optional.pipe(z.string().regex(/^postgres(ql)?:\/\//, "expected a postgres:// URL").optional()),
  DATA_DIR: z.string().default("./data"),
  SECRET_KEY: optional.pipe(z.string().min(32, "must be at least 32 characters of random text").optional()),
  PORTAL_NAME: z.string().trim().min(1).max(80).default("Provider Portal"),
  // How a person reaches the portal's administrators: an email address, a phone number or a URL (shown where help is offered).
  PORTAL_SUPPORT_CONTACT: optional.pipe(z.string().trim().max(200, "must be at most 200 characters").optional()),
  STAFF_EMAIL_DOMAINS: z
    .string()
    .default("kepro.com")
    .transform((v) => v.split(",").map((d) => d.trim().toLowerCase().replace(/^@/, "")).filter(Boolean)),
  SENDGRID_API_KEY: optional,
  MAIL_FROM: optional.pipe(z.email({ message: "expected an email address" }).optional()),
  TWILIO_ACCOUNT_SID: optional.pipe(z.string().regex(/^AC[0-9a-fA-F]{32}$/, "expected AC followed by 32 hex digits").optional()),
  TWILIO_AUTH_TOKEN: optional,
  TWILIO_FROM_NUMBER: optional.pipe(z.string().regex(/^\+[1-9]\d{6,14}$/, "expected an E.164 number such as +15551234567").optional()),
  COOKIE_DOMAIN: optional.pipe(
    z
      .string()
      .transform((v) => v.toLowerCase().replace(/^\./, ""))
      .pipe(z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "expected a domain name such as example.org"))
      .optional(),
  ),
  TRUST_PROXY: z.coerce.number({ message: "expected the number of proxy hops" }).int().min(0).max(10).default(0),
  LOG_REQUESTS: z.enum(["0", "1"]).default("1"),
  METRICS_PORT: z.coerce.number({ message: "expected a port number" }).int().min(1).max(65535).optional(),
  // Per client address, for sign-in. A clinic's staff may all share one address, so only failed
  // attempts count toward the failure limit, and the other two are sized for hundreds of people.
  SIGNIN_FAILURE_LIMIT: rate("30/1m"),
  SIGNIN_START_LIMIT: rate("600/1m"),
  SIGNIN_SEND_LIMIT: rate("600/1h"),
  REGISTRATION_LINK_TTL: duration("2d"),
  REGISTRATION_RESET_LINK_TTL: duration("20m"),
  RESUME_LINK_TTL: duration("20m"),
  EMAIL_LOGIN_CODE_TTL: duration("30s"),
  EMAIL_VERIFICATION_CODE_TTL: duration("10m"),
  SMS_CODE_TTL: duration("10m"),
  VOICE_CALL_TTL: duration("5m"),
  PASSWORD_RESET_CODE_TTL: duration("10m"),
  REMEMBER_ME_TTL: duration("4h"),
  SESSION_IDLE_TTL: duration("30m"),
  SESSION_MAX_TTL: duration("12h"),
  REAUTH_TTL: duration("5m"),
  PORTAL_TIME_ZONE: z
    .string()
    .trim()
    .default("America/New_York")
    .refine(isTimeZone, { message: "expected an IANA time zone such as America/New_York or UTC" }),
  STAFF_OIDC_ISSUER: optional.pipe(z.url({ protocol: /^https?$/, message: "expected the issuer's http(s) URL, as its discovery document names it" }).optional()),
  STAFF_OIDC_CLIENT_ID: optional,
  STAFF_OIDC_CLIENT_SECRET: optional,
  STAFF_OIDC_ADMIN_GROUP: optional,
  STAFF_OIDC_REQUIRE_MFA: z.enum(["0", "1"], { message: "expected 1 (refuse a token without MFA) or 0" }).default("1"),
  /** Audit events older than this are purged by housekeeping (six years: the HIPAA documentation period). */
  AUDIT_RETENTION: duration("2190d"),
});

type Env = z.infer<typeof schema>;

export interface Config {
  env: Env["NODE_ENV"];
  port: number;
  /** Origin without trailing slash; links are built from it and POST origins checked against it. */
  publicUrl: string;
  secure: boolean;
  /** COOKIE_DOMAIN: the session cookie's Domain, so applications on sibling hosts receive it (product.md §5). */
  cookieDomain: string | undefined;
  databaseUrl: string | undefined;
  dataDir: string;
  secretKey: string;
  portalName: string;
  /** PORTAL_SUPPORT_CONTACT: how to reach the portal's administrators, or null when not set. */
  supportContact: string | null;
  staffEmailDomains: string[];
  trustProxy: number;
  logRequests: boolean;
  /** Prometheus metrics on 127.0.0.1:metricsPort/metrics; unset = no metrics listener. */
  metricsPort: number | undefined;
  mail: { kind: "sendgrid"; apiKey: string; from: string } | { kind: "dev"; from: string };
  phone:
    | { kind: "twilio"; accountSid: string; authToken: string; from: string }
    | { kind: "dev"; from: string };
  /** Per client address (token buckets: capacity per perMs). */
  limits: {
    /** Wrong passwords (unknown accounts included) and wrong sign-in codes; right ones give their token back. */
    signInFailures: { capacity: number; perMs: number };
    /** Login with Email / Login with Phone presses: each stores a flow before anyone is known. */
    signInStarts: { capacity: number; perMs: number };
    /** Sign-in codes and calls sent. */
    signInSends: { capacity: number; perMs: number };
  };
  ttl: {
    registrationLink: number;
    registrationResetLink: number;
    resumeLink: number;
    emailLoginCode: number;
    emailVerificationCode: number;
    smsCode: number;
    voiceCall: number;
    passwordResetCode: number;
    rememberMe: number;
    sessionIdle: number;
    sessionMax: number;
    auditRetention: number;
    /** How long a second factor counts for the account page's changes before Confirm it's you asks again. */
    reauth: number;
  };
  /** The IANA zone every time on the portal's pages is shown in. */
  portalTimeZone: string;
  /** Staff sign-in through the organization's OpenID Connect issuer (product.md §6); null when not set up. */
  staffOidc: StaffOidcConfig | null;
}

export interface StaffOidcConfig {
  /** The issuer identifier exactly as given (discovery and the ID token's `iss` must match it). */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Members of this group (the `groups` claim) are administrators; unset: the role is left to the admin page. */
  adminGroup: string | undefined;
  requireMfa: boolean;
}

export class ConfigError extends Error {}

/** Parses the environment. Throws ConfigError whose message is one line per bad variable. */
export function loadConfig(environment: Record<string, string | undefined> = process.env): Config {
  // `VAR=` (as compose files and CI templates leave them) means "not set", so the default applies.
  const given = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== undefined && value.trim() !== ""));
  const parsed = schema.safeParse(given);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${String(issue.path[0] ?? "environment")}: ${issue.message}`);
    throw new ConfigError(lines.join("\n"));
  }
  const env = parsed.data;
  const production = env.NODE_ENV === "production";
  const problems: string[] = [];

  const publicUrl = (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, "");
  const origin = new URL(publicUrl).origin;
  if (production && !origin.startsWith("https://")) problems.push("PUBLIC_URL: must be an https URL in production");
  const host = new URL(publicUrl).hostname;
  if (env.COOKIE_DOMAIN && host !== env.COOKIE_DOMAIN && !host.endsWith(`.${env.COOKIE_DOMAIN}`)) {
    problems.push(`COOKIE_DOMAIN: must be PUBLIC_URL's host (${host}) or a domain above it`);
  }
  if (env.SESSION_IDLE_TTL <= 0) problems.push("SESSION_IDLE_TTL: must be longer than 0");
  // 0 would purge the whole log at the next run: never what anyone means.
  if (env.AUDIT_RETENTION <= 0) problems.push("AUDIT_RETENTION: must be longer than 0 (the default keeps six years, 2190d)");
  if (env.SESSION_MAX_TTL < env.SESSION_IDLE_TTL) problems.push("SESSION_MAX_TTL: must not be shorter than SESSION_IDLE_TTL");

  const twilioParts = [env.TWILIO_ACCOUNT_SID, env.TWILIO_AUTH_TOKEN, env.TWILIO_FROM_NUMBER];
  if (twilioParts.some(Boolean) && !twilioParts.every(Boolean)) {
    problems.push("TWILIO_ACCOUNT_SID: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER go together");
  }
  const staffParts = [env.STAFF_OIDC_ISSUER, env.STAFF_OIDC_CLIENT_ID, env.STAFF_OIDC_CLIENT_SECRET];
  if (staffParts.some(Boolean) && !staffParts.every(Boolean)) {
    problems.push("STAFF_OIDC_ISSUER: STAFF_OIDC_ISSUER, STAFF_OIDC_CLIENT_ID and STAFF_OIDC_CLIENT_SECRET go together");
  }
  if (env.STAFF_OIDC_ISSUER && /[?#]/.test(env.STAFF_OIDC_ISSUER)) problems.push("STAFF_OIDC_ISSUER: an issuer has no query or fragment");
  if (production && env.STAFF_OIDC_ISSUER && !env.STAFF_OIDC_ISSUER.startsWith("https://")) {
    problems.push("STAFF_OIDC_ISSUER: must be an https URL in production");
  }
  if (env.SENDGRID_API_KEY && !env.MAIL_FROM) problems.push("MAIL_FROM: required with SENDGRID_API_KEY");
  if (production) {
    if (!env.SECRET_KEY) problems.push("SECRET_KEY: required in production (at least 32 random characters)");
    if (!env.SENDGRID_API_KEY) problems.push("SENDGRID_API_KEY: required in production (no dev outbox there)");
    if (!twilioParts.every(Boolean)) problems.push("TWILIO_ACCOUNT_SID: Twilio settings are required in production");
  }
  if (problems.length) throw new ConfigError(problems.join("\n"));

  const dataDir = resolve(env.DATA_DIR);
  return {
    env: env.NODE_ENV,
    port: env.PORT,
    publicUrl: origin + new URL(publicUrl).pathname.replace(/\/+$/, ""),
    secure: origin.startsWith("https://"),
    cookieDomain: env.COOKIE_DOMAIN,
    databaseUrl: env.DATABASE_URL,
    dataDir,
    secretKey: env.SECRET_KEY ?? developmentSecretKey(dataDir),
    portalName: env.PORTAL_NAME,
    supportContact: env.PORTAL_SUPPORT_CONTACT || null,
    staffEmailDomains: env.STAFF_EMAIL_DOMAINS,
    trustProxy: env.TRUST_PROXY,
    logRequests: env.LOG_REQUESTS === "1",
    metricsPort: env.METRICS_PORT,
    mail: env.SENDGRID_API_KEY
      ? { kind: "sendgrid", apiKey: env.SENDGRID_API_KEY, from: env.MAIL_FROM! }
      : { kind: "dev", from: env.MAIL_FROM ?? "portal@localhost" },
    phone:
      env.TWILIO_ACCOUNT_SID && env.TWILIO_AUTH_TOKEN && env.TWILIO_FROM_NUMBER
        ? { kind: "twilio", accountSid: env.TWILIO_ACCOUNT_SID, authToken: env.TWILIO_AUTH_TOKEN, from: env.TWILIO_FROM_NUMBER }
        : { kind: "dev", from: env.TWILIO_FROM_NUMBER ?? "+15550000000" },
    limits: { signInFailures: env.SIGNIN_FAILURE_LIMIT, signInStarts: env.SIGNIN_START_LIMIT, signInSends: env.SIGNIN_SEND_LIMIT },
    ttl: {
      registrationLink: env.REGISTRATION_LINK_TTL,
      registrationResetLink: env.REGISTRATION_RESET_LINK_TTL,
      resumeLink: env.RESUME_LINK_TTL,
      emailLoginCode: env.EMAIL_LOGIN_CODE_TTL,
      emailVerificationCode: env.EMAIL_VERIFICATION_CODE_TTL,
      smsCode: env.SMS_CODE_TTL,
      voiceCall: env.VOICE_CALL_TTL,
      passwordResetCode: env.PASSWORD_RESET_CODE_TTL,
      rememberMe: env.REMEMBER_ME_TTL,
      sessionIdle: env.SESSION_IDLE_TTL,
      sessionMax: env.SESSION_MAX_TTL,
      auditRetention: env.AUDIT_RETENTION,
      reauth: env.REAUTH_TTL,
    },
    portalTimeZone: env.PORTAL_TIME_ZONE,
    staffOidc:
      env.STAFF_OIDC_ISSUER && env.STAFF_OIDC_CLIENT_ID && env.STAFF_OIDC_CLIENT_SECRET
        ? {
            issuer: env.STAFF_OIDC_ISSUER,
            clientId: env.STAFF_OIDC_CLIENT_ID,
            clientSecret: env.STAFF_OIDC_CLIENT_SECRET,
            adminGroup: env.STAFF_OIDC_ADMIN_GROUP,
            requireMfa: env.STAFF_OIDC_REQUIRE_MFA === "1",
          }
        : null,
  };
}

/** Development only: one key generated on first start and kept under DATA_DIR, so links survive restarts. */
function developmentSecretKey(dataDir: string): string {
  const file = join(dataDir, "secret-key");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32).toString("base64url");
  writeFileSync(file, key + "\n", { mode: 0o600 });
  return key;
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** True when any channel still goes to the dev outbox (then /dev exists). */
export function usesDevOutbox(config: Config): boolean {
  return config.mail.kind === "dev" || config.phone.kind === "dev";
}
