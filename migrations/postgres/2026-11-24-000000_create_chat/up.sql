-- Users, their conversations and the messages of each conversation; the same tables
-- as migrations/sqlite, in PostgreSQL's types. Timestamps are UTC.
CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    email TEXT,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE conversations (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT,
    created_at TIMESTAMP NOT NULL
);

CREATE INDEX conversations_user_id_id ON conversations (user_id, id);

CREATE TABLE messages (
    id BIGSERIAL PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'complete'
        CHECK (status IN ('complete', 'cancelled', 'failed', 'interrupted')),
    created_at TIMESTAMP NOT NULL
);

CREATE INDEX messages_conversation_id_id ON messages (conversation_id, id);
