import { Hono, type Context } from "hono";
import type { AppDeps, AppEnv } from "../env.ts";
import { goToPage, redirectTo, render, wantsFragment } from "../render.tsx";
import { clearCookie, readCookie, writeCookie } from "../cookies.ts";
import { startSession } from "../sign-in.ts";
import { requestMeta } from "../steps.tsx";
import { checkReturnTo } from "../../flows/return-to.ts";
import { finishStaffSignIn, startStaffSignIn, STAFF_CALLBACK_PATH, staffLoginPath, type StaffRefused } from "../../flows/staff-sign-in.ts";
import { StaffRefusedPage } from "../../../templates/staff/sign-in.tsx";

type C = Context<AppEnv>;

/**
 * Staff sign-in, mounted at /staff: GET /staff/login sends the browser to the organization's
 * issuer, GET /staff/callback is where the issuer sends it back. Exists only with STAFF_OIDC_*
 * set (the app does not mount it otherwise).
 */
export function staffRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();

  const refusedPage = (c: C, result: StaffRefused) => {
    if (result.retryAfterSeconds !== undefined) c.header("Retry-After", String(result.retryAfterSeconds));
    return render(c, deps, { title: "Staff sign-in", status: result.status, body: <StaffRefusedPage message={result.message} /> });
  };

  app.get("/login", async (c) => {
    const returnTo = c.req.query("rd");
    // Signed in already: straight to where the sign-in was to end, unless the sign-in page asked
    // for a new sign-in (prompt=login), as /login does.
    if (c.get("user") && c.req.query("prompt") !== "login") return redirectTo(c, (await checkReturnTo(deps, returnTo)) ?? "/home");
    const loginHint = c.req.query("login_hint");
    // htmx followed a 303 here (home realm discovery): the browser itself must load this URL, since
    // fetch cannot follow the next redirect to another origin.
    if (wantsFragment(c)) return goToPage(c, staffLoginPath(loginHint, returnTo));
    const result = await startStaffSignIn(deps, requestMeta(c, deps), { loginHint, returnTo });
    if (result.kind === "refused") return refusedPage(c, result);
    writeCookie(c, deps.config, "staff", result.token);
    return c.redirect(result.url, 303);
  });

  app.get("/callback", async (c) => {
    // The URL the issuer redirected to, from PUBLIC_URL (behind a proxy the request's own URL is not it).
    const currentUrl = new URL(`${deps.config.publicUrl}${STAFF_CALLBACK_PATH}${new URL(c.req.url).search}`);
    const result = await finishStaffSignIn(deps, requestMeta(c, deps), readCookie(c, deps.config, "staff"), currentUrl);
    clearCookie(c, deps.config, "staff");
    if (result.kind === "refused") return refusedPage(c, result);
    // The session proves what the issuer reported (its amr and auth_time), not more.
    await startSession(c, deps, result.user, null, result.proof);
    return goToPage(c, result.returnTo ?? "/home");
  });

  return app;
}
