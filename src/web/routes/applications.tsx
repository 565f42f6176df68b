import { Hono, type Context, type MiddlewareHandler } from "hono";
import type { AppDeps, AppEnv } from "../env.ts";
import { goToPage, redirectTo, render, wantsFragment } from "../render.tsx";
import { readForm } from "../form.ts";
import {
  checkApplicationUrl,
  checkRedirectUri,
  createForwardAuthApplication,
  createOidcApplication,
  findApplication,
  GROUP_MAX,
  listApplications,
  NAME_MAX,
  removeApplication,
  rotateClientSecret,
} from "../../apps/registry.ts";
import { appendAudit } from "../../auth/audit.ts";
import {
  ApplicationsForbidden,
  ApplicationsPage,
  EMPTY_FORWARD_FORM,
  EMPTY_OIDC_FORM,
  type ForwardForm,
  type OidcForm,
  type RevealedSecret,
} from "../../../templates/applications/admin.tsx";
import type { FieldErrors } from "../../../templates/components.tsx";

type C = Context<AppEnv>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DONE: Record<string, string> = { added: "Application added.", removed: "Application removed; what it was issued no longer works.", gone: "That application no longer exists." };

const lines = (text: string) =>
  text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);

/** Administration › Applications, at /admin/applications. Administrators only. */
export function applicationsRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();

  const guard: MiddlewareHandler<AppEnv> = async (c, next) => {
    const user = c.get("user");
    if (user && user.role === "admin") return next();
    if (!user) return goToPage(c, "/login");
    if (wantsFragment(c)) return goToPage(c, "/admin/applications");
    return render(c, deps, { title: "Access denied", status: 403, body: <ApplicationsForbidden /> });
  };
  app.use("/admin/applications", guard);
  app.use("/admin/applications/*", guard);

  async function page(
    c: C,
    options: { status?: 200 | 400 | 404; message?: { text: string; problem: boolean } | null; revealed?: RevealedSecret; oidc?: OidcForm; forward?: ForwardForm } = {},
  ) {
    return render(c, deps, {
      title: "Applications",
      status: options.status,
      body: (
        <ApplicationsPage
          applications={await listApplications(deps.sql)}
          message={options.message ?? null}
          revealed={options.revealed ?? null}
          issuer={deps.config.publicUrl}
          oidc={options.oidc ?? EMPTY_OIDC_FORM}
          forward={options.forward ?? EMPTY_FORWARD_FORM}
        />
      ),
    });
  }

  const audit = (c: C, event: string, detail: Record<string, unknown>) =>
    appendAudit(deps.sql, deps.clock, { event, actorId: c.get("user")!.id, ip: c.get("ip"), userAgent: c.get("userAgent"), detail });

  app.get("/admin/applications", (c) => {
    const done = c.req.query("done");
    return page(c, { message: done && DONE[done] ? { text: DONE[done]!, problem: done === "gone" } : null });
  });

  app.post("/admin/applications/oidc", async (c) => {
    const form = await readForm(c);
    const values = {
      name: (form?.name ?? "").trim().slice(0, 200),
      redirectUris: (form?.redirect_uris ?? "").slice(0, 8000),
      postLogoutRedirectUris: (form?.post_logout_redirect_uris ?? "").slice(0, 8000),
      public: form?.public === "on",
    };
    const errors: FieldErrors = {};
    if (!form) errors.name = "The form could not be read. Try again.";
    else if (!values.name) errors.name = "Enter the application's name.";
    else if (values.name.length > NAME_MAX) errors.name = `The name must be at most ${NAME_MAX} characters.`;
    const redirects = lines(values.redirectUris);
    const postLogout = lines(values.postLogoutRedirectUris);
    if (!redirects.length) errors.redirect_uris = "Enter at least one redirect URI.";
    const badRedirect = redirects.map(checkRedirectUri).find((check) => !check.ok);
    if (badRedirect && !badRedirect.ok) errors.redirect_uris = badRedirect.reason;
    const badPostLogout = postLogout.map(checkRedirectUri).find((check) => !check.ok);
    if (badPostLogout && !badPostLogout.ok) errors.post_logout_redirect_uris = badPostLogout.reason;
    if (Object.keys(errors).length) return page(c, { status: 400, oidc: { values, errors } });
    const created = await createOidcApplication(deps.sql, { name: values.name, redirectUris: redirects, postLogoutRedirectUris: postLogout, public: values.public });
    if (!created.ok) return page(c, { status: 400, oidc: { values, errors: { name: created.reason } } });
    await audit(c, "admin.application_added", { application: created.value.application.id, kind: "oidc" });
    // Answered here, not after a redirect: the secret must never travel in a URL.
    return page(c, {
      message: { text: `${values.name} added.`, problem: false },
      revealed: { name: values.name, clientId: created.value.clientId, clientSecret: created.value.clientSecret },
    });
  });

  app.post("/admin/applications/forward-auth", async (c) => {
    const form = await readForm(c);
    const values = { name: (form?.fa_name ?? "").trim().slice(0, 200), url: (form?.url ?? "").trim().slice(0, 2100), group: (form?.group ?? "").trim().slice(0, 200) };
    const errors: FieldErrors = {};
    if (!form) errors.fa_name = "The form could not be read. Try again.";
    else if (!values.name) errors.fa_name = "Enter the application's name.";
    else if (values.name.length > NAME_MAX) errors.fa_name = `The name must be at most ${NAME_MAX} characters.`;
    const url = checkApplicationUrl(values.url);
    if (!values.url) errors.url = "Enter the application's URL.";
    else if (!url.ok) errors.url = url.reason;
    if (values.group.length > GROUP_MAX) errors.group = `The group must be at most ${GROUP_MAX} characters.`;
    if (Object.keys(errors).length) return page(c, { status: 400, forward: { values, errors } });
    const created = await createForwardAuthApplication(deps.sql, { name: values.name, url: values.url, group: values.group || null });
    if (!created.ok) return page(c, { status: 400, forward: { values, errors: { fa_name: created.reason } } });
    await audit(c, "admin.application_added", { application: created.value.id, kind: "forward_auth" });
    return redirectTo(c, "/admin/applications?done=added");
  });

  app.post("/admin/applications/:id/rotate-secret", async (c) => {
    const id = c.req.param("id");
    if (!UUID.test(id)) return redirectTo(c, "/admin/applications?done=gone");
    const app = await findApplication(deps.sql, id);
    const result = await rotateClientSecret(deps.sql, id, deps.clock.now());
    if (!result.ok || !app) {
      if (result.ok === false && result.reason !== "not_found") return page(c, { status: 400, message: { text: "Only a confidential OpenID Connect application has a secret.", problem: true } });
      return redirectTo(c, "/admin/applications?done=gone");
    }
    await audit(c, "admin.application_secret_rotated", { application: app.id });
    return page(c, {
      message: { text: `New secret for ${app.name}; the old one stopped working.`, problem: false },
      revealed: { name: app.name, clientId: result.clientId, clientSecret: result.clientSecret },
    });
  });

  app.post("/admin/applications/:id/remove", async (c) => {
    const id = c.req.param("id");
    const removed = UUID.test(id) ? await removeApplication(deps.sql, id) : null;
    if (!removed) return redirectTo(c, "/admin/applications?done=gone");
    await audit(c, "admin.application_removed", { application: removed.id, kind: removed.kind });
    return redirectTo(c, "/admin/applications?done=removed");
  });

  return app;
}
