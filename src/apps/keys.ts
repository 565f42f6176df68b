import { createCipheriv, createDecipheriv, generateKeyPairSync, hkdfSync, randomBytes } from "node:crypto";
import type { Db, Sql } from "../db/client.ts";
import type { Clock } from "../clock.ts";
import { DAY } from "../clock.ts";

/**
 * The provider's signing keys live in Postgres so every instance signs with the same one and a
 * restart does not invalidate the ID tokens relying parties hold. Private parts are sealed with
 * AES-256-GCM under a key derived from SECRET_KEY: a database dump alone cannot sign tokens.
 */

/** A JWK as oidc-provider takes it (private members included). */
export type PrivateJwk = Record<string, unknown> & { kid: string; alg: string; kty: string };

/**
 * How long a retired key stays published. ID tokens live an hour, but relying parties send old
 * ones back as id_token_hint at logout, which the provider accepts when expired yet validly signed.
 */
export const RETIRED_KEY_KEEP_MS = 7 * DAY;

const SIGNING_ALG = "RS256";
// Any fixed number: instances starting together make one first key, not one each.
const KEY_LOCK = 4_271_994;

/** A purpose-bound key from SECRET_KEY (HKDF-SHA-256), so no two uses share key material. */
export function deriveKey(secretKey: string, purpose: string, bytes = 32): Buffer {
  return Buffer.from(hkdfSync("sha256", secretKey, "mfa-portal", purpose, bytes));
}

export function sealPrivateJwk(secretKey: string, jwk: PrivateJwk): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", deriveKey(secretKey, "oidc signing keys"), iv);
  cipher.setAAD(Buffer.from(jwk.kid));
  const body = Buffer.concat([cipher.update(JSON.stringify(jwk), "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

export function openPrivateJwk(secretKey: string, kid: string, sealed: Uint8Array): PrivateJwk {
  const data = Buffer.from(sealed);
  const decipher = createDecipheriv("aes-256-gcm", deriveKey(secretKey, "oidc signing keys"), data.subarray(0, 12));
  decipher.setAAD(Buffer.from(kid));
  decipher.setAuthTag(data.subarray(12, 28));
  const text = Buffer.concat([decipher.update(data.subarray(28)), decipher.final()]).toString("utf8");
  return JSON.parse(text) as PrivateJwk;
}

function generateSigningKey(): PrivateJwk {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = privateKey.export({ format: "jwk" }) as Record<string, unknown>;
  return { ...jwk, kty: "RSA", kid: randomBytes(12).toString("base64url"), alg: SIGNING_ALG, use: "sig" };
}

function publicPart(jwk: PrivateJwk): Record<string, unknown> {
  const { kty, n, e, kid, alg, use } = jwk;
  return { kty, n, e, kid, alg, use };
}

async function insertKey(db: Db, secretKey: string, clock: Clock): Promise<string> {
  const jwk = generateSigningKey();
  await db`insert into oidc_signing_keys (kid, alg, public_jwk, private_jwk_sealed, created_at)
    values (${jwk.kid}, ${jwk.alg}, ${db.json(publicPart(jwk) as never)}, ${sealPrivateJwk(secretKey, jwk)}, ${clock.now()})`;
  return jwk.kid;
}

/**
 * The keys the provider is built with, signing key first (oidc-provider signs with the first
 * key of an algorithm and verifies with any). Makes the first key when there is none.
 */
export async function loadSigningKeys(sql: Sql, secretKey: string, clock: Clock): Promise<PrivateJwk[]> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${KEY_LOCK})`;
    const active = await tx`select 1 from oidc_signing_keys where retired_at is null limit 1`;
    if (active.length === 0) await insertKey(tx, secretKey, clock);
    const cutoff = new Date(clock.now().getTime() - RETIRED_KEY_KEEP_MS);
    const rows = await tx<{ kid: string; sealed: Uint8Array }[]>`
      select kid, private_jwk_sealed as sealed from oidc_signing_keys
      where retired_at is null or retired_at > ${cutoff}
      order by retired_at is null desc, created_at desc`;
    return rows.map((row) => openPrivateJwk(secretKey, row.kid, row.sealed));
  });
}

/** A new signing key; the old ones are retired but stay published for RETIRED_KEY_KEEP_MS. */
export async function rotateSigningKeys(sql: Sql, secretKey: string, clock: Clock): Promise<{ kid: string; retired: string[] }> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${KEY_LOCK})`;
    const retired = await tx<{ kid: string }[]>`update oidc_signing_keys set retired_at = ${clock.now()} where retired_at is null returning kid`;
    const kid = await insertKey(tx, secretKey, clock);
    return { kid, retired: retired.map((r) => r.kid) };
  });
}

/** The newest key id, so an instance can tell that another one rotated the keys. */
export async function currentSigningKeyId(sql: Sql): Promise<string | null> {
  const [row] = await sql<{ kid: string }[]>`select kid from oidc_signing_keys where retired_at is null order by created_at desc limit 1`;
  return row?.kid ?? null;
}
