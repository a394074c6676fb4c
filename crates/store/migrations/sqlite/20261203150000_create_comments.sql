-- Comments on records (vtiger's ModComments), newest shown first.
CREATE TABLE comments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id   INTEGER NOT NULL REFERENCES records (id),
    module      TEXT    NOT NULL,
    author_id   INTEGER NOT NULL REFERENCES users (id),
    body        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX comments_record_idx ON comments (record_id, id);
