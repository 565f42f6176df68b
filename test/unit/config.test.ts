import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { loadConfig, parseDuration, usesDevOutbox } from "../../src/config.ts";
import { cookieName } from "../../src/web/cookies.ts";
import { DAY, HOUR, MINUTE, SECOND } from "../../src/clock.ts";
import { baseEnv, configError, dataDir, PRODUCTION } from "../support/config.ts";


test("defaults follow the contract", () => {
  const config = loadConfig(baseEnv());
  assert.is(config.port, 3000);
  assert.is(config.publicUrl, "http://localhost:3000");
  assert.is(config.secure, false);
  assert.is(config.env, "development");
  assert.is(config.portalName, "Provider Portal");
  assert.equal(config.staffEmailDomains, ["kepro.com"]);
  assert.is(config.mail.kind, "dev");
  assert.is(config.phone.kind, "dev");
  assert.ok(usesDevOutbox(config));
  assert.equal(config.ttl, {
    registrationLink: 2 * DAY,
    registrationResetLink: 20 * MINUTE,
    resumeLink: 20 * MINUTE,
    emailLoginCode: 30 * SECOND,
    emailVerificationCode: 10 * MINUTE,
    smsCode: 10 * MINUTE,
    voiceCall: 5 * MINUTE,
    passwordResetCode: 10 * MINUTE,
    rememberMe: 4 * HOUR,
    sessionIdle: 30 * MINUTE,
    sessionMax: 12 * HOUR,
    auditRetention: 2190 * DAY,
    reauth: 5 * MINUTE,
  });
  assert.is(config.portalTimeZone, "America/New_York");
});

test("every duration setting is parsed from a whole number and a unit", () => {
  const settings: Array<[string, keyof ReturnType<typeof loadConfig>["ttl"], string, number]> = [
    ["REGISTRATION_LINK_TTL", "registrationLink", "3d", 3 * DAY],
    ["REGISTRATION_RESET_LINK_TTL", "registrationResetLink", "25m", 25 * MINUTE],
    ["RESUME_LINK_TTL", "resumeLink", "15m", 15 * MINUTE],
    ["EMAIL_LOGIN_CODE_TTL", "emailLoginCode", "45s", 45 * SECOND],
    ["EMAIL_VERIFICATION_CODE_TTL", "emailVerificationCode", "11m", 11 * MINUTE],
    ["SMS_CODE_TTL", "smsCode", "9m", 9 * MINUTE],
    ["VOICE_CALL_TTL", "voiceCall", "120s", 120 * SECOND],
    ["PASSWORD_RESET_CODE_TTL", "passwordResetCode", "1h", HOUR],
    ["REMEMBER_ME_TTL", "rememberMe", "8h", 8 * HOUR],
    ["SESSION_IDLE_TTL", "sessionIdle", "45m", 45 * MINUTE],
    ["SESSION_MAX_TTL", "sessionMax", "2d", 2 * DAY],
    ["AUDIT_RETENTION", "auditRetention", "365d", 365 * DAY],
    ["REAUTH_TTL", "reauth", "10m", 10 * MINUTE],
  ];
  const env: Record<string, string> = baseEnv();
  for (const [name, , text] of settings) env[name] = text;
  const config = loadConfig(env);
  for (const [name, key, text, ms] of settings) assert.is(config.ttl[key], ms, `${name}=${text}`);
  assert.is(Object.keys(config.ttl).length, settings.length, "a duration setting is missing from this test");
});

test("parseDuration takes s, m, h, d and 0, and nothing else", () => {
  assert.is(parseDuration("30s"), 30 * SECOND);
  assert.is(parseDuration("20m"), 20 * MINUTE);
  assert.is(parseDuration("4h"), 4 * HOUR);
  assert.is(parseDuration("2d"), 2 * DAY);
  assert.is(parseDuration("0"), 0);
  for (const bad of ["ten", "10", "1.5h", "10M", "-5m", "5 m", "5min", "", "m"]) assert.is(parseDuration(bad), null, bad);
});

test("the sign-in limits are settings: a count per duration, by default 30 failures a minute, 600 presses a minute, 600 sends an hour", () => {
  const defaults = loadConfig(baseEnv()).limits;
  assert.equal(defaults, {
    signInFailures: { capacity: 30, perMs: MINUTE },
    signInStarts: { capacity: 600, perMs: MINUTE },
    signInSends: { capacity: 600, perMs: HOUR },
  });
  assert.equal(loadConfig({ ...baseEnv(), SIGNIN_FAILURE_LIMIT: "5/30s" }).limits.signInFailures, { capacity: 5, perMs: 30 * SECOND });
  for (const bad of ["30", "0/1m", "30/m", "many/1h", "30/1m/2", "5/2d"]) {
    const message = configError({ ...baseEnv(), SIGNIN_FAILURE_LIMIT: bad });
    assert.ok(message.startsWith("SIGNIN_FAILURE_LIMIT:"), message);
    assert.match(message, /30\/1m/);
  }
  assert.ok(configError({ ...baseEnv(), METRICS_PORT: "http" }).startsWith("METRICS_PORT:"));
  assert.is(loadConfig({ ...baseEnv(), METRICS_PORT: "9464" }).metricsPort, 9464);
  assert.is(loadConfig(baseEnv()).metricsPort, undefined);
});

test("SMS_CODE_TTL=ten is a ConfigError on one line naming SMS_CODE_TTL", () => {
  const message = configError({ ...baseEnv(), SMS_CODE_TTL: "ten" });
  assert.is(message.split("\n").length, 1, message);
  assert.ok(message.startsWith("SMS_CODE_TTL:"), message);
  assert.match(message, /30s, 20m, 4h, 2d/);
});

