-- The workflow engine: definitions, e-mail templates, SMTP settings, the job queue,
-- run logs with per-action outcomes, and the e-mails sent (shown on record timelines).
CREATE TABLE workflows (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    module      TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    enabled     INTEGER NOT NULL DEFAULT 0,
    trigger_type TEXT   NOT NULL,
    definition  TEXT    NOT NULL,
    builtin_key TEXT,
    created_by  INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CONSTRAINT workflows_builtin_key UNIQUE (builtin_key)
);
CREATE INDEX workflows_module_idx ON workflows (module, enabled);

CREATE TABLE email_templates (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    module      TEXT,
    subject_en  TEXT    NOT NULL DEFAULT '',
    body_en     TEXT    NOT NULL DEFAULT '',
    subject_zh  TEXT    NOT NULL DEFAULT '',
    body_zh     TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CONSTRAINT email_templates_name_key UNIQUE (name)
);

CREATE TABLE smtp_settings (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    host         TEXT    NOT NULL,
    port         INTEGER NOT NULL,
    security     TEXT    NOT NULL,
    username     TEXT    NOT NULL DEFAULT '',
    password     TEXT    NOT NULL DEFAULT '',
    from_address TEXT    NOT NULL,
    from_name    TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL,
    run_at          INTEGER NOT NULL,
    locked_by       TEXT,
    lease_until     INTEGER,
    last_error      TEXT,
    finished_at     INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CONSTRAINT jobs_idempotency_key UNIQUE (idempotency_key)
);
CREATE INDEX jobs_due_idx ON jobs (status, run_at);

CREATE TABLE workflow_runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id  INTEGER NOT NULL,
    trigger_info TEXT    NOT NULL,
    event_id     INTEGER,
    module       TEXT    NOT NULL,
    record_id    INTEGER,
    matched      INTEGER NOT NULL,
    reason       TEXT,
    status       TEXT    NOT NULL,
    job_id       INTEGER,
    error        TEXT,
    finished_at  INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX workflow_runs_workflow_idx ON workflow_runs (workflow_id, id);
CREATE INDEX workflow_runs_record_idx ON workflow_runs (record_id);

CREATE TABLE workflow_run_actions (
    run_id          INTEGER NOT NULL,
    action_index    INTEGER NOT NULL,
    action_type     TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    detail          TEXT,
    error           TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CONSTRAINT workflow_run_actions_pkey PRIMARY KEY (run_id, action_index)
);

CREATE TABLE sent_mail (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id       INTEGER,
    module       TEXT,
    record_id    INTEGER,
    to_addresses TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    message_id   TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    error        TEXT,
    sent_by      INTEGER,
    sent_at      INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX sent_mail_record_idx ON sent_mail (record_id, id);
