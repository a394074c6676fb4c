-- Sales stages: an admin's guidance and checklist per stage (the order, labels,
-- probability and kind live in the sales_stage picklist override), each
-- opportunity's stage history and its ticked checklist items.
CREATE TABLE stage_guidance (
    stage       TEXT    PRIMARY KEY,
    definition  TEXT    NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE stage_history (
    id          BIGSERIAL PRIMARY KEY,
    record_id   BIGINT NOT NULL,
    stage       TEXT    NOT NULL,
    entered_at  BIGINT NOT NULL,
    left_at     BIGINT,
    user_id     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX stage_history_record_idx ON stage_history (record_id, entered_at);

CREATE TABLE stage_checklist (
    record_id   BIGINT NOT NULL,
    stage       TEXT    NOT NULL,
    item        BIGINT NOT NULL,
    user_id     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    CONSTRAINT stage_checklist_pkey PRIMARY KEY (record_id, stage, item)
);
