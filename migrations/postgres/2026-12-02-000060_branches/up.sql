-- Branches (docs/API.md §3.19), as in migrations/sqlite: `parent_id` is the message a
-- message follows (NULL for a root), `active_leaf_id` the last message of the
-- conversation's active path (NULL only while it has no message). Deleting a message
-- deletes what follows it; `active_leaf_id` has no foreign key (`migrate-data` copies
-- conversations before messages), chatd keeps it in the transactions that change
-- messages.
ALTER TABLE messages ADD COLUMN parent_id BIGINT REFERENCES messages (id) ON DELETE CASCADE;
ALTER TABLE messages ADD CONSTRAINT messages_parent_is_older CHECK (parent_id < id);
ALTER TABLE conversations ADD COLUMN active_leaf_id BIGINT;

-- The messages stored before branches are one line.
UPDATE messages SET parent_id = (
    SELECT MAX(p.id) FROM messages p
    WHERE p.conversation_id = messages.conversation_id AND p.id < messages.id
);
UPDATE conversations SET active_leaf_id = (
    SELECT MAX(m.id) FROM messages m WHERE m.conversation_id = conversations.id
);

CREATE INDEX messages_parent_id ON messages (parent_id);

CREATE FUNCTION messages_parent_same_conversation() RETURNS trigger AS $$
BEGIN
    IF NEW.parent_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM messages WHERE id = NEW.parent_id AND conversation_id = NEW.conversation_id
    ) THEN
        RAISE EXCEPTION 'a message''s parent must be a message of its conversation'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER messages_parent_same_conversation
BEFORE INSERT OR UPDATE OF parent_id, conversation_id ON messages
FOR EACH ROW EXECUTE FUNCTION messages_parent_same_conversation();

ALTER TABLE reply_checkpoints ADD COLUMN reply_index INTEGER NOT NULL DEFAULT 0;
