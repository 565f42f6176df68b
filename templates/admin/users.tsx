import type { Child } from "hono/jsx";
import type { AdminUser, AccountState, UserPage } from "../../src/flows/admin.ts";
import type { Role } from "../../src/auth/users.ts";
import type { MembershipRole } from "../../src/orgs/memberships.ts";
import { Button, describedBy, ErrorMessage, ErrorSummary, Field, FieldFrame, Form, Heading, type FieldErrors } from "../components.tsx";
import { formatTime, MEMBERSHIP_ROLE_LABELS, METHOD_LABELS, ROLE_LABELS, staffLabel, STATE_LABELS } from "./labels.ts";

/** The roles the viewer may give, by organization id (only organizations they manage are keys). */
export type Grantable = Record<string, MembershipRole[]>;

/** The list's search, filter and page, as they travel in links, forms and redirects. */
export interface ListQuery {
  q: string;
  state: AccountState | "";
  after?: string;
  before?: string;
}

export function listQueryString(query: ListQuery, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  if (query.q) params.set("q", query.q);
  if (query.state) params.set("state", query.state);
  if (query.after) params.set("after", query.after);
  else if (query.before) params.set("before", query.before);
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  return params.toString();
}

function adminHref(query: ListQuery): string {
  const search = listQueryString(query);
  return search ? `/admin?${search}` : "/admin";
}

/**
 * The live region every action's message lands in (htmx fills it in place; a redirect renders
 * it). It must be in the page before a message arrives to be read out, so it stays when empty
 * (data-live-region), and app.css gives an empty one no room (issue 17: no gap under the h1).
 */
export function AdminStatus(props: { message: { text: string; problem: boolean } | null }) {
  return (
    <div id="admin-status" class="status-region" role="status" data-live-region>
      {props.message ? <StatusText {...props.message} /> : null}
    </div>
  );
}

export function StatusText(props: { text: string; problem: boolean }) {
  return <p class={props.problem ? "error-message" : "status"}>{props.text}</p>;
}

/** The actions that end someone's access or their factors: confirmed on a page of their own first (ConfirmActionPage). */
export const CONFIRMED_ACTIONS = ["disable", "reset-mfa"] as const;
export type ConfirmedAction = (typeof CONFIRMED_ACTIONS)[number];

export function isConfirmedAction(action: string): action is ConfirmedAction {
  return (CONFIRMED_ACTIONS as readonly string[]).includes(action);
}

/**
 * One small POST form per action. With htmx it replaces its own table row (or, on the user's
 * page, the page); without JavaScript it posts, and the answer redirects back with a message.
 * The visible word is short; the hidden email makes each button's accessible name unique.
 */
