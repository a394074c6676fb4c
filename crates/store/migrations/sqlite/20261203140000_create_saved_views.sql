-- Saved list views: a filter tree, columns and sort, private to their owner or shared.
CREATE TABLE saved_views (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    module      TEXT    NOT NULL,
    owner_id    INTEGER NOT NULL REFERENCES users (id),
    name        TEXT    NOT NULL,
    shared      INTEGER NOT NULL DEFAULT 0,
    definition  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX saved_views_module_idx ON saved_views (module, owner_id);
