-- Deleting a code (housekeeping, or a flow's cascade) sets outbox.code_id to null through the
-- foreign key; without an index on code_id every deleted code scanned the whole outbox. Only
-- voice messages carry a code, so the index holds only those.
create index outbox_code_idx on outbox (code_id) where code_id is not null;
