//! How values look on a page: in the viewer's language and time zone, money grouped,
//! picklists by label, references as links. A date never shifts; a date-time is shown
//! in the viewer's zone.

use jiff::tz::TimeZone;
use sable_core::meta::{FieldDef, FieldType};
use sable_core::value::format_scaled;
use sable_core::{Lang, Registry, Value};
use serde::Serialize;

use super::render::Catalogs;

/// A value ready for a template: text, and a link when it has one.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Shown {
    pub text: String,
    pub href: Option<String>,
}

impl Shown {
    fn text(text: impl Into<String>) -> Shown {
        Shown {
            text: text.into(),
            href: None,
        }
    }
}

/// `1234567.5` → `1,234,567.5` (digits before the point grouped by three).
pub fn group_digits(plain: &str) -> String {
    let (sign, rest) = plain.strip_prefix('-').map_or(("", plain), |r| ("-", r));
    let (int, frac) = rest.split_once('.').map_or((rest, None), |(i, f)| (i, Some(f)));
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// The label of a picklist value in a language (the value itself when unknown).
pub fn picklist_label(registry: &Registry, field: &FieldDef, value: &str, lang: Lang) -> String {
    registry
        .picklist_of(field)
        .and_then(|p| p.values.iter().find(|v| v.value == value))
        .map_or_else(|| value.to_string(), |v| v.labels.get(lang).to_string())
}

/// The sign money in `code` is written with: `¥`, `$`, `€`, `HK$`, `£`, … or, for a
/// currency without a well-known sign, its code.
pub fn currency_sign(code: &str) -> &str {
    match code {
        "CNY" | "JPY" => "¥",
        "USD" => "$",
        "EUR" => "€",
        "HKD" => "HK$",
        "GBP" => "£",
        "TWD" => "NT$",
        "SGD" => "S$",
        other => other,
    }
}

/// Who is looking: language, time zone, and how they like dates and numbers.
pub struct Viewer<'a> {
    pub lang: Lang,
    pub tz: &'a TimeZone,
    pub date_format: &'a str,
    pub number_format: &'a str,
    /// The company's base currency (ISO 4217 code).
    pub currency: &'a str,
}

impl Viewer<'_> {
    /// A calendar date in the viewer's format (never shifted by a time zone).
    pub fn date(&self, d: jiff::civil::Date) -> String {
        match self.date_format {
            "yyyy年m月d日" => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
            "dd-mm-yyyy" => d.strftime("%d-%m-%Y").to_string(),
            "mm-dd-yyyy" => d.strftime("%m-%d-%Y").to_string(),
            "dd.mm.yyyy" => d.strftime("%d.%m.%Y").to_string(),
            "dd/mm/yyyy" => d.strftime("%d/%m/%Y").to_string(),
            _ => d.to_string(),
        }
    }

    /// An instant as date and time in the viewer's zone and format.
    pub fn datetime(&self, t: impl std::borrow::Borrow<jiff::Timestamp>) -> String {
        let local = t.borrow().to_zoned_datetime(self.tz.clone());
        format!("{} {}", self.date(local.date()), local.strftime("%H:%M"))
    }

    /// A plain decimal (`-1234.5`) grouped and marked the viewer's way.
    pub fn number(&self, plain: &str) -> String {
        let grouped = group_digits(plain);
        match self.number_format {
            "1.234,56" => grouped
                .chars()
                .map(|c| match c {
                    ',' => '.',
                    '.' => ',',
                    other => other,
                })
                .collect(),
            "1 234,56" => grouped
                .chars()
                .map(|c| match c {
                    ',' => '\u{202f}',
                    '.' => ',',
                    other => other,
                })
                .collect(),
            _ => grouped,
        }
    }

    /// An amount in the company's base currency: `¥1,234.50`, `-$12.00`, `CHF 99.00`.
    pub fn money(&self, plain: &str) -> String {
        let (minus, digits) = plain.strip_prefix('-').map_or(("", plain), |d| ("-", d));
        let code = if self.currency.is_empty() { "CNY" } else { self.currency };
        let sign = currency_sign(code);
        let gap = if sign == code { " " } else { "" };
        format!("{minus}{sign}{gap}{}", self.number(digits))
    }
}

