import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Db } from "../db/client.ts";
import { randomString } from "../auth/tokens.ts";

/**
 * The application registry (product.md §5): OIDC clients and applications behind a forward-auth
 * proxy, registered by an administrator (npm run application, or the Applications page). The one
 * module that writes `applications`.
 */

export type ApplicationKind = "oidc" | "forward_auth";

export interface Application {
  id: string;
  name: string;
  kind: ApplicationKind;
  clientId: string | null;
  /** False for a public client (no secret; PKCE alone). */
  confidential: boolean;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  /** OIDC: where the portal POSTs a logout token when the person's session ends (Back-Channel Logout 1.0). */
  backchannelLogoutUri: string | null;
  forwardAuthUrl: string | null;
  allowedGroup: string | null;
  createdAt: Date;
  secretRotatedAt: Date | null;
}

type Row = Omit<Application, "confidential"> & { confidential: boolean };

const columns = (db: Db) => db`id, name, kind, client_id as "clientId", client_secret_hash is not null as confidential,
  redirect_uris as "redirectUris", post_logout_redirect_uris as "postLogoutRedirectUris",
  backchannel_logout_uri as "backchannelLogoutUri", forward_auth_url as "forwardAuthUrl", allowed_group as "allowedGroup", created_at as "createdAt",
  secret_rotated_at as "secretRotatedAt"`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const NAME_MAX = 80;
export const GROUP_MAX = 80;

export type UrlCheck = { ok: true; url: string } | { ok: false; reason: string };

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "127.0.0.1" || host === "[::1]" || host.endsWith(".localhost");
}

/**
 * A redirect URI as RFC 9700 wants it: absolute, no fragment, compared exactly later; https
 * except on the loopback host (a developer's machine).
 */
export function checkRedirectUri(text: string, example = "https://app.example.org/callback"): UrlCheck {
  const raw = text.trim();
  const url = URL.parse(raw);
  if (!url || raw.length > 2000) return { ok: false, reason: `"${raw.slice(0, 100)}" is not a full URL (such as ${example})` };
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopback(url.hostname))) {
    return { ok: false, reason: `${raw} must start with https:// (http:// only for localhost)` };
  }
  if (url.hash || raw.includes("#")) return { ok: false, reason: `${raw} must not hold a fragment (#…)` };
  if (url.username || url.password) return { ok: false, reason: `${raw} must not hold a user name or password` };
  return { ok: true, url: raw };
}

/**
 * A back-channel logout URI, held to the redirect URIs' rules: the portal POSTs to it from the
 * server, so a typo or a plain-http host elsewhere is refused when registered, not at sign-out.
 */
export function checkBackchannelLogoutUri(text: string): UrlCheck {
  return checkRedirectUri(text, "https://app.example.org/backchannel-logout");
}

/** A forward-auth URL prefix: scheme, host, port and path, nothing else; stored normalized. */
export function checkApplicationUrl(text: string): UrlCheck {
  const raw = text.trim();
  const url = URL.parse(raw);
  if (!url || raw.length > 2000 || (url.protocol !== "https:" && url.protocol !== "http:")) {
    return { ok: false, reason: `"${raw.slice(0, 100)}" is not a full http(s) URL (such as https://ehr.example.org/)` };
  }
  if (url.search || url.hash || url.username || url.password) return { ok: false, reason: `${raw} must hold only scheme, host, port and path (no ?query, #fragment or user)` };
  return { ok: true, url: url.origin + url.pathname };
}

/** True when `target` lies under `prefix`: same origin, and the path equal to or below the prefix's. */
export function isUnder(prefix: string, target: URL): boolean {
  const base = new URL(prefix);
  if (base.origin !== target.origin) return false;
  const path = base.pathname;
  if (path === "/" || target.pathname === path) return true;
  const dir = path.endsWith("/") ? path : path + "/";
  return target.pathname.startsWith(dir);
}

function hashSecret(secret: string): Buffer {
  return createHash("sha256").update(secret, "utf8").digest();
}

function newSecret(): string {
  return randomBytes(32).toString("base64url");
}

export type CreateResult<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface OidcInput {
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  backchannelLogoutUri?: string | null;
  public?: boolean;
}

function checkName(name: string): string | null {
  const trimmed = name.trim();
  if (!trimmed) return "Enter the application's name.";
  if (trimmed.length > NAME_MAX) return `The name must be at most ${NAME_MAX} characters.`;
  return null;
}

type OidcFields = { name: string; redirectUris: string[]; postLogoutRedirectUris: string[]; backchannelLogoutUri: string | null };

