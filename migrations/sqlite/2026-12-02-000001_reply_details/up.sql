-- What each assistant reply cost and how it went, as far as the provider said: the model
-- that answered (as the provider named it), its finish reason, the token counts of its
-- usage report, the time to its first token and its whole duration in milliseconds, and
-- the reasoning it streamed apart from its content. NULL where unknown, and on user
-- messages.
ALTER TABLE messages ADD COLUMN model TEXT;
ALTER TABLE messages ADD COLUMN finish_reason TEXT;
ALTER TABLE messages ADD COLUMN prompt_tokens BIGINT;
ALTER TABLE messages ADD COLUMN completion_tokens BIGINT;
ALTER TABLE messages ADD COLUMN ttft_ms BIGINT;
ALTER TABLE messages ADD COLUMN duration_ms BIGINT;
ALTER TABLE messages ADD COLUMN reasoning TEXT;
