//! Parse, don't validate: raw input (API JSON, form text, CSV cell) → a typed [`Value`].
//!
//! One function per field type; each returns a [`FieldError`] instead of panicking.
//! Empty input is `Value::Null`; whether that is allowed is the validator's business.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use rust_decimal::Decimal;
use serde_json::Value as Json;

use crate::error::FieldError;
use crate::meta::{FieldDef, FieldType, PicklistDef};
use crate::value::Value;

/// Most values a multipicklist or tag field may hold.
pub const MAX_LIST_VALUES: u32 = 100;
/// Longest text any field takes when its definition sets no limit (64 KiB of characters).
pub const MAX_TEXT: u32 = 65_536;

/// What parsing needs besides the field: its picklist and the zone for local times.
pub struct ParseContext<'a> {
    pub picklist: Option<&'a PicklistDef>,
    pub tz: &'a TimeZone,
}

/// Parses a JSON input value for a field.
pub fn parse_json(field: &FieldDef, input: &Json, ctx: &ParseContext) -> Result<Value, FieldError> {
    match input {
        Json::Null => Ok(Value::Null),
        Json::String(s) => parse_text(field, s, ctx),
        Json::Bool(b) => match field.field_type {
            FieldType::Boolean => Ok(Value::Bool(*b)),
            _ => Err(wrong_type(field)),
        },
        Json::Number(n) => match field.field_type {
            FieldType::Integer
            | FieldType::Decimal
            | FieldType::Currency
            | FieldType::Percent
            | FieldType::Reference
            | FieldType::Owner
            | FieldType::Boolean
            | FieldType::Text
            | FieldType::Phone => parse_text(field, &n.to_string(), ctx),
            _ => Err(wrong_type(field)),
        },
        Json::Array(items) if field.field_type.is_list() => {
            let mut texts = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Json::String(s) => texts.push(s.as_str()),
                    _ => return Err(wrong_type(field)),
                }
            }
            parse_list(field, texts, ctx)
        }
        _ => Err(wrong_type(field)),
    }
}

fn wrong_type(field: &FieldDef) -> FieldError {
    let expected = match field.field_type {
        FieldType::Integer => "a whole number",
        FieldType::Decimal | FieldType::Currency | FieldType::Percent => {
            "a decimal number as a string, e.g. \"1200.50\""
        }
        FieldType::Boolean => "true or false",
        FieldType::Multipicklist | FieldType::Tags => "an array of strings",
        FieldType::Reference | FieldType::Owner => "a record id (integer)",
        FieldType::Date => "a date string YYYY-MM-DD",
        FieldType::Datetime => "an RFC 3339 date-time string",
        _ => "a string",
    };
    FieldError::WrongType {
        expected: expected.into(),
    }
}

/// Parses text input (a form field, a CSV cell, a JSON string) for a field.
pub fn parse_text(field: &FieldDef, raw: &str, ctx: &ParseContext) -> Result<Value, FieldError> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(Value::Null);
    }
    check_characters(field, raw)?;
    match field.field_type {
        FieldType::Text | FieldType::Textarea | FieldType::AutoNumber => {
            let text = if field.field_type == FieldType::Textarea {
                raw.trim_end()
            } else {
                s
            };
            check_length(field, text)?;
            Ok(Value::Text(text.to_string()))
        }
        FieldType::Url => {
            check_length(field, s)?;
            if is_url(s) {
                Ok(Value::Text(s.to_string()))
            } else {
                Err(FieldError::InvalidUrl)
            }
        }
        FieldType::Email => {
            if is_email(s) {
                Ok(Value::Email(s.to_string()))
            } else {
                Err(FieldError::InvalidEmail)
            }
        }
        FieldType::Phone => {
            check_length(field, s)?;
            if crate::phone::is_valid(s) {
                Ok(Value::Phone(s.to_string()))
            } else {
                Err(FieldError::InvalidPhone)
            }
        }
        FieldType::Integer => parse_integer(s).map(Value::Int),
        FieldType::Decimal | FieldType::Currency | FieldType::Percent => {
            parse_scaled(s, field.scale(), field.field_type == FieldType::Percent).map(Value::Scaled)
        }
        FieldType::Boolean => parse_bool(s).map(Value::Bool),
        FieldType::Date => parse_date(s).map(Value::Date),
        FieldType::Datetime => parse_datetime(s, ctx.tz).map(Value::DateTime),
        FieldType::Time => parse_time(s).map(Value::Time),
        FieldType::Picklist => {
            let list = ctx.picklist.ok_or(FieldError::NotInPicklist { value: s.into() })?;
            list.resolve(s)
                .map(|v| Value::Text(v.value.clone()))
                .ok_or(FieldError::NotInPicklist { value: s.into() })
        }
        FieldType::Multipicklist => parse_list(field, split_list(s, &["|##|", ";", "；", ",", "，"]), ctx),
        FieldType::Tags => parse_list(field, split_list(s, &[",", "，", ";", "；"]), ctx),
        FieldType::Reference | FieldType::Owner => match s.parse::<i64>() {
            Ok(id) if id > 0 => Ok(Value::Id(id)),
            _ => Err(FieldError::NotAnId),
        },
    }
}

