-- Stronger factors (product.md §8): the authenticator app (kind 'totp'), passkeys (kind
-- 'passkey') as rows of user_factors, and recovery codes in a table of their own.

-- The authenticator app: the last time step (RFC 6238 counter) a code was accepted for. A code
-- is taken by a guarded UPDATE (`where last_used_step < step`), so each step is accepted once.
alter table user_factors add column last_used_step bigint;
-- Passkeys: the credential's id (base64url), its signature counter and transports. The public
-- key is the row's `secret` (COSE bytes, not secret, but the column for a factor's key material).
alter table user_factors add column credential_id text;
alter table user_factors add column sign_count bigint;
alter table user_factors add column transports text[];
create unique index user_factors_credential_idx on user_factors (credential_id) where credential_id is not null;

-- Login with Authenticator App and Sign in with a passkey are login options of their own.
alter table flows drop constraint if exists flows_login_option_check;
alter table flows add constraint flows_login_option_check check (login_option in ('phone', 'email', 'totp', 'passkey'));
alter table sessions drop constraint if exists sessions_login_option_check;
alter table sessions add constraint sessions_login_option_check check (login_option in ('phone', 'email', 'totp', 'passkey'));
alter table remember_tokens drop constraint if exists remember_tokens_login_option_check;
alter table remember_tokens add constraint remember_tokens_login_option_check check (login_option in ('phone', 'email', 'totp', 'passkey'));

-- Adding a factor from the account page is a flow of its own (the pending secret, the
-- WebAuthn challenge), held by the signed-in browser.
alter table flows drop constraint if exists flows_kind_check;
alter table flows add constraint flows_kind_check check (kind in ('registration', 'login', 'password_reset', 'account', 'factor_setup'));

-- Recovery codes: 10 per account, each HMAC-SHA-256(SECRET_KEY, code) (the codes carry 80
-- random bits, so a keyed hash is enough; argon2 is for what people choose), used once.
create table recovery_codes (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  code_hash bytea not null,
  created_at timestamptz not null,
  used_at timestamptz
);
create unique index recovery_codes_hash_idx on recovery_codes (user_id, code_hash);
