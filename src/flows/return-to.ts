import type { Config } from "../config.ts";

/**
 * Where a sign-in or a registration may end instead of /home (`rd`, product.md §5). Never an open
 * redirect: for now only a path of the portal itself or a URL on PUBLIC_URL's origin; the
 * registered applications' URLs come later, here and nowhere else. Async because that check
 * will read the application registry.
 */
const MAX_RETURN_TO_LENGTH = 2048;

// Whitespace and controls (the URL parser silently drops tabs and newlines, so "/\t/evil.example"
// would become "//evil.example"), and the backslash (browsers read "/\evil.example" as "//evil.example").
const UNSAFE = /[\s\u0000-\u001F\u007F-\u009F\\]/;

export async function checkReturnTo(deps: { config: Pick<Config, "publicUrl"> }, raw: string | undefined): Promise<string | null> {
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
  if (url.origin !== portal.origin || url.username || url.password) return null;
  // Handed back as a path of the portal, rebuilt from the parsed URL (never the text as sent).
  return `${url.pathname}${url.search}${url.hash}`;
}