/** The checked, trimmed fields of an OIDC client, or the first problem with them. */
function checkOidcInput(input: Omit<OidcInput, "public">): CreateResult<OidcFields> {
  const nameProblem = checkName(input.name);
  if (nameProblem) return { ok: false, reason: nameProblem };
  if (input.redirectUris.length === 0) return { ok: false, reason: "Give at least one redirect URI." };
  for (const uri of [...input.redirectUris, ...(input.postLogoutRedirectUris ?? [])]) {
    const check = checkRedirectUri(uri);
    if (!check.ok) return { ok: false, reason: check.reason };
  }
  const backchannel = input.backchannelLogoutUri?.trim() || null;
  if (backchannel) {
    const check = checkBackchannelLogoutUri(backchannel);
    if (!check.ok) return { ok: false, reason: check.reason };
  }
  return {
    ok: true,
    value: {
      name: input.name.trim(),
      redirectUris: input.redirectUris.map((u) => u.trim()),
      postLogoutRedirectUris: (input.postLogoutRedirectUris ?? []).map((u) => u.trim()),
      backchannelLogoutUri: backchannel,
    },
  };
}

export async function createOidcApplication(
  db: Db,
  input: OidcInput,
): Promise<CreateResult<{ application: Application; clientId: string; clientSecret: string | null }>> {
  const checked = checkOidcInput(input);
  if (!checked.ok) return checked;
  const { name, redirectUris, postLogoutRedirectUris, backchannelLogoutUri } = checked.value;
  const clientId = randomString(15);
  const clientSecret = input.public ? null : newSecret();
  const [row] = await db<Row[]>`
    insert into applications (name, kind, client_id, client_secret_hash, redirect_uris, post_logout_redirect_uris, backchannel_logout_uri)
    values (${name}, 'oidc', ${clientId}, ${clientSecret ? hashSecret(clientSecret) : null}, ${redirectUris}, ${postLogoutRedirectUris}, ${backchannelLogoutUri})
    returning ${columns(db)}`;
  return { ok: true, value: { application: row!, clientId, clientSecret } };
}

/**
 * Edit: name and URIs; the client id, the secret and public/confidential stay (rotate-secret
 * changes a secret). The provider reads clients from this table on each request, so the change
 * holds at once; a redirect URI taken away no longer receives codes.
 */
export async function updateOidcApplication(db: Db, id: string, input: Omit<OidcInput, "public">): Promise<CreateResult<Application> | null> {
  const checked = checkOidcInput(input);
  if (!checked.ok) return checked;
  const { name, redirectUris, postLogoutRedirectUris, backchannelLogoutUri } = checked.value;
  const [row] = await db<Row[]>`
    update applications set name = ${name}, redirect_uris = ${redirectUris}, post_logout_redirect_uris = ${postLogoutRedirectUris},
      backchannel_logout_uri = ${backchannelLogoutUri}
    where id = ${UUID.test(id) ? id : null} and kind = 'oidc'
    returning ${columns(db)}`;
  return row ? { ok: true, value: row } : null;
}

export interface ForwardAuthInput {
  name: string;
  url: string;
  group?: string | null;
}

function checkForwardAuthInput(input: ForwardAuthInput): CreateResult<{ name: string; url: string; group: string | null }> {
  const nameProblem = checkName(input.name);
  if (nameProblem) return { ok: false, reason: nameProblem };
  const check = checkApplicationUrl(input.url);
  if (!check.ok) return { ok: false, reason: check.reason };
  const group = input.group?.trim() || null;
  if (group && group.length > GROUP_MAX) return { ok: false, reason: `The group must be at most ${GROUP_MAX} characters.` };
  return { ok: true, value: { name: input.name.trim(), url: check.url, group } };
}

export async function createForwardAuthApplication(db: Db, input: ForwardAuthInput): Promise<CreateResult<Application>> {
  const checked = checkForwardAuthInput(input);
  if (!checked.ok) return checked;
  const { name, url, group } = checked.value;
  const [row] = await db<Row[]>`
    insert into applications (name, kind, forward_auth_url, forward_auth_origin, allowed_group)
    values (${name}, 'forward_auth', ${url}, ${new URL(url).origin}, ${group})
    returning ${columns(db)}`;
  return { ok: true, value: row! };
}

/** Edit: name, URL and group; the proxy's next request is judged by them. */
export async function updateForwardAuthApplication(db: Db, id: string, input: ForwardAuthInput): Promise<CreateResult<Application> | null> {
  const checked = checkForwardAuthInput(input);
  if (!checked.ok) return checked;
  const { name, url, group } = checked.value;
  const [row] = await db<Row[]>`
    update applications set name = ${name}, forward_auth_url = ${url}, forward_auth_origin = ${new URL(url).origin}, allowed_group = ${group}
    where id = ${UUID.test(id) ? id : null} and kind = 'forward_auth'
    returning ${columns(db)}`;
  return row ? { ok: true, value: row } : null;
}

