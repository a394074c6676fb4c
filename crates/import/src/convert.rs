//! One row of cells → the input the record service takes: value maps and defaults
//! applied, owners resolved from names, references resolved by the whole cell, and dates
//! written in the chosen order or as Excel serial numbers turned into calendar dates.

use std::collections::{BTreeMap, HashMap};

use sable_core::meta::{FieldType, ModuleDef};
use sable_store::users::User;
use serde_json::{Map, Value as Json};

use crate::mapping::Mapping;

/// The order of day, month and year in dates written only with digits (`05/03/2024`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DateOrder {
    /// Year first (ISO, Chinese); day-first and month-first digits are refused.
    #[default]
    Ymd,
    Dmy,
    Mdy,
}

impl DateOrder {
    /// `ymd`, `dmy` or `mdy`.
    pub fn parse(s: &str) -> Option<DateOrder> {
        match s {
            "ymd" => Some(DateOrder::Ymd),
            "dmy" => Some(DateOrder::Dmy),
            "mdy" => Some(DateOrder::Mdy),
            _ => None,
        }
    }
}

/// Users by every name a spreadsheet may use for them: user name, display name, and
/// "first last" / "last first" with or without a space.
pub struct Owners {
    by_name: HashMap<String, Option<i64>>,
}

impl Owners {
    /// Indexes active users; a name two users share resolves to neither.
    pub fn new(users: &[User]) -> Owners {
        let mut by_name: HashMap<String, Option<i64>> = HashMap::new();
        for u in users.iter().filter(|u| u.is_active()) {
            let first = u.first_name.clone().unwrap_or_default();
            let names = [
                u.user_name.clone(),
                u.display_name(),
                format!("{} {}", first, u.last_name),
                format!("{}{}", u.last_name, first),
                format!("{} {}", u.last_name, first),
                u.id.to_string(),
            ];
            for n in names {
                let key = n.trim().to_lowercase();
                if key.is_empty() {
                    continue;
                }
                by_name
                    .entry(key)
                    .and_modify(|e| {
                        if *e != Some(u.id) {
                            *e = None;
                        }
                    })
                    .or_insert(Some(u.id));
            }
        }
        Owners { by_name }
    }

    /// The user a cell names.
    pub fn resolve(&self, cell: &str) -> Result<i64, String> {
        match self.by_name.get(&cell.trim().to_lowercase()) {
            Some(Some(id)) => Ok(*id),
            Some(None) => Err(format!("several users are called `{cell}`")),
            None => Err(format!("no active user is called `{cell}`")),
        }
    }
}

/// A converted row: the input, and the cells of reference fields still to resolve.
pub struct ConvertedRow {
    pub input: Map<String, Json>,
    /// Reference field → the cell text naming its target.
    pub references: BTreeMap<String, String>,
}

/// A Chinese or Excel date cell → `YYYY-MM-DD`, following the date order; other cells unchanged.
pub fn normalize_date(cell: &str, order: DateOrder) -> String {
    let t = cell.trim();
    // Excel stores dates as days since 1899-12-30.
    if let Ok(serial) = t.parse::<f64>()
        && (1.0..=2_958_465.0).contains(&serial)
        && t.chars().all(|c| c.is_ascii_digit() || c == '.')
        && let Ok(base) = jiff::civil::Date::new(1899, 12, 30)
        && let Ok(d) = base.checked_add(jiff::Span::new().days(serial.trunc() as i64))
    {
        return d.to_string();
    }
    let date_part = t.split([' ', 'T']).next().unwrap_or(t);
    let parts: Vec<&str> = date_part.split(['/', '-', '.']).collect();
    if parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        && parts[2].len() == 4
    {
        let (d, m) = match order {
            DateOrder::Dmy => (parts[0], parts[1]),
            DateOrder::Mdy => (parts[1], parts[0]),
            DateOrder::Ymd => return t.to_string(),
        };
        return format!("{}-{:0>2}-{:0>2}", parts[2], m, d);
    }
    // "2022-01-05 10:00:00" for a date field: the day is what counts
    if parts.len() == 3 && t.len() > date_part.len() && date_part.len() == 10 {
        return date_part.to_string();
    }
    t.to_string()
}

/// Converts one row. Errors are per field, in English, for the row report.
pub fn convert_row(
    module: &ModuleDef,
    mapping: &Mapping,
    owners: &Owners,
    default_owner: Option<i64>,
    order: DateOrder,
    cells: &[String],
) -> Result<ConvertedRow, BTreeMap<String, String>> {
    let mut input = Map::new();
    let mut references = BTreeMap::new();
    let mut errors = BTreeMap::new();
    for (i, field_name) in mapping.fields.iter().enumerate() {
        let Some(field_name) = field_name else { continue };
        let Some(field) = module.field(field_name) else {
            continue;
        };
        let raw = cells.get(i).map(|c| c.trim()).unwrap_or("");
        let mapped = mapping
            .values
            .get(field_name)
            .and_then(|m| m.get(raw))
            .map(String::as_str)
            .unwrap_or(raw);
        let cell = if mapped.is_empty() {
            mapping.defaults.get(field_name).map(String::as_str).unwrap_or("")
        } else {
            mapped
        };
        if cell.is_empty() {
            continue;
        }
        match field.field_type {
            FieldType::Owner => match owners.resolve(cell) {
                Ok(id) => {
                    input.insert(field_name.clone(), Json::from(id));
                }
                Err(e) => match default_owner {
                    Some(id) => {
                        input.insert(field_name.clone(), Json::from(id));
                    }
                    None => {
                        errors.insert(field_name.clone(), e);
                    }
                },
            },
            FieldType::Reference => {
                references.insert(field_name.clone(), cell.to_string());
            }
            FieldType::Date => {
                input.insert(field_name.clone(), Json::String(normalize_date(cell, order)));
            }
            _ => {
                input.insert(field_name.clone(), Json::String(cell.to_string()));
            }
        }
    }
    // Defaults for fields no column fills.
    for (field, value) in &mapping.defaults {
        if !input.contains_key(field)
            && !references.contains_key(field)
            && !mapping.fields.iter().flatten().any(|f| f == field)
        {
            input.insert(field.clone(), Json::String(value.clone()));
        }
    }
    if !input.contains_key("assigned_user_id")
        && let Some(id) = default_owner
    {
        input.insert("assigned_user_id".into(), Json::from(id));
    }
    if errors.is_empty() {
        Ok(ConvertedRow { input, references })
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_follow_the_chosen_order() {
        assert_eq!(normalize_date("05/03/2024", DateOrder::Dmy), "2024-03-05");
        assert_eq!(normalize_date("03/05/2024", DateOrder::Mdy), "2024-03-05");
        assert_eq!(
            normalize_date("05/03/2024", DateOrder::Ymd),
            "05/03/2024",
            "left for the validator to refuse"
        );
        assert_eq!(normalize_date("45356", DateOrder::Ymd), "2024-03-05", "an Excel serial");
        assert_eq!(normalize_date("2024年3月5日", DateOrder::Ymd), "2024年3月5日");
        assert_eq!(normalize_date("2022-01-05 10:00:00", DateOrder::Ymd), "2022-01-05");
    }
}
