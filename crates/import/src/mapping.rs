//! Which column goes to which field: matched automatically by field API name or by label
//! in either language (after trimming and case-folding), or given by a mapping file
//! `{"columns":{column: field}, "values":{field:{from: to}}, "defaults":{field: value}}`.

use std::collections::BTreeMap;

use sable_core::ModuleDef;
use serde::{Deserialize, Serialize};

/// A saved mapping, as the `--mapping` file holds it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    /// Column header → field API name; an empty field name skips the column.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Field → (cell text → value), e.g. `{"leadsource": {"微信": "WeChat"}}`.
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    /// Field → value for empty cells and unmapped fields.
    #[serde(default)]
    pub defaults: BTreeMap<String, String>,
}

/// The mapping in force for one file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mapping {
    /// For each column, the field it fills (None = not imported).
    pub fields: Vec<Option<String>>,
    /// Columns the mapping file skips on purpose (mapped to ""): no warning for them.
    pub skipped: Vec<bool>,
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    pub defaults: BTreeMap<String, String>,
}

/// Problems a mapping has before any row is read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MappingError {
    #[error("column `{column}` is mapped to `{field}`, which is not a field of this module that an import may fill")]
    UnknownField { column: String, field: String },
    #[error("the mapping names column `{0}`, which the file does not have")]
    UnknownColumn(String),
    #[error("fields `{0}` are filled by two columns")]
    Twice(String),
}

fn fold(s: &str) -> String {
    s.trim()
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
        .collect()
}

/// Whether an import may fill a field: any writable field, plus the history an import
/// may bring along (record number and created time). Who changed what, and when, is never
/// taken from a file.
pub fn importable(module: &ModuleDef, field: &sable_core::FieldDef) -> bool {
    !field.readonly || field.name == module.number_field || field.name == "createdtime"
}

/// The field a header names: API name, English or Chinese label, or the API name without
/// its `_id` (`assigned_user` → `assigned_user_id`). Only fields an import may fill.
pub fn match_header(module: &ModuleDef, header: &str) -> Option<String> {
    let h = fold(header);
    if h.is_empty() {
        return None;
    }
    let fields = || module.fields.iter().filter(|f| importable(module, f));
    let exact = fields().find(|f| fold(&f.name) == h);
    let by_label = || fields().find(|f| fold(&f.labels.en) == h || fold(&f.labels.zh) == h);
    let by_stem = || fields().find(|f| f.name.strip_suffix("_id").is_some_and(|stem| fold(stem) == h));
    exact.or_else(by_label).or_else(by_stem).map(|f| f.name.clone())
}

/// Builds the mapping: the file's explicit choices first, automatic matches for the rest.
pub fn build(module: &ModuleDef, headers: &[String], file: Option<&MappingFile>) -> Result<Mapping, MappingError> {
    let empty = MappingFile::default();
    let file = file.unwrap_or(&empty);
    for column in file.columns.keys() {
        if !headers.iter().any(|h| h.trim() == column.trim()) {
            return Err(MappingError::UnknownColumn(column.clone()));
        }
    }
    let mut fields = Vec::with_capacity(headers.len());
    let skipped = headers
        .iter()
        .map(|h| file.columns.get(h.trim()).is_some_and(String::is_empty))
        .collect();
    for header in headers {
        let chosen = match file.columns.get(header.trim()) {
            Some(f) if f.is_empty() => None,
            Some(f) => {
                if !module.field(f).is_some_and(|def| importable(module, def)) {
                    return Err(MappingError::UnknownField {
                        column: header.clone(),
                        field: f.clone(),
                    });
                }
                Some(f.clone())
            }
            None => match_header(module, header),
        };
        fields.push(chosen);
    }
    let mut seen = std::collections::HashSet::new();
    for f in fields.iter().flatten() {
        if !seen.insert(f) {
            return Err(MappingError::Twice(f.clone()));
        }
    }
    for f in file.values.keys().chain(file.defaults.keys()) {
        if module.field(f).is_none() {
            return Err(MappingError::UnknownField {
                column: String::new(),
                field: f.clone(),
            });
        }
    }
    Ok(Mapping {
        fields,
        skipped,
        values: file.values.clone(),
        defaults: file.defaults.clone(),
    })
}

impl Mapping {
    /// Indexes of columns no field takes and no mapping skipped on purpose.
    pub fn unmapped(&self) -> Vec<usize> {
        (0..self.fields.len())
            .filter(|&i| self.fields[i].is_none() && !self.skipped.get(i).copied().unwrap_or(false))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_names_labels_and_stems() {
        let reg = sable_core::Registry::builtin().unwrap();
        let leads = reg.module("Leads").unwrap();
        assert_eq!(match_header(leads, " LastName "), Some("lastname".into()));
        assert_eq!(match_header(leads, "公司"), Some("company".into()));
        assert_eq!(match_header(leads, "Company"), Some("company".into()));
        assert_eq!(match_header(leads, "assigned_user"), Some("assigned_user_id".into()));
        assert_eq!(match_header(leads, "Notes of the sales rep"), None);
        let accounts = reg.module("Accounts").unwrap();
        assert_eq!(match_header(accounts, "accountname"), Some("accountname".into()));
    }

    #[test]
    fn explicit_columns_win_and_are_checked() {
        let reg = sable_core::Registry::builtin().unwrap();
        let leads = reg.module("Leads").unwrap();
        let headers = vec!["Company".to_string(), "Name".to_string(), "wechat".to_string()];
        let file = MappingFile {
            columns: [
                ("Name".to_string(), "lastname".to_string()),
                ("wechat".to_string(), String::new()),
            ]
            .into(),
            ..Default::default()
        };
        let m = build(leads, &headers, Some(&file)).unwrap();
        assert_eq!(m.fields, vec![Some("company".into()), Some("lastname".into()), None]);
        let bad = MappingFile {
            columns: [("Name".to_string(), "nope".to_string())].into(),
            ..Default::default()
        };
        assert!(build(leads, &headers, Some(&bad)).is_err());
        let twice = MappingFile {
            columns: [("Name".to_string(), "company".to_string())].into(),
            ..Default::default()
        };
        assert_eq!(
            build(leads, &headers, Some(&twice)),
            Err(MappingError::Twice("company".into()))
        );
    }
}
