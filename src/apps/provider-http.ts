import type { IncomingMessage, ServerResponse } from "node:http";
import { toFetchResponse, toReqRes } from "fetch-to-node";
import type Provider from "oidc-provider";
import type { PortalContext } from "./provider.ts";

/**
 * oidc-provider is a Koa app (Node's req/res); the portal speaks fetch (Hono on Node and Deno,
 * app.request() in tests). fetch-to-node gives the provider Node-shaped objects over a Request.
 *
 * Host, scheme and client address are the portal's own, never the client's: Host and
 * X-Forwarded-Host/Proto come from PUBLIC_URL (links are built from it, never from the Host
 * header) and X-Forwarded-For is the address the portal computed under TRUST_PROXY. The
 * provider runs with proxy = true to read exactly these.
 */
export interface NodePair {
  req: IncomingMessage;
  res: ServerResponse;
}

export async function nodeRequest(request: Request, publicUrl: string, ip: string, portal: PortalContext): Promise<NodePair> {
  const origin = new URL(publicUrl);
  const headers = new Headers(request.headers);
  for (const name of ["forwarded", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-for", "x-forwarded-port"]) headers.delete(name);
  headers.set("host", origin.host);
  headers.set("x-forwarded-host", origin.host);
  headers.set("x-forwarded-proto", origin.protocol.replace(":", ""));
  headers.set("x-forwarded-for", ip);
  const hasBody = request.method !== "GET" && request.method !== "HEAD";
  // The body was already bounded by the app's body limit; buffering it keeps the stream simple.
  const body = hasBody ? await request.arrayBuffer() : undefined;
  const url = new URL(request.url);
  const copy = new Request(new URL(url.pathname + url.search, origin), { method: request.method, headers, body });
  const { req, res } = toReqRes(copy);
  (req as unknown as { portal: PortalContext }).portal = portal;
  // No socket behind a Request: Koa asks it whether TLS was used (never: the scheme is X-Forwarded-Proto above).
  const socket = { encrypted: false, remoteAddress: ip };
  Object.defineProperty(req, "socket", { value: socket, configurable: true });
  Object.defineProperty(req, "connection", { value: socket, configurable: true });
  return { req, res };
}

/** Runs the provider's own handler (discovery, authorization, token, userinfo, JWKS, revocation, end-session). */
export async function callProvider(provider: Provider, pair: NodePair): Promise<Response> {
  provider.callback()(pair.req, pair.res);
  return toFetchResponse(pair.res);
}
