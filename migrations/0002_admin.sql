-- Administration: the users list pages by (created_at, id) through users_created_idx (0001) and
-- searches by prefix through users_name_idx / users_email_prefix_idx (0001). These add what its
-- state filter and the last-active-admin check need, so neither reads the whole table.

-- "Locked" is locked_until in the future; only a few rows ever carry a lock, so a partial index
-- keeps this small and lets the filter start from the locked rows instead of every user.
create index users_locked_idx on users (locked_until) where locked_until is not null;

-- The last-active-admin guard counts these rows on every role or status change.
create index users_active_admin_idx on users (id) where role = 'admin' and status = 'active';

-- A state filter pages newest first within one status (disabled, active, invited): this index
-- hands out those rows already in page order, so a page reads its 50 rows and stops, where
-- users_status_idx would have it fetch every row of the status and sort them.
create index users_status_created_idx on users (status, created_at, id);

-- Disable keeps what the account was (still registering, or registered) so Enable can put it back.
alter table users add column status_before_disable text check (status_before_disable in ('invited', 'active'));
