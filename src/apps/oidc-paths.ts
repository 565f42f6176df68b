/** Where the provider's endpoints live (kept apart from provider.ts so the middleware need not load oidc-provider). */
export const OIDC_PREFIX = "/oidc";
export const ROUTES = {
  authorization: `${OIDC_PREFIX}/auth`,
  token: `${OIDC_PREFIX}/token`,
  userinfo: `${OIDC_PREFIX}/me`,
  jwks: `${OIDC_PREFIX}/jwks`,
  revocation: `${OIDC_PREFIX}/token/revocation`,
  introspection: `${OIDC_PREFIX}/token/introspection`,
  end_session: `${OIDC_PREFIX}/session/end`,
} as const;

/**
 * POSTs that clients (servers) or relying parties' pages send, not the portal's own forms: the
 * provider authenticates the client (token, revocation, introspection), the bearer token
 * (userinfo), or asks the person to confirm (authorization, end-session). The origin check
 * leaves them to it; the end-session confirmation, the portal's own form, keeps the check.
 */
export function isProviderServerPath(path: string): boolean {
  return (
    path === ROUTES.token ||
    path === ROUTES.revocation ||
    path === ROUTES.introspection ||
    path === ROUTES.userinfo ||
    path === ROUTES.authorization ||
    path === ROUTES.end_session
  );
}
