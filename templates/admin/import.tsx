import type { ImportRow } from "../../src/orgs/user-import.ts";
import { Button, ErrorSummary, Heading, type FieldErrors } from "../components.tsx";
import { AdminStatus, SelectField } from "./users.tsx";
import { MEMBERSHIP_ROLE_LABELS } from "./labels.ts";

export interface ImportFormProps {
  organizations: { id: string; name: string }[];
  values: { organization: string };
  errors: FieldErrors;
  message: { text: string; problem: boolean } | null;
  maxRows: number;
}

/**
 * Import users, step 1: the organization and the CSV file. A plain multipart form (a file
 * cannot go through an htmx swap without script doing the upload), answered by a redirect to
 * the preview.
 */
export function ImportForm(props: ImportFormProps) {
  const firstError = ["organization", "file"].find((name) => props.errors[name]);
  return (
    <>
      <Heading>Import users</Heading>
      <p>
        <a href="/admin">Back to Administration</a>
      </p>
      <AdminStatus message={props.message} />
      <p>
        Choose a CSV file with a first line <code>email,name,role</code> and one person per line after it. The role is{" "}
        <code>provider-staff</code>, <code>provider-admin</code> or <code>group-admin</code>. Up to {props.maxRows} people per file. The next page shows
        every line with its result; nothing is sent until you press Send invitations.
      </p>
      <ErrorSummary message={firstError ? "The file was not checked. See below." : undefined} />
      <form method="post" action="/admin/import" enctype="multipart/form-data" aria-label="Import users" novalidate>
        {props.organizations.length === 1 ? (
          <input type="hidden" name="organization" value={props.organizations[0]!.id} />
        ) : (
          <SelectField
            name="organization"
            label="Organization"
            value={props.values.organization}
            error={props.errors.organization}
            autofocus={firstError === "organization"}
            options={props.organizations.map((org): [string, string] => [org.id, org.name])}
          />
        )}
        <div class={props.errors.file ? "field field-error" : "field"}>
          <label for="field-file">CSV file</label>
          {props.errors.file ? (
            <p class="error-message" id="field-file-error">
              <span class="visually-hidden">Error: </span>
              {props.errors.file}
            </p>
          ) : null}
          <input
            id="field-file"
            name="file"
            type="file"
            accept=".csv,text/csv"
            aria-describedby={props.errors.file ? "field-file-error" : undefined}
            aria-invalid={props.errors.file ? "true" : undefined}
            autofocus={firstError === "file" || undefined}
          />
        </div>
        <Button>Check file</Button>
      </form>
    </>
  );
}

export interface ImportPreviewProps {
  id: string;
  organizationName: string;
  rows: ImportRow[];
}

/** Import users, step 2: every row's result, then Send invitations or Cancel. */
export function ImportPreview(props: ImportPreviewProps) {
  const good = props.rows.filter((row) => !row.error).length;
  const bad = props.rows.length - good;
  return (
    <>
      <Heading>Check the import</Heading>
      <p>
        {good} of {props.rows.length} {props.rows.length === 1 ? "person" : "people"} will be invited to {props.organizationName}.
        {bad ? ` ${bad} ${bad === 1 ? "line has an error and" : "lines have errors and"} will not be sent: correct ${bad === 1 ? "it" : "them"} in the file and import ${bad === 1 ? "it" : "them"} again later.` : ""}
      </p>
      <div class="table-wrap" role="region" aria-labelledby="import-caption" tabindex={0}>
        <table>
          <caption id="import-caption">Every line of the file and its result</caption>
          <thead>
            <tr>
              <th scope="col">Line</th>
              <th scope="col">Email</th>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Result</th>
            </tr>
          </thead>
          <tbody>
            {props.rows.map((row) => (
              <tr class={row.error ? "row-error" : undefined}>
                <th scope="row">{row.line}</th>
                <td>{row.email}</td>
                <td>{row.name}</td>
                <td>{row.role ? MEMBERSHIP_ROLE_LABELS[row.role] : row.roleText}</td>
                <td>{row.error ? <span class="error-message">Not sent: {row.error}</span> : "Will be invited"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="actions">
        {good ? (
          <form method="post" action={`/admin/import/${props.id}/send`} class="inline-form">
            <Button>Send invitations</Button>
          </form>
        ) : null}
        <form method="post" action={`/admin/import/${props.id}/cancel`} class="inline-form">
          <Button variant="secondary">Cancel</Button>
        </form>
      </div>
    </>
  );
}
