import { Hono, type Context, type MiddlewareHandler } from "hono";
import type { AppDeps, AppEnv } from "../env.ts";
import { goToPage, redirectTo, render, wantsFragment } from "../render.tsx";
import { forbiddenPage } from "./admin-pages.tsx";
import { readForm } from "../form.ts";
import {
  checkApplicationUrl,
  checkBackchannelLogoutUri,
  checkRedirectUri,
  createForwardAuthApplication,
  createOidcApplication,
  findApplication,
  GROUP_MAX,
  listApplications,
  NAME_MAX,
  removeApplication,
  rotateClientSecret,
  updateForwardAuthApplication,
  updateOidcApplication,
  type Application,
} from "../../apps/registry.ts";
import { appendAudit } from "../../auth/audit.ts";
import {
  ApplicationEditPage,
  editFormOf,
  type EditForm,
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
const DONE: Record<string, string> = { added: "Application added.", edited: "Changes saved.", removed: "Application removed; what it was issued no longer works.", gone: "That application no longer exists." };

const lines = (text: string) =>
  text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);

/** An OIDC client's fields as typed (add and edit), and what is wrong with them, per field. */
function readOidcFields(form: Record<string, string> | null, nameField: string) {
  const values = {
    name: (form?.[nameField] ?? "").trim().slice(0, 200),
    redirectUris: (form?.redirect_uris ?? "").slice(0, 8000),
    postLogoutRedirectUris: (form?.post_logout_redirect_uris ?? "").slice(0, 8000),
    backchannelLogoutUri: (form?.backchannel_logout_uri ?? "").trim().slice(0, 2100),
  };
  const errors: FieldErrors = {};
  if (!form) errors[nameField] = "The form could not be read. Try again.";
  else if (!values.name) errors[nameField] = "Enter the application's name.";
  else if (values.name.length > NAME_MAX) errors[nameField] = `The name must be at most ${NAME_MAX} characters.`;
  const redirects = lines(values.redirectUris);
  const postLogout = lines(values.postLogoutRedirectUris);
  if (!redirects.length) errors.redirect_uris = "Enter at least one redirect URI.";
  const badRedirect = redirects.map((uri) => checkRedirectUri(uri)).find((check) => !check.ok);
  if (badRedirect && !badRedirect.ok) errors.redirect_uris = badRedirect.reason;
  const badPostLogout = postLogout.map((uri) => checkRedirectUri(uri)).find((check) => !check.ok);
  if (badPostLogout && !badPostLogout.ok) errors.post_logout_redirect_uris = badPostLogout.reason;
  const backchannel = values.backchannelLogoutUri ? checkBackchannelLogoutUri(values.backchannelLogoutUri) : null;
  if (backchannel && !backchannel.ok) errors.backchannel_logout_uri = backchannel.reason;
  return { values, errors, input: { name: values.name, redirectUris: redirects, postLogoutRedirectUris: postLogout, backchannelLogoutUri: values.backchannelLogoutUri || null } };
}

/** An application behind a proxy: its fields as typed (add and edit), and what is wrong with them. */
function readForwardFields(form: Record<string, string> | null, nameField: string) {
  const values = { name: (form?.[nameField] ?? "").trim().slice(0, 200), url: (form?.url ?? "").trim().slice(0, 2100), group: (form?.group ?? "").trim().slice(0, 200) };
  const errors: FieldErrors = {};
  if (!form) errors[nameField] = "The form could not be read. Try again.";
  else if (!values.name) errors[nameField] = "Enter the application's name.";
  else if (values.name.length > NAME_MAX) errors[nameField] = `The name must be at most ${NAME_MAX} characters.`;
  const url = checkApplicationUrl(values.url);
  if (!values.url) errors.url = "Enter the application's URL.";
  else if (!url.ok) errors.url = url.reason;
  if (values.group.length > GROUP_MAX) errors.group = `The group must be at most ${GROUP_MAX} characters.`;
  return { values, errors, input: { name: values.name, url: values.url, group: values.group || null } };
}

