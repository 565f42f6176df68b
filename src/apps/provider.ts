import type Provider from "oidc-provider";
import type { Configuration, KoaContextWithOIDC } from "oidc-provider";
import type { Sql } from "../db/client.ts";
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { Session } from "../auth/sessions.ts";
import type { User } from "../auth/users.ts";
import { findUserById } from "../auth/users.ts";
import { createAdapterFactory } from "./adapter.ts";
import { deriveKey, loadSigningKeys, type PrivateJwk } from "./keys.ts";
import { secretMatchesHash } from "./registry.ts";
import { ROUTES } from "./oidc-paths.ts";
import { groupsOf } from "./forward-auth.ts";
import { oweLogoutToken } from "./application-sessions.ts";

/**
 * The OpenID Connect provider (product.md §5) on panva's oidc-provider: issuer = PUBLIC_URL,
 * endpoints under /oidc, discovery at /.well-known/openid-configuration. Its login prompt is the
 * portal's own sign-in (the interaction glue in interaction.ts and routes/oidc.tsx), its storage
 * Postgres (adapter.ts), its keys Postgres too (keys.ts).
 */


/** multi-factor, as the OpenID PAPE policy names it: every portal sign-in is password + a second factor. */
export const ACR_MFA = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";

export const ID_TOKEN_TTL_S = 60 * 60;
export const REFRESH_TOKEN_TTL_S = 14 * 24 * 60 * 60;
/** How long a client's back-channel logout endpoint gets to answer (oidc-provider's own limit is 2.5 s). */
export const BACKCHANNEL_TIMEOUT_MS = 2000;

/** What the web layer hands the provider with each request (on the Node request object). */
export interface PortalContext {
  session: Session | null;
  user: User | null;
}

/** The HTML the provider shows itself: confirm sign-out, signed out, and errors for browsers. */
export interface ProviderPages {
  logout(input: { form: string; clientName: string | null; postLogoutOrigin: string | null }): { html: string; csp?: string };
  loggedOut(input: { clientName: string | null }): string;
  error(input: { error: string; description: string | undefined }): string;
}

export interface ProviderDeps {
  config: Config;
  sql: Sql;
  clock: Clock;
  log: Logger;
}

export function portalOf(ctx: KoaContextWithOIDC): PortalContext {
  return ((ctx.req as unknown as { portal?: PortalContext }).portal ?? { session: null, user: null });
}

/**
 * What a portal session proves, as RFC 8176 amr values. Sessions from before the redesign's
 * migration 0005 carry no amr: every portal sign-in is a password and a second factor.
 */
export function sessionAmr(session: Session): string[] {
  const amr = (session as Session & { amr?: string[] | null }).amr;
  return amr && amr.length ? amr : ["pwd", "mfa"];
}

export function sessionAuthenticatedAt(session: Session): Date {
  return (session as Session & { authenticatedAt?: Date | null }).authenticatedAt ?? session.createdAt;
}

