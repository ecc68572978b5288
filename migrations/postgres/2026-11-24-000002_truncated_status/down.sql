-- Back to the four statuses; a truncated reply is kept as 'failed' (the provider broke
-- off, the content is what arrived), the nearest of them.
UPDATE messages SET status = 'failed' WHERE status = 'truncated';
ALTER TABLE messages DROP CONSTRAINT messages_status_check;
ALTER TABLE messages ADD CONSTRAINT messages_status_check
    CHECK (status IN ('complete', 'cancelled', 'failed', 'interrupted'));