/** Administration › Applications, at /admin/applications. Administrators only. */
export function applicationsRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();

  const guard: MiddlewareHandler<AppEnv> = async (c, next) => {
    const user = c.get("user");
    if (user && user.role === "admin") return next();
    if (!user) return goToPage(c, "/login");
    if (wantsFragment(c)) return goToPage(c, "/admin/applications");
    return forbiddenPage(deps, c);
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
    const { values: typed, errors, input } = readOidcFields(form, "name");
    const values = { ...typed, public: form?.public === "on" };
    if (Object.keys(errors).length) return page(c, { status: 400, oidc: { values, errors } });
    const created = await createOidcApplication(deps.sql, { ...input, public: values.public });
    if (!created.ok) return page(c, { status: 400, oidc: { values, errors: { name: created.reason } } });
    await audit(c, "admin.application_added", { application: created.value.application.id, kind: "oidc" });
    // Answered here, not after a redirect: the secret must never travel in a URL.
    return page(c, {
      message: { text: `${values.name} added.`, problem: false },
      revealed: { name: values.name, clientId: created.value.clientId, clientSecret: created.value.clientSecret },
    });
  });

  app.post("/admin/applications/forward-auth", async (c) => {
    const { values, errors, input } = readForwardFields(await readForm(c), "fa_name");
    if (Object.keys(errors).length) return page(c, { status: 400, forward: { values, errors } });
    const created = await createForwardAuthApplication(deps.sql, input);
    if (!created.ok) return page(c, { status: 400, forward: { values, errors: { fa_name: created.reason } } });
    await audit(c, "admin.application_added", { application: created.value.id, kind: "forward_auth" });
    return redirectTo(c, "/admin/applications?done=added");
  });

  const editPage = (c: C, app: Application, form: EditForm, status?: 400) =>
    render(c, deps, { title: `Edit ${app.name}`, status, body: <ApplicationEditPage app={app} form={form} /> });

  app.get("/admin/applications/:id/edit", async (c) => {
    const id = c.req.param("id");
    const found = UUID.test(id) ? await findApplication(deps.sql, id) : null;
    if (!found) return redirectTo(c, "/admin/applications?done=gone");
    return editPage(c, found, editFormOf(found));
  });

  // Edit: a full-page form, POST then redirect to the list; the application's kind decides the fields.
  app.post("/admin/applications/:id/edit", async (c) => {
    const id = c.req.param("id");
    const found = UUID.test(id) ? await findApplication(deps.sql, id) : null;
    if (!found) return redirectTo(c, "/admin/applications?done=gone");
    const form = await readForm(c);
    let changed: Awaited<ReturnType<typeof updateOidcApplication>>;
    let refused: EditForm;
    if (found.kind === "oidc") {
      const { values, errors, input } = readOidcFields(form, "name");
      if (Object.keys(errors).length) return editPage(c, found, { kind: "oidc", values, errors }, 400);
      changed = await updateOidcApplication(deps.sql, found.id, input);
      refused = { kind: "oidc", values, errors: { name: changed?.ok === false ? changed.reason : undefined } };
    } else {
      const { values, errors, input } = readForwardFields(form, "name");
      if (Object.keys(errors).length) return editPage(c, found, { kind: "forward_auth", values, errors }, 400);
      changed = await updateForwardAuthApplication(deps.sql, found.id, input);
      refused = { kind: "forward_auth", values, errors: { name: changed?.ok === false ? changed.reason : undefined } };
    }
    if (!changed) return redirectTo(c, "/admin/applications?done=gone");
    if (!changed.ok) return editPage(c, found, refused, 400);
    await audit(c, "admin.application_edited", { application: found.id, kind: found.kind, changed: changedFields(found, changed.value) });
    return redirectTo(c, "/admin/applications?done=edited");
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

/** Which settings an edit changed, for the audit event (names only, as the other admin events). */
function changedFields(before: Application, after: Application): string[] {
  const keys = ["name", "redirectUris", "postLogoutRedirectUris", "backchannelLogoutUri", "forwardAuthUrl", "allowedGroup"] as const;
  return keys.filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]));
}
