-- Back to the four statuses; a truncated reply is kept as 'failed' (the provider broke
-- off, the content is what arrived), the nearest of them.
CREATE TABLE messages_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'complete'
        CHECK (status IN ('complete', 'cancelled', 'failed', 'interrupted')),
    created_at TIMESTAMP NOT NULL
);

INSERT INTO messages_old (id, conversation_id, role, content, status, created_at)
    SELECT id, conversation_id, role, content,
           CASE status WHEN 'truncated' THEN 'failed' ELSE status END, created_at
    FROM messages;

DELETE FROM sqlite_sequence WHERE name = 'messages_old';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'messages_old', seq FROM sqlite_sequence WHERE name = 'messages';

DROP TABLE messages;
ALTER TABLE messages_old RENAME TO messages;

CREATE INDEX messages_conversation_id_id ON messages (conversation_id, id);
