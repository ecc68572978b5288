-- The Idempotency-Key of POST /chat, /users/ and /conversations/ (docs/API.md §3.15):
-- one row per key that answered, written in the transaction that stored what the
-- request made, so that a repeat with the same key and body within 24 hours is
-- answered as the first was and stores nothing twice. Only successes are kept: a
-- request that failed stored nothing, and its repeat is simply tried again.
CREATE TABLE idempotency_keys (
    -- The route the key was sent to: 'chat', 'users' or 'conversations'.
    scope TEXT NOT NULL,
    -- The client's key, 1 to 255 bytes.
    idempotency_key TEXT NOT NULL,
    -- SHA-256 of the request's body (its JSON with keys sorted), in hex.
    fingerprint TEXT NOT NULL,
    -- The answer of users and conversations: its status and JSON body.
    status INTEGER NOT NULL,
    body TEXT,
    -- The answer of a chat: the user message it stored (its reply is attached to, or
    -- replayed once stored).
    user_message_id INTEGER,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, idempotency_key)
);
-- Keys expire after 24 hours; the expired are deleted by range.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
