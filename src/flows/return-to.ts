import type { Config } from "../config.ts";
import type { Db } from "../db/client.ts";
import { isRegisteredApplicationUrl } from "../apps/registry.ts";

/**
 * Where a sign-in or a registration may end instead of /home (`rd`, product.md §5). Never an open
 * redirect: a path of the portal itself, a URL on PUBLIC_URL's origin, or a URL under a registered
 * application (src/apps/registry.ts), here and nowhere else.
 */
const MAX_RETURN_TO_LENGTH = 2048;

// Whitespace and controls (the URL parser silently drops tabs and newlines, so "/\t/evil.example"
// would become "//evil.example"), and the backslash (browsers read "/\evil.example" as "//evil.example").
const UNSAFE = /[\s\u0000-\u001F\u007F-\u009F\\]/;

/**
 * An application's URL is handed back as this same-origin page (it shows ContinuePage, whose
 * refresh goes on): the last step of a sign-in answers a form POST, and CSP form-action 'self'
 * would block a redirect chain from that form to another origin.
 */
export const CONTINUE_PATH = "/login/continue";

type ReturnToDeps = { config: Pick<Config, "publicUrl">; sql?: Db };

export async function checkReturnTo(deps: ReturnToDeps, raw: string | undefined): Promise<string | null> {
  if (!raw || raw.length > MAX_RETURN_TO_LENGTH || UNSAFE.test(raw)) return null;
  const portal = new URL(deps.config.publicUrl);
  // A path must be one: "//host" and "/\host" are another host to a browser.
  const isPath = raw.startsWith("/") && !raw.startsWith("//");
  let url: URL;
  try {
    url = isPath ? new URL(raw, portal) : new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  if (url.username || url.password) return null;
  if (url.origin !== portal.origin) {
    const application = await checkApplicationUrl(deps, url.href);
    return application ? `${CONTINUE_PATH}?rd=${encodeURIComponent(application)}` : null;
  }
  // Handed back as a path of the portal, rebuilt from the parsed URL (never the text as sent).
  return `${url.pathname}${url.search}${url.hash}`;
}

/** An absolute URL under a registered application (for CONTINUE_PATH), or null. */
export async function checkApplicationUrl(deps: ReturnToDeps, raw: string | undefined): Promise<string | null> {
  if (!deps.sql || !raw || raw.length > MAX_RETURN_TO_LENGTH || UNSAFE.test(raw)) return null;
  const url = URL.parse(raw);
  if (!url || url.origin === new URL(deps.config.publicUrl).origin) return null;
  return (await isRegisteredApplicationUrl(deps.sql, url.href)) ? url.href : null;
}
