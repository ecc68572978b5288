-- Back to one line per conversation. Messages off the active path are kept (an older
-- chatd reads them in id order among the others): dropping what a user wrote is not a
-- migration's to decide.
ALTER TABLE reply_checkpoints DROP COLUMN reply_index;
DROP TRIGGER messages_parent_same_conversation_update;
DROP TRIGGER messages_parent_same_conversation_insert;
DROP INDEX messages_parent_id;
ALTER TABLE conversations DROP COLUMN active_leaf_id;
ALTER TABLE messages DROP COLUMN parent_id;
