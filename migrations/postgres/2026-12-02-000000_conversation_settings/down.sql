ALTER TABLE conversations DROP COLUMN title_source;
ALTER TABLE conversations DROP COLUMN params;
ALTER TABLE conversations DROP COLUMN system_prompt;
ALTER TABLE conversations DROP COLUMN model;
