-- Adds the status 'truncated' (the provider stopped at its token limit).
ALTER TABLE messages DROP CONSTRAINT messages_status_check;
ALTER TABLE messages ADD CONSTRAINT messages_status_check
    CHECK (status IN ('complete', 'cancelled', 'failed', 'interrupted', 'truncated'));
