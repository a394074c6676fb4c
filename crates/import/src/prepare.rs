//! Changes an import may make to the metadata first, when the user asks for them:
//! a custom field for each column that holds data but fits no field, and new picklist
//! values for cells that match no value or label.

use sable_core::Labels;
use sable_core::meta::{FieldType, PicklistValueDef};
use sable_core::registry::NewField;
use sable_store::{Actor, Store, StoreError};

use crate::mapping::{self, MappingFile};
use crate::run::{ImportError, ImportOptions, ImportReport, run_import};
use crate::table::{Table, TableError};

/// A field name for a column header: `cf_` and its ASCII letters and digits, or `cf_col_N`.
fn field_name_for(header: &str, index: usize, taken: &dyn Fn(&str) -> bool) -> String {
    let slug: String = header
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect::<String>()
        .split('_')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    let base = if slug.is_empty() || !slug.starts_with(|c: char| c.is_ascii_lowercase()) {
        format!("cf_col_{}", index + 1)
    } else {
        format!("cf_{slug}")
    };
    let base: String = base
        .chars()
        .take(36)
        .collect::<String>()
        .trim_end_matches('_')
        .to_string();
    let mut name = base.clone();
    let mut n = 2;
    while taken(&name) {
        name = format!("{base}_{n}");
        n += 1;
    }
    name
}

/// Creates a text custom field for every column that no field takes and the mapping does
/// not skip on purpose, and maps the column to it. Administrators only.
pub async fn create_fields_for_unmapped(
    store: &Store,
    actor: &Actor,
    module: &str,
    headers: &[String],
    file: &mut MappingFile,
) -> Result<Vec<String>, StoreError> {
    let registry = store.registry().await?;
    let m = registry.module(module)?.clone();
    let plan = mapping::build(&m, headers, Some(file)).map_err(|e| StoreError::BadRequest(e.to_string()))?;
    let mut created = Vec::new();
    for i in plan.unmapped() {
        let header = headers[i].trim();
        if header.is_empty() {
            continue;
        }
        let registry = store.registry().await?;
        let current = registry.module(module)?;
        let name = field_name_for(header, i, &|n| current.field(n).is_some());
        let new = NewField {
            name: name.clone(),
            field_type: "text".into(),
            label: Labels::new(header, header),
            block: None,
            mandatory: false,
            unique: false,
            default: None,
            values: Vec::new(),
            targets: Vec::new(),
            max_length: None,
            scale: None,
            searchable: false,
            help: None,
            prefix: None,
        };
        sable_store::meta_store::add_custom_field(store, actor, module, &new).await?;
        file.columns.insert(header.to_string(), name.clone());
        created.push(name);
    }
    Ok(created)
}

/// Reads the file once and adds to their picklists the cells of picklist columns that
/// match no value or label (each becomes a value labelled with itself). Administrators only.
pub async fn add_missing_picklist_values(
    store: &Store,
    actor: &Actor,
    module: &str,
    mut table: Table,
    file: &MappingFile,
) -> Result<Vec<(String, String)>, StoreError> {
    let registry = store.registry().await?;
    let m = registry.module(module)?.clone();
    let plan = mapping::build(&m, &table.headers, Some(file)).map_err(|e| StoreError::BadRequest(e.to_string()))?;
    let mut missing: Vec<(String, String)> = Vec::new();
    for row in table.rows().flatten() {
        for (i, field) in plan.fields.iter().enumerate() {
            let Some(field) = field.as_deref().and_then(|f| m.field(f)) else {
                continue;
            };
            if !matches!(field.field_type, FieldType::Picklist | FieldType::Multipicklist) {
                continue;
            }
            let raw = row.cells.get(i).map(|c| c.trim()).unwrap_or("");
            let cell = plan
                .values
                .get(&field.name)
                .and_then(|v| v.get(raw))
                .map(String::as_str)
                .unwrap_or(raw);
            let parts: Vec<&str> = if field.field_type == FieldType::Multipicklist {
                cell.split([';', ',']).map(str::trim).collect()
            } else {
                vec![cell]
            };
            for part in parts.into_iter().filter(|p| !p.is_empty()) {
                let known = registry.picklist_of(field).is_some_and(|p| p.resolve(part).is_some());
                if !known && !missing.iter().any(|(f, v)| f == &field.name && v == part) {
                    missing.push((field.name.clone(), part.to_string()));
                }
            }
        }
    }
    for (field_name, value) in &missing {
        let registry = store.registry().await?;
        let Some(field) = registry.module(module)?.field(field_name) else {
            continue;
        };
        let Some(mut list) = registry.picklist_of(field).cloned() else {
            continue;
        };
        if list.resolve(value).is_some() {
            continue;
        }
        list.values.push(PicklistValueDef {
            value: value.clone(),
            labels: Labels::new(value.clone(), value.clone()),
            probability: None,
            kind: None,
            color: None,
        });
        sable_store::meta_store::set_picklist(store, actor, list).await?;
    }
    Ok(missing)
}

/// What an import may do besides importing rows, when the user asks for it (the CLI's
/// `--create-fields`, `--add-picklist-values` and `--all-or-nothing`; the same options
/// through the API and the web wizard).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extras {
    /// Create a text custom field for each unmapped column (administrators only).
    pub create_fields: bool,
    /// Add cells that match no picklist value to the picklist (administrators only).
    pub add_picklist_values: bool,
    /// Check every row first and write nothing unless all are valid.
    pub all_or_nothing: bool,
}

/// Imports a file with the [`Extras`] asked for: fields and picklist values first, then
/// the rows (checked whole first for all-or-nothing). `open` reads the file from the start
/// each time it is called. What was created or added is in the report.
pub async fn import_with_extras(
    store: &Store,
    actor: &Actor,
    open: impl Fn() -> Result<Table, TableError>,
    opts: &ImportOptions,
    extras: Extras,
    mut progress: impl FnMut(u64),
) -> Result<ImportReport, ImportError> {
    let mut opts = opts.clone();
    let mut created_fields = Vec::new();
    if extras.create_fields {
        let mut file = opts.mapping.clone().unwrap_or_default();
        let headers = open()?.headers;
        created_fields = create_fields_for_unmapped(store, actor, &opts.module, &headers, &mut file).await?;
        opts.mapping = Some(file);
    }
    let mut added_values = Vec::new();
    if extras.add_picklist_values {
        let file = opts.mapping.clone().unwrap_or_default();
        added_values = add_missing_picklist_values(store, actor, &opts.module, open()?, &file).await?;
    }
    let mut report = if extras.all_or_nothing && !opts.dry_run {
        let check = ImportOptions {
            dry_run: true,
            ..opts.clone()
        };
        let checked = run_import(store, actor, open()?, &check, &mut progress).await?;
        if checked.failed == 0 {
            run_import(store, actor, open()?, &opts, &mut progress).await?
        } else {
            let mut refused = checked;
            refused.warnings.push(format!(
                "{} rows are invalid: nothing was written (all or nothing)",
                refused.failed
            ));
            refused
        }
    } else {
        run_import(store, actor, open()?, &opts, &mut progress).await?
    };
    report.created_fields = created_fields;
    report.added_picklist_values = added_values;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_from_headers() {
        let none = |_: &str| false;
        assert_eq!(field_name_for("WeChat ID", 3, &none), "cf_wechat_id");
        assert_eq!(field_name_for("微信", 3, &none), "cf_col_4");
        assert_eq!(field_name_for("2nd phone", 0, &none), "cf_col_1");
        let taken = |n: &str| n == "cf_wechat";
        assert_eq!(field_name_for("wechat", 0, &taken), "cf_wechat_2");
    }
}
