-- Counters of custom auto-number fields: the next number per module and field.
CREATE TABLE field_counters (
    module       TEXT   NOT NULL,
    field        TEXT   NOT NULL,
    next_number  BIGINT NOT NULL DEFAULT 1,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    CONSTRAINT field_counters_pkey PRIMARY KEY (module, field)
);
