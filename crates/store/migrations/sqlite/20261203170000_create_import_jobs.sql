-- Imports run as jobs: their options, progress and outcome, and a journal of what each
-- created or overwrote so a finished import can be undone.
CREATE TABLE import_jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    module          TEXT    NOT NULL,
    owner_id        INTEGER NOT NULL REFERENCES users (id),
    status          TEXT    NOT NULL,
    file_name       TEXT    NOT NULL,
    options         TEXT    NOT NULL,
    processed_rows  INTEGER NOT NULL DEFAULT 0,
    created_count   INTEGER NOT NULL DEFAULT 0,
    updated_count   INTEGER NOT NULL DEFAULT 0,
    skipped_count   INTEGER NOT NULL DEFAULT 0,
    failed_count    INTEGER NOT NULL DEFAULT 0,
    report          TEXT,
    error           TEXT,
    finished_at     INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX import_jobs_owner_idx ON import_jobs (owner_id, id);

CREATE TABLE import_job_records (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id      INTEGER NOT NULL REFERENCES import_jobs (id),
    record_id   INTEGER NOT NULL,
    action      TEXT    NOT NULL,
    before      TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX import_job_records_job_idx ON import_job_records (job_id, id);
