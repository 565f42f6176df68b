-- Lets a dispatch pass find rows whose sender died mid-send (status 'sending', lock expired)
-- without scanning the whole outbox, which only grows.
create index outbox_stale_sending_idx on outbox (locked_until) where status = 'sending';
