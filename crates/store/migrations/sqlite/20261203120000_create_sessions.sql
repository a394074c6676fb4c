-- Browser sessions, kept in the database so any node can serve any user.
CREATE TABLE sessions (
    id_hash       TEXT    PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    csrf_token    TEXT    NOT NULL,
    remember      INTEGER NOT NULL DEFAULT 0,
    expires_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
