import type { Application } from "../../src/apps/registry.ts";
import { Button, describedBy, ErrorSummary, Field, FieldFrame, Form, Heading, type FieldErrors } from "../components.tsx";

/**
 * Administration › Applications (product.md §5): the registered applications, adding an OIDC
 * client or an application behind a proxy, editing one, rotating a client secret (shown once),
 * removing.
 */

export interface OidcForm {
  values: { name: string; redirectUris: string; postLogoutRedirectUris: string; backchannelLogoutUri: string; public: boolean };
  errors: FieldErrors;
}
export interface ForwardForm {
  values: { name: string; url: string; group: string };
  errors: FieldErrors;
}
export const EMPTY_OIDC_FORM: OidcForm = { values: { name: "", redirectUris: "", postLogoutRedirectUris: "", backchannelLogoutUri: "", public: false }, errors: {} };
export const EMPTY_FORWARD_FORM: ForwardForm = { values: { name: "", url: "", group: "" }, errors: {} };

/** A client secret, shown this once after Add or Rotate secret. */
export interface RevealedSecret {
  name: string;
  clientId: string;
  clientSecret: string | null;
}

export interface ApplicationsPageProps {
  applications: Application[];
  message: { text: string; problem: boolean } | null;
  revealed: RevealedSecret | null;
  issuer: string;
  oidc: OidcForm;
  forward: ForwardForm;
}

function TextArea(props: { name: string; label: string; hint: string; value: string; error?: string }) {
  const id = `field-${props.name}`;
  return (
    <FieldFrame id={id} label={props.label} hint={props.hint} error={props.error}>
      <textarea id={id} name={props.name} rows={3} aria-describedby={describedBy(id, props)} aria-invalid={props.error ? "true" : undefined}>
        {props.value}
      </textarea>
    </FieldFrame>
  );
}

const BACKCHANNEL_HINT = "Where the portal tells the application that someone signed out, so it ends their session there too. An https address (http only for localhost).";

function BackchannelField(props: { value: string; error?: string }) {
  return <Field name="backchannel_logout_uri" label="Back-channel logout URL (optional)" hint={BACKCHANNEL_HINT} value={props.value} error={props.error} />;
}

/** Redirect URIs, sign-out redirect URIs and the back-channel logout URL: the OIDC client's addresses, on Add and on Edit alike. */
function ClientAddressFields(props: { values: { redirectUris: string; postLogoutRedirectUris: string; backchannelLogoutUri: string }; errors: FieldErrors }) {
  const { values, errors } = props;
  return (
    <>
      <TextArea name="redirect_uris" label="Redirect URIs" hint="One per line, each an https address (http only for localhost)." value={values.redirectUris} error={errors.redirect_uris} />
      <TextArea
        name="post_logout_redirect_uris"
        label="Sign-out redirect URIs (optional)"
        hint="Where the application may send people after signing them out; one per line."
        value={values.postLogoutRedirectUris}
        error={errors.post_logout_redirect_uris}
      />
      <BackchannelField value={values.backchannelLogoutUri} error={errors.backchannel_logout_uri} />
    </>
  );
}

function Revealed(props: { revealed: RevealedSecret }) {
  return (
    <div class="panel" role="status">
      <h2>{props.revealed.name}</h2>
      <dl class="details">
        <dt>Client ID</dt>
        <dd>
          <output name="client-id">{props.revealed.clientId}</output>
        </dd>
        {props.revealed.clientSecret ? (
          <>
            <dt>Client secret</dt>
            <dd>
              <output name="client-secret">{props.revealed.clientSecret}</output>
            </dd>
          </>
        ) : null}
      </dl>
      {props.revealed.clientSecret ? <p>Copy the client secret now: it is shown only this once, and the portal keeps only its hash.</p> : <p>A public client has no secret: it proves itself with PKCE alone.</p>}
    </div>
  );
}

function Row(props: { app: Application }) {
  const { app } = props;
  return (
    <tr>
      <th scope="row">{app.name}</th>
      <td>{app.kind === "oidc" ? (app.confidential ? "OpenID Connect" : "OpenID Connect (public)") : "Behind a proxy"}</td>
      <td>
        {app.kind === "oidc" ? (
          <>
            <p>
              Client ID <code>{app.clientId}</code>
            </p>
            <p>Redirect URIs: {app.redirectUris.join(", ")}</p>
            {app.postLogoutRedirectUris.length ? <p>After sign-out: {app.postLogoutRedirectUris.join(", ")}</p> : null}
            {app.backchannelLogoutUri ? <p>Back-channel logout: {app.backchannelLogoutUri}</p> : null}
          </>
        ) : (
          <>
            <p>{app.forwardAuthUrl}</p>
            <p>{app.allowedGroup ? `Group: ${app.allowedGroup}` : "Everyone signed in"}</p>
          </>
        )}
      </td>
      <td>
        <div class="actions">
          <a href={`/admin/applications/${app.id}/edit`} class="button secondary">
            Edit<span class="visually-hidden"> {app.name}</span>
          </a>
          {app.kind === "oidc" && app.confidential ? (
            <Form action={`/admin/applications/${app.id}/rotate-secret`} class="inline-form">
              <button type="submit" class="button secondary">
                Rotate secret<span class="visually-hidden"> of {app.name}</span>
              </button>
            </Form>
          ) : null}
          <Form action={`/admin/applications/${app.id}/remove`} class="inline-form">
            <button type="submit" class="button secondary">
              Remove<span class="visually-hidden"> {app.name}</span>
            </button>
          </Form>
        </div>
      </td>
    </tr>
  );
}