export async function listApplications(db: Db): Promise<Application[]> {
  return db<Row[]>`select ${columns(db)} from applications order by lower(name), created_at`;
}


/** By id (the Applications page, forward-auth apps) or client_id (the CLI, OIDC clients). */
export async function findApplication(db: Db, idOrClientId: string): Promise<Application | null> {
  const id = UUID.test(idOrClientId) ? idOrClientId : null;
  const [row] = await db<Row[]>`select ${columns(db)} from applications where id = ${id} or client_id = ${idOrClientId}`;
  return row ?? null;
}

/** Removes the application and everything the provider issued to it (grants, tokens, codes). */
export async function removeApplication(db: Db, idOrClientId: string): Promise<Application | null> {
  const app = await findApplication(db, idOrClientId);
  if (!app) return null;
  await db`delete from applications where id = ${app.id}`;
  if (app.clientId) await db`delete from oidc_models where payload->>'clientId' = ${app.clientId}`;
  return app;
}

export type RotateResult = { ok: true; clientId: string; clientSecret: string } | { ok: false; reason: "not_found" | "public_client" | "forward_auth" };

/** A new client secret, returned once; the old one stops working at once. */
export async function rotateClientSecret(db: Db, idOrClientId: string, now: Date): Promise<RotateResult> {
  const app = await findApplication(db, idOrClientId);
  if (!app) return { ok: false, reason: "not_found" };
  if (app.kind !== "oidc") return { ok: false, reason: "forward_auth" };
  if (!app.confidential) return { ok: false, reason: "public_client" };
  const secret = newSecret();
  await db`update applications set client_secret_hash = ${hashSecret(secret)}, secret_rotated_at = ${now} where id = ${app.id}`;
  return { ok: true, clientId: app.clientId!, clientSecret: secret };
}

/**
 * oidc-provider compares client_secret against what the Client model holds. It holds this
 * marker + the SHA-256 of the secret, and compareClientSecret (patched in provider.ts) hashes
 * the presented secret before comparing: the clear secret exists only in the administrator's hands.
 */
export const SECRET_HASH_PREFIX = "sha256:";

export function secretMatchesHash(presented: string, stored: string): boolean {
  if (!stored.startsWith(SECRET_HASH_PREFIX)) return false;
  const expected = Buffer.from(stored.slice(SECRET_HASH_PREFIX.length), "hex");
  const actual = hashSecret(presented);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Client metadata for oidc-provider's Client model: code flow, PKCE, RS256, no consent screen. */
export async function findClientMetadata(db: Db, clientId: string): Promise<Record<string, unknown> | undefined> {
  if (clientId.length > 100) return undefined;
  const [row] = await db<{ name: string; hash: Uint8Array | null; redirectUris: string[]; postLogout: string[]; backchannel: string | null }[]>`
    select name, client_secret_hash as hash, redirect_uris as "redirectUris", post_logout_redirect_uris as "postLogout",
      backchannel_logout_uri as backchannel
    from applications where client_id = ${clientId} and kind = 'oidc'`;
  if (!row) return undefined;
  return {
    client_id: clientId,
    client_name: row.name,
    ...(row.hash
      ? { client_secret: SECRET_HASH_PREFIX + Buffer.from(row.hash).toString("hex"), token_endpoint_auth_method: "client_secret_basic" }
      : { token_endpoint_auth_method: "none" }),
    redirect_uris: row.redirectUris,
    post_logout_redirect_uris: row.postLogout,
    // sid always: the ID token carries it, so a client can end just the session the logout token names.
    ...(row.backchannel ? { backchannel_logout_uri: row.backchannel, backchannel_logout_session_required: true } : {}),
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    id_token_signed_response_alg: "RS256",
    require_auth_time: true,
  };
}

/** Forward-auth applications on this URL's origin; the one with the longest path prefix wins. */
export async function findForwardAuthApplication(db: Db, url: URL): Promise<Application | null> {
  const rows = await db<Row[]>`select ${columns(db)} from applications where forward_auth_origin = ${url.origin}`;
  let best: Application | null = null;
  for (const row of rows) {
    if (row.forwardAuthUrl && isUnder(row.forwardAuthUrl, url) && (!best || row.forwardAuthUrl.length > best.forwardAuthUrl!.length)) best = row;
  }
  return best;
}

/**
 * For checkReturnTo (src/flows/return-to.ts): true when `raw` is an absolute URL under a
 * registered application's URL (scheme, host, port and path prefix). Never an open redirect.
 */
export async function isRegisteredApplicationUrl(db: Db, raw: string): Promise<boolean> {
  if (raw.length > 4000) return false;
  const url = URL.parse(raw);
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:") || url.username || url.password) return false;
  return (await findForwardAuthApplication(db, url)) !== null;
}
