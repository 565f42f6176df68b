import { Hono, type Context } from "hono";
import type Provider from "oidc-provider";
import type { Child } from "hono/jsx";
import type { AppDeps, AppEnv } from "../env.ts";
import { render, redirectTo } from "../render.tsx";
import { clearCookie, readCookie } from "../cookies.ts";
import { endSession } from "../sign-in.ts";
import { signOut } from "../../flows/login.ts";
import { createProvider, type PortalContext, type ProviderPages } from "../../apps/provider.ts";
import { callProvider, nodeRequest } from "../../apps/provider-http.ts";
import { decideInteraction } from "../../apps/interaction.ts";
import { currentSigningKeyId } from "../../apps/keys.ts";
import type { BackchannelLogouts } from "../../apps/backchannel.ts";
import { Layout } from "../../../templates/layout.tsx";
import { AuthorizationErrorPage, ContinuePage, LogoutConfirmPage, SignedOutPage } from "../../../templates/applications/oidc.tsx";

type C = Context<AppEnv>;

/** Another instance may have rotated the keys; look at most this often, then rebuild the provider. */
const KEY_CHECK_INTERVAL_MS = 60_000;

/**
 * The OpenID Connect provider's endpoints (discovery, /oidc/*) handed to oidc-provider, and
 * the interaction pages that answer its login prompt from the portal's session.
 */
export function oidcRoutes(deps: AppDeps, logouts: BackchannelLogouts) {
  const app = new Hono<AppEnv>();
  const getProvider = providerHolder(deps);
  logouts.useProvider(getProvider);

  const portalOf = (c: C): PortalContext => ({ session: c.get("session"), user: c.get("user") });
  const pairFor = (c: C) => nodeRequest(c.req.raw, deps.config.publicUrl, c.get("ip"), portalOf(c));

  const forward = async (c: C) => callProvider(await getProvider(), await pairFor(c));

  app.get("/.well-known/openid-configuration", forward);

  // RP-initiated logout, confirmed: the provider ends its session, the portal ends its own
  // (product.md §5) and, when the way back is another site, hands back with a new navigation.
  app.post("/oidc/session/end/confirm", async (c) => {
    const fields = new URLSearchParams(await c.req.raw.clone().text());
    const response = await forward(c);
    const location = response.headers.get("location");
    const succeeded = response.status >= 300 && response.status < 400 && location !== null;
    const user = c.get("user");
    if (succeeded && fields.get("logout") && user) {
      await signOut(deps, { ip: c.get("ip"), userAgent: c.get("userAgent"), rememberToken: readCookie(c, deps.config, "remember") }, user);
      await endSession(c, deps);
      clearCookie(c, deps.config, "remember");
    }
    if (!succeeded || new URL(location!, deps.config.publicUrl).origin === new URL(deps.config.publicUrl).origin) return response;
    for (const cookie of response.headers.getSetCookie()) c.header("Set-Cookie", cookie, { append: true });
    return render(c, deps, { title: "Signed out", body: <ContinuePage href={location!} name={null} /> });
  });

  app.all("/oidc/*", forward);

  const interaction = async (c: C, afterSignIn: boolean) => {
    const provider = await getProvider();
    const pair = await pairFor(c);
    const uid = c.req.param("uid");
    let details: Awaited<ReturnType<Provider["interactionDetails"]>>;
    try {
      details = await provider.interactionDetails(pair.req, pair.res);
    } catch (error) {
      if ((error as Error).name !== "SessionNotFound") throw error;
      return expired(c);
    }
    if (details.uid !== uid) return expired(c);
    const maxAge = details.params.max_age === undefined ? undefined : Number(details.params.max_age);
    const decision = decideInteraction(
      { prompt: details.prompt.name, reasons: details.prompt.reasons, startedAt: details.iat, maxAge, grantId: details.grantId },
      portalOf(c),
      deps.clock.now(),
    );
    if (decision.kind === "sign-in") {
      const rd = encodeURIComponent(`/interaction/${uid}/signed-in`);
      return redirectTo(c, `/login?rd=${rd}${decision.again ? "&prompt=login" : ""}`);
    }
    const result: Parameters<Provider["interactionResult"]>[2] = { login: decision.login };
    if (decision.needsConsent) {
      // First-party applications: what they ask for is granted without a consent screen.
      const clientId = String(details.params.client_id);
      let grant = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
      if (grant && grant.accountId !== decision.login.accountId) grant = undefined;
      grant ??= new provider.Grant({ accountId: decision.login.accountId, clientId });
      const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
      if (missing.missingOIDCScope?.length) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
      if (missing.missingOIDCClaims?.length) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(" "));
      result.consent = { grantId: await grant.save() };
    }
    const returnTo = await provider.interactionResult(pair.req, pair.res, result, { mergeWithLastSubmission: false });
    if (!afterSignIn) return c.redirect(returnTo, 303);
    const client = await provider.Client.find(String(details.params.client_id));
    return render(c, deps, { title: "Continue", body: <ContinuePage href={returnTo} name={client?.clientName ?? null} /> });
  };

  app.get("/interaction/:uid", (c) => interaction(c, false));
  app.get("/interaction/:uid/signed-in", (c) => interaction(c, true));

  const expired = (c: C) =>
    render(c, deps, { title: "Cannot continue to the application", status: 400, body: <AuthorizationErrorPage error="session_not_found" /> });

  return app;
}

/**
 * One provider per app, built on first use (its keys come from the database: createApp does no
 * I/O), rebuilt when another instance rotated the signing keys.
 */
function providerHolder(deps: AppDeps): () => Promise<Provider> {
  let current: { provider: Promise<Provider>; kid: string | null; checkedAt: number } | null = null;
  const pages = providerPages(deps);
  const build = () => {
    const provider = createProvider(deps, pages);
    provider.catch(() => {
      current = null; // the next request tries again (say the database was down)
    });
    return provider;
  };
  return async () => {
    const now = deps.clock.now().getTime();
    if (!current) {
      const provider = build();
      current = { provider, kid: null, checkedAt: now };
      await provider;
      current.kid = await currentSigningKeyId(deps.sql);
      return provider;
    }
    if (now - current.checkedAt >= KEY_CHECK_INTERVAL_MS) {
      current.checkedAt = now;
      const kid = await currentSigningKeyId(deps.sql);
      if (kid !== current.kid) current = { provider: build(), kid, checkedAt: now };
    }
    return current.provider;
  };
}

function providerPages(deps: AppDeps): ProviderPages {
  const page = (title: string, body: Child) =>
    "<!doctype html>" +
    (
      <Layout title={`${title} | ${deps.config.portalName}`} portalName={deps.config.portalName} assets={deps.assets} user={null}>
        {body}
      </Layout>
    ).toString();
  return {
    logout: ({ form, clientName }) => ({ html: page("Sign out", <LogoutConfirmPage form={form} clientName={clientName} />) }),
    loggedOut: ({ clientName }) => page("Signed out", <SignedOutPage clientName={clientName} />),
    error: ({ error }) => page("Cannot continue to the application", <AuthorizationErrorPage error={error} />),
  };
}
