-- The search indexes are written once per batch of writes, not once per message.
--
-- chatd's SQLite writer runs each write in a savepoint of one batch transaction (group
-- commit), and FTS5 writes its pending terms to disk at every savepoint's end: with the
-- index written by the insert trigger, every stored message became a segment of each
-- index of its own, a quarter of the CPU of a short chat (profiled). Now the insert
-- trigger only queues the message's id in `messages_unindexed`, and the writer indexes
-- what is queued once per batch, inside the same transaction, so a message is
-- searchable from the moment it is committed (store/search/sqlite.rs, `index_queued`).
-- A delete or an edit of a queued message only touches the queue.
DROP TRIGGER messages_fts_update;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_insert;

CREATE TABLE messages_unindexed (id INTEGER PRIMARY KEY NOT NULL);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT OR IGNORE INTO messages_unindexed (id) VALUES (new.id);
END;

-- One trigger each, its statements in order: the queue is read before it is changed.
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content)
        SELECT 'delete', old.id, old.content || char(10)
        WHERE NOT EXISTS (SELECT 1 FROM messages_unindexed WHERE id = old.id);
    INSERT INTO messages_words (messages_words, rowid, content)
        SELECT 'delete', old.id, old.content || char(10)
        WHERE NOT EXISTS (SELECT 1 FROM messages_unindexed WHERE id = old.id);
    DELETE FROM messages_unindexed WHERE id = old.id;
END;

-- An edited message that is indexed already is re-indexed at once (edits are rare); a
-- queued one is indexed with its new text when the queue is.
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages
WHEN NOT EXISTS (SELECT 1 FROM messages_unindexed WHERE id = old.id) BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content)
        VALUES ('delete', old.id, old.content || char(10));
    INSERT INTO messages_words (messages_words, rowid, content)
        VALUES ('delete', old.id, old.content || char(10));
    INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content || char(10));
    INSERT INTO messages_words (rowid, content) VALUES (new.id, new.content || char(10));
END;
