import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

/**
 * Factor secrets at rest (the authenticator app's key; the recovery codes while they are shown):
 * AES-256-GCM under a key derived from SECRET_KEY with HKDF-SHA-256, one key per purpose, the
 * purpose also bound as associated data so a sealed value of one purpose never opens as another.
 * A database dump without SECRET_KEY yields nothing usable. Layout: iv (12) | tag (16) | ciphertext.
 */
const IV_BYTES = 12;
const TAG_BYTES = 16;

function keyFor(secretKey: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync("sha256", secretKey, "mfa-portal secret-box", `mfa-portal ${purpose}`, 32));
}

export function sealSecret(secretKey: string, purpose: string, plaintext: Uint8Array): Uint8Array {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", keyFor(secretKey, purpose), iv);
  cipher.setAAD(Buffer.from(purpose));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return new Uint8Array(Buffer.concat([iv, cipher.getAuthTag(), body]));
}

/** The plaintext, or null when the value was not sealed for this purpose under this SECRET_KEY (or was altered). */
export function openSecret(secretKey: string, purpose: string, sealed: Uint8Array): Uint8Array | null {
  if (sealed.length < IV_BYTES + TAG_BYTES) return null;
  const bytes = Buffer.from(sealed);
  try {
    const decipher = createDecipheriv("aes-256-gcm", keyFor(secretKey, purpose), bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(purpose));
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return new Uint8Array(Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]));
  } catch {
    return null;
  }
}
