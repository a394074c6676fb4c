//! The small expressions a workflow may put in a field: `today`, `today + 3 days`,
//! `today - 1 week`, `today + 2 months`. Evaluated against a given date so tests and the
//! engine's clock decide what "today" is.

use jiff::ToSpan;
use jiff::civil::Date;

/// A parsed date expression: today plus an amount of a unit (negative: minus).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateExpr {
    pub amount: i64,
    pub unit: Unit,
}

/// The unit of a date expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Day,
    Week,
    Month,
}

/// Largest amount accepted, so evaluation cannot leave the calendar.
const MAX_AMOUNT: i64 = 3660;

/// True when text starts like an expression (so a typo is an error, not a literal).
pub fn looks_like_expression(s: &str) -> bool {
    let t = s.trim_start();
    t.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("today"))
}

impl DateExpr {
    /// Parses `today`, `today + N day(s)|week(s)|month(s)` or `today - N …`.
    pub fn parse(s: &str) -> Option<DateExpr> {
        let t = s.trim();
        if !looks_like_expression(t) {
            return None;
        }
        let rest = t.get(5..)?.trim();
        if rest.is_empty() {
            return Some(DateExpr {
                amount: 0,
                unit: Unit::Day,
            });
        }
        let (sign, rest) = match rest.chars().next()? {
            '+' => (1, &rest[1..]),
            '-' => (-1, &rest[1..]),
            _ => return None,
        };
        let mut parts = rest.split_whitespace();
        let n: i64 = parts.next()?.parse().ok()?;
        let unit = match parts.next()?.to_ascii_lowercase().as_str() {
            "day" | "days" => Unit::Day,
            "week" | "weeks" => Unit::Week,
            "month" | "months" => Unit::Month,
            _ => return None,
        };
        if parts.next().is_some() || !(0..=MAX_AMOUNT).contains(&n) {
            return None;
        }
        Some(DateExpr { amount: sign * n, unit })
    }

    /// The date this expression names when today is `today`.
    pub fn eval(&self, today: Date) -> Option<Date> {
        let span = match self.unit {
            Unit::Day => self.amount.days(),
            Unit::Week => self.amount.weeks(),
            Unit::Month => self.amount.months(),
        };
        today.checked_add(span).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn expressions() {
        let today = jiff::civil::date(2026, 1, 31);
        let e = |s: &str| DateExpr::parse(s).and_then(|x| x.eval(today)).map(|d| d.to_string());
        assert_eq!(e("today").as_deref(), Some("2026-01-31"));
        assert_eq!(e(" Today + 3 days ").as_deref(), Some("2026-02-03"));
        assert_eq!(e("today-1 day").as_deref(), Some("2026-01-30"));
        assert_eq!(e("today + 2 weeks").as_deref(), Some("2026-02-14"));
        assert_eq!(e("today + 1 month").as_deref(), Some("2026-02-28"));
        for bad in [
            "today +",
            "today + x days",
            "today * 3 days",
            "today + 3 years",
            "today + 3 days extra",
            "tomorrow",
            "today + 99999 days",
            "today + -3 days",
        ] {
            assert_eq!(DateExpr::parse(bad), None, "{bad}");
        }
        assert!(looks_like_expression("today + x"));
        assert!(!looks_like_expression("to do"));
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            if let Some(e) = DateExpr::parse(&s) {
                let _ = e.eval(jiff::civil::date(2026, 6, 1));
            }
            let _ = looks_like_expression(&s);
        }
    }
}
