-- The editable part of the lead conversion field mapping (vtiger's vtiger_convertleadmapping):
-- one row per lead field and target module. No rows means vtiger's defaults.
CREATE TABLE lead_convert_mappings (
    lead_field  TEXT    NOT NULL,
    module      TEXT    NOT NULL,
    field       TEXT    NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    CONSTRAINT lead_convert_mappings_pk PRIMARY KEY (lead_field, module, field)
);
