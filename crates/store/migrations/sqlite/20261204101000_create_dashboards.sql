-- Dashboards (private to their owner or shared with everyone) and their widgets: a saved
-- report's chart or a built-in widget, in order. A widget only chooses what to draw; the
-- figures are computed for whoever looks, with their visibility.
CREATE TABLE dashboards (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id    INTEGER NOT NULL REFERENCES users (id),
    name        TEXT    NOT NULL,
    shared      INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX dashboards_owner_idx ON dashboards (owner_id);
CREATE TABLE dashboard_widgets (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    dashboard_id  INTEGER NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    kind          TEXT    NOT NULL,
    report_id     INTEGER,
    chart         TEXT    NOT NULL DEFAULT '',
    settings      TEXT    NOT NULL DEFAULT '{}',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX dashboard_widgets_dashboard_idx ON dashboard_widgets (dashboard_id, position);
