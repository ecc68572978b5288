-- Nothing to do on PostgreSQL: its search indexes (a tsvector column and pg_trgm) are
-- maintained by the row's own insert, which has no savepoint flush to avoid. The
-- migration exists so that both backends have the same list (SQLite's queues the
-- search indexing of new messages for its writer's batches).
SELECT 1;
