DROP INDEX messages_content_trigrams;
DROP INDEX messages_content_search;
ALTER TABLE messages DROP COLUMN content_search;
