ALTER TABLE messages DROP COLUMN reasoning;
ALTER TABLE messages DROP COLUMN duration_ms;
ALTER TABLE messages DROP COLUMN ttft_ms;
ALTER TABLE messages DROP COLUMN completion_tokens;
ALTER TABLE messages DROP COLUMN prompt_tokens;
ALTER TABLE messages DROP COLUMN finish_reason;
ALTER TABLE messages DROP COLUMN model;
