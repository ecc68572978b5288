DROP INDEX conversations_user_chat_key;
ALTER TABLE conversations DROP COLUMN chat_key;
