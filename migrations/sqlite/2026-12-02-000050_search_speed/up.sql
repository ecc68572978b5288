-- Search made fast at a million messages (see chatd/src/store/search/sqlite.rs):
--
-- - `messages_words`, a second FTS5 index, of words (`unicode61`, case and diacritics
--   folded), for the terms of spaced scripts: a rare word's own list of messages
--   instead of the intersection of its trigrams' long lists.
-- - The trigram index rebuilt so that two-character terms (a Chinese word) can use
--   it, and smaller:
--   It indexes each message's text with a newline after it, through the view
--   `messages_search_text` (the external content of both, so that 'rebuild' and
--   'integrity-check' read the same text the triggers index). Then every occurrence
--   of two characters begins a trigram, the last two of a message included, and a
--   two-character term is the OR of the trigrams that begin with it, which
--   `messages_fts_terms` (the index's own list of terms) gives in order.
--   Both have `columnsize=0`: no table of each row's length, which only bm25 read;
--   chatd ranks the newest matches itself.
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

CREATE VIRTUAL TABLE messages_words USING fts5(
    content,
    content = 'messages_search_text',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    columnsize = 0
);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content || char(10));
    INSERT INTO messages_words (rowid, content) VALUES (new.id, new.content || char(10));
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content)
        VALUES ('delete', old.id, old.content || char(10));
    INSERT INTO messages_words (messages_words, rowid, content)
        VALUES ('delete', old.id, old.content || char(10));
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content)
        VALUES ('delete', old.id, old.content || char(10));
    INSERT INTO messages_words (messages_words, rowid, content)
        VALUES ('delete', old.id, old.content || char(10));
    INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content || char(10));
    INSERT INTO messages_words (rowid, content) VALUES (new.id, new.content || char(10));
END;

-- The messages stored before this migration.
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
INSERT INTO messages_words (messages_words) VALUES ('rebuild');
