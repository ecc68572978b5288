-- What is queued is indexed first: the triggers of 000050 expect every message indexed.
INSERT INTO messages_fts (rowid, content)
    SELECT m.id, m.content || char(10) FROM messages m JOIN messages_unindexed u ON u.id = m.id;
INSERT INTO messages_words (rowid, content)
    SELECT m.id, m.content || char(10) FROM messages m JOIN messages_unindexed u ON u.id = m.id;
DROP TRIGGER messages_fts_update;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_insert;
DROP TABLE messages_unindexed;

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
