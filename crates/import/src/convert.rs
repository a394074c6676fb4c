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
    /// Not given: detected from the file's date columns ([`detect_date_order`]), year first
    /// when the values do not tell.
    #[default]
    Auto,
    /// Year first (ISO, Chinese); day-first and month-first digits are refused.
    Ymd,
    Dmy,
    Mdy,
}

impl DateOrder {
    /// `auto`, `ymd`, `dmy` or `mdy`.
    pub fn parse(s: &str) -> Option<DateOrder> {
        match s {
            "auto" => Some(DateOrder::Auto),
            "ymd" => Some(DateOrder::Ymd),
            "dmy" => Some(DateOrder::Dmy),
            "mdy" => Some(DateOrder::Mdy),
            _ => None,
        }
    }

    /// `auto`, `ymd`, `dmy` or `mdy`.
    pub fn name(self) -> &'static str {
        match self {
            DateOrder::Auto => "auto",
            DateOrder::Ymd => "ymd",
            DateOrder::Dmy => "dmy",
            DateOrder::Mdy => "mdy",
        }
    }
}

/// The two first parts of a date written `a/b/yyyy` (also with `-` or `.`), if it is one.
fn day_month_parts(cell: &str) -> Option<(u32, u32)> {
    let t = cell.trim();
    let date_part = t.split([' ', 'T']).next().unwrap_or(t);
    let parts: Vec<&str> = date_part.split(['/', '-', '.']).collect();
    if parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 4 && p.chars().all(|c| c.is_ascii_digit()))
        && parts[2].len() == 4
        && parts[0].len() <= 2
        && parts[1].len() <= 2
    {
        return Some((parts[0].parse().ok()?, parts[1].parse().ok()?));
    }
    None
}

/// The digit order the cells of date columns show: a first part over 12 means day first,
/// a second part over 12 month first. `Ok(None)` when no cell is written day-or-month
/// first (year first, or nothing to go by); `Err(example)` when such cells exist but none
/// decides (e.g. `05/03/2024`), or when they contradict each other.
pub fn detect_date_order<'a>(cells: impl IntoIterator<Item = &'a str>) -> Result<Option<DateOrder>, String> {
    let (mut dmy, mut mdy, mut undecided) = (None, None, None);
    for cell in cells {
        let Some((a, b)) = day_month_parts(cell) else {
            continue;
        };
        if a > 12 && b <= 12 {
            dmy.get_or_insert_with(|| cell.trim().to_string());
        } else if b > 12 && a <= 12 {
            mdy.get_or_insert_with(|| cell.trim().to_string());
        } else {
            undecided.get_or_insert_with(|| cell.trim().to_string());
        }
    }
    match (dmy, mdy, undecided) {
        (Some(_), None, _) => Ok(Some(DateOrder::Dmy)),
        (None, Some(_), _) => Ok(Some(DateOrder::Mdy)),
        (Some(d), Some(m), _) => Err(format!("`{d}` is day first but `{m}` month first")),
        (None, None, Some(u)) => Err(format!("`{u}` could be day or month first")),
        (None, None, None) => Ok(None),
    }
}

