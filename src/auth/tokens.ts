import { sha256 } from "@oslojs/crypto/sha2";
import { constantTimeEqual } from "@oslojs/crypto/subtle";
import { encodeBase32LowerCaseNoPadding } from "@oslojs/encoding";

/**
 * The Lucia token shape shared by sessions, Remember Me and flows: "<id>.<secret>", each part
 * 24 base32 characters (120 random bits). The row is found by id; only SHA-256(secret) is stored
 * and it is compared in constant time, so a database read does not yield a usable token.
 */
export interface TokenPair {
  id: string;
  token: string;
  secretHash: Uint8Array;
}

const encoder = new TextEncoder();

export function randomString(bytes = 15): string {
  return encodeBase32LowerCaseNoPadding(crypto.getRandomValues(new Uint8Array(bytes)));
}

export function hashSecret(secret: string): Uint8Array {
  return sha256(encoder.encode(secret));
}

export function generateTokenPair(): TokenPair {
  const id = randomString();
  const secret = randomString();
  return { id, token: `${id}.${secret}`, secretHash: hashSecret(secret) };
}

export function splitToken(token: string | undefined | null): { id: string; secret: string } | null {
  if (!token || token.length > 100) return null;
  const parts = token.split(".");
  if (parts.length !== 2 || !/^[a-z2-7]{24}$/.test(parts[0]!) || !/^[a-z2-7]{24}$/.test(parts[1]!)) return null;
  return { id: parts[0]!, secret: parts[1]! };
}

export function secretMatches(secret: string, storedHash: Uint8Array): boolean {
  return constantTimeEqual(hashSecret(secret), new Uint8Array(storedHash));
}
