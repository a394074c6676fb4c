-- How a user likes dates and numbers shown.
ALTER TABLE users ADD COLUMN date_format TEXT NOT NULL DEFAULT 'yyyy-mm-dd';
ALTER TABLE users ADD COLUMN number_format TEXT NOT NULL DEFAULT '1,234.56';
