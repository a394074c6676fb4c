-- Company-wide settings set by an administrator, by name (the base currency, …).
CREATE TABLE company_settings (
    name        TEXT    PRIMARY KEY,
    value       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
