-- Applications the portal signs people in to (product.md §5): OIDC clients and apps behind a
-- forward-auth proxy. Client secrets are 256-bit random strings; only their SHA-256 is kept.
create table applications (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  kind text not null check (kind in ('oidc', 'forward_auth')),
  client_id text unique,
  client_secret_hash bytea,
  redirect_uris text[] not null default '{}',
  post_logout_redirect_uris text[] not null default '{}',
  -- forward_auth: the URL prefix (scheme, host, port, path) the application lives under
  forward_auth_url text,
  -- the origin of forward_auth_url, so a request's URL finds its candidates by one indexed equality
  forward_auth_origin text,
  -- a role or organization name; null admits everyone who is signed in
  allowed_group text,
  created_at timestamptz not null default now(),
  secret_rotated_at timestamptz,
  check ((kind = 'oidc') = (client_id is not null)),
  check ((kind = 'forward_auth') = (forward_auth_url is not null))
);
create index applications_forward_auth_origin_idx on applications (forward_auth_origin) where forward_auth_origin is not null;

-- Every oidc-provider model in one table (Logto's oidc_model_instances shape): sessions,
-- interactions, grants, codes, access and refresh tokens. The columns beside `payload` are the
-- lookups the provider asks for (grant, session uid, user code) and the ones the portal needs
-- (the account, to end a person's sessions; the expiry, for housekeeping).
create table oidc_models (
  model text not null,
  id text not null,
  payload jsonb not null,
  grant_id text,
  uid text,
  user_code text,
  account_id text,
  expires_at timestamptz,
  consumed_at timestamptz,
  primary key (model, id)
);
create index oidc_models_grant_idx on oidc_models (grant_id) where grant_id is not null;
create index oidc_models_uid_idx on oidc_models (uid) where uid is not null;
create index oidc_models_user_code_idx on oidc_models (user_code) where user_code is not null;
create index oidc_models_account_idx on oidc_models (account_id) where account_id is not null;
create index oidc_models_expires_idx on oidc_models (expires_at) where expires_at is not null;

-- Signing keys: the public JWK in clear (it is published), the private one sealed with
-- AES-256-GCM under a key derived from SECRET_KEY. The newest unretired key signs; retired keys
-- stay listed at the JWKS URI until every token they signed has expired.
create table oidc_signing_keys (
  kid text primary key,
  alg text not null,
  public_jwk jsonb not null,
  private_jwk_sealed bytea not null,
  created_at timestamptz not null,
  retired_at timestamptz
);
