-- Core tables shared by every module. Module tables (m_<module>) are created from
-- metadata by the store, not here: their columns are the modules' fields.

-- Ids come from id_allocator (one id space for records and users, allocated in blocks
-- for batch inserts), never from the table itself.
CREATE TABLE id_allocator (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    next_id     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
INSERT INTO id_allocator (id, next_id, created_at, updated_at) VALUES (1, 1, 0, 0);

CREATE TABLE records (
    id          INTEGER PRIMARY KEY,
    module      TEXT    NOT NULL,
    label       TEXT    NOT NULL DEFAULT '',
    owner_id    INTEGER,
    deleted_at  INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX records_module_idx ON records (module);
CREATE INDEX records_owner_idx ON records (owner_id);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY REFERENCES records (id),
    user_name      TEXT    NOT NULL,
    password_hash  TEXT    NOT NULL,
    first_name     TEXT,
    last_name      TEXT    NOT NULL,
    email1         TEXT,
    is_admin       INTEGER NOT NULL DEFAULT 0,
    status         TEXT    NOT NULL DEFAULT 'Active',
    language       TEXT    NOT NULL DEFAULT 'zh-CN',
    time_zone      TEXT    NOT NULL DEFAULT 'Asia/Shanghai',
    title          TEXT,
    department     TEXT,
    phone_work     TEXT,
    phone_mobile   TEXT,
    failed_logins  INTEGER NOT NULL DEFAULT 0,
    locked_until   INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    CONSTRAINT users_user_name_key UNIQUE (user_name)
);

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    name          TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    token_hash    TEXT    NOT NULL,
    expires_at    INTEGER,
    last_used_at  INTEGER,
    revoked_at    INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CONSTRAINT api_tokens_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

CREATE TABLE record_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id   INTEGER NOT NULL,
    module      TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    actor_id    INTEGER,
    changes     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX record_history_record_idx ON record_history (record_id, id);

CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    event         TEXT    NOT NULL,
    module        TEXT    NOT NULL,
    record_id     INTEGER NOT NULL,
    actor_id      INTEGER,
    payload       TEXT    NOT NULL,
    processed_at  INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX outbox_pending_idx ON outbox (id) WHERE processed_at IS NULL;

CREATE TABLE custom_fields (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    module      TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    definition  TEXT    NOT NULL,
    picklist    TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CONSTRAINT custom_fields_module_name_key UNIQUE (module, name)
);

CREATE TABLE module_settings (
    module       TEXT    PRIMARY KEY,
    sharing      TEXT,
    next_number  INTEGER NOT NULL DEFAULT 1,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE meta_version (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
INSERT INTO meta_version (id, version, created_at, updated_at) VALUES (1, 1, 0, 0);

-- Search tokens (see sable_core::search): CJK unigrams and bigrams, lower-cased words.
CREATE VIRTUAL TABLE search_fts USING fts5 (tokens, tokenize = 'unicode61 remove_diacritics 0');
