import type { Db } from "../db/client.ts";
import type { Clock } from "../clock.ts";

/**
 * Organizations (product.md §7): provider groups and providers. A top-level organization is a
 * provider group once it has providers under it; until then it is a provider standing alone. A
 * provider belongs to at most one group, and groups never nest (migration 0008 holds that in the
 * database too). This module is the one writer of `organizations`.
 */
export interface Organization {
  id: string;
  name: string;
  parentId: string | null;
  createdAt: Date;
}

export interface OrganizationSummary extends Organization {
  parentName: string | null;
  /** Providers under it (0 for a provider). */
  providers: number;
  members: number;
}

export type OrganizationKind = "group" | "provider";

export const MAX_ORGANIZATION_NAME = 200;

/** A group has a provider under it, or is asked to be one (a provider may be added to it). */
export function kindOf(org: { parentId: string | null; providers: number }): OrganizationKind {
  return org.parentId === null && org.providers > 0 ? "group" : "provider";
}

export function normalizeOrganizationName(name: string): string {
  return name.normalize("NFC").trim().replace(/\s+/g, " ").toLowerCase();
}

function cleanName(name: string): string {
  return name.normalize("NFC").trim().replace(/\s+/g, " ");
}

const COLUMNS = (db: Db) => db`o.id, o.name, o.parent_id as "parentId", o.created_at as "createdAt"`;

export async function findOrganizationById(db: Db, id: string): Promise<Organization | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const [org] = await db<Organization[]>`select ${COLUMNS(db)} from organizations o where o.id = ${id}`;
  return org ?? null;
}

export async function findOrganizationByName(db: Db, name: string): Promise<Organization | null> {
  const [org] = await db<Organization[]>`select ${COLUMNS(db)} from organizations o where o.name_normalized = ${normalizeOrganizationName(name)}`;
  return org ?? null;
}

export type CreateOrganizationRefusal = "invalid_name" | "duplicate" | "parent_not_found" | "parent_not_group";
export type CreateOrganizationResult = { ok: true; organization: Organization } | { ok: false; reason: CreateOrganizationRefusal };

/** The sentence for each refusal, shared by the command line and the Organizations page. */
export const ORGANIZATION_REFUSALS: Record<CreateOrganizationRefusal | "has_providers" | "same" | "not_found", string> = {
  invalid_name: `Enter a name of 1 to ${MAX_ORGANIZATION_NAME} characters, without special characters.`,
  duplicate: "An organization with this name already exists.",
  parent_not_found: "There is no provider group with that name.",
  parent_not_group: "That organization is a provider of a group, and providers cannot have providers of their own.",
  has_providers: "This organization is a provider group with providers of its own, so it cannot join another group.",
  same: "An organization cannot be added to itself.",
  not_found: "There is no such organization.",
};

export function isValidOrganizationName(name: string): boolean {
  const clean = cleanName(name);
  return clean.length > 0 && clean.length <= MAX_ORGANIZATION_NAME && !/[\p{Cc}\uFFFD]/u.test(name);
}

/**
 * A new organization, at the top level or as a provider of the group `parentId`. The unique
 * name index decides a race between two adds of one name (one wins, the other is "duplicate").
 */
export async function createOrganization(db: Db, clock: Clock, input: { name: string; parentId?: string | null }): Promise<CreateOrganizationResult> {
  if (!isValidOrganizationName(input.name)) return { ok: false, reason: "invalid_name" };
  const name = cleanName(input.name);
  if (input.parentId) {
    const [parent] = await db<{ parentId: string | null }[]>`select parent_id as "parentId" from organizations where id = ${input.parentId} for share`;
    if (!parent) return { ok: false, reason: "parent_not_found" };
    if (parent.parentId) return { ok: false, reason: "parent_not_group" };
  }
  const [org] = await db<Organization[]>`
    insert into organizations (name, name_normalized, parent_id, created_at)
    values (${name}, ${normalizeOrganizationName(name)}, ${input.parentId ?? null}, ${clock.now()})
    on conflict (name_normalized) do nothing
    returning id, name, parent_id as "parentId", created_at as "createdAt"`;
  return org ? { ok: true, organization: org } : { ok: false, reason: "duplicate" };
}

export type SetParentResult = { ok: true } | { ok: false; reason: "not_found" | "parent_not_found" | "parent_not_group" | "has_providers" | "same" };

/** Makes a provider (standing alone, or in another group) a provider of the group `parentId`. */
export async function setOrganizationParent(db: Db, organizationId: string, parentId: string): Promise<SetParentResult> {
  if (organizationId === parentId) return { ok: false, reason: "same" };
  const rows = await db<{ id: string; parentId: string | null }[]>`
    select id, parent_id as "parentId" from organizations where id in (${organizationId}, ${parentId}) order by id for update`;
  const org = rows.find((row) => row.id === organizationId);
  const parent = rows.find((row) => row.id === parentId);
  if (!org) return { ok: false, reason: "not_found" };
  if (!parent) return { ok: false, reason: "parent_not_found" };
  if (parent.parentId) return { ok: false, reason: "parent_not_group" };
  const [child] = await db`select 1 from organizations where parent_id = ${organizationId} limit 1`;
  if (child) return { ok: false, reason: "has_providers" };
  await db`update organizations set parent_id = ${parentId} where id = ${organizationId}`;
  return { ok: true };
}

/** Every organization by name, with its group, its providers and its members counted. */
export async function listOrganizations(db: Db): Promise<OrganizationSummary[]> {
  return db<OrganizationSummary[]>`
    select ${COLUMNS(db)}, p.name as "parentName",
      (select count(*)::int from organizations c where c.parent_id = o.id) as providers,
      (select count(*)::int from memberships m where m.organization_id = o.id) as members
    from organizations o left join organizations p on p.id = o.parent_id
    order by o.name_normalized`;
}
