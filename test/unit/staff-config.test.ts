import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadConfig } from "../../src/config.ts";
import { showsMfa } from "../../src/flows/staff-sign-in.ts";
import { baseEnv, configError, PRODUCTION } from "../support/config.ts";

const STAFF = { STAFF_OIDC_ISSUER: "https://login.example.org/tenant/v2.0", STAFF_OIDC_CLIENT_ID: "portal", STAFF_OIDC_CLIENT_SECRET: "s3cret" };

test("without STAFF_OIDC_* staff sign-in is off; blank values count as unset", () => {
  assert.is(loadConfig(baseEnv()).staffOidc, null);
  assert.is(loadConfig({ ...baseEnv(), STAFF_OIDC_ISSUER: " ", STAFF_OIDC_CLIENT_ID: "", STAFF_OIDC_CLIENT_SECRET: "" }).staffOidc, null);
});

test("the three settings make staff sign-in; MFA is required unless STAFF_OIDC_REQUIRE_MFA=0", () => {
  assert.equal(loadConfig({ ...baseEnv(), ...STAFF }).staffOidc, {
    issuer: "https://login.example.org/tenant/v2.0",
    clientId: "portal",
    clientSecret: "s3cret",
    adminGroup: undefined,
    requireMfa: true,
  });
  const lax = loadConfig({ ...baseEnv(), ...STAFF, STAFF_OIDC_REQUIRE_MFA: "0", STAFF_OIDC_ADMIN_GROUP: " Portal Admins " }).staffOidc!;
  assert.is(lax.requireMfa, false);
  assert.is(lax.adminGroup, "Portal Admins");
  assert.match(configError({ ...baseEnv(), ...STAFF, STAFF_OIDC_REQUIRE_MFA: "yes" }), /^STAFF_OIDC_REQUIRE_MFA: /);
});

test("the three go together: one or two of them stop the start with a message naming them", () => {
  for (const missing of Object.keys(STAFF)) {
    const env: Record<string, string> = { ...baseEnv(), ...STAFF };
    delete env[missing];
    assert.match(configError(env), "STAFF_OIDC_ISSUER, STAFF_OIDC_CLIENT_ID and STAFF_OIDC_CLIENT_SECRET go together");
  }
});

test("the issuer is an http(s) URL without query or fragment, and https in production", () => {
  assert.match(configError({ ...baseEnv(), ...STAFF, STAFF_OIDC_ISSUER: "login.example.org" }), /^STAFF_OIDC_ISSUER: /);
  assert.match(configError({ ...baseEnv(), ...STAFF, STAFF_OIDC_ISSUER: "ftp://login.example.org" }), /^STAFF_OIDC_ISSUER: /);
  assert.match(configError({ ...baseEnv(), ...STAFF, STAFF_OIDC_ISSUER: "https://login.example.org/?tenant=1" }), /^STAFF_OIDC_ISSUER: an issuer has no query/);
  assert.is(loadConfig({ ...baseEnv(), ...STAFF, STAFF_OIDC_ISSUER: "http://127.0.0.1:9000" }).staffOidc!.issuer, "http://127.0.0.1:9000");
  assert.match(configError({ ...baseEnv(), ...PRODUCTION, ...STAFF, STAFF_OIDC_ISSUER: "http://login.example.org" }), "STAFF_OIDC_ISSUER: must be an https URL in production");
  assert.ok(loadConfig({ ...baseEnv(), ...PRODUCTION, ...STAFF }).staffOidc);
});

test("MFA evidence in amr: mfa itself, or factors of two kinds; one method is not MFA", () => {
  assert.ok(showsMfa(["mfa"]));
  assert.ok(showsMfa(["pwd", "mfa"]));
  assert.ok(showsMfa(["pwd", "otp"]));
  assert.ok(showsMfa(["hwk", "pin"]));
  assert.ok(showsMfa(["swk", "face"]));
  assert.not.ok(showsMfa([]));
  assert.not.ok(showsMfa(["pwd"]));
  assert.not.ok(showsMfa(["pwd", "kba"]), "two things known are one kind");
  assert.not.ok(showsMfa(["otp", "sms"]), "two things held are one kind");
  assert.not.ok(showsMfa(["pwd", "wia"]), "an unknown method counts for nothing");
});

test.run();
