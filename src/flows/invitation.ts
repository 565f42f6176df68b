/**
 * Invitations: the start of every registration. Used by `npm run invite` and by the admin area.
 *
 *   inviteUser({ sql, clock, config, outbox }, { email, name?, role?, actorId?, ip?, userAgent? })
 *     → { ok: true, user, link } | { ok: false, reason: "duplicate" | "invalid_email" | "staff_email" }
 *     Creates the user (status "invited"), or, for an address whose account is not active yet,
 *     sends that account a fresh invitation. "duplicate": the address already has an active (or
 *     disabled) account.
 *
 *   resendRegistrationLink({ sql, clock, config, outbox }, { userId, actorId?, ip?, userAgent? })
 *     → { ok: true, user, link } | { ok: false, reason: "not_found" | "duplicate" }
 *     A new link for an invited user; "duplicate" when the account is already active or disabled.
 *
 * Either way, in ONE transaction: every earlier registration, registration-reset and resume link
 * of the user dies, the user's registration flows are deleted (a browser half-way through an older
 * invitation cannot go on), a new registration link is created and its email is put in the outbox.
 * The outbox is kicked after the commit. `link` is returned for the CLI, which prints it; callers
 * must never log it. The audit event `registration.invited` names the actor (null from the CLI).
 */
import { z } from "zod";
import type { Db } from "../db/client.ts";
import { describeDuration, registrationLink } from "../delivery/messages.ts";
import { createLinkToken } from "../auth/links.ts";
import { appendAudit } from "../auth/audit.ts";
import { findUserById, insertInvitedUser, isStaffEmail, lockUser, renameUser, type Role, type User } from "../auth/users.ts";
import { deleteUserFlows } from "./flow-store.ts";
import type { FlowDeps } from "./steps.ts";
import { putMembership, type MembershipRole } from "../orgs/memberships.ts";

/** Kept as the name the CLI and the admin area know; the same as every flow's deps. */
export type InvitationDeps = FlowDeps;

export interface InviteInput {
  email: string;
  name?: string;
  role?: Role;
  /** Their organization and role there, written in the invitation's transaction (product.md §7). */
  membership?: { organizationId: string; role: MembershipRole };
  /** The administrator who asked; null or absent from the command line. */
  actorId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
}

export type InviteResult =
  | { ok: true; user: User; link: string; created: boolean }
  | { ok: false; reason: "duplicate" | "invalid_email" | "staff_email" };

export type ResendResult = { ok: true; user: User; link: string } | { ok: false; reason: "not_found" | "duplicate" };

const MAX_NAME_LENGTH = 200;
const emailSchema = z.email().max(254);

/** The user-facing sentence for each refusal, shared by the CLI and the admin pages. */
export const INVITE_REFUSALS: Record<"duplicate" | "invalid_email" | "staff_email" | "not_found", string> = {
  duplicate: "This email address already has an active account.",
  invalid_email: "Enter a valid email address, like name@example.com.",
  staff_email: "This address belongs to staff, who do not sign in here. Use the provider's own email address.",
  not_found: "There is no such user.",
};

export async function inviteUser(deps: InvitationDeps, input: InviteInput): Promise<InviteResult> {
  const email = input.email.trim();
  if (!emailSchema.safeParse(email).success || /[\s\p{Cc}]/u.test(email)) return { ok: false, reason: "invalid_email" };
  if (isStaffEmail(deps.config, email)) return { ok: false, reason: "staff_email" };
  const name = (input.name ?? "").replace(/\p{Cc}/gu, " ").trim().slice(0, MAX_NAME_LENGTH);
  const role: Role = input.role ?? "provider";

  const outcome = await deps.sql.begin(async (tx) => {
    const { user: existing, created: inserted } = await insertInvitedUser(tx, deps.clock, { email, name, role });
    if (!inserted && existing.status !== "invited") return { ok: false as const };
    if (!inserted && name) await renameUser(tx, deps.clock, existing.id, name);
    const link = await issueRegistrationLink(tx, deps, existing.id, existing.email);
    if (input.membership) await putMembership(tx, deps.clock, { ...input.membership, userId: existing.id });
    await appendAudit(tx, deps.clock, {
      event: "registration.invited",
      userId: existing.id,
      actorId: input.actorId ?? null,
      ip: input.ip ?? null,
      userAgent: input.userAgent ?? null,
      detail: { role: inserted ? role : existing.role, created: !!inserted, ...(input.membership ?? {}) },
    });
    return { ok: true as const, userId: existing.id, link, created: !!inserted };
  });
  if (!outcome.ok) return { ok: false, reason: "duplicate" };
  deps.outbox.kick();
  const user = await findUserById(deps.sql, outcome.userId);
  return { ok: true, user: user!, link: outcome.link, created: outcome.created };
}

export async function resendRegistrationLink(
  deps: InvitationDeps,
  input: { userId: string; actorId?: string | null; ip?: string | null; userAgent?: string | null },
): Promise<ResendResult> {
  if (!/^[0-9a-f-]{36}$/i.test(input.userId)) return { ok: false, reason: "not_found" };
  const outcome = await deps.sql.begin(async (tx) => {
    const user = await lockUser(tx, input.userId);
    if (!user) return { ok: false as const, reason: "not_found" as const };
    if (user.status !== "invited") return { ok: false as const, reason: "duplicate" as const };
    const link = await issueRegistrationLink(tx, deps, user.id, user.email);
    await appendAudit(tx, deps.clock, {
      event: "registration.invited",
      userId: user.id,
      actorId: input.actorId ?? null,
      ip: input.ip ?? null,
      userAgent: input.userAgent ?? null,
      detail: { resent: true },
    });
    return { ok: true as const, user, link };
  });
  if (!outcome.ok) return outcome;
  deps.outbox.kick();
  return outcome;
}

/** The link, its email and the end of everything older, inside the caller's transaction. */
async function issueRegistrationLink(db: Db, deps: InvitationDeps, userId: string, email: string): Promise<string> {
  await deleteUserFlows(db, userId, "registration");
  const token = await createLinkToken(db, deps.clock, {
    userId,
    purpose: "registration",
    ttlMs: deps.config.ttl.registrationLink,
    revoke: ["registration_reset", "resume"],
  });
  const link = `${deps.config.publicUrl}/register/link/${token}`;
  const message = registrationLink(deps.config.portalName, link, describeDuration(deps.config.ttl.registrationLink));
  await deps.outbox.enqueue(db, { channel: "email", to: email, ...message });
  return link;
}