function ActionForm(props: {
  user: AdminUser;
  action: string;
  label: string;
  slot: string;
  from: "list" | "user";
  listQuery: string;
  focus?: boolean;
  fields?: Record<string, string>;
}) {
  // A destructive action's button only opens its confirmation page (a GET), with or without JavaScript.
  const confirmed = isConfirmedAction(props.action);
  const url = `/admin/users/${props.user.id}/${props.action}${confirmed ? "/confirm" : ""}`;
  const htmx = confirmed
    ? {}
    : props.from === "list"
      ? { "hx-post": url, "hx-target": "closest tr", "hx-swap": "outerHTML" }
      : { "hx-post": url, "hx-target": "#main", "hx-swap": "innerHTML" };
  return (
    <form method={confirmed ? "get" : "post"} action={url} class="inline-form" {...htmx}>
      <input type="hidden" name="from" value={props.from} />
      {props.from === "list" ? <input type="hidden" name="return" value={props.listQuery} /> : null}
      {Object.entries(props.fields ?? {}).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <button type="submit" class={confirmed ? "button warning" : "button secondary"} id={`u-${props.user.id}-${props.slot}`} autofocus={props.focus || undefined}>
        {props.label}
        <span class="visually-hidden"> {props.user.email}</span>
      </button>
    </form>
  );
}

/**
 * A member's role in one organization: a select of the roles the viewer may give there and a
 * Change role button. Its label and the button's hidden words name the user and organization,
 * so each of a page's forms has its own accessible name.
 */
function MembershipForm(props: {
  user: AdminUser;
  membership: AdminUser["memberships"][number];
  roles: MembershipRole[];
  from: "list" | "user";
  listQuery: string;
  focus?: boolean;
  first: boolean;
}) {
  const { user, membership } = props;
  const url = `/admin/users/${user.id}/membership`;
  const htmx =
    props.from === "list"
      ? { "hx-post": url, "hx-target": "closest tr", "hx-swap": "outerHTML" }
      : { "hx-post": url, "hx-target": "#main", "hx-swap": "innerHTML" };
  const roles = props.roles.includes(membership.role) ? props.roles : [membership.role, ...props.roles];
  const selectId = `u-${user.id}-role-${membership.organizationId}`;
  return (
    <form method="post" action={url} class="inline-form" {...htmx}>
      <input type="hidden" name="from" value={props.from} />
      {props.from === "list" ? <input type="hidden" name="return" value={props.listQuery} /> : null}
      <input type="hidden" name="organization" value={membership.organizationId} />
      <label for={selectId}>
        Role in {membership.organizationName}
        <span class="visually-hidden"> of {user.email}</span>
      </label>
      <select id={selectId} name="role">
        {roles.map((role) => (
          <option value={role} selected={role === membership.role || undefined}>
            {MEMBERSHIP_ROLE_LABELS[role]}
          </option>
        ))}
      </select>
      <button type="submit" class="button secondary" id={props.first ? `u-${user.id}-membership` : undefined} autofocus={props.focus || undefined}>
        Change role
        <span class="visually-hidden">
          {" "}
          of {user.email} in {membership.organizationName}
        </span>
      </button>
    </form>
  );
}

/** The actions that make sense for a user in their present state, in a fixed order. */
export function UserActions(props: {
  user: AdminUser;
  from: "list" | "user";
  listQuery: string;
  focusSlot?: string;
  /** A portal Administrator's view: the portal-wide role can be changed. */
  portal?: boolean;
  grantable?: Grantable;
}) {
  const { user } = props;
  const common = { user, from: props.from, listQuery: props.listQuery };
  const focus = (slot: string) => props.focusSlot === slot;
  const targetRole: Role = user.role === "admin" ? "provider" : "admin";
  return (
    <div class="actions">
      {user.status === "invited" ? (
        <ActionForm {...common} action="resend" label="Resend registration link" slot="resend" focus={focus("resend")} />
      ) : null}
      {user.status === "active" && !user.staffIssuer ? <ActionForm {...common} action="reset-mfa" label="Reset MFA" slot="mfa" focus={focus("mfa")} /> : null}
      {user.state === "locked" ? <ActionForm {...common} action="unlock" label="Unlock" slot="unlock" focus={focus("unlock")} /> : null}
      {user.status === "disabled" ? (
        <ActionForm {...common} action="enable" label="Enable" slot="status" focus={focus("status")} />
      ) : (
        <ActionForm {...common} action="disable" label="Disable" slot="status" focus={focus("status")} />
      )}
      {props.portal !== false ? (
        <ActionForm
          {...common}
          action="role"
          label={targetRole === "admin" ? "Make administrator" : "Make provider"}
          slot="role"
          focus={focus("role")}
          fields={{ role: targetRole }}
        />
      ) : null}
      {user.memberships
        .filter((membership) => props.grantable?.[membership.organizationId]?.length)
        .map((membership, index) => (
          <MembershipForm
            user={user}
            membership={membership}
            roles={props.grantable![membership.organizationId]!}
            from={props.from}
            listQuery={props.listQuery}
            focus={index === 0 && focus("membership")}
            first={index === 0}
          />
        ))}
    </div>
  );
}

/** "Provider Staff, Clinic A; Provider Administrator, Clinic B", or "" for someone in no organization. */
export function membershipText(user: AdminUser): string {
  return user.memberships.map((m) => `${MEMBERSHIP_ROLE_LABELS[m.role]}, ${m.organizationName}`).join("; ");
}

/** The portal role, or for a member of organizations their roles there ("Administrator" stays first). */
export function roleText(user: AdminUser): string {
  const orgs = membershipText(user);
  if (!orgs) return ROLE_LABELS[user.role];
  return user.role === "admin" ? `${ROLE_LABELS.admin}; ${orgs}` : orgs;
}

export function UserRow(props: { user: AdminUser; listQuery: string; focusSlot?: string; portal?: boolean; grantable?: Grantable }) {
  const { user } = props;
  return (
    <tr id={`user-${user.id}`}>
      <th scope="row">
        <a href={`/admin/users/${user.id}`}>{user.name || "(no name)"}</a>
      </th>
      <td data-label="Email">{user.email}</td>
      <td data-label="Role">{roleText(user)}</td>
      <td data-label="MFA method">{user.staffIssuer ? staffLabel(user.staffIssuer) : user.mfaMethod ? METHOD_LABELS[user.mfaMethod] : "Not chosen yet"}</td>
      <td data-label="Phone">{user.phone || "None"}</td>
      <td data-label="State">{STATE_LABELS[user.state]}</td>
      <td data-label="Last sign-in">{user.lastSignInAt ? <time datetime={user.lastSignInAt.toISOString()}>{formatTime(user.lastSignInAt)}</time> : "Never"}</td>
      <td>
        <UserActions user={user} from="list" listQuery={props.listQuery} focusSlot={props.focusSlot} portal={props.portal} grantable={props.grantable} />
      </td>
    </tr>
  );
}

export interface CreateUserForm {
  values: { email: string; name: string; role: Role | MembershipRole; organization: string };
  errors: FieldErrors;
}

export const EMPTY_CREATE_FORM: CreateUserForm = { values: { email: "", name: "", role: "provider", organization: "" }, errors: {} };

/**
 * What Create user offers: a portal Administrator the portal's two roles (organization members
 * are added from the Organizations page), an organization administrator their organizations
 * and the roles they may give there.
 */
export type CreateChoices = { kind: "portal" } | { kind: "organizations"; organizations: { id: string; name: string; roles: MembershipRole[] }[] };

export function SelectField(props: { name: string; label: string; error?: string; autofocus?: boolean; options: [string, string][]; value: string; hint?: string }) {
  const id = `field-${props.name}`;
  return (
    <FieldFrame id={id} label={props.label} hint={props.hint} error={props.error}>
      <select id={id} name={props.name} aria-describedby={describedBy(id, props)} autofocus={props.autofocus || undefined}>
        {props.options.map(([value, label]) => (
          <option value={value} selected={props.value === value || undefined}>
            {label}
          </option>
        ))}
      </select>
    </FieldFrame>
  );
}

/** Email Address, Name, Organization and Role, for an organization administrator. */
function OrganizationFields(props: { form: CreateUserForm; organizations: { id: string; name: string; roles: MembershipRole[] }[]; firstError?: string }) {
  const { values, errors } = props.form;
  const roles = (["provider_staff", "provider_admin", "group_admin"] as MembershipRole[]).filter((role) => props.organizations.some((org) => org.roles.includes(role)));
  return (
    <>
      <SelectField
        name="organization"
        label="Organization"
        value={values.organization}
        error={errors.organization}
        autofocus={props.firstError === "organization"}
        options={props.organizations.map((org) => [org.id, org.name])}
      />
      <SelectField
        name="role"
        label="Role"
        value={values.role}
        error={errors.role}
        autofocus={props.firstError === "role"}
        options={roles.map((role) => [role, MEMBERSHIP_ROLE_LABELS[role]])}
      />
    </>
  );
}

function CreateUser(props: { form: CreateUserForm; choices: CreateChoices }) {
  const { values, errors } = props.form;
  const firstError = ["email", "name", "organization", "role"].find((name) => errors[name]);
  return (
    <section aria-labelledby="create-user-heading">
      <h2 id="create-user-heading">Create user</h2>
      <p>The new user gets an email with a registration link that works for a limited time.</p>
      <ErrorSummary errors={{ email: errors.email, name: errors.name, role: errors.role }} />
      <Form action="/admin/users" label="Create user">
        <Field
          name="email"
          label="Email Address"
          type="email"
          value={values.email}
          error={errors.email}
          autocomplete="off"
          autofocus={firstError === "email"}
          maxlength={254}
        />
        <Field name="name" label="Name" value={values.name} error={errors.name} autocomplete="off" autofocus={firstError === "name"} maxlength={200} />
        {props.choices.kind === "organizations" ? (
          <OrganizationFields form={props.form} organizations={props.choices.organizations} firstError={firstError} />
        ) : (
        <div class={errors.role ? "field field-error" : "field"}>
          <label for="field-role">Role</label>
          <ErrorMessage id="field-role-error" message={errors.role} />
          <select id="field-role" name="role" aria-describedby={errors.role ? "field-role-error" : undefined} autofocus={firstError === "role" || undefined}>
            <option value="provider" selected={values.role === "provider" || undefined}>
              Provider
            </option>
            <option value="admin" selected={values.role === "admin" || undefined}>
              Administrator
            </option>
          </select>
        </div>
        )}
        <Button>Create user</Button>
      </Form>
    </section>
  );
}

function SearchForm(props: { query: ListQuery }) {
  return (
    <form method="get" action="/admin" role="search" aria-label="Users" class="search-form">
      <div class="field">
        <label for="field-q">Search</label>
        <p class="hint" id="field-q-hint">
          The start of a name or an email address.
        </p>
        <input id="field-q" name="q" type="search" value={props.query.q} maxlength={100} aria-describedby="field-q-hint" />
      </div>
      <div class="field">
        <label for="field-state">State</label>
        <select id="field-state" name="state">
          <option value="" selected={!props.query.state || undefined}>
            Any state
          </option>
          {(Object.keys(STATE_LABELS) as AccountState[]).map((state) => (
            <option value={state} selected={props.query.state === state || undefined}>
              {STATE_LABELS[state]}
            </option>
          ))}
        </select>
      </div>
      <Button>Search</Button>
    </form>
  );
}

function Paging(props: { page: UserPage; query: ListQuery }) {
  const base = { q: props.query.q, state: props.query.state };
  const links: Child[] = [];
  if (props.page.previous) {
    links.push(
      <li>
        <a href={adminHref({ ...base })}>First page</a>
      </li>,
      <li>
        <a href={adminHref({ ...base, before: props.page.previous })} rel="prev">
          Previous page
        </a>
      </li>,
    );
  }
  if (props.page.next) {
    links.push(
      <li>
        <a href={adminHref({ ...base, after: props.page.next })} rel="next">
          Next page
        </a>
      </li>,
    );
  }
  if (!links.length) return null;
  return (
    <nav aria-label="Pages of users" class="paging">
      <ul>{links}</ul>
    </nav>
  );
}

export interface UsersPageProps {
  page: UserPage;
  query: ListQuery;
  message: { text: string; problem: boolean } | null;
  create: CreateUserForm;
  choices: CreateChoices;
  /** A portal Administrator: the Organizations page and the portal-wide role are theirs. */
  portal: boolean;
  /** A Provider Group Administrator: the Organizations page lists their groups and adds providers to them. */
  groups?: boolean;
  grantable: Grantable;
}

export function UsersPage(props: UsersPageProps) {
  const listQuery = listQueryString(props.query);
  const filtered = !!(props.query.q || props.query.state);
  return (
    <>
      <Heading>Administration</Heading>
      <nav aria-label="Administration" class="admin-nav">
        <ul>
          <li>
            <a href="/admin/audit">Audit log</a>
          </li>
          {props.portal || props.groups ? (
            <li>
              <a href="/admin/organizations">Organizations</a>
            </li>
          ) : null}
          {props.choices.kind === "organizations" || props.portal ? (
            <li>
              <a href="/admin/import">Import users</a>
            </li>
          ) : null}
        </ul>
      </nav>
      <AdminStatus message={props.message} />
      {/* The main action first: most visits here are to add someone. */}
      <CreateUser form={props.create} choices={props.choices} />
      <section aria-labelledby="users-heading">
        <h2 id="users-heading">Users</h2>
        <SearchForm query={props.query} />
        <div class="table-wrap" role="region" aria-labelledby="users-caption" tabindex={0}>
          <table class="stack">
            <caption id="users-caption">
              {filtered ? "Users matching the search, newest first" : "Users, newest first"}
            </caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">MFA method</th>
                <th scope="col">Phone</th>
                <th scope="col">State</th>
                <th scope="col">Last sign-in</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {props.page.users.length ? (
                props.page.users.map((user) => <UserRow user={user} listQuery={listQuery} portal={props.portal} grantable={props.grantable} />)
              ) : (
                <tr>
                  <td colspan={8}>{filtered ? "No users match the search." : "There are no users yet."}</td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
        <Paging page={props.page} query={props.query} />
      </section>
    </>
  );
}

/** What a signed-in user who is not an administrator sees at /admin. */
export function AdminForbidden() {
  return (
    <section>
      <Heading>Access denied</Heading>
      <p>Only administrators can open the administration pages. If you need access, ask your portal administrator.</p>
      <p>
        <a href="/home">Go to the home page</a>
      </p>
    </section>
  );
}

const CONFIRM_WORDS: Record<ConfirmedAction, { heading: (email: string) => string; consequences: string[]; button: string }> = {
  disable: {
    heading: (email) => `Disable ${email}?`,
    consequences: [
      "They are signed out everywhere at once, and Remember Me on their browsers ends.",
      "They cannot sign in, reset their password or finish registering until an administrator enables them again.",
    ],
    button: "Disable",
  },
  "reset-mfa": {
    heading: (email) => `Reset multi-factor authentication for ${email}?`,
    consequences: [
      "They are signed out everywhere at once, and Remember Me on their browsers ends.",
      "Their authenticator app, passkeys and recovery codes stop working now. Their phone or email second factor works until they set one up again through the link we email them. Their password stays the same.",
    ],
    button: "Reset MFA",
  },
};

/**
 * A destructive action's own page (a GET, so it works without JavaScript): what it will do, the
 * warning button that does it (the same accessible name as the row's, "Disable pat@…") and a
 * way back that changes nothing.
 */
export function ConfirmActionPage(props: { user: AdminUser; action: ConfirmedAction; from: "list" | "user"; listQuery: string }) {
  const words = CONFIRM_WORDS[props.action];
  const back = props.from === "user" ? `/admin/users/${props.user.id}` : props.listQuery ? `/admin?${props.listQuery}` : "/admin";
  return (
    <section data-confirm>
      <Heading>{words.heading(props.user.email)}</Heading>
      <div class="warning-text">
        <p>
          <strong>{props.user.name || props.user.email}</strong> ({props.user.email}):
        </p>
        <ul>
          {words.consequences.map((line) => (
            <li>{line}</li>
          ))}
        </ul>
      </div>
      <form method="post" action={`/admin/users/${props.user.id}/${props.action}`}>
        <input type="hidden" name="from" value={props.from} />
        <input type="hidden" name="return" value={props.listQuery} />
        <div class="actions">
          <button type="submit" class="button warning">
            {words.button}
            <span class="visually-hidden"> {props.user.email}</span>
          </button>
          <a href={back}>Cancel: change nothing</a>
        </div>
      </form>
    </section>
  );
}
