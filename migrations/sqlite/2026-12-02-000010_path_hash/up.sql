-- The OpenAI front door finds the conversation a client continues by the history it
-- resends: `path_hash` is the SHA-256 (hex) of the conversation's path up to and
-- including this message, its system prompt first (chatd/src/store/paths.rs). NULL
-- until chatd fills it: rows from before this migration are filled at start-up.
ALTER TABLE messages ADD COLUMN path_hash TEXT;
CREATE INDEX messages_path_hash ON messages (path_hash);
