import type { Context } from "hono";
import type { AppDeps, AppEnv } from "../env.ts";
import { render } from "../render.tsx";
import { AdminForbidden } from "../../../templates/admin/users.tsx";
import { ErrorPage } from "../../../templates/errors.tsx";

/**
 * The admin area's refusals as whole pages: what its guards answer a signed-in person who may
 * not be there (403), and what a lookup answers an address naming something that is not there
 * or not the viewer's to see (404, in the same words either way, so it tells nothing).
 */

type Ctx = Context<AppEnv>;

export function forbiddenPage(deps: AppDeps, c: Ctx): Response {
  return render(c, deps, { title: "Access denied", status: 403, body: <AdminForbidden /> });
}

/** `heading` is the page's title too: "User not found", and `message` says where to go instead. */
export function notFoundPage(deps: AppDeps, c: Ctx, heading: string, message: string): Response {
  return render(c, deps, { title: heading, status: 404, body: <ErrorPage heading={heading} message={message} /> });
}