fn split_list<'a>(s: &'a str, seps: &[&str]) -> Vec<&'a str> {
    let sep = seps.iter().find(|sep| s.contains(**sep));
    match sep {
        Some(sep) => s.split(*sep).collect(),
        None => vec![s],
    }
}

fn parse_list(field: &FieldDef, items: Vec<&str>, ctx: &ParseContext) -> Result<Value, FieldError> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        check_characters(field, item)?;
        let value = if field.field_type == FieldType::Multipicklist {
            let list = ctx.picklist.ok_or(FieldError::NotInPicklist { value: item.into() })?;
            list.resolve(item)
                .map(|v| v.value.clone())
                .ok_or(FieldError::NotInPicklist { value: item.into() })?
        } else {
            if item.chars().count() > 50 {
                return Err(FieldError::TooLong { max: 50 });
            }
            item.to_string()
        };
        if !out.contains(&value) {
            out.push(value);
        }
    }
    if out.len() as u32 > MAX_LIST_VALUES {
        return Err(FieldError::TooManyValues { max: MAX_LIST_VALUES });
    }
    Ok(if out.is_empty() { Value::Null } else { Value::List(out) })
}

fn check_characters(field: &FieldDef, s: &str) -> Result<(), FieldError> {
    let multiline = field.field_type == FieldType::Textarea;
    let bad = s
        .chars()
        .any(|c| c.is_control() && !(c == '\t' || (multiline && (c == '\n' || c == '\r'))));
    if bad { Err(FieldError::ControlCharacter) } else { Ok(()) }
}

fn check_length(field: &FieldDef, s: &str) -> Result<(), FieldError> {
    let max = field.max_length.unwrap_or(MAX_TEXT).min(MAX_TEXT);
    if s.chars().count() as u64 > u64::from(max) {
        Err(FieldError::TooLong { max })
    } else {
        Ok(())
    }
}

/// A whole number; `,` and `_` thousands separators and full-width digits are not allowed
/// to hide a fraction.
pub fn parse_integer(s: &str) -> Result<i64, FieldError> {
    let cleaned: String = s.chars().filter(|c| !matches!(c, ',' | '_' | ' ')).collect();
    if cleaned.contains('.') || cleaned.contains('e') || cleaned.contains('E') {
        // 12.0 is fine, 12.5 is not
        return match cleaned.parse::<Decimal>() {
            Ok(d) if d.fract().is_zero() => i64::try_from(d.trunc()).map_err(|_| FieldError::OutOfRange),
            Ok(_) => Err(FieldError::NotAnInteger),
            Err(_) => Err(FieldError::NotAnInteger),
        };
    }
    match cleaned.parse::<i64>() {
        Ok(i) => Ok(i),
        Err(e)
            if matches!(
                e.kind(),
                std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow
            ) =>
        {
            Err(FieldError::OutOfRange)
        }
        Err(_) => Err(FieldError::NotAnInteger),
    }
}

/// An exact decimal as integer units of 10^-scale. Accepts `1,234.50`, `¥1234.5`, `45%` (percent).
pub fn parse_scaled(s: &str, scale: u32, percent: bool) -> Result<i64, FieldError> {
    let mut t = s.trim();
    if percent {
        t = t.strip_suffix('%').unwrap_or(t).trim_end();
    }
    for sym in ["¥", "￥", "$", "€", "£", "CNY", "RMB", "USD"] {
        if let Some(rest) = t.strip_prefix(sym) {
            t = rest.trim_start();
        }
    }
    let cleaned: String = t.chars().filter(|c| !matches!(c, ',' | '_' | ' ')).collect();
    if cleaned.is_empty() || cleaned.contains(['e', 'E']) {
        return Err(FieldError::NotANumber);
    }
    let d: Decimal = cleaned.parse().map_err(|_| FieldError::NotANumber)?;
    let d = d.normalize();
    if d.scale() > scale {
        return Err(FieldError::TooManyDecimals { scale });
    }
    let units = d.mantissa() * 10i128.pow(scale - d.scale());
    i64::try_from(units).map_err(|_| FieldError::OutOfRange)
}

/// Yes or no in the common spellings of both languages.
pub fn parse_bool(s: &str) -> Result<bool, FieldError> {
    match s.trim().to_lowercase().as_str() {
        "1" | "true" | "yes" | "y" | "on" | "是" | "真" | "对" => Ok(true),
        "0" | "false" | "no" | "n" | "off" | "否" | "假" | "不" => Ok(false),
        _ => Err(FieldError::InvalidBoolean),
    }
}

