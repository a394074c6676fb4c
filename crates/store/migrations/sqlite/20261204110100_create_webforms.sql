-- Lead-capture web forms, their submissions, the captcha secret shared by all nodes and
-- the captcha tokens already used (single use across nodes). A form's fields, labels,
-- defaults, consent, origins and policies are one JSON document (webforms::FormSpec).
CREATE TABLE webforms (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    public_id   TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    module      TEXT    NOT NULL,
    spec        TEXT    NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1,
    owner_id    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CONSTRAINT webforms_public_id_key UNIQUE (public_id)
);

CREATE TABLE webform_submissions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    form_id        INTEGER NOT NULL,
    module         TEXT    NOT NULL,
    record_id      INTEGER,
    activity_id    INTEGER,
    outcome        TEXT    NOT NULL,
    ip_hash        TEXT    NOT NULL,
    consent_text   TEXT,
    consent_given  INTEGER,
    submitted      TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX webform_submissions_form_idx ON webform_submissions (form_id, id);
CREATE INDEX webform_submissions_record_idx ON webform_submissions (record_id, id);

CREATE TABLE webform_secret (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    secret      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE webform_captcha_used (
    nonce       TEXT    PRIMARY KEY,
    expires_at  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
