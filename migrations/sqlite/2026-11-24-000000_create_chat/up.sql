-- Users, their conversations and the messages of each conversation.
-- AUTOINCREMENT so that an id is never handed out twice, even after deletes.
-- Timestamps are UTC, stored as diesel's TIMESTAMP text with microseconds.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    username TEXT NOT NULL UNIQUE,
    email TEXT,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT,
    created_at TIMESTAMP NOT NULL
);

-- A user's conversations are listed oldest first: (user_id, id) answers the WHERE, the
-- ORDER BY and the OFFSET/LIMIT from the index alone.
CREATE INDEX conversations_user_id_id ON conversations (user_id, id);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content TEXT NOT NULL,
    -- How the message ended: complete, cancelled, failed or interrupted.
    status TEXT NOT NULL DEFAULT 'complete'
        CHECK (status IN ('complete', 'cancelled', 'failed', 'interrupted')),
    created_at TIMESTAMP NOT NULL
);

-- A conversation's messages in id order, without touching other conversations' rows.
CREATE INDEX messages_conversation_id_id ON messages (conversation_id, id);
