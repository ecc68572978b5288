-- The search index rebuilt so that two-character terms (a Chinese word) can use it,
-- and smaller (see chatd/src/store/search/sqlite.rs):
--
-- - It indexes each message's text with a newline after it, through the view
--   `messages_search_text` (its external content, so that 'rebuild' and
--   'integrity-check' read the same text the triggers index). Then every occurrence
--   of two characters begins a trigram, the last two of a message included, and a
--   two-character term is the OR of the trigrams that begin with it, which
--   `messages_fts_terms` (the index's own list of terms) gives in order.
-- - `columnsize=0`: no table of each row's length, which only bm25 read; chatd ranks
--   the newest matches itself.
--
-- A later migration that rebuilds `messages` must keep the view working.
DROP TRIGGER messages_fts_update;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_insert;
DROP TABLE messages_fts;

CREATE VIEW messages_search_text AS
    SELECT id, content || char(10) AS content FROM messages;

CREATE VIRTUAL TABLE messages_fts USING fts5(
    content,
    content = 'messages_search_text',
    content_rowid = 'id',
    tokenize = 'trigram case_sensitive 0',
    columnsize = 0
);

CREATE VIRTUAL TABLE messages_fts_terms USING fts5vocab(messages_fts, row);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content || char(10));
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content)
        VALUES ('delete', old.id, old.content || char(10));
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content)
        VALUES ('delete', old.id, old.content || char(10));
    INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content || char(10));
END;

-- The messages stored before this migration.
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
