-- OpenID Connect Back-Channel Logout 1.0 (product.md §5): where an OIDC client wants to hear
-- that a person's session ended. Null: the client is not told (its refresh tokens still stop).
alter table applications add column backchannel_logout_uri text;

-- Logout tokens owed to clients, written in the same transaction that ends the person's
-- application sessions (so none is owed for a sign-out that rolled back) and sent after the
-- commit by src/apps/backchannel.ts, which claims each row once (at most one delivery).
create table backchannel_logouts (
  id bigint generated always as identity primary key,
  client_id text not null,
  account_id text not null,
  -- the provider session's id for this client, carried as the logout token's sid
  sid text,
  created_at timestamptz not null default now()
);
