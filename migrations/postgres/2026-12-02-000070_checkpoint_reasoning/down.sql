ALTER TABLE reply_checkpoints DROP COLUMN reasoning;
