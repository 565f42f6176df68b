import type { OrganizationSummary } from "../../src/orgs/organizations.ts";
import type { Member, MembershipRole } from "../../src/orgs/memberships.ts";
import { Button, ErrorSummary, Field, Form, Heading, type FieldErrors } from "../components.tsx";
import { AdminStatus, SelectField } from "./users.tsx";
import { MEMBERSHIP_ROLE_LABELS, STATUS_LABELS } from "./labels.ts";

export interface OrganizationsPageProps {
  organizations: OrganizationSummary[];
  /** The portal's Administrator: top-level organizations and joining groups are theirs alone. */
  portal: boolean;
  message: { text: string; problem: boolean } | null;
  add: { values: { name: string; parent: string }; errors: FieldErrors };
  join: { values: { provider: string; group: string }; errors: FieldErrors };
}

/** A group is a top-level organization that has providers; anything else is a provider. */
function kindText(org: OrganizationSummary): string {
  if (org.parentId) return `Provider of ${org.parentName}`;
  return org.providers > 0 ? `Provider group (${org.providers} ${org.providers === 1 ? "provider" : "providers"})` : "Provider";
}

/** The portal Administrator's Organizations page: the list, Add organization, Add a provider to a group. */
export function OrganizationsPage(props: OrganizationsPageProps) {
  const topLevel = props.organizations.filter((org) => !org.parentId);
  // A provider that has providers of its own is a group: it cannot join another.
  const joinable = props.organizations.filter((org) => org.providers === 0);
  const addError = ["name", "parent"].find((name) => props.add.errors[name]);
  const joinError = ["provider", "group"].find((name) => props.join.errors[name]);
  return (
    <>
      <Heading>Organizations</Heading>
      <p>
        <a href="/admin">Back to Administration</a>
      </p>
      <AdminStatus message={props.message} />
      <section aria-labelledby="organizations-heading">
        <h2 id="organizations-heading">Provider groups and providers</h2>
        <div class="table-wrap" role="region" aria-labelledby="organizations-caption" tabindex={0}>
          <table>
            <caption id="organizations-caption">Organizations by name</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Members</th>
              </tr>
            </thead>
            <tbody>
              {props.organizations.length ? (
                props.organizations.map((org) => (
                  <tr>
                    <th scope="row">
                      <a href={`/admin/organizations/${org.id}`}>{org.name}</a>
                    </th>
                    <td>{kindText(org)}</td>
                    <td>{org.members}</td>
                  </tr>
                ))
              ) : (
                <tr>
                  <td colspan={3}>There are no organizations yet.</td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      </section>
      <section aria-labelledby="add-organization-heading">
        <h2 id="add-organization-heading">Add organization</h2>
        <ErrorSummary message={addError ? "The organization was not added. Check the fields below." : undefined} />
        <Form action="/admin/organizations" label="Add organization">
          <Field name="name" label="Name" value={props.add.values.name} error={props.add.errors.name} autocomplete="off" maxlength={200} autofocus={addError === "name"} />
          <SelectField
            name="parent"
            label="Provider group"
            hint={props.portal ? "Leave as None for a provider group, or a provider that belongs to no group." : "The group the new provider belongs to."}
            value={props.add.values.parent}
            error={props.add.errors.parent}
            autofocus={addError === "parent"}
            options={[...(props.portal ? [["", "None"] as [string, string]] : []), ...topLevel.map((org): [string, string] => [org.id, org.name])]}
          />
          <Button>Add organization</Button>
        </Form>
      </section>
      {props.portal ? (
        <section aria-labelledby="join-heading">
          <h2 id="join-heading">Add a provider to a group</h2>
          <ErrorSummary message={joinError ? "The provider was not added to the group. Check the fields below." : undefined} />
          <Form action="/admin/organizations/join" label="Add a provider to a group">
            <SelectField
              name="provider"
              label="Provider"
              value={props.join.values.provider}
              error={props.join.errors.provider}
              autofocus={joinError === "provider"}
              options={joinable.map((org): [string, string] => [org.id, org.name])}
            />
            <SelectField
              name="group"
              label="Group"
              value={props.join.values.group}
              error={props.join.errors.group}
              autofocus={joinError === "group"}
              options={topLevel.map((org): [string, string] => [org.id, org.name])}
            />
            <Button>Add to group</Button>
          </Form>
        </section>
      ) : null}
    </>
  );
}

export interface MembersPageProps {
  organization: OrganizationSummary;
  providers: OrganizationSummary[];
  members: Member[];
  roles: MembershipRole[];
  message: { text: string; problem: boolean } | null;
  invite: { values: { email: string; name: string; role: string }; errors: FieldErrors };
}

/** One organization: its members, its providers, and Invite a member. */
export function MembersPage(props: MembersPageProps) {
  const { organization: org } = props;
  const firstError = ["email", "name", "role"].find((name) => props.invite.errors[name]);
  return (
    <>
      <Heading>{org.name}</Heading>
      <p>
        <a href="/admin/organizations">Back to Organizations</a>
      </p>
      <AdminStatus message={props.message} />
      <p>{kindText(org)}</p>
      {props.providers.length ? (
        <section aria-labelledby="providers-heading">
          <h2 id="providers-heading">Providers of this group</h2>
          <ul>
            {props.providers.map((provider) => (
              <li>
                <a href={`/admin/organizations/${provider.id}`}>{provider.name}</a>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <section aria-labelledby="members-heading">
        <h2 id="members-heading">Members</h2>
        <div class="table-wrap" role="region" aria-labelledby="members-caption" tabindex={0}>
          <table>
            <caption id="members-caption">Members of {org.name}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Account</th>
              </tr>
            </thead>
            <tbody>
              {props.members.length ? (
                props.members.map((member) => (
                  <tr>
                    <th scope="row">
                      <a href={`/admin/users/${member.userId}`}>{member.name || "(no name)"}</a>
                    </th>
                    <td>{member.email}</td>
                    <td>{MEMBERSHIP_ROLE_LABELS[member.role]}</td>
                    <td>{STATUS_LABELS[member.status]}</td>
                  </tr>
                ))
              ) : (
                <tr>
                  <td colspan={4}>No members yet.</td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      </section>
      <section aria-labelledby="invite-heading">
        <h2 id="invite-heading">Invite a member</h2>
        <p>The new member gets an email with a registration link that works for a limited time.</p>
        <ErrorSummary message={firstError ? "The member was not invited. Check the fields below." : undefined} />
        <Form action={`/admin/organizations/${org.id}/members`} label="Invite a member">
          <Field name="email" label="Email Address" type="email" value={props.invite.values.email} error={props.invite.errors.email} autocomplete="off" maxlength={254} autofocus={firstError === "email"} />
          <Field name="name" label="Name" value={props.invite.values.name} error={props.invite.errors.name} autocomplete="off" maxlength={200} autofocus={firstError === "name"} />
          <SelectField
            name="role"
            label="Role"
            value={props.invite.values.role}
            error={props.invite.errors.role}
            autofocus={firstError === "role"}
            options={props.roles.map((role): [string, string] => [role, MEMBERSHIP_ROLE_LABELS[role]])}
          />
          <Button>Invite member</Button>
        </Form>
      </section>
    </>
  );
}
