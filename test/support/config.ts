/**
 * What the configuration tests share: a fresh data directory for each environment (loadConfig
 * writes its generated secret key there), the settings production requires, and the message of
 * the ConfigError an environment must raise.
 */
import * as assert from "uvu/assert";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig } from "../../src/config.ts";

export const dataDir = () => mkdtempSync(join(tmpdir(), "mfa-portal-config-"));

/** The least an environment needs: its own DATA_DIR, everything else at the defaults. */
export const baseEnv = () => ({ DATA_DIR: dataDir() });

/** Every setting NODE_ENV=production requires, with values that pass. */
export const PRODUCTION = {
  NODE_ENV: "production",
  PUBLIC_URL: "https://portal.example.org",
  SECRET_KEY: "x".repeat(40),
  SENDGRID_API_KEY: "SG.test",
  MAIL_FROM: "portal@example.org",
  TWILIO_ACCOUNT_SID: "AC" + "0123456789abcdef".repeat(2),
  TWILIO_AUTH_TOKEN: "token",
  TWILIO_FROM_NUMBER: "+15551234567",
};

/** The message of the ConfigError loadConfig(env) throws; the test fails when it loads. */
export function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    assert.instance(error, ConfigError);
    return (error as Error).message;
  }
  assert.unreachable(`expected a ConfigError for ${JSON.stringify(env)}`);
  return "";
}
