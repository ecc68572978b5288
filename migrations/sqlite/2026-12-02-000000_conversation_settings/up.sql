-- A conversation's own settings, each NULL when the conversation uses chatd's default:
-- the model (`PROVIDER/MODEL` or a bare name on the default provider), the system
-- prompt, and the sampling parameters as a JSON object (temperature, top_p, max_tokens,
-- seed). `title_source` says where the name came from: set by the user, or made by
-- chatd from the first line of the first message or by asking the model.
ALTER TABLE conversations ADD COLUMN model TEXT;
ALTER TABLE conversations ADD COLUMN system_prompt TEXT;
ALTER TABLE conversations ADD COLUMN params TEXT;
ALTER TABLE conversations ADD COLUMN title_source TEXT
    CHECK (title_source IN ('user', 'first_line', 'model'));