export async function createProvider(deps: ProviderDeps, pages: ProviderPages, keys?: PrivateJwk[]): Promise<Provider> {
  const { config, sql, clock, log } = deps;
  const jwks = keys ?? (await loadSigningKeys(sql, config.secretKey, clock));
  // Loaded on the first OIDC request, not at start: a portal that protects no application pays nothing for it.
  const { default: ProviderClass, interactionPolicy } = await import("oidc-provider");

  const policy = interactionPolicy.base();
  // SSO follows the portal session: no portal session (signed out, expired, ended by an
  // administrator) or a different person in it, and the provider asks for the sign-in again.
  policy.get("login")!.checks.add(
    new interactionPolicy.Check("portal_session", "a portal sign-in is required", (ctx) => {
      const portal = portalOf(ctx);
      const accountId = ctx.oidc.session?.accountId;
      if (!portal.session || !portal.user) return interactionPolicy.Check.REQUEST_PROMPT;
      return accountId !== portal.user.id ? interactionPolicy.Check.REQUEST_PROMPT : interactionPolicy.Check.NO_NEED_TO_PROMPT;
    }),
    0,
  );

  const configuration: Configuration = {
    adapter: createAdapterFactory(sql, clock),
    jwks: { keys: jwks as never },
    cookies: {
      keys: [deriveKey(config.secretKey, "oidc-provider cookies").toString("base64url")],
      names: { session: "oidc_session", interaction: "oidc_interaction", resume: "oidc_resume" },
      long: { httpOnly: true, sameSite: "lax", secure: config.secure },
      short: { httpOnly: true, sameSite: "lax", secure: config.secure },
    },
    routes: ROUTES,
    scopes: ["openid", "offline_access", "email", "profile"],
    claims: {
      openid: ["sub", "acr", "amr", "auth_time"],
      email: ["email", "email_verified"],
      profile: ["name", "groups"],
      sid: null,
      iss: null,
    },
    acrValues: [ACR_MFA],
    responseTypes: ["code"],
    clientAuthMethods: ["client_secret_basic", "client_secret_post", "none"],
    enabledJWA: { idTokenSigningAlgValues: ["RS256"] },
    pkce: { required: () => true },
    rotateRefreshToken: true,
    // Offline access as clients ask for it (offline_access with prompt=consent), and refresh
    // tokens for every code grant of a client allowed them, so a client need not show a consent prompt.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
    ttl: {
      AccessToken: 10 * 60,
      AuthorizationCode: 60,
      IdToken: ID_TOKEN_TTL_S,
      RefreshToken: REFRESH_TOKEN_TTL_S,
      Interaction: 30 * 60,
      Session: Math.max(60, Math.floor(config.ttl.sessionMax / 1000)),
      Grant: 30 * 24 * 60 * 60,
    },
    features: {
      devInteractions: { enabled: false },
      // A client may revoke or introspect only what was issued to it.
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
      // Logout tokens to clients that registered a back-channel logout URI; sent by backchannel.ts (see below).
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          const postLogout = ctx.oidc.params?.post_logout_redirect_uri;
          const page = pages.logout({
            form,
            clientName: ctx.oidc.client?.clientName ?? null,
            postLogoutOrigin: typeof postLogout === "string" ? (URL.parse(postLogout)?.origin ?? null) : null,
          });
          ctx.type = "html";
          if (page.csp) ctx.set("Content-Security-Policy", page.csp);
          ctx.body = page.html;
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.type = "html";
          ctx.body = pages.loggedOut({ clientName: ctx.oidc.client?.clientName ?? null });
        },
      },
    },
    interactions: {
      policy,
      url: async (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    // Administrator-registered applications are first-party: the grant is what they asked for, no consent screen.
    loadExistingGrant: async (ctx) => {
      const { oidc } = ctx;
      const clientId = oidc.client!.clientId;
      const accountId = oidc.session!.accountId!;
      const grantId = oidc.result?.consent?.grantId || oidc.session!.grantIdFor(clientId);
      let grant = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
      if (grant && (grant.accountId !== accountId || grant.clientId !== clientId)) grant = undefined;
      grant ??= new oidc.provider.Grant({ accountId, clientId });
      const scopes = [...oidc.requestParamOIDCScopes].join(" ");
      if (scopes) grant.addOIDCScope(scopes);
      const claims = [...oidc.requestParamClaims];
      if (claims.length) grant.addOIDCClaims(claims);
      await grant.save();
      return grant;
    },
    findAccount: async (_ctx, id) => {
      const user = await findUserById(sql, id).catch(() => null);
      // A disabled (or deleted) person's tokens stop working at once, refresh tokens included.
      if (!user || user.status !== "active") return undefined;
      return {
        accountId: user.id,
        claims: async () => ({ sub: user.id, email: user.email, email_verified: true, name: user.name || undefined, groups: await groupsOf(sql, user) }),
      };
    },
    renderError: async (ctx, out) => {
      ctx.type = "html";
      ctx.body = pages.error({ error: String(out.error), description: out.error_description as string | undefined });
    },
    conformIdTokenClaims: true,
    // The provider's only outgoing requests are logout tokens to back-channel URIs, which only an
    // administrator registers (no dynamic registration): applications on the organization's own
    // network (10.x, 192.168.x, this host) are what they are for, so oidc-provider's refusal of
    // special-use addresses is dropped with its dispatcher. A short timeout, no redirects followed.
    fetch: (url, options) => {
      const { dispatcher: _ssrfGuard, ...rest } = options as RequestInit & { dispatcher?: unknown };
      return globalThis.fetch(url, { ...rest, redirect: "manual", signal: AbortSignal.timeout(BACKCHANNEL_TIMEOUT_MS) });
    },
  };

  const provider = new ProviderClass(config.publicUrl, configuration);
  // The web layer sets X-Forwarded-Proto/Host from PUBLIC_URL and X-Forwarded-For from the
  // client address it computed under TRUST_PROXY, so these headers are always the portal's own.
  provider.proxy = true;
  // Client secrets are kept as their SHA-256 (registry.ts); compare the presented one hashed.
  provider.Client.prototype.compareClientSecret = function (this: { clientSecret?: string }, actual: string) {
    return secretMatchesHash(actual, this.clientSecret ?? "");
  } as never;
  // RP-initiated logout (end_session) tells the session's other clients by calling this for each;
  // it is made to owe the logout token instead, so the person's sign-out does not wait on a slow
  // client: backchannel.ts sends it after the response with the original (kept for deliverLogoutToken).
  const Client = provider.Client.prototype as unknown as ClientWithLogout;
  sendLogoutTokens.set(provider, Client.backchannelLogout);
  Client.backchannelLogout = async function (this: ClientWithLogout, sub: string, sid: string | undefined) {
    await oweLogoutToken(sql, { clientId: this.clientId, accountId: sub, sid: sid ?? null });
  };
  provider.on("server_error", (_ctx: unknown, error: Error) => (process.env.OIDC_DEBUG && console.error(error), log.error)("oidc_server_error", { name: error.name, message: error.message }));
  return provider;
}

