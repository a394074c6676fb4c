-- Admin changes to built-in metadata: picklist values and labels, and where fields sit.
CREATE TABLE picklist_overrides (
    name        TEXT    PRIMARY KEY,
    definition  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE field_layout (
    module      TEXT    NOT NULL,
    field       TEXT    NOT NULL,
    block       TEXT    NOT NULL,
    sequence    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (module, field)
);
