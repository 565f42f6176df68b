import type { Context } from "hono";
import type { Child } from "hono/jsx";
import type { AppDeps, AppEnv } from "./env.ts";
import { Layout } from "../../templates/layout.tsx";
import { TimeZoneContext } from "../../templates/format.ts";

export interface View {
  title: string;
  body: Child;
  status?: 200 | 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 500 | 503;
  /**
   * The page offers passkeys: it loads the WebAuthn scripts (only the pages that need them do).
   * "on-demand": only when the person reaches for the passkey button (the sign-in page, whose
   * weight every visitor pays; static/app.js loads them).
   */
  passkeys?: boolean | "on-demand";
}

/** True when htmx asked for the part of the page inside <main>, not for a whole document. */
export function wantsFragment(c: Context<AppEnv>): boolean {
  return (
    c.req.header("hx-request") === "true" &&
    c.req.header("hx-history-restore-request") !== "true" &&
    c.req.header("hx-request-type") !== "full"
  );
}

/**
 * One URL renders both: htmx gets the content of <main> (with a <title> htmx moves to the head),
 * everyone else the full page around the same content.
 */
export function render(c: Context<AppEnv>, deps: AppDeps, view: View): Response {
  c.header("Vary", "HX-Request");
  const status = view.status ?? 200;
  const title = `${view.title} | ${deps.config.portalName}`;
  if (wantsFragment(c)) {
    if (c.req.method === "GET") c.header("HX-Replace-Url", new URL(c.req.url).pathname);
    return c.html(
      toHtml(
        <TimeZoneContext.Provider value={deps.config.portalTimeZone}>
          <title>{title}</title>
          {view.body}
        </TimeZoneContext.Provider>,
      ),
      status,
    );
  }
  return c.html(
    "<!doctype html>" +
      toHtml(
        <TimeZoneContext.Provider value={deps.config.portalTimeZone}>
          <Layout title={title} portalName={deps.config.portalName} assets={deps.assets} user={c.get("user")} administers={c.get("administers")} passkeys={view.passkeys ?? false}>
            {view.body}
          </Layout>
        </TimeZoneContext.Provider>,
      ),
    status,
  );
}

/** Templates are synchronous: data is loaded before rendering, so a view never awaits. */
function toHtml(node: { toString(): string | Promise<string> }): string {
  const html = node.toString();
  if (typeof html !== "string") throw new Error("a template returned a Promise: async components are not supported");
  return html;
}

/**
 * A whole-page load of `path` (after sign-in, sign-out, or access given up), so the banner shows
 * who is signed in. htmx gets HX-Redirect (its fetch cannot make the browser reload by a 303);
 * others a 303.
 */
export function goToPage(c: Context<AppEnv>, path: string): Response {
  if (wantsFragment(c)) {
    c.header("HX-Redirect", path);
    return c.body(null, 204);
  }
  return redirectTo(c, path);
}

/**
 * After a successful POST: a 303 to the next step. htmx's fetch follows it with HX-Request still
 * set, so the next step arrives as a fragment; without JavaScript the browser loads the full page.
 */
export function redirectTo(c: Context<AppEnv>, path: string): Response {
  return c.redirect(path, 303);
}
