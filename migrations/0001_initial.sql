-- Accounts. A user row exists from the invitation on; registration progress lives in `flows`.
create table users (
  id uuid primary key default gen_random_uuid(),
  email text not null,
  email_normalized text not null unique,
  name text not null default '',
  role text not null default 'provider' check (role in ('provider', 'admin')),
  -- invited: registration not finished; active: may sign in; disabled: refused by an administrator
  status text not null default 'invited' check (status in ('invited', 'active', 'disabled')),
  mfa_method text check (mfa_method in ('phone', 'email')),
  phone_e164 text,
  password_hash text,
  terms_version text,
  terms_accepted_at timestamptz,
  failed_attempts integer not null default 0,
  locked_until timestamptz,
  last_sign_in_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index users_name_idx on users (lower(name) text_pattern_ops);
create index users_email_prefix_idx on users (email_normalized text_pattern_ops);
create index users_created_idx on users (created_at, id);
create index users_status_idx on users (status);

-- Lucia-style sessions: the cookie holds "<id>.<secret>", the row holds SHA-256(secret).
create table sessions (
  id text primary key,
  secret_hash bytea not null,
  user_id uuid not null references users (id) on delete cascade,
  created_at timestamptz not null,
  last_active_at timestamptz not null,
  login_option text check (login_option in ('phone', 'email'))
);
create index sessions_user_idx on sessions (user_id);

-- Remember Me: bound to the login option; the cookie is a browser-session cookie.
create table remember_tokens (
  id text primary key,
  secret_hash bytea not null,
  user_id uuid not null references users (id) on delete cascade,
  login_option text not null check (login_option in ('phone', 'email')),
  created_at timestamptz not null,
  expires_at timestamptz not null
);
create index remember_tokens_user_idx on remember_tokens (user_id);

-- A multi-step flow (registration, login, password reset) held by one browser through a cookie
-- "<id>.<secret>". `state` is the step reached; every move is a guarded UPDATE on it.
create table flows (
  id text primary key,
  secret_hash bytea not null,
  kind text not null check (kind in ('registration', 'login', 'password_reset')),
  user_id uuid references users (id) on delete cascade,
  state text not null,
  login_option text check (login_option in ('phone', 'email')),
  remember boolean not null default false,
  data jsonb not null default '{}',
  created_at timestamptz not null,
  updated_at timestamptz not null,
  expires_at timestamptz not null
);
create index flows_user_idx on flows (user_id, kind);

-- One-time codes: HMAC-SHA-256(SECRET_KEY, code), single use, bound to a flow and a purpose.
create table codes (
  id uuid primary key default gen_random_uuid(),
  flow_id text not null references flows (id) on delete cascade,
  user_id uuid references users (id) on delete cascade,
  purpose text not null,
  channel text not null check (channel in ('email', 'sms', 'voice')),
  destination text not null,
  code_hmac bytea not null,
  attempts integer not null default 0,
  created_at timestamptz not null,
  expires_at timestamptz not null,
  consumed_at timestamptz,
  -- voice: set when the call's keyed digits matched; the browser then completes the step
  confirmed_at timestamptz
);
create index codes_flow_idx on codes (flow_id, purpose);

-- Emailed links (registration, registration reset, resume, MFA reset): SHA-256 of the token.
create table link_tokens (
  id uuid primary key default gen_random_uuid(),
  token_hash bytea not null unique,
  user_id uuid not null references users (id) on delete cascade,
  purpose text not null check (purpose in ('registration', 'registration_reset', 'resume', 'mfa_reset')),
  created_at timestamptz not null,
  expires_at timestamptz not null,
  used_at timestamptz,
  revoked_at timestamptz
);
create index link_tokens_user_idx on link_tokens (user_id, purpose);

-- Token buckets shared by every instance.
create table rate_limits (
  key text primary key,
  tokens double precision not null,
  updated_at timestamptz not null
);

create table audit_events (
  id bigint generated always as identity primary key,
  at timestamptz not null,
  event text not null,
  user_id uuid references users (id) on delete set null,
  actor_id uuid references users (id) on delete set null,
  ip text,
  user_agent text,
  detail jsonb not null default '{}'
);
create index audit_events_at_idx on audit_events (at desc, id desc);
create index audit_events_user_idx on audit_events (user_id, at desc);
create index audit_events_event_idx on audit_events (event, at desc);

-- Transactional outbox: written in the transaction that creates the code or link it carries.
create table outbox (
  id bigint generated always as identity primary key,
  channel text not null check (channel in ('email', 'sms', 'voice')),
  recipient text not null,
  subject text,
  body text,
  -- voice: the code the person keys in is never stored here; the call refers to its code row
  code_id uuid references codes (id) on delete set null,
  status text not null default 'pending' check (status in ('pending', 'sending', 'sent', 'failed')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null,
  locked_until timestamptz,
  provider text,
  provider_id text,
  last_error text,
  created_at timestamptz not null,
  sent_at timestamptz
);
create index outbox_due_idx on outbox (next_attempt_at) where status = 'pending';
create index outbox_created_idx on outbox (created_at desc, id desc);
