-- Provider organizations (product.md §7). An organization is a provider group (top level) or a
-- provider, which may belong to one group. Depth is one: a group's parent is always null, and
-- the database holds that itself (below) rather than trusting every writer.
create table organizations (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  -- Names are how the CLI and CSV import name an organization: one per name, in any case.
  name_normalized text not null unique,
  parent_id uuid,
  -- true for a top-level organization; a parent must be one, so providers never nest.
  top_level boolean generated always as (parent_id is null) stored,
  -- true exactly when parent_id is set, so the pair below references only top-level rows.
  parent_top_level boolean generated always as (case when parent_id is not null then true end) stored,
  created_at timestamptz not null,
  unique (id, top_level),
  -- No cascade: a group with providers cannot be deleted or given a parent itself (the
  -- providers' reference to (id, true) would break), which keeps the depth at one.
  foreign key (parent_id, parent_top_level) references organizations (id, top_level),
  check (parent_id is distinct from id)
);
create index organizations_parent_idx on organizations (parent_id) where parent_id is not null;

-- A person's place in an organization. Several memberships per person are allowed (someone may
-- work for two clinics). The portal operator's Administrator stays users.role = 'admin' and
-- needs no membership: every right, every organization.
create table memberships (
  organization_id uuid not null references organizations (id) on delete cascade,
  user_id uuid not null references users (id) on delete cascade,
  role text not null check (role in ('group_admin', 'provider_admin', 'provider_staff')),
  created_at timestamptz not null,
  primary key (organization_id, user_id)
);
-- The scope of an organization administrator starts from their own memberships (src/orgs/scope.ts).
create index memberships_user_idx on memberships (user_id, role);
-- The last-administrator-of-an-organization guard counts these.
create index memberships_admins_idx on memberships (organization_id) where role in ('group_admin', 'provider_admin');

-- Today's users carry across unchanged: users.role keeps its check ('provider', 'admin') and
-- now means the portal-wide role only. 'admin' is the portal Administrator (every existing
-- admin stays one, with every right); 'provider' is everyone else, whose organization roles
-- live in memberships. Existing providers have no membership yet, so only portal
-- Administrators manage them until one is added, exactly as before this migration. Extending
-- the check with the organization roles instead would have put one person's roles in two
-- places and could not say "administrator of clinic A, staff of clinic B".

-- Retention (AUDIT_RETENTION) deletes the oldest events first: audit_events_at_idx (0001) serves it.

-- Import users: a checked CSV waits here between its preview and Send invitations (or Cancel,
-- which deletes it). Rows are names, addresses and roles only; they expire after a day
-- (housekeeping deletes them) and Send takes the row with one DELETE … RETURNING, so a
-- double submit cannot send twice.
create table user_imports (
  id uuid primary key default gen_random_uuid(),
  actor_id uuid not null references users (id) on delete cascade,
  organization_id uuid not null references organizations (id) on delete cascade,
  rows jsonb not null,
  created_at timestamptz not null,
  expires_at timestamptz not null
);
create index user_imports_expires_idx on user_imports (expires_at);
