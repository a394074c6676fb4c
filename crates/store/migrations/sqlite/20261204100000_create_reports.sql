-- Saved reports: a spec (JSON), chart settings (JSON, kept as given for the dashboard),
-- an optional e-mail delivery schedule (JSON), owned by a user and shared with users.
CREATE TABLE reports (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id          INTEGER NOT NULL REFERENCES users (id),
    name              TEXT    NOT NULL,
    module            TEXT    NOT NULL,
    spec              TEXT    NOT NULL,
    chart             TEXT,
    schedule          TEXT,
    last_delivered_at INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX reports_owner_idx ON reports (owner_id);
CREATE TABLE report_shares (
    report_id   INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CONSTRAINT report_shares_pk PRIMARY KEY (report_id, user_id)
);
CREATE INDEX report_shares_user_idx ON report_shares (user_id);
