import type { AccountState } from "../../src/flows/admin.ts";
import type { MfaMethod, Role } from "../../src/auth/users.ts";
import type { MembershipRole } from "../../src/orgs/memberships.ts";
import { portalTime } from "../format.ts";

/** Words for the admin pages. Messages come only from these fixed lists, never from the request. */
export const STATE_LABELS: Record<AccountState, string> = {
  invited: "Invited",
  email_verified: "Email verified",
  password_set: "Password set",
  phone_verified: "Phone verified",
  active: "Active",
  locked: "Locked",
  disabled: "Disabled",
};

export const ROLE_LABELS: Record<Role, string> = { provider: "Provider", admin: "Administrator" };

/** The guide's and product.md §7's names of the organization roles. */
export const MEMBERSHIP_ROLE_LABELS: Record<MembershipRole, string> = {
  group_admin: "Provider Group Administrator",
  provider_admin: "Provider Administrator",
  provider_staff: "Provider Staff",
};

/** An account's status in the members list of an organization. */
export const STATUS_LABELS: Record<"invited" | "active" | "disabled", string> = { invited: "Invited", active: "Active", disabled: "Disabled" };

export const METHOD_LABELS: Record<MfaMethod, string> = { phone: "Phone", email: "Email", totp: "Authenticator App", passkey: "Passkey" };

/** The MFA method column of a staff account: its issuer's host, which holds its factors. */
export function staffLabel(issuer: string): string {
  return `Staff sign-in (${URL.canParse(issuer) ? new URL(issuer).host : issuer})`;
}

/** What an action's outcome says, keyed by the code the redirect (or the row fragment) carries. */
export const OUTCOMES = {
  created: (email: string) => `Created ${email}. The registration link was emailed to them.`,
  resent: (email: string) => `A new registration link was emailed to ${email}. Earlier links no longer work.`,
  mfa_reset: (email: string) =>
    `Multi-factor authentication was reset for ${email}: they were signed out everywhere, and a link to set it up again was emailed to them.`,
  unlocked: (email: string) => `${email} was unlocked and can sign in again.`,
  disabled: (email: string) => `${email} was disabled and signed out everywhere.`,
  enabled: (email: string) => `${email} was enabled.`,
  made_admin: (email: string) => `${email} is now an administrator.`,
  made_provider: (email: string) => `${email} is now a provider.`,
  membership_changed: (email: string) => `The role of ${email} in their organization was changed.`,
  last_org_admin: (email: string) =>
    `${email} is the last active administrator of their organization, so they cannot be disabled or made staff. Make someone else an administrator there first.`,
  not_allowed: (_email: string) => "Nothing was changed: nobody can give a role above their own.",
  last_admin: (email: string) =>
    `${email} is the last active administrator, so they cannot be disabled or made a provider. Make someone else an administrator first.`,
  not_invited: (email: string) => `${email} has finished registering or is disabled, so there is no registration link to resend.`,
  not_active: (email: string) => `${email} has not finished registering or is disabled, so there is no multi-factor authentication to reset.`,
  not_found: (_email: string) => "There is no such user. They may have been removed.",
  form_unreadable: (_email: string) => "Nothing was changed: the form arrived incomplete. Reload the page and try again.",
  staff: (email: string) => `${email} signs in through their organization's sign-in, which holds their multi-factor authentication: reset it there.`,
} as const;

export type Outcome = keyof typeof OUTCOMES;

export function isOutcome(code: string | undefined): code is Outcome {
  return !!code && Object.prototype.hasOwnProperty.call(OUTCOMES, code);
}

/** The outcomes that are refusals (shown as a problem, not a success). */
export const REFUSALS: ReadonlySet<Outcome> = new Set<Outcome>(["last_admin", "last_org_admin", "not_allowed", "not_invited", "not_active", "not_found", "form_unreadable", "staff"]);

/** "2026-01-05 04:00 EST": the portal's one time format, in PORTAL_TIME_ZONE (templates/format.ts). */
export function formatTime(at: Date | null): string {
  return portalTime(at);
}

/** Why the Create user form was refused, by field. */
export const CREATE_ERRORS = {
  email_missing: "Enter the user's email address.",
  duplicate: "A user with this email address already exists. To send them a new registration link, use Resend registration link on their row.",
  name_too_long: "Enter a name of at most 200 characters.",
  role: "Choose Provider or Administrator.",
  organization_required: "Choose the organization the user belongs to.",
  organization_not_found: "Choose one of your organizations.",
  not_allowed: "Choose a role no higher than your own in that organization.",
} as const;
