CREATE INDEX conversations_user_id_id ON conversations (user_id, id);
DROP INDEX conversations_user_listed;
