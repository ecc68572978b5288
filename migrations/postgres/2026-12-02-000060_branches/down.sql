-- Back to one line per conversation; messages off the active path are kept.
ALTER TABLE reply_checkpoints DROP COLUMN reply_index;
DROP TRIGGER messages_parent_same_conversation ON messages;
DROP FUNCTION messages_parent_same_conversation();
DROP INDEX messages_parent_id;
ALTER TABLE conversations DROP COLUMN active_leaf_id;
ALTER TABLE messages DROP CONSTRAINT messages_parent_is_older;
ALTER TABLE messages DROP COLUMN parent_id;
