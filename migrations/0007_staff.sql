-- Staff sign-in (product.md §6): staff accounts come from the organization's OpenID Connect
-- issuer and are keyed on issuer + sub, never on the email (an address can be reassigned at the
-- issuer; sub cannot). Both or neither: a row with them is a staff account.
alter table users add column staff_issuer text, add column staff_subject text;
alter table users add constraint users_staff_identity_check check ((staff_issuer is null) = (staff_subject is null));
create unique index users_staff_identity_idx on users (staff_issuer, staff_subject) where staff_issuer is not null;
-- Staff prove who they are at their issuer: no local password, phone or MFA method, ever, so
-- the password reset, Having trouble and Login with Phone/Email find nothing to use.
alter table users add constraint users_staff_no_local_factors_check
  check (staff_issuer is null or (password_hash is null and phone_e164 is null and mfa_method is null));

-- One started staff sign-in: the browser holds "<id>.<secret>" in a cookie (only SHA-256 of the
-- secret is stored); state, nonce and the PKCE verifier are kept here until the issuer sends the
-- browser back, and the row is deleted as the callback takes it, so each is used once.
create table staff_sign_ins (
  id text primary key,
  secret_hash bytea not null,
  state text not null,
  nonce text not null,
  code_verifier text not null,
  created_at timestamptz not null,
  expires_at timestamptz not null
);
create index staff_sign_ins_expires_idx on staff_sign_ins (expires_at);
