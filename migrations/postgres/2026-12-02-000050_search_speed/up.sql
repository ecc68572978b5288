-- The search language made a setting of the database (chatd's `search_language`):
-- `search_settings` holds it (one row, `simple` to begin with), and `content_search`
-- becomes a column that a trigger fills in that language, instead of a generated column
-- whose language is fixed. A chatd started with another language re-indexes every
-- message in one transaction and stores it (chatd/src/store/search/postgres.rs); the
-- queries of every process read it from here, so they always match the index.
CREATE TABLE search_settings (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    language regconfig NOT NULL
);
INSERT INTO search_settings (language) VALUES ('simple');

DROP INDEX messages_content_search;
ALTER TABLE messages DROP COLUMN content_search;
ALTER TABLE messages ADD COLUMN content_search tsvector;
UPDATE messages SET content_search = to_tsvector('simple'::regconfig, content);

-- FOR KEY SHARE: a message written while chatd re-indexes for another language waits
-- for it (which holds the row FOR UPDATE) and is then indexed in the new language; one
-- written just before is committed before the re-index reads the messages.
CREATE FUNCTION messages_content_search() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    config regconfig;
BEGIN
    SELECT s.language INTO config FROM search_settings s FOR KEY SHARE;
    NEW.content_search := to_tsvector(config, NEW.content);
    RETURN NEW;
END
$$;

CREATE TRIGGER messages_content_search BEFORE INSERT OR UPDATE OF content ON messages
    FOR EACH ROW EXECUTE FUNCTION messages_content_search();

CREATE INDEX messages_content_search ON messages USING GIN (content_search);
