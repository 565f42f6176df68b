-- The account page (product.md §8): where each session signed in from, for the Sessions list,
-- and the "Confirm it's you" proof a session holds for its changes.
-- ip, user_agent: as the request that started the session gave them (clientInfo), for people
-- to recognise their own sessions; null for sessions from before this migration.
alter table sessions add column ip text;
alter table sessions add column user_agent text;
-- When this session last passed "Confirm it's you" (a second factor again), and the change that
-- confirmation was asked for: that change may finish even if REAUTH_TTL runs out while the person
-- types (nothing they typed is lost); every other change needs a proof within REAUTH_TTL.
alter table sessions add column reauthenticated_at timestamptz;
alter table sessions add column reauth_for text;

-- The account page's own stepped flows (Confirm it's you, proving a new phone number) hold their
-- codes like every other flow, so flows take a fourth kind.
alter table flows drop constraint if exists flows_kind_check;
alter table flows add constraint flows_kind_check check (kind in ('registration', 'login', 'password_reset', 'account'));