/// Shows one value of a field.
pub fn display_value(
    registry: &Registry,
    field: &FieldDef,
    value: Option<&Value>,
    label: Option<&str>,
    viewer: &Viewer,
) -> Shown {
    let lang = viewer.lang;
    let Some(value) = value else { return Shown::default() };
    match (field.field_type, value) {
        (_, Value::Null) => Shown::default(),
        (FieldType::Email, Value::Email(e)) => Shown {
            text: e.clone(),
            href: Some(format!("mailto:{e}")),
        },
        (FieldType::Phone, Value::Phone(p)) => {
            let dial: String = p.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect();
            Shown {
                text: p.clone(),
                href: Some(format!("tel:{dial}")),
            }
        }
        (FieldType::Url, Value::Text(u)) => {
            let lower = u.to_ascii_lowercase();
            let href = if lower.starts_with("http://") || lower.starts_with("https://") {
                u.clone()
            } else {
                format!("http://{u}")
            };
            Shown {
                text: u.clone(),
                href: Some(href),
            }
        }
        (FieldType::Picklist, Value::Text(v)) => Shown::text(picklist_label(registry, field, v, lang)),
        (_, Value::List(items)) => {
            let labels: Vec<String> = if field.field_type == FieldType::Multipicklist {
                items.iter().map(|v| picklist_label(registry, field, v, lang)).collect()
            } else {
                items.clone()
            };
            Shown::text(labels.join(if lang == Lang::Zh { "、" } else { ", " }))
        }
        (FieldType::Currency, Value::Scaled(u)) => Shown::text(viewer.money(&format_scaled(*u, field.scale()))),
        (FieldType::Percent, Value::Scaled(u)) => Shown::text(format!(
            "{}%",
            format_scaled(*u, field.scale())
                .trim_end_matches('0')
                .trim_end_matches('.')
        )),
        (_, Value::Scaled(u)) => Shown::text(viewer.number(&format_scaled(*u, field.scale()))),
        (FieldType::Integer, Value::Int(i)) => Shown::text(viewer.number(&i.to_string())),
        (_, Value::Bool(b)) => Shown::text(Catalogs::embedded().get(lang, if *b { "yes" } else { "no" })),
        (_, Value::Date(d)) => Shown::text(viewer.date(*d)),
        (_, Value::DateTime(t)) => Shown::text(viewer.datetime(t)),
        (_, Value::Time(t)) => Shown::text(format!("{:02}:{:02}", t.hour(), t.minute())),
        (FieldType::Reference, Value::Id(id)) => Shown {
            text: label.map_or_else(|| format!("#{id}"), str::to_string),
            href: Some(format!("/r/{id}")),
        },
        (_, Value::Id(id)) => Shown::text(label.map_or_else(|| format!("#{id}"), str::to_string)),
        (_, v) => Shown::text(v.to_text(field)),
    }
}

/// The value as a form input holds it: plain text, ISO dates, local date-times.
pub fn input_text(field: &FieldDef, value: Option<&Value>, tz: &TimeZone) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::DateTime(t)) => t.to_zoned_datetime(tz.clone()).strftime("%Y-%m-%dT%H:%M").to_string(),
        Some(Value::Bool(b)) => if *b { "1" } else { "0" }.into(),
        Some(Value::Time(t)) => format!("{:02}:{:02}", t.hour(), t.minute()),
        Some(v) => v.to_text(field),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewers_format_their_way() {
        let tz = TimeZone::get("Asia/Shanghai").unwrap_or(TimeZone::UTC);
        let v = Viewer {
            lang: Lang::Zh,
            tz: &tz,
            date_format: "yyyy年m月d日",
            number_format: "1.234,56",
            currency: "EUR",
        };
        let d = jiff::civil::Date::new(2024, 3, 5).unwrap();
        assert_eq!(v.date(d), "2024年3月5日");
        assert_eq!(v.number("1234567.50"), "1.234.567,50");
        let t: jiff::Timestamp = "2024-03-04T17:30:00Z".parse().unwrap();
        assert_eq!(v.datetime(t), "2024年3月5日 01:30", "shown in the viewer's zone");
        let v = Viewer {
            lang: Lang::En,
            tz: &tz,
            date_format: "dd/mm/yyyy",
            number_format: "1,234.56",
            currency: "CHF",
        };
        assert_eq!(v.date(d), "05/03/2024");
        assert_eq!(v.money("-1234.5"), "-CHF 1,234.5");
        for (code, shown) in [
            ("CNY", "¥1,234.50"),
            ("USD", "$1,234.50"),
            ("EUR", "€1,234.50"),
            ("JPY", "¥1,234.50"),
            ("HKD", "HK$1,234.50"),
            ("GBP", "£1,234.50"),
        ] {
            let v = Viewer { currency: code, ..v };
            assert_eq!(v.money("1234.50"), shown);
        }
        assert_eq!(v.number("-1000"), "-1,000");
    }

    #[test]
    fn digits_are_grouped() {
        assert_eq!(group_digits("1234567.50"), "1,234,567.50");
        assert_eq!(group_digits("-1000"), "-1,000");
        assert_eq!(group_digits("999"), "999");
        assert_eq!(group_digits("0.05"), "0.05");
    }
}
