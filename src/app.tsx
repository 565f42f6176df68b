import { Hono, type Context } from "hono";
import type { AppDeps, AppEnv } from "./web/env.ts";
import { clientInfo, originCheck, requestDeadline, requestLog, securityHeaders, sessionMiddleware } from "./web/middleware.ts";
import { render } from "./web/render.tsx";
import { isDatabaseUnavailable } from "./db/client.ts";
import { healthRoutes } from "./web/routes/health.ts";
import { staticRoutes } from "./web/routes/static.ts";
import { ErrorPage } from "../templates/errors.tsx";
import { devRoutes } from "./web/routes/dev.tsx";
import { webhooksRoutes } from "./web/routes/webhooks.tsx";
import { registerRoutes, troubleRoutes } from "./web/routes/register.tsx";
import { loginRoutes } from "./web/routes/login.tsx";
import { passwordResetRoutes } from "./web/routes/password-reset.tsx";
import { homeRoutes } from "./web/routes/home.tsx";
import { helpRoutes } from "./web/routes/help.tsx";
import { accountFactorsRoutes } from "./web/routes/account-factors.tsx";
import { adminRoutes } from "./web/routes/admin.tsx";
import { staffRoutes } from "./web/routes/staff.tsx";
import { oidcRoutes } from "./web/routes/oidc.tsx";
import { authzRoutes } from "./web/routes/authz.tsx";
import { applicationsRoutes } from "./web/routes/applications.tsx";
import { accountRoutes, factorChangeGuard } from "./web/routes/account.tsx";
import { usesDevOutbox } from "./config.ts";
import { compressResponses } from "./web/compress.ts";
import { limitBody } from "./web/body.ts";
import { httpMetrics } from "./web/http-metrics.ts";
import { MAX_IMPORT_BYTES } from "./orgs/user-import.ts";
import { createBackchannelLogouts } from "./apps/backchannel.ts";
import { countOwedLogoutWrites } from "./apps/application-sessions.ts";

export const BODY_LIMIT = 64 * 1024;
/** The CSV upload of Import users: the file's own limit and room for the multipart framing. */
export const IMPORT_BODY_LIMIT = MAX_IMPORT_BYTES + 16 * 1024;
/** Longer than any real request takes (argon2 under load included), shorter than a client gives up. */
export const REQUEST_DEADLINE_MS = 10_000;

/** Builds the app from its dependencies: middleware in order, then each feature mounted. No I/O here. */
export function createApp(deps: AppDeps) {
  const app = new Hono<AppEnv>();

  if (deps.config.metricsPort !== undefined) app.use(httpMetrics); // first, so it times everything below
  app.use(requestLog(deps));
  app.use(securityHeaders(deps));
  app.use(compressResponses());
  app.use(requestDeadline(REQUEST_DEADLINE_MS));
  app.use(clientInfo(deps));
  // The app itself, for an htmx step answered with the next step's page (steps.tsx, nextInPlace).
  const dispatch = (request: Request, env: unknown) => app.fetch(request, env);
  app.use((c, next) => {
    c.set("dispatch", dispatch);
    return next();
  });
  const tooLarge = (c: Context<AppEnv>) => {
    // The rest of the body is never read, so the connection cannot carry another request: the
    // answer says so and Node closes the connection after it. Left to itself, @hono/node-server
    // would drain for 500 ms (stalled by the body stream's back-pressure) and then drop the
    // socket unannounced, under a keep-alive client's next request.
    c.header("Connection", "close");
    return render(c, deps, {
      title: "Request too large",
      status: 413,
      body: <ErrorPage heading="Request too large" message="What was sent is larger than any form of the portal accepts. Go back and try again." />,
    });
  };
  const formBody = limitBody(BODY_LIMIT, tooLarge);
  // Import users uploads a CSV of up to a few thousand rows: that one path gets room for it.
  const importBody = limitBody(IMPORT_BODY_LIMIT, tooLarge);
  // Only requests that may carry a body: a GET's has nothing to read.
  app.use((c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    return c.req.path === "/admin/import" ? importBody(c, next) : formBody(c, next);
  });
  app.use(originCheck(deps));
  // Sign-outs, password resets, Disable and Reset MFA and the provider's end-session endpoint may
  // end application sessions: once such a request has answered, the logout tokens it owed go out.
  // Requests that owed none cost no query.
  const logouts = deps.backchannelLogouts ?? createBackchannelLogouts(deps);
  app.use(async (_c, next) => {
    const before = countOwedLogoutWrites();
    await next();
    if (countOwedLogoutWrites() !== before) logouts.kick();
  });

  app.route("/", healthRoutes(deps));
  app.route("/", staticRoutes(deps));
  app.route("/", webhooksRoutes(deps));
  if (usesDevOutbox(deps.config)) app.route("/", devRoutes(deps));

  // Everything below may read the session.
  app.use(sessionMiddleware(deps));
  app.route("/register", registerRoutes(deps));
  app.route("/trouble", troubleRoutes(deps));
  app.route("/login", loginRoutes(deps));
  app.route("/forgot-password", passwordResetRoutes(deps));
  app.route("/", homeRoutes(deps));
  app.route("/", helpRoutes(deps));
  // Before the admin area: its guard answers every other path under /admin.
  app.route("/", applicationsRoutes(deps));
  app.route("/admin", adminRoutes(deps));
  // Stronger factors of the account page (product.md §8); before the account area, whose routes would otherwise answer these paths.
  // Every POST there asks Confirm it's you first when the last second factor is older than REAUTH_TTL.
  app.route("/account/factors", accountFactorsRoutes(deps, factorChangeGuard(deps)));
  app.route("/account", accountRoutes(deps));
  if (deps.config.staffOidc) app.route("/staff", staffRoutes(deps));
  app.route("/", oidcRoutes(deps, logouts));
  app.route("/", authzRoutes(deps));

  app.notFound((c) =>
    render(c, deps, {
      title: "Page not found",
      status: 404,
      body: <ErrorPage heading="Page not found" message="There is no page at this address. Check the link, or start again from the sign-in page." />,
    }),
  );

  app.onError((error, c) => {
    if (isDatabaseUnavailable(error)) {
      deps.log.error("database_unavailable", { code: (error as { code?: string }).code });
      c.header("Retry-After", "5");
      return render(c, deps, {
        title: "Temporarily unavailable",
        status: 503,
        body: <ErrorPage heading="Temporarily unavailable" message="The portal cannot reach its database just now. Nothing you entered was lost; try again in a minute." />,
      });
    }
    if (isUnstorableText(error)) {
      // A NUL byte (or other text Postgres refuses) that a route passed on unchecked: the request's fault, a 400.
      return render(c, deps, {
        title: "Request not understood",
        status: 400,
        body: <ErrorPage heading="Request not understood" message="Something you sent holds characters the portal cannot take. Go back, check what you typed and try again." />,
      });
    }
    deps.log.error("unhandled_error", { name: error.name, message: error.message, stack: error.stack?.split("\n").slice(0, 6).join(" | ") });
    return render(c, deps, {
      title: "Something went wrong",
      status: 500,
      body: <ErrorPage heading="Something went wrong" message="The portal could not finish this request. Try again; if it keeps happening, contact your portal administrator." />,
    });
  });

  return app;
}

/** invalid byte sequence (a NUL in text) or untranslatable character: Postgres refusing text itself. */
function isUnstorableText(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "22021" || code === "22P05";
}

export type App = ReturnType<typeof createApp>;