/// A calendar date: `2024-03-05`, `2024/3/5`, `2024.3.5`, `2024年3月5日`, `5 Mar 2024`,
/// `March 5, 2024`. An impossible date (`2024-02-30`) is an error, never rolled over.
/// Day-month orders written only in digits (`05/03/2024`) are ambiguous and refused here;
/// import lets the user choose the order.
pub fn parse_date(s: &str) -> Result<Date, FieldError> {
    let s = s.trim();
    if s.chars().any(|c| c.is_ascii_alphabetic()) {
        return parse_english_date(s);
    }
    let s = s.strip_suffix('日').unwrap_or(s);
    let parts: Vec<&str> = s.split(['-', '/', '.', '年', '月']).collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(FieldError::InvalidDate);
    }
    if parts[0].len() != 4 || parts[1].len() > 2 || parts[2].len() > 2 {
        return Err(FieldError::InvalidDate);
    }
    let year: i16 = parts[0].parse().map_err(|_| FieldError::InvalidDate)?;
    let month: i8 = parts[1].parse().map_err(|_| FieldError::InvalidDate)?;
    let day: i8 = parts[2].parse().map_err(|_| FieldError::InvalidDate)?;
    if year < 1 {
        return Err(FieldError::InvalidDate);
    }
    Date::new(year, month, day).map_err(|_| FieldError::InvalidDate)
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// `5 Mar 2024`, `05-Mar-2024`, `Mar 5, 2024`, `March 5 2024`.
fn parse_english_date(s: &str) -> Result<Date, FieldError> {
    let words: Vec<String> = s
        .split([' ', ',', '-', '/', '.'])
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    if words.len() != 3 {
        return Err(FieldError::InvalidDate);
    }
    let month_of = |w: &str| {
        let stem = w.get(..3)?;
        let index = MONTHS.iter().position(|m| *m == stem)?;
        // the rest must spell the month, e.g. "march" or "sept", not "marxyz"
        let full = [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ][index];
        (full.starts_with(w) || w == "sept").then_some(index as i8 + 1)
    };
    let (day, month, year) = match (month_of(&words[0]), month_of(&words[1])) {
        (Some(m), None) => (&words[1], m, &words[2]),
        (None, Some(m)) => (&words[0], m, &words[2]),
        _ => return Err(FieldError::InvalidDate),
    };
    if year.len() != 4 || day.len() > 2 {
        return Err(FieldError::InvalidDate);
    }
    let year: i16 = year.parse().map_err(|_| FieldError::InvalidDate)?;
    let day: i8 = day.parse().map_err(|_| FieldError::InvalidDate)?;
    Date::new(year, month, day).map_err(|_| FieldError::InvalidDate)
}

/// An instant: RFC 3339 with an offset, or a local `YYYY-MM-DD HH:MM[:SS]` in the given zone.
pub fn parse_datetime(s: &str, tz: &TimeZone) -> Result<Timestamp, FieldError> {
    let s = s.trim();
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    let normalized = s.replacen(' ', "T", 1);
    let local: DateTime = normalized.parse().map_err(|_| FieldError::InvalidDateTime)?;
    // Reject what jiff would silently accept but a person did not mean (e.g. an offset-less "24:00").
    tz.to_ambiguous_timestamp(local)
        .compatible()
        .map_err(|_| FieldError::InvalidDateTime)
}

/// A time of day `HH:MM` or `HH:MM:SS`.
pub fn parse_time(s: &str) -> Result<Time, FieldError> {
    let parts: Vec<&str> = s.trim().split(':').collect();
    if !(2..=3).contains(&parts.len())
        || parts
            .iter()
            .any(|p| p.len() != 2 || !p.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(FieldError::InvalidTime);
    }
    let h: i8 = parts[0].parse().map_err(|_| FieldError::InvalidTime)?;
    let m: i8 = parts[1].parse().map_err(|_| FieldError::InvalidTime)?;
    let sec: i8 = parts.get(2).map(|p| p.parse().unwrap_or(99)).unwrap_or(0);
    Time::new(h, m, sec, 0).map_err(|_| FieldError::InvalidTime)
}

/// A practical e-mail check: one `@`, a non-empty local part, a dotted domain, no spaces.
pub fn is_email(s: &str) -> bool {
    if s.len() > 254
        || s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';'))
    {
        return false;
    }
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-')
}

