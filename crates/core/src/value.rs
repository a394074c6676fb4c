//! Typed field values, and how they are stored and put on the wire.
//!
//! Every value is stored as an `i64` or a `String` so both databases bind and compare
//! them the same way: money as integer minor units, instants as epoch milliseconds,
//! dates as `YYYY-MM-DD` text (which sorts correctly and never shifts by time zone).

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use serde_json::{Value as Json, json};

use crate::meta::{FieldDef, FieldType};

/// A parsed, valid value of a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Null,
    /// text, textarea, url, picklist, auto-number
    Text(String),
    /// As typed (trimmed); matched case-insensitively.
    Email(String),
    /// As typed; matched by [`crate::phone::normalize`].
    Phone(String),
    Int(i64),
    /// decimal, currency, percent: integer units of 10^-scale.
    Scaled(i64),
    Bool(bool),
    Date(Date),
    DateTime(Timestamp),
    Time(Time),
    /// multipicklist and tags
    List(Vec<String>),
    /// reference and owner
    Id(i64),
}

/// A value as a database column holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stored {
    Null,
    Int(i64),
    Text(String),
}

impl Value {
    /// True for `Null` and for empty text or lists.
    pub fn is_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Text(s) | Value::Email(s) | Value::Phone(s) => s.is_empty(),
            Value::List(v) => v.is_empty(),
            _ => false,
        }
    }

    /// The column value.
    pub fn to_stored(&self) -> Stored {
        match self {
            Value::Null => Stored::Null,
            Value::Text(s) | Value::Email(s) | Value::Phone(s) => Stored::Text(s.clone()),
            Value::Int(i) | Value::Scaled(i) | Value::Id(i) => Stored::Int(*i),
            Value::Bool(b) => Stored::Int(i64::from(*b)),
            Value::Date(d) => Stored::Text(d.to_string()),
            Value::DateTime(t) => Stored::Int(t.as_millisecond()),
            Value::Time(t) => Stored::Text(format_time(*t)),
            Value::List(v) => Stored::Text(serde_json::to_string(v).unwrap_or_else(|_| "[]".into())),
        }
    }

    /// The normalised match key kept beside email and phone values.
    pub fn match_key(&self) -> Stored {
        match self {
            Value::Email(s) if !s.is_empty() => Stored::Text(s.to_lowercase()),
            Value::Phone(s) if !s.is_empty() => Stored::Text(crate::phone::normalize(s)),
            _ => Stored::Null,
        }
    }

    /// Reads a column value back; a value the column should never hold becomes `Null`.
    pub fn from_stored(field: &FieldDef, stored: Stored) -> Value {
        let t = field.field_type;
        match (t, stored) {
            (_, Stored::Null) => Value::Null,
            (FieldType::Integer, Stored::Int(i)) => Value::Int(i),
            (FieldType::Decimal | FieldType::Currency | FieldType::Percent, Stored::Int(i)) => Value::Scaled(i),
            (FieldType::Boolean, Stored::Int(i)) => Value::Bool(i != 0),
            (FieldType::Datetime, Stored::Int(i)) => Timestamp::from_millisecond(i)
                .map(Value::DateTime)
                .unwrap_or(Value::Null),
            (FieldType::Reference | FieldType::Owner, Stored::Int(i)) => Value::Id(i),
            (FieldType::Date, Stored::Text(s)) => s.parse::<Date>().map(Value::Date).unwrap_or(Value::Null),
            (FieldType::Time, Stored::Text(s)) => s.parse::<Time>().map(Value::Time).unwrap_or(Value::Null),
            (FieldType::Multipicklist | FieldType::Tags, Stored::Text(s)) => {
                Value::List(serde_json::from_str(&s).unwrap_or_default())
            }
            (FieldType::Email, Stored::Text(s)) => Value::Email(s),
            (FieldType::Phone, Stored::Text(s)) => Value::Phone(s),
            (_, Stored::Text(s)) => Value::Text(s),
            (_, Stored::Int(i)) => Value::Int(i),
        }
    }

    /// The wire form: decimals as exact strings, dates `YYYY-MM-DD`, instants RFC 3339 UTC.
    pub fn to_json(&self, field: &FieldDef) -> Json {
        match self {
            Value::Null => Json::Null,
            Value::Text(s) | Value::Email(s) | Value::Phone(s) => json!(s),
            Value::Int(i) | Value::Id(i) => json!(i),
            Value::Scaled(units) => json!(format_scaled(*units, field.scale())),
            Value::Bool(b) => json!(b),
            Value::Date(d) => json!(d.to_string()),
            Value::DateTime(t) => json!(format_timestamp(*t)),
            Value::Time(t) => json!(format_time(*t)),
            Value::List(v) => json!(v),
        }
    }

    /// Plain text for display labels, history and search.
    pub fn to_text(&self, field: &FieldDef) -> String {
        match self {
            Value::Null => String::new(),
            Value::Text(s) | Value::Email(s) | Value::Phone(s) => s.clone(),
            Value::Int(i) | Value::Id(i) => i.to_string(),
            Value::Scaled(units) => format_scaled(*units, field.scale()),
            Value::Bool(b) => if *b { "1" } else { "0" }.into(),
            Value::Date(d) => d.to_string(),
            Value::DateTime(t) => format_timestamp(*t),
            Value::Time(t) => format_time(*t),
            Value::List(v) => v.join(", "),
        }
    }
}

/// `12345` at scale 2 → `"123.45"`; negative values keep their sign.
pub fn format_scaled(units: i64, scale: u32) -> String {
    if scale == 0 {
        return units.to_string();
    }
    let factor = 10i128.pow(scale);
    let u = i128::from(units);
    let sign = if u < 0 { "-" } else { "" };
    let abs = u.abs();
    format!(
        "{sign}{}.{:0width$}",
        abs / factor,
        abs % factor,
        width = scale as usize
    )
}

/// RFC 3339 in UTC with second precision (milliseconds when present).
pub fn format_timestamp(t: Timestamp) -> String {
    if t.subsec_millisecond() == 0 {
        t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    }
}

/// `HH:MM:SS`.
pub fn format_time(t: Time) -> String {
    format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_formatting_is_exact() {
        assert_eq!(format_scaled(12000000, 2), "120000.00");
        assert_eq!(format_scaled(-5, 2), "-0.05");
        assert_eq!(format_scaled(i64::MAX, 4), "922337203685477.5807");
        assert_eq!(format_scaled(i64::MIN, 2), "-92233720368547758.08");
        assert_eq!(format_scaled(42, 0), "42");
    }
}
