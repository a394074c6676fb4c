//! Validating a record's input against its module, and deriving its display label.
//!
//! Checks that need the database (references exist, owners are active, unique values)
//! are the store's; everything that needs only metadata is here.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;
use serde_json::{Map, Value as Json};

use crate::error::{FieldError, ValidationErrors};
use crate::meta::{FieldType, ModuleDef};
use crate::parse::{ParseContext, parse_json, parse_text};
use crate::registry::Registry;
use crate::value::Value;

/// Whether the input creates a record or changes some of its fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Create,
    Update,
}

/// Parsed values of the fields being written.
pub type FieldValues = BTreeMap<String, Value>;

/// Parses and checks input fields. On create, defaults fill absent fields and every
/// mandatory field must end up non-empty; on update, only the given fields are checked.
/// `allow_system` lets trusted callers (import of history) set read-only fields.
pub fn validate_input(
    registry: &Registry,
    module: &ModuleDef,
    input: &Map<String, Json>,
    mode: Mode,
    tz: &TimeZone,
    allow_system: bool,
) -> Result<FieldValues, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let mut values = FieldValues::new();
    for (name, raw) in input {
        let Some(field) = module.field(name) else {
            errors.add(name, FieldError::UnknownField);
            continue;
        };
        if field.readonly && !allow_system {
            errors.add(name, FieldError::ReadOnly);
            continue;
        }
        let ctx = ParseContext {
            picklist: registry.picklist_of(field),
            tz,
        };
        match parse_json(field, raw, &ctx) {
            Ok(v) => {
                values.insert(name.clone(), v);
            }
            Err(e) => errors.add(name, e),
        }
    }
    if mode == Mode::Create {
        for field in &module.fields {
            if values.contains_key(&field.name) || errors.0.contains_key(&field.name) {
                continue;
            }
            if let Some(default) = &field.default {
                let ctx = ParseContext {
                    picklist: registry.picklist_of(field),
                    tz,
                };
                match parse_text(field, default, &ctx) {
                    Ok(v) => {
                        values.insert(field.name.clone(), v);
                    }
                    Err(e) => errors.add(&field.name, FieldError::Other(format!("default value is invalid: {e}"))),
                }
            }
        }
    }
    for field in module.fields.iter().filter(|f| f.mandatory) {
        if errors.0.contains_key(&field.name) {
            continue;
        }
        let missing = match values.get(&field.name) {
            Some(v) => v.is_empty(),
            None => mode == Mode::Create,
        };
        if missing {
            errors.add(&field.name, FieldError::Required);
        }
    }
    errors.into_result().map(|()| values)
}

fn is_cjk_text(s: &str) -> bool {
    s.chars()
        .any(|c| ('\u{3400}'..='\u{9FFF}').contains(&c) || ('\u{20000}'..='\u{3134F}').contains(&c))
}

/// The record's display label from its label fields. Person names are written
/// family name first and unspaced when Chinese (张伟), given name first otherwise.
pub fn display_label(module: &ModuleDef, values: &FieldValues) -> String {
    let text = |name: &str| {
        module
            .field(name)
            .zip(values.get(name))
            .map(|(f, v)| v.to_text(f))
            .unwrap_or_default()
    };
    let person = module.label_fields.iter().any(|f| f == "lastname" || f == "last_name");
    if person {
        let (last_name, first_name) = if module.field("lastname").is_some() {
            (text("lastname"), text("firstname"))
        } else {
            (text("last_name"), text("first_name"))
        };
        return if is_cjk_text(&last_name) || is_cjk_text(&first_name) {
            format!("{last_name}{first_name}")
        } else {
            format!("{first_name} {last_name}").trim().to_string()
        };
    }
    module
        .label_fields
        .iter()
        .map(|f| text(f))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text of a record's searchable fields, for the search index.
/// The display label comes first: a Chinese person's name is indexed whole (张伟), not
/// only as its separate family and given names.
pub fn searchable_text(module: &ModuleDef, values: &FieldValues) -> String {
    let mut parts = vec![display_label(module, values)];
    for field in module.fields.iter().filter(|f| f.searchable) {
        if let Some(v) = values.get(&field.name) {
            if field.field_type == FieldType::Phone {
                // index both the typed form and the bare digits so either is found
                parts.push(crate::phone::normalize(&v.to_text(field)));
            }
            parts.push(v.to_text(field));
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: Json) -> Map<String, Json> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn create_checks_mandatory_and_types() {
        let reg = Registry::builtin().unwrap();
        let m = reg.module("Opportunities").unwrap();
        let e = validate_input(
            &reg,
            m,
            &input(json!({"amount":"abc","bogus":1,"potential_no":"X"})),
            Mode::Create,
            &TimeZone::UTC,
            false,
        )
        .unwrap_err();
        assert_eq!(e.0.get("amount"), Some(&FieldError::NotANumber));
        assert_eq!(e.0.get("bogus"), Some(&FieldError::UnknownField));
        assert_eq!(e.0.get("potential_no"), Some(&FieldError::ReadOnly));
        assert_eq!(e.0.get("potentialname"), Some(&FieldError::Required));
        assert_eq!(e.0.get("closingdate"), Some(&FieldError::Required));
        assert!(!e.0.contains_key("sales_stage"), "sales_stage has a default");
    }

    #[test]
    fn update_checks_only_given_fields() {
        let reg = Registry::builtin().unwrap();
        let m = reg.module("Leads").unwrap();
        let v = validate_input(
            &reg,
            m,
            &input(json!({"company":"华为"})),
            Mode::Update,
            &TimeZone::UTC,
            false,
        )
        .unwrap();
        assert_eq!(v.len(), 1);
        let e = validate_input(
            &reg,
            m,
            &input(json!({"lastname":"  "})),
            Mode::Update,
            &TimeZone::UTC,
            false,
        )
        .unwrap_err();
        assert_eq!(e.0.get("lastname"), Some(&FieldError::Required));
    }

    #[test]
    fn labels_follow_name_order() {
        let reg = Registry::builtin().unwrap();
        let m = reg.module("Contacts").unwrap();
        let mut v = FieldValues::new();
        v.insert("lastname".into(), Value::Text("张".into()));
        v.insert("firstname".into(), Value::Text("伟".into()));
        assert_eq!(display_label(m, &v), "张伟");
        v.insert("lastname".into(), Value::Text("Smith".into()));
        v.insert("firstname".into(), Value::Text("Anna".into()));
        assert_eq!(display_label(m, &v), "Anna Smith");
    }
}
