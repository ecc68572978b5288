-- Full-text search over message content: an FTS5 index that stores no copy of the text
-- (external content: it reads `messages` when it needs a row's text), kept in step with
-- `messages` by triggers, so a message and its index entry commit together and a deleted
-- message (or a deleted conversation's) leaves nothing behind.
--
-- The `trigram` tokenizer indexes every run of three characters, so a query finds any
-- substring of three or more characters in any script, spaced or not (Chinese and
-- Japanese have no spaces between words for a word tokenizer to split on). Queries of
-- one or two characters cannot use it; chatd answers those with LIKE over the asking
-- user's own messages (see chatd/src/search/).
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content,
    content = 'messages',
    content_rowid = 'id',
    tokenize = 'trigram case_sensitive 0'
);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;

-- The messages stored before this migration.
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
