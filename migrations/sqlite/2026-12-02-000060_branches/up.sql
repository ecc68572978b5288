-- Branches (docs/API.md §3.19): a conversation is a tree of messages. `parent_id` is
-- the message a message follows (NULL for a conversation's first messages, the roots);
-- `active_leaf_id` is the last message of the conversation's active path, the one the
-- documented `GET /conversations/{id}` reads from its root down to (NULL only while the
-- conversation has no message). A parent is always an older message of the same
-- conversation: chatd only ever names a stored one, and the triggers below refuse a
-- parent that does not exist or is another conversation's.
--
-- `parent_id` has no foreign key here, only the triggers: SQLite cannot drop a column
-- that has one (down.sql), and its cascade would not reach past one level of a tree
-- without recursive triggers; chatd deletes a turn with everything below it itself
-- (store/deletes.rs). `active_leaf_id` has none either (`migrate-data` copies a
-- conversation before its messages): chatd moves it in the transaction that adds or
-- deletes messages.
ALTER TABLE messages ADD COLUMN parent_id INTEGER;
ALTER TABLE conversations ADD COLUMN active_leaf_id INTEGER;

-- The messages stored before branches are one line: each follows the one before it in
-- id order, and the last is the active leaf.
UPDATE messages SET parent_id = (
    SELECT MAX(p.id) FROM messages p
    WHERE p.conversation_id = messages.conversation_id AND p.id < messages.id
);
UPDATE conversations SET active_leaf_id = (
    SELECT MAX(m.id) FROM messages m WHERE m.conversation_id = conversations.id
);

-- A message's children (siblings, the tree, the cascade of a delete).
CREATE INDEX messages_parent_id ON messages (parent_id);

CREATE TRIGGER messages_parent_same_conversation_insert
BEFORE INSERT ON messages
WHEN NEW.parent_id IS NOT NULL
    AND (SELECT conversation_id FROM messages WHERE id = NEW.parent_id) IS NOT NEW.conversation_id
BEGIN
    SELECT RAISE(ABORT, 'a message''s parent must be a message of its conversation');
END;

CREATE TRIGGER messages_parent_same_conversation_update
BEFORE UPDATE OF parent_id, conversation_id ON messages
WHEN NEW.parent_id IS NOT NULL
    AND (SELECT conversation_id FROM messages WHERE id = NEW.parent_id) IS NOT NEW.conversation_id
BEGIN
    SELECT RAISE(ABORT, 'a message''s parent must be a message of its conversation');
END;

-- A reply lease names one reply: the user message it answers and which of that
-- message's replies it is (0 for the first, 1 for the first regenerated one, ...).
ALTER TABLE reply_checkpoints ADD COLUMN reply_index INTEGER NOT NULL DEFAULT 0;