test("each bad setting gets its own line naming it", () => {
  const message = configError({ ...baseEnv(), PORT: "eighty", VOICE_CALL_TTL: "5", PUBLIC_URL: "ftp://x", MAIL_FROM: "not-an-address" });
  const names = message.split("\n").map((line) => line.split(":")[0]);
  assert.equal(names.sort(), ["MAIL_FROM", "PORT", "PUBLIC_URL", "VOICE_CALL_TTL"]);
});

test("an empty variable means unset: the default applies", () => {
  const config = loadConfig({ ...baseEnv(), PORT: "", SMS_CODE_TTL: " ", PUBLIC_URL: "" });
  assert.is(config.port, 3000);
  assert.is(config.ttl.smsCode, 10 * MINUTE);
  assert.is(config.publicUrl, "http://localhost:3000");
});

test("REMEMBER_ME_TTL=0 turns Remember Me off; SESSION_IDLE_TTL cannot be 0 nor exceed SESSION_MAX_TTL", () => {
  assert.is(loadConfig({ ...baseEnv(), REMEMBER_ME_TTL: "0" }).ttl.rememberMe, 0);
  assert.match(configError({ ...baseEnv(), SESSION_IDLE_TTL: "0" }), /^SESSION_IDLE_TTL:/m);
  assert.match(configError({ ...baseEnv(), SESSION_IDLE_TTL: "2h", SESSION_MAX_TTL: "1h" }), /^SESSION_MAX_TTL:/m);
});

test("production requires SECRET_KEY, an https PUBLIC_URL, SendGrid and Twilio", () => {
  assert.not.throws(() => loadConfig({ ...baseEnv(), ...PRODUCTION }));
  const without = (name: keyof typeof PRODUCTION) => {
    const env: Record<string, string> = { ...baseEnv(), ...PRODUCTION };
    delete env[name];
    return configError(env);
  };
  assert.match(without("SECRET_KEY"), /^SECRET_KEY: required in production/m);
  assert.match(without("SENDGRID_API_KEY"), /^SENDGRID_API_KEY: required in production/m);
  assert.match(without("TWILIO_AUTH_TOKEN"), /^TWILIO_ACCOUNT_SID:/m);
  assert.match(without("PUBLIC_URL"), /^PUBLIC_URL: must be an https URL in production/m);
  assert.match(configError({ ...baseEnv(), ...PRODUCTION, PUBLIC_URL: "http://portal.example.org" }), /^PUBLIC_URL: must be an https URL/m);
  assert.match(configError({ ...baseEnv(), ...PRODUCTION, SECRET_KEY: "short" }), /^SECRET_KEY: must be at least 32 characters/m);
});

test("production with real providers has no dev outbox", () => {
  const config = loadConfig({ ...baseEnv(), ...PRODUCTION });
  assert.equal(config.mail, { kind: "sendgrid", apiKey: "SG.test", from: "portal@example.org" });
  assert.is(config.phone.kind, "twilio");
  assert.not.ok(usesDevOutbox(config));
});

test("Twilio settings go together, and SendGrid needs MAIL_FROM", () => {
  assert.match(configError({ ...baseEnv(), TWILIO_ACCOUNT_SID: PRODUCTION.TWILIO_ACCOUNT_SID }), /^TWILIO_ACCOUNT_SID: .*go together/m);
  assert.match(configError({ ...baseEnv(), SENDGRID_API_KEY: "SG.x" }), /^MAIL_FROM: required with SENDGRID_API_KEY/m);
  assert.match(configError({ ...baseEnv(), TWILIO_FROM_NUMBER: "555-1234" }), /^TWILIO_FROM_NUMBER:/m);
});

test("an https PUBLIC_URL gives Secure, __Host- cookies; http gives plain ones", () => {
  const https = loadConfig({ ...baseEnv(), PUBLIC_URL: "https://portal.example.org/" });
  assert.is(https.secure, true);
  assert.is(https.publicUrl, "https://portal.example.org");
  assert.is(cookieName(https, "session"), "__Host-session");
  assert.is(cookieName(https, "flow"), "__Host-flow");
  assert.is(cookieName(https, "remember"), "__Host-remember");
  const http = loadConfig({ ...baseEnv(), PUBLIC_URL: "http://localhost:8080" });
  assert.is(http.secure, false);
  assert.is(cookieName(http, "session"), "session");
});

test("STAFF_EMAIL_DOMAINS is a comma list, lower-cased, with or without @", () => {
  assert.equal(loadConfig({ ...baseEnv(), STAFF_EMAIL_DOMAINS: " Kepro.com, @staff.example ,," }).staffEmailDomains, ["kepro.com", "staff.example"]);
});

test("in development a SECRET_KEY is generated once and kept under DATA_DIR (mode 600)", () => {
  const dir = dataDir();
  const first = loadConfig({ DATA_DIR: dir }).secretKey;
  const second = loadConfig({ DATA_DIR: dir }).secretKey;
  assert.is(first, second);
  assert.ok(first.length >= 32);
  assert.is(readFileSync(join(dir, "secret-key"), "utf8").trim(), first);
  assert.is(statSync(join(dir, "secret-key")).mode & 0o777, 0o600);
  assert.is.not(loadConfig({ DATA_DIR: dataDir() }).secretKey, first);
  assert.is(loadConfig({ DATA_DIR: dir, SECRET_KEY: "k".repeat(32) }).secretKey, "k".repeat(32));
});

test.run();
