DROP INDEX messages_path_hash;
ALTER TABLE messages DROP COLUMN path_hash;
