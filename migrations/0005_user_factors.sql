-- A person's second factors as rows: the emailed code and the phone today; the authenticator
-- app, passkeys and recovery codes later, each a kind of its own. The sign-in button a person
-- presses (login_option on flows, sessions, remember_tokens) is another idea and keeps its column.
create table user_factors (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  -- No CHECK on the kind: each factor module names its own; the code decides what it accepts.
  kind text not null,
  -- What the person sees on their account page ("Phone ending 0143", "Authenticator app").
  label text not null default '',
  -- Where a code goes (an E.164 number, an email address), or null for a factor without one.
  destination text,
  -- A factor's secret or public key (the authenticator app's, encrypted; a passkey's), never a code.
  secret bytea,
  created_at timestamptz not null,
  last_used_at timestamptz
);
create index user_factors_user_idx on user_factors (user_id, created_at);

-- Every registered account keeps the factor it chose, in place: the phone it proved, or its
-- email address. Accounts still registering have none yet (their progress lives in flows).
insert into user_factors (user_id, kind, label, destination, created_at, last_used_at)
select id, mfa_method,
  case when mfa_method = 'phone' then 'Phone ending ' || right(phone_e164, 4) else 'Email' end,
  case when mfa_method = 'phone' then phone_e164 else email end,
  coalesce(terms_accepted_at, created_at), last_sign_in_at
from users
where mfa_method = 'email' or (mfa_method = 'phone' and phone_e164 is not null);

-- users.mfa_method and users.phone_e164 stay, no longer checked against phone|email: until the
-- admin pages read user_factors they mirror the account's first factor; only src/auth/users.ts
-- writes them, together with the rows above. The User read model takes both from user_factors.
alter table users drop constraint if exists users_mfa_method_check;

-- What a session proved (RFC 8176 amr values: pwd, mfa, sms, tel, email) and when, so an
-- application can ask for a recent or a stronger sign-in. A Remember Me sign-in proves nothing
-- new: the token keeps what the sign-in it remembers proved, and its session copies that.
alter table sessions add column amr text[] not null default '{}';
alter table sessions add column authenticated_at timestamptz;
alter table remember_tokens add column amr text[] not null default '{}';
alter table remember_tokens add column authenticated_at timestamptz;
-- Sessions and tokens from before this migration proved a password and a second factor.
update sessions set amr = '{pwd,mfa}', authenticated_at = created_at;
update remember_tokens set amr = '{pwd,mfa}', authenticated_at = created_at;
