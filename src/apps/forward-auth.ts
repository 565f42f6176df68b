import type { Db } from "../db/client.ts";
import type { User } from "../auth/users.ts";
import { findForwardAuthApplication, type Application } from "./registry.ts";
import { listUserOrganizationNames } from "../orgs/memberships.ts";

/**
 * Forward authentication with Authelia's contract (product.md §5), so existing nginx
 * auth_request, Traefik ForwardAuth and Caddy forward_auth snippets work. The proxy asks about
 * a request it holds; the answer is a decision only: the headers it names are never used for
 * the portal's own links.
 */

export type ForwardAuthDecision =
  | { kind: "allow"; application: Application; headers: Record<string, string> }
  | { kind: "sign-in"; location: string }
  | { kind: "forbidden"; why: "no_application" | "group" }
  | { kind: "bad-request"; message: string };

/** The original request's URL as nginx gives it (X-Original-URL). */
export function urlFromOriginal(header: string | undefined): URL | null {
  if (!header || header.length > 8000) return null;
  const url = URL.parse(header);
  return url && (url.protocol === "http:" || url.protocol === "https:") ? url : null;
}

/** The original request's URL as Traefik and Caddy give it (X-Forwarded-Proto, -Host, -Uri). */
export function urlFromForwarded(proto: string | undefined, host: string | undefined, uri: string | undefined): URL | null {
  if (!host || host.length > 300 || (uri && uri.length > 8000)) return null;
  const scheme = (proto ?? "https").split(",")[0]!.trim().toLowerCase();
  if (scheme !== "http" && scheme !== "https") return null;
  const path = uri && uri.startsWith("/") ? uri : "/";
  const url = URL.parse(`${scheme}://${host.split(",")[0]!.trim()}${path}`);
  return url && url.host ? url : null;
}

/**
 * The groups a person is in, for Remote-Groups, the ID token's `groups` and the application's
 * --group: their role, then their organizations (a provider's group included), by name.
 */
export async function groupsOf(db: Db, user: User): Promise<string[]> {
  return [user.role, ...(await listUserOrganizationNames(db, user.id))];
}

export async function decideForwardAuth(db: Db, publicUrl: string, url: URL | null, user: User | null): Promise<ForwardAuthDecision> {
  if (!url) return { kind: "bad-request", message: "The proxy did not say which URL was requested (X-Original-URL, or X-Forwarded-Proto/Host/Uri)." };
  const application = await findForwardAuthApplication(db, url);
  // Deny by default: a URL under no registered application is nobody's to open.
  if (!application) return { kind: "forbidden", why: "no_application" };
  if (!user || user.status !== "active") return { kind: "sign-in", location: `${publicUrl}/login?rd=${encodeURIComponent(url.toString())}` };
  const groups = await groupsOf(db, user);
  if (application.allowedGroup && !groups.includes(application.allowedGroup)) return { kind: "forbidden", why: "group" };
  return {
    kind: "allow",
    application,
    headers: {
      "Remote-User": user.email,
      "Remote-Email": user.email,
      "Remote-Name": user.name,
      "Remote-Groups": groups.join(","),
    },
  };
}
