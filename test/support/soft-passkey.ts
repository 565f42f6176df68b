/**
 * A software passkey for the HTTP-level tests (the browser ceremony is Chromium's virtual
 * authenticator in test/e2e): a P-256 key whose public half is stored as the account's passkey
 * (COSE, as @simplewebauthn/server keeps it), and assertions signed as an authenticator signs
 * them: authenticatorData (RP ID hash, flags UP+UV, and BE+BS for a synced passkey, counter),
 * then ECDSA-SHA-256 over it and the hash of clientDataJSON.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import type { Sql } from "../../src/db/client.ts";
import type { Clock } from "../../src/clock.ts";
import { addFactor } from "../../src/auth/users.ts";

export interface SoftPasskey {
  credentialId: string;
  userId: string;
  synced: boolean;
  /** An assertion answering `challenge` for `origin` (PUBLIC_URL), as the browser script posts it. */
  answer(challenge: string, origin: string): Record<string, unknown>;
}

const b64url = (bytes: Uint8Array | Buffer) => Buffer.from(bytes).toString("base64url");

/** The COSE_Key of an EC2 P-256 public key: {1: 2, 3: -7, -1: 1, -2: x, -3: y} in CBOR. */
function coseKey(publicKey: KeyObject): Uint8Array {
  const jwk = publicKey.export({ format: "jwk" });
  const x = Buffer.from(jwk.x!, "base64url");
  const y = Buffer.from(jwk.y!, "base64url");
  return new Uint8Array(Buffer.concat([Buffer.from([0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20]), x, Buffer.from([0x22, 0x58, 0x20]), y]));
}

/** A passkey stored on the account (named `label`), and its private key to answer with. */
export async function addSoftPasskey(sql: Sql, clock: Clock, userId: string, options: { label?: string; synced?: boolean } = {}): Promise<SoftPasskey> {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const credentialId = b64url(crypto.getRandomValues(new Uint8Array(16)));
  await addFactor(sql, clock, userId, {
    kind: "passkey",
    destination: null,
    label: options.label ?? "Test key",
    secret: coseKey(publicKey),
    credentialId,
    signCount: 0,
    transports: ["internal"],
  });
  const synced = options.synced ?? true;
  let counter = 0;
  return {
    credentialId,
    userId,
    synced,
    answer(challenge, origin) {
      counter += 1;
      const rpIdHash = createHash("sha256").update(new URL(origin).hostname).digest();
      // UP (0x01) + UV (0x04); a synced passkey is backup eligible (0x08) and backed up (0x10).
      const flags = 0x01 | 0x04 | (synced ? 0x18 : 0);
      const count = Buffer.alloc(4);
      count.writeUInt32BE(synced ? 0 : counter);
      const authenticatorData = Buffer.concat([rpIdHash, Buffer.from([flags]), count]);
      const clientDataJSON = Buffer.from(JSON.stringify({ type: "webauthn.get", challenge, origin, crossOrigin: false }));
      const signature = sign("sha256", Buffer.concat([authenticatorData, createHash("sha256").update(clientDataJSON).digest()]), privateKey);
      return {
        id: credentialId,
        rawId: credentialId,
        type: "public-key",
        response: {
          clientDataJSON: b64url(clientDataJSON),
          authenticatorData: b64url(authenticatorData),
          signature: b64url(signature),
          userHandle: b64url(new TextEncoder().encode(userId)),
        },
        clientExtensionResults: {},
        authenticatorAttachment: "platform",
      };
    },
  };
}
