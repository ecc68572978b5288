-- A user's list of conversations can be read from this index alone (an index-only scan
-- where the table's pages are all visible): it holds every column the list shows. Its
-- (user_id, id) key serves every query the index it replaces served.
CREATE INDEX conversations_user_listed ON conversations (user_id, id) INCLUDE (created_at, name);
DROP INDEX conversations_user_id_id;