export function ApplicationsPage(props: ApplicationsPageProps) {
  const { oidc, forward } = props;
  return (
    <section>
      <Heading>Applications</Heading>
      <p>
        <a href="/admin">Back to Administration</a>
      </p>
      <div id="admin-status" class="status-region" role="status" data-live-region>
        {props.message ? <p class={props.message.problem ? "error-message" : "status"}>{props.message.text}</p> : null}
      </div>
      {props.revealed ? <Revealed revealed={props.revealed} /> : null}
      {props.applications.length ? (
        <div class="table-wrap" role="region" aria-labelledby="applications-caption" tabindex={0}>
          <table>
            <caption id="applications-caption">Registered applications</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Details</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {props.applications.map((app) => (
                <Row app={app} />
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p>No applications registered yet.</p>
      )}

      <h2>Add an OpenID Connect application</h2>
      <p>
        For software that signs people in with OpenID Connect. Issuer: <code>{props.issuer}</code>
      </p>
      <Form action="/admin/applications/oidc" label="Add an OpenID Connect application">
        <ErrorSummary errors={oidc.errors} />
        <Field name="name" label="Name of the OpenID Connect application" value={oidc.values.name} error={oidc.errors.name} maxlength={80} />
        <ClientAddressFields values={oidc.values} errors={oidc.errors} />
        <div class="field checkbox">
          <input type="checkbox" id="field-public" name="public" value="on" checked={oidc.values.public || undefined} />
          <label for="field-public">Public client (no secret: a browser or phone app)</label>
        </div>
        <Button>Add OpenID Connect application</Button>
      </Form>

      <h2>Add an application behind a proxy</h2>
      <p>For software behind nginx, Traefik or Caddy that asks the portal who is signed in (forward authentication).</p>
      <Form action="/admin/applications/forward-auth" label="Add an application behind a proxy">
        <ErrorSummary errors={forward.errors} />
        <Field name="fa_name" label="Name of the application behind the proxy" value={forward.values.name} error={forward.errors.fa_name} maxlength={80} />
        <Field name="url" label="Application URL" hint="The address it is reached at, such as https://ehr.example.org/" value={forward.values.url} error={forward.errors.url} />
        <Field name="group" label="Group (optional)" hint="Only people with this role are let in, such as admin. Empty: everyone signed in." value={forward.values.group} error={forward.errors.group} maxlength={80} />
        <Button>Add application behind the proxy</Button>
      </Form>
    </section>
  );
}

/** Edit: what an administrator may change of a registered application (not its kind, client id or secret). */
export type EditForm =
  | { kind: "oidc"; values: { name: string; redirectUris: string; postLogoutRedirectUris: string; backchannelLogoutUri: string }; errors: FieldErrors }
  | { kind: "forward_auth"; values: { name: string; url: string; group: string }; errors: FieldErrors };

export function editFormOf(app: Application): EditForm {
  return app.kind === "oidc"
    ? {
        kind: "oidc",
        values: {
          name: app.name,
          redirectUris: app.redirectUris.join("\n"),
          postLogoutRedirectUris: app.postLogoutRedirectUris.join("\n"),
          backchannelLogoutUri: app.backchannelLogoutUri ?? "",
        },
        errors: {},
      }
    : { kind: "forward_auth", values: { name: app.name, url: app.forwardAuthUrl ?? "", group: app.allowedGroup ?? "" }, errors: {} };
}

export function ApplicationEditPage(props: { app: Application; form: EditForm }) {
  const { app, form } = props;
  const action = `/admin/applications/${app.id}/edit`;
  return (
    <section>
      <Heading>Edit {app.name}</Heading>
      <p>
        <a href="/admin/applications">Back to Applications</a>
      </p>
      {form.kind === "oidc" ? (
        <>
          <p>
            OpenID Connect application, client ID <code>{app.clientId}</code>. The client ID and secret stay as they are.
          </p>
          <Form action={action} label={`Edit ${app.name}`}>
            <ErrorSummary errors={form.errors} />
            <Field name="name" label="Name" value={form.values.name} error={form.errors.name} maxlength={80} />
            <ClientAddressFields values={form.values} errors={form.errors} />
            <Button>Save changes</Button>
          </Form>
        </>
      ) : (
        <>
          <p>Application behind a proxy.</p>
          <Form action={action} label={`Edit ${app.name}`}>
            <ErrorSummary errors={form.errors} />
            <Field name="name" label="Name" value={form.values.name} error={form.errors.name} maxlength={80} />
            <Field name="url" label="Application URL" hint="The address it is reached at, such as https://ehr.example.org/" value={form.values.url} error={form.errors.url} />
            <Field name="group" label="Group (optional)" hint="Only people with this role are let in, such as admin. Empty: everyone signed in." value={form.values.group} error={form.errors.group} maxlength={80} />
            <Button>Save changes</Button>
          </Form>
        </>
      )}
    </section>
  );
}
