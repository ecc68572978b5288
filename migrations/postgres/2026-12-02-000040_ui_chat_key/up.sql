-- The AI SDK's UI message stream routes (`/api/v1/ui/chat`) name a conversation by the
-- client's own chat id: `chat_key` is that id, unique among one user's conversations,
-- NULL for every conversation made any other way.
ALTER TABLE conversations ADD COLUMN chat_key TEXT;
CREATE UNIQUE INDEX conversations_user_chat_key ON conversations (user_id, chat_key);
