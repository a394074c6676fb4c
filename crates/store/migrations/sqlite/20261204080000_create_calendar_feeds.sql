-- One iCalendar feed per user, behind a secret token. Only the token's SHA-256 is kept;
-- rotating replaces it, revoking deletes the row.
CREATE TABLE calendar_feeds (
    user_id     INTEGER NOT NULL PRIMARY KEY REFERENCES users (id),
    token_hash  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CONSTRAINT calendar_feeds_token_hash_key UNIQUE (token_hash)
);
