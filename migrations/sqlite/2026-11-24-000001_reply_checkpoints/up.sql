-- What a reply in flight has generated so far, written about once a second, so that a
-- chatd killed mid-reply loses at most the last second of it. The row is deleted in the
-- transaction that stores the finished reply; rows found at start-up are replies that
-- were cut off, and are stored then as 'interrupted'.
CREATE TABLE reply_checkpoints (
    conversation_id INTEGER PRIMARY KEY NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    -- The user message the reply answers: an assistant message after it means the
    -- reply was stored after all and the row is stale.
    user_message_id INTEGER NOT NULL,
    content TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
