DROP TRIGGER messages_content_search ON messages;
DROP FUNCTION messages_content_search();
DROP INDEX messages_content_search;
ALTER TABLE messages DROP COLUMN content_search;
ALTER TABLE messages ADD COLUMN content_search tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, content)) STORED;
CREATE INDEX messages_content_search ON messages USING GIN (content_search);
DROP TABLE search_settings;
