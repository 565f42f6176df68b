/**
 * A software WebAuthn authenticator for tests outside the browser: a P-256 key (ES256), real
 * attestation ("none") and assertion answers in the JSON shapes @simplewebauthn/browser posts,
 * signed over the authenticator data and the client data's hash as an authenticator signs. Each
 * answer can be bent the way an attack or a broken device would bend it (another origin, another
 * RP ID, no user verification), so tests prove the server refuses it. (Chromium's virtual
 * authenticator does the same in the e2e tests.)
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { isoCBOR } from "@simplewebauthn/server/helpers";
import type { Sql } from "../../src/db/client.ts";
import type { Clock } from "../../src/clock.ts";
import { addFactor } from "../../src/auth/users.ts";

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

const b64url = (bytes: Uint8Array | string) => Buffer.from(bytes).toString("base64url");
const sha256 = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest();

export interface AnswerOptions {
  /** The origin the client data names (default: the authenticator's). */
  origin?: string;
  /** The RP ID whose hash opens the authenticator data (default: the authenticator's). */
  rpId?: string;
  /** User verification (fingerprint, face, PIN) done: the UV flag. Default true. */
  userVerified?: boolean;
}

export interface RegistrationAnswer {
  id: string;
  rawId: string;
  type: "public-key";
  response: { clientDataJSON: string; attestationObject: string; transports: string[] };
  clientExtensionResults: Record<string, never>;
  authenticatorAttachment: "platform";
}

export interface AssertionAnswer {
  id: string;
  rawId: string;
  type: "public-key";
  response: { clientDataJSON: string; authenticatorData: string; signature: string; userHandle?: string };
  clientExtensionResults: Record<string, never>;
  authenticatorAttachment: "platform";
}

export class SoftwareAuthenticator {
  readonly credentialId = randomBytes(32);
  private readonly privateKey: KeyObject;
  private readonly cosePublicKey: Uint8Array;
  private counter = 0;
  private userHandle: string | undefined;

  /**
   * `origin`: where the answers say they come from (PUBLIC_URL's origin for a genuine one).
   * `counting`: a device-bound key counts its signatures; a synced passkey keeps 0 (then only
   * the challenge stops a replay). `synced` sets the backup flags (multiDevice).
   */
  constructor(
    readonly origin: string,
    private readonly options: { counting?: boolean; synced?: boolean } = {},
  ) {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    this.privateKey = privateKey;
    const jwk = publicKey.export({ format: "jwk" });
    // COSE_Key (RFC 9053): kty EC2, alg ES256, crv P-256, x, y.
    this.cosePublicKey = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, new Uint8Array(Buffer.from(jwk.x!, "base64url"))],
        [-3, new Uint8Array(Buffer.from(jwk.y!, "base64url"))],
      ]),
    );
  }

  get id(): string {
    return b64url(this.credentialId);
  }

  /** The public key as @simplewebauthn/server keeps it (a COSE_Key). */
  get publicKey(): Uint8Array {
    return this.cosePublicKey;
  }

  /** Answer as a credential made for this user handle (what registration would have set). */
  holdFor(userHandle: string): void {
    this.userHandle = userHandle;
  }

  get rpId(): string {
    return new URL(this.origin).hostname;
  }

  private flags(userVerified: boolean): number {
    const backup = this.options.synced ? FLAG_BE | FLAG_BS : 0;
    return FLAG_UP | (userVerified ? FLAG_UV : 0) | backup;
  }

  private nextCount(): number {
    if (this.options.counting === false) return 0;
    this.counter += 1;
    return this.counter;
  }

  private clientData(type: "webauthn.create" | "webauthn.get", challenge: string, origin: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  /** The answer to creation options (`options.challenge`, `options.user.id`), attestation "none". */
  register(options: { challenge: string; user?: { id: string } }, bend: AnswerOptions = {}): RegistrationAnswer {
    this.userHandle = options.user?.id;
    const count = Buffer.alloc(4);
    count.writeUInt32BE(this.nextCount());
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(this.credentialId.length);
    const authData = Buffer.concat([
      sha256(bend.rpId ?? this.rpId),
      Buffer.from([this.flags(bend.userVerified ?? true) | FLAG_AT]),
      count,
      Buffer.alloc(16), // AAGUID: none
      idLength,
      this.credentialId,
      Buffer.from(this.cosePublicKey),
    ]);
    const attestationObject = isoCBOR.encode(new Map<string, unknown>([["fmt", "none"], ["attStmt", new Map()], ["authData", new Uint8Array(authData)]]) as never);
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      response: { clientDataJSON: b64url(this.clientData("webauthn.create", options.challenge, bend.origin ?? this.origin)), attestationObject: b64url(attestationObject), transports: ["internal"] },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }

  /** The answer to request options (`options.challenge`): a signed assertion of this credential. */
  assert(options: { challenge: string }, bend: AnswerOptions = {}): AssertionAnswer {
    const count = Buffer.alloc(4);
    count.writeUInt32BE(this.nextCount());
    const authData = Buffer.concat([sha256(bend.rpId ?? this.rpId), Buffer.from([this.flags(bend.userVerified ?? true)]), count]);
    const clientDataJSON = this.clientData("webauthn.get", options.challenge, bend.origin ?? this.origin);
    // ES256: ECDSA over authenticatorData || SHA-256(clientDataJSON), DER-encoded as WebAuthn sends it.
    const signature = sign("sha256", Buffer.concat([authData, sha256(clientDataJSON)]), this.privateKey);
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        ...(this.userHandle ? { userHandle: this.userHandle } : {}),
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }
}

export interface SoftPasskey {
  credentialId: string;
  userId: string;
  synced: boolean;
  /** An assertion answering `challenge` for `origin` (PUBLIC_URL), as the browser script posts it. */
  answer(challenge: string, origin: string): AssertionAnswer;
}

/**
 * A passkey stored straight on the account (named `label`; no registration ceremony), for tests
 * that only need to sign in or confirm with one. Synced by default (backup flags, counter 0);
 * `synced: false` is a device-bound key that counts its signatures.
 */
export async function addSoftPasskey(sql: Sql, clock: Clock, userId: string, options: { label?: string; synced?: boolean } = {}): Promise<SoftPasskey> {
  const synced = options.synced ?? true;
  const authenticator = new SoftwareAuthenticator("http://passkey.invalid", { synced, counting: !synced });
  authenticator.holdFor(b64url(new TextEncoder().encode(userId)));
  await addFactor(sql, clock, userId, {
    kind: "passkey",
    destination: null,
    label: options.label ?? "Test key",
    secret: authenticator.publicKey,
    credentialId: authenticator.id,
    signCount: 0,
    transports: ["internal"],
  });
  return {
    credentialId: authenticator.id,
    userId,
    synced,
    answer: (challenge, origin) => authenticator.assert({ challenge }, { origin, rpId: new URL(origin).hostname }),
  };
}
