-- A user's list of conversations is read from this index alone: it holds every column
-- the list shows, so a page no longer looks up each row in the table (BENCHMARKS.md,
-- issue 19 part seven). Its (user_id, id) prefix serves every query the index it
-- replaces served.
CREATE INDEX conversations_user_listed ON conversations (user_id, id, created_at, name);
DROP INDEX conversations_user_id_id;