/// How the date cells of a file are read.
#[derive(Clone, Copy, Debug, Default)]
pub struct DateReading {
    /// The digit order (`Auto` reads as `Ymd`).
    pub order: DateOrder,
    /// The cell was a number in a spreadsheet: an Excel serial whatever its value.
    pub from_spreadsheet: bool,
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

/// A date (or, `with_time`, date-time) cell → `YYYY-MM-DD[ HH:MM:SS…]`, following the
/// date order; other cells unchanged, for the field's parser to judge. A bare number is an
/// Excel serial (days since 1899-12-30) only from a spreadsheet, or from 20000 to 80000
/// (1954–2119) in CSV; any other bare number (`2024`, `12`) is an error.
pub fn normalize_date(cell: &str, reading: DateReading, with_time: bool) -> Result<String, String> {
    let t = cell.trim();
    let bare_number = !t.is_empty()
        && t.chars().all(|c| c.is_ascii_digit() || c == '.')
        && t.chars().filter(|&c| c == '.').count() <= 1;
    if bare_number {
        let serial = t.parse::<f64>().ok();
        let range = if reading.from_spreadsheet {
            1.0..=2_958_465.0
        } else {
            20_000.0..=80_000.0
        };
        let date = serial.filter(|s| range.contains(s)).and_then(|serial| {
            let base = jiff::civil::Date::new(1899, 12, 30).ok()?;
            let day = base.checked_add(jiff::Span::new().days(serial.trunc() as i64)).ok()?;
            Some((day, serial.fract()))
        });
        let Some((day, fraction)) = date else {
            return Err(format!(
                "`{t}` is a bare number, not a date (a number is read as an Excel serial date only from a spreadsheet's number cell, or from 20000 to 80000 in CSV)"
            ));
        };
        let seconds = (fraction * 86_400.0).round() as i64;
        if !with_time || seconds == 0 {
            return Ok(day.to_string());
        }
        let at = day
            .to_datetime(jiff::civil::Time::midnight())
            .checked_add(jiff::SignedDuration::from_secs(seconds))
            .map_err(|e| e.to_string())?;
        return Ok(at.strftime("%Y-%m-%d %H:%M:%S").to_string());
    }
    let date_part = t.split([' ', 'T']).next().unwrap_or(t);
    let rest = &t[date_part.len()..];
    let parts: Vec<&str> = date_part.split(['/', '-', '.']).collect();
    if day_month_parts(t).is_some() {
        let (d, m) = match reading.order {
            DateOrder::Dmy => (parts[0], parts[1]),
            DateOrder::Mdy => (parts[1], parts[0]),
            DateOrder::Ymd | DateOrder::Auto => return Ok(t.to_string()),
        };
        let date = format!("{}-{:0>2}-{:0>2}", parts[2], m, d);
        return Ok(if with_time { format!("{date}{rest}") } else { date });
    }
    // "2022-01-05 10:00:00" for a date field: the day is what counts
    if !with_time && parts.len() == 3 && !rest.is_empty() && date_part.len() == 10 {
        return Ok(date_part.to_string());
    }
    Ok(t.to_string())
}

/// Converts one row. Errors are per field, in English, for the row report.
pub fn convert_row(
    module: &ModuleDef,
    mapping: &Mapping,
    owners: &Owners,
    default_owner: Option<i64>,
    order: DateOrder,
    headers: &[String],
    row: &crate::table::TableRow,
) -> Result<ConvertedRow, BTreeMap<String, String>> {
    let cells = &row.cells;
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
            FieldType::Date | FieldType::Datetime => {
                // Only a spreadsheet's number cell is an Excel serial whatever its value.
                let dates = DateReading {
                    order,
                    from_spreadsheet: row.number_cells.contains(&i),
                };
                match normalize_date(cell, dates, field.field_type == FieldType::Datetime) {
                    Ok(v) => {
                        input.insert(field_name.clone(), Json::String(v));
                    }
                    Err(e) => {
                        let column = headers
                            .get(i)
                            .map_or_else(|| format!("column {}", i + 1), |h| format!("column `{h}`"));
                        errors.insert(field_name.clone(), format!("{column}: {e}"));
                    }
                }
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

    fn csv(order: DateOrder) -> DateReading {
        DateReading {
            order,
            from_spreadsheet: false,
        }
    }

    #[test]
    fn dates_follow_the_chosen_order() {
        let date = |cell: &str, order| normalize_date(cell, csv(order), false);
        assert_eq!(date("05/03/2024", DateOrder::Dmy).as_deref(), Ok("2024-03-05"));
        assert_eq!(date("03/05/2024", DateOrder::Mdy).as_deref(), Ok("2024-03-05"));
        assert_eq!(
            date("05/03/2024", DateOrder::Ymd).as_deref(),
            Ok("05/03/2024"),
            "left for the validator to refuse"
        );
        assert_eq!(
            date("45356", DateOrder::Ymd).as_deref(),
            Ok("2024-03-05"),
            "an Excel serial"
        );
        assert_eq!(date("2024年3月5日", DateOrder::Ymd).as_deref(), Ok("2024年3月5日"));
        assert_eq!(date("2022-01-05 10:00:00", DateOrder::Ymd).as_deref(), Ok("2022-01-05"));
    }

    #[test]
    fn bare_numbers_are_serials_only_in_range_or_from_a_spreadsheet() {
        for n in ["2024", "12", "0", "19999", "80001", "2024.5"] {
            let e = normalize_date(n, csv(DateOrder::Ymd), false).unwrap_err();
            assert!(e.contains(&format!("`{n}`")), "{e}");
        }
        assert_eq!(
            normalize_date("20000", csv(DateOrder::Ymd), false).as_deref(),
            Ok("1954-10-03")
        );
        assert_eq!(
            normalize_date("80000", csv(DateOrder::Ymd), false).as_deref(),
            Ok("2119-01-11")
        );
        let sheet = DateReading {
            order: DateOrder::Ymd,
            from_spreadsheet: true,
        };
        assert_eq!(normalize_date("12", sheet, false).as_deref(), Ok("1900-01-11"));
        // Date-times: the fraction is the time of day; the same digit orders.
        assert_eq!(
            normalize_date("45356.4375", csv(DateOrder::Ymd), true).as_deref(),
            Ok("2024-03-05 10:30:00")
        );
        assert!(normalize_date("2024", csv(DateOrder::Ymd), true).is_err());
        assert_eq!(
            normalize_date("05/03/2024 10:30", csv(DateOrder::Dmy), true).as_deref(),
            Ok("2024-03-05 10:30")
        );
    }

    #[test]
    fn the_digit_order_is_detected_from_the_values() {
        assert_eq!(
            detect_date_order(["05/03/2024", "25/03/2024"]),
            Ok(Some(DateOrder::Dmy))
        );
        assert_eq!(
            detect_date_order(["05/03/2024", "03/25/2024"]),
            Ok(Some(DateOrder::Mdy))
        );
        assert_eq!(detect_date_order(["2024-03-25", "", "2024年3月5日"]), Ok(None));
        assert!(detect_date_order(["05/03/2024"]).unwrap_err().contains("05/03/2024"));
        assert!(detect_date_order(["25/03/2024", "03/25/2024"]).is_err());
    }
}
