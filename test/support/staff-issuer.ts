/**
 * A local OpenID Connect issuer for staff sign-in tests (oauth2-mock-server: discovery, JWKS,
 * signed ID tokens carrying the nonce, PKCE checked at its token endpoint). Its authorize
 * endpoint signs "someone" in at once and sends the browser back; each test says who through
 * `claims`, merged into the next ID tokens.
 */
import { OAuth2Server } from "oauth2-mock-server";

export interface StaffIssuer {
  /** The issuer identifier, as STAFF_OIDC_ISSUER takes it. */
  url: string;
  /** Claims the next ID tokens carry (sub, email, name, groups, amr, or a changed iss or aud). */
  claims: Record<string, unknown>;
  /** Every authorization request the issuer received, newest last. */
  authorizeRequests: URL[];
  /** How many times its token endpoint was called. */
  tokenRequests: number;
  /** The Authorization header of the last token request (client_secret_basic). */
  lastTokenAuthorization: string | undefined;
  env(extra?: Record<string, string>): Record<string, string>;
  stop(): Promise<void>;
}

// Letters and digits only: the portal sends them as client_secret_basic, form-encoded first as
// RFC 6749 §2.3.1 asks ("-" becomes %2D), and this mock issuer does not decode them again.
export const STAFF_CLIENT_ID = "mfaportaltest";
export const STAFF_CLIENT_SECRET = "staffclientsecretfortests0123";

export async function startStaffIssuer(): Promise<StaffIssuer> {
  const server = new OAuth2Server();
  await server.issuer.keys.generate("RS256");
  await server.start(0, "127.0.0.1");
  const issuer: StaffIssuer = {
    url: server.issuer.url!,
    claims: {},
    authorizeRequests: [],
    tokenRequests: 0,
    lastTokenAuthorization: undefined,
    env: (extra = {}) => ({
      STAFF_OIDC_ISSUER: server.issuer.url!,
      STAFF_OIDC_CLIENT_ID: STAFF_CLIENT_ID,
      STAFF_OIDC_CLIENT_SECRET: STAFF_CLIENT_SECRET,
      ...extra,
    }),
    stop: () => server.stop(),
  };
  server.service.on("beforeAuthorizeRedirect", (_redirect: unknown, req: { url?: string }) => {
    issuer.authorizeRequests.push(new URL(req.url ?? "/", issuer.url));
  });
  server.service.on("beforeResponse", (_response: unknown, req: { headers: Record<string, string | undefined> }) => {
    issuer.tokenRequests += 1;
    issuer.lastTokenAuthorization = req.headers.authorization;
  });
  server.service.on("beforeTokenSigning", (token: { payload: Record<string, unknown> }) => {
    // The access token and the ID token both pass here; the portal reads only the ID token.
    Object.assign(token.payload, issuer.claims);
  });
  return issuer;
}
