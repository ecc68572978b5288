-- Full-text search over message content. Words: a `tsvector` generated column with a
-- GIN index, with the `simple` configuration (no stemming, no stop words: every script
-- is split on its word boundaries the same way); chatd's queries name the same
-- configuration (`PG_SEARCH_CONFIG` in chatd/src/store/search.rs).
--
-- Unspaced scripts (Chinese, Japanese): the parser sees a whole run of them as one
-- word, so a substring of it would never match a word query; those terms are matched
-- with ILIKE instead, which the pg_trgm GIN index answers (like SQLite's trigram index).
-- Both are built for the existing rows by the statements themselves.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE messages ADD COLUMN content_search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, content)) STORED;

CREATE INDEX messages_content_search ON messages USING GIN (content_search);
CREATE INDEX messages_content_trigrams ON messages USING GIN (content gin_trgm_ops);