interface ClientWithLogout {
  clientId: string;
  backchannelLogoutUri?: string;
  backchannelLogout(sub: string, sid: string | undefined): Promise<void>;
}

const sendLogoutTokens = new WeakMap<Provider, ClientWithLogout["backchannelLogout"]>();

export type LogoutDelivery = { sent: true; uri: string } | { sent: false; reason: "no_client" | "no_uri" } | { sent: false; reason: "failed"; uri: string; error: string };

/**
 * Sends one logout token with oidc-provider's own Client#backchannelLogout: a JWT signed with
 * the provider's keys (iss, aud = client_id, iat, jti, sub, sid, the back-channel logout event,
 * no nonce), POSTed as logout_token=…; a 200 or 204 is success. Never throws.
 */
export async function deliverLogoutToken(provider: Provider, clientId: string, sub: string, sid: string | null): Promise<LogoutDelivery> {
  const client = (await provider.Client.find(clientId).catch(() => undefined)) as unknown as ClientWithLogout | undefined;
  if (!client) return { sent: false, reason: "no_client" };
  const uri = client.backchannelLogoutUri;
  if (!uri) return { sent: false, reason: "no_uri" };
  try {
    await sendLogoutTokens.get(provider)!.call(client, sub, sid ?? undefined);
    return { sent: true, uri };
  } catch (error) {
    const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
    const message = (error as Error).name === "TimeoutError" ? `no answer within ${BACKCHANNEL_TIMEOUT_MS} ms` : cause?.code ?? cause?.message ?? (error as Error).message;
    return { sent: false, reason: "failed", uri, error: String(message).slice(0, 200) };
  }
}
