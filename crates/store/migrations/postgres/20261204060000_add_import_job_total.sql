-- The number of rows an import job will read (counted before it starts), so its progress
-- bar can show how far it is.
ALTER TABLE import_jobs ADD COLUMN total_rows BIGINT;
