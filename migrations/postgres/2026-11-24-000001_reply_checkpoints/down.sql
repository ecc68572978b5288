DROP TABLE reply_checkpoints;