/// A web address: `http(s)://` or `ftp://` or a bare host with a dot; no spaces.
pub fn is_url(s: &str) -> bool {
    if s.chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"'))
    {
        return false;
    }
    let lower = s.to_lowercase();
    let rest = ["http://", "https://", "ftp://"]
        .iter()
        .find_map(|p| lower.strip_prefix(p));
    if lower.contains("://") && rest.is_none() {
        return false;
    }
    let rest = rest.unwrap_or(&lower);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.split(':').next().unwrap_or("");
    !host.is_empty() && (host.contains('.') || host == "localhost")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dates_are_strict() {
        assert_eq!(parse_date("2024-03-05").unwrap().to_string(), "2024-03-05");
        assert_eq!(parse_date("2024/3/5").unwrap().to_string(), "2024-03-05");
        assert_eq!(parse_date("2024年3月5日").unwrap().to_string(), "2024-03-05");
        assert_eq!(parse_date("2024.03.05").unwrap().to_string(), "2024-03-05");
        for bad in [
            "2024-02-30",
            "2023-02-29",
            "2024-13-01",
            "24-03-05",
            "2024-03",
            "tomorrow",
            "2024-03-05x",
            "0000-01-01",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
        assert!(parse_date("2024-02-29").is_ok());
        for (text, iso) in [
            ("5 Mar 2024", "2024-03-05"),
            ("05-Mar-2024", "2024-03-05"),
            ("March 5, 2024", "2024-03-05"),
            ("Sept 30 2024", "2024-09-30"),
        ] {
            assert_eq!(parse_date(text).unwrap().to_string(), iso, "{text}");
        }
        for bad in ["31 Feb 2024", "Marxyz 5 2024", "5 Mar 24", "Mar 2024", "5 5 Mar 2024"] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn datetimes_take_offsets_or_the_local_zone() {
        let shanghai = TimeZone::get("Asia/Shanghai").unwrap_or(TimeZone::fixed(jiff::tz::offset(8)));
        let t = parse_datetime("2024-03-05 09:30", &shanghai).unwrap();
        assert_eq!(crate::value::format_timestamp(t), "2024-03-05T01:30:00Z");
        let t = parse_datetime("2024-03-05T09:30:00+08:00", &TimeZone::UTC).unwrap();
        assert_eq!(crate::value::format_timestamp(t), "2024-03-05T01:30:00Z");
        assert!(parse_datetime("2024-02-30 10:00", &TimeZone::UTC).is_err());
    }

    #[test]
    fn decimals_are_exact() {
        assert_eq!(parse_scaled("120000", 2, false), Ok(12_000_000));
        assert_eq!(parse_scaled("1,234.5", 2, false), Ok(123_450));
        assert_eq!(parse_scaled("¥ 99.99", 2, false), Ok(9_999));
        assert_eq!(parse_scaled("-0.01", 2, false), Ok(-1));
        assert_eq!(parse_scaled("45%", 2, true), Ok(4_500));
        assert_eq!(parse_scaled("0.1", 2, false), Ok(10));
        assert_eq!(
            parse_scaled("1.005", 2, false),
            Err(FieldError::TooManyDecimals { scale: 2 })
        );
        assert_eq!(parse_scaled("1.500", 2, false), Ok(150));
        assert_eq!(parse_scaled("abc", 2, false), Err(FieldError::NotANumber));
        assert_eq!(parse_scaled("1e5", 2, false), Err(FieldError::NotANumber));
        assert_eq!(
            parse_scaled("99999999999999999999", 2, false),
            Err(FieldError::OutOfRange)
        );
    }

    #[test]
    fn integers() {
        assert_eq!(parse_integer("1,200"), Ok(1200));
        assert_eq!(parse_integer("12.0"), Ok(12));
        assert_eq!(parse_integer("12.5"), Err(FieldError::NotAnInteger));
        assert_eq!(parse_integer("99999999999999999999"), Err(FieldError::OutOfRange));
    }

    #[test]
    fn emails_and_urls() {
        assert!(is_email("zhang.wei@example.com.cn"));
        assert!(is_email("12345678@qq.com"));
        assert!(!is_email("zhang wei@example.com"));
        assert!(!is_email("no-at-sign"));
        assert!(!is_email("a@b"));
        assert!(!is_email("a@@b.com"));
        assert!(is_url("https://www.example.cn/a?b=1"));
        assert!(is_url("www.example.cn"));
        assert!(!is_url("javascript:alert(1)"));
        assert!(!is_url("not a url"));
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,60}") {
            let _ = parse_date(&s);
            let _ = parse_integer(&s);
            let _ = parse_scaled(&s, 2, true);
            let _ = parse_time(&s);
            let _ = parse_datetime(&s, &TimeZone::UTC);
            let _ = is_email(&s);
            let _ = is_url(&s);
        }

        #[test]
        fn scaled_round_trips(units in any::<i64>()) {
            let text = crate::value::format_scaled(units, 2);
            prop_assert_eq!(parse_scaled(&text, 2, false), Ok(units));
        }
    }
}
