-- Assignment rules (who gets a new record), their round-robin pointers and the log of
-- every decision. The rule's branches, groups and follow-up delay are one JSON document
-- (sable_core::assignment::RuleSpec); the pointer is a counter per rule and slot that
-- only grows and is taken modulo the group size, advanced inside the write transaction.
CREATE TABLE assignment_rules (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    module      TEXT    NOT NULL,
    spec        TEXT    NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE assignment_pointers (
    rule_id     INTEGER NOT NULL REFERENCES assignment_rules (id) ON DELETE CASCADE,
    slot        TEXT    NOT NULL,
    position    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CONSTRAINT assignment_pointers_pkey PRIMARY KEY (rule_id, slot)
);

CREATE TABLE assignment_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id     INTEGER NOT NULL,
    module      TEXT    NOT NULL,
    record_id   INTEGER NOT NULL,
    user_id     INTEGER,
    task_id     INTEGER,
    reason      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX assignment_log_rule_idx ON assignment_log (rule_id, id);
CREATE INDEX assignment_log_record_idx ON assignment_log (record_id, id);
