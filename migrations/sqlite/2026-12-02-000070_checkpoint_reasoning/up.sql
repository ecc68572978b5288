-- The reasoning a reply in flight has generated so far, beside its content: a chatd
-- process that relays another's reply (replies/relay/) catches up from this row, and a
-- cursor counts reasoning characters too.
ALTER TABLE reply_checkpoints ADD COLUMN reasoning TEXT NOT NULL DEFAULT '';
