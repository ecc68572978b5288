-- One row per reply in flight. It is the lease that lets one reply at a time run on a
-- conversation, even across several chatd processes sharing a database: a second
-- chat on the conversation finds the row and gets a 409, unless its owner is dead.
-- It also holds what the reply has generated so far, written about once a second, so
-- a chatd killed mid-reply loses at most the last second of it. The row is deleted in
-- the transaction that stores the finished reply; a dead owner's row is stored then as
-- an 'interrupted' message.
CREATE TABLE reply_checkpoints (
    conversation_id BIGINT PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
    -- The user message the reply answers.
    user_message_id BIGINT NOT NULL,
    -- The chatd process generating it: host/pid/random.
    owner TEXT NOT NULL,
    content TEXT NOT NULL,
    -- Refreshed by the owner about once a second; a stale row has a dead owner.
    updated_at TIMESTAMP NOT NULL
);
