-- Adds the status 'truncated' (the provider stopped at its token limit). SQLite cannot
-- change a CHECK constraint in place, so the table is rebuilt with the same columns and
-- rows. No table references messages, so dropping the old one touches nothing else.
CREATE TABLE messages_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content TEXT NOT NULL,
    -- How the message ended: complete, cancelled, failed, interrupted or truncated.
    status TEXT NOT NULL DEFAULT 'complete'
        CHECK (status IN ('complete', 'cancelled', 'failed', 'interrupted', 'truncated')),
    created_at TIMESTAMP NOT NULL
);

INSERT INTO messages_new (id, conversation_id, role, content, status, created_at)
    SELECT id, conversation_id, role, content, status, created_at FROM messages;

-- Keep the AUTOINCREMENT high-water mark, which may lie above the largest id left (the
-- newest messages may have been deleted), so that no id is ever handed out twice.
DELETE FROM sqlite_sequence WHERE name = 'messages_new';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'messages_new', seq FROM sqlite_sequence WHERE name = 'messages';

DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;

CREATE INDEX messages_conversation_id_id ON messages (conversation_id, id);
