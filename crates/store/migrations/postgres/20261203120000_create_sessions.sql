-- Browser sessions, kept in the database so any node can serve any user.
CREATE TABLE sessions (
    id_hash       TEXT    PRIMARY KEY,
    user_id       BIGINT  NOT NULL REFERENCES users (id),
    csrf_token    TEXT    NOT NULL,
    remember      BIGINT  NOT NULL DEFAULT 0,
    expires_at    BIGINT  NOT NULL,
    last_seen_at  BIGINT  NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
