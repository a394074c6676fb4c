-- Sales stages: an admin's guidance and checklist per stage (the order, labels,
-- probability and kind live in the sales_stage picklist override), each
-- opportunity's stage history and its ticked checklist items.
CREATE TABLE stage_guidance (
    stage       TEXT    PRIMARY KEY,
    definition  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE stage_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id   INTEGER NOT NULL,
    stage       TEXT    NOT NULL,
    entered_at  INTEGER NOT NULL,
    left_at     INTEGER,
    user_id     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX stage_history_record_idx ON stage_history (record_id, entered_at);

CREATE TABLE stage_checklist (
    record_id   INTEGER NOT NULL,
    stage       TEXT    NOT NULL,
    item        INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CONSTRAINT stage_checklist_pkey PRIMARY KEY (record_id, stage, item)
);
