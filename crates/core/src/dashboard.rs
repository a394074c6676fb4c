//! Dashboards' pure post-processing: the chart payload the browser draws, and the
//! figures built-in widgets derive from aggregated rows (Pareto classes, the same month
//! last year, conversion rates, weeks). No I/O: the store aggregates, this shapes.
//!
//! Money stays in integer minor units (cents) until the payload is built, so shares and
//! classes are exact; only the chart's numbers are decimals.

use jiff::civil::{Date, Weekday};
use serde::{Deserialize, Serialize};

/// The chart kinds the chart module draws.
pub const CHART_KINDS: [&str; 7] = ["bar", "stacked_bar", "line", "pie", "donut", "funnel", "pareto"];

/// Whether `kind` is one of [`CHART_KINDS`].
pub fn is_chart_kind(kind: &str) -> bool {
    CHART_KINDS.contains(&kind)
}

/// One series of a chart: a value per category.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// The legend label, in the viewer's language.
    pub name: String,
    /// One value per category (`None` = no value, a gap in a line).
    pub data: Vec<Option<f64>>,
    /// Values are money in the company currency (formatted as such).
    #[serde(default)]
    pub money: bool,
    /// Values are shares 0..=100 (formatted with `%`, drawn on a second axis).
    #[serde(default)]
    pub percent: bool,
    /// Draw this series as a line in a bar chart (e.g. the Pareto cumulative share).
    #[serde(default)]
    pub line: bool,
}

/// What the browser needs to draw one chart: categories, series, colours and where a
/// click on a category (or on one series' part of it) leads.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChartData {
    /// One of [`CHART_KINDS`].
    pub kind: String,
    /// The category axis (or slices), in the viewer's language.
    pub categories: Vec<String>,
    pub series: Vec<Series>,
    /// A colour per category (`#rrggbb`) where the data has one (stages); empty = palette.
    #[serde(default)]
    pub colors: Vec<Option<String>>,
    /// `links[s][c]`: the list of records behind series `s` at category `c`; a row shorter
    /// than the categories (or no row) means no link there.
    #[serde(default)]
    pub links: Vec<Vec<Option<String>>>,
    /// ISO 4217 code for money series.
    #[serde(default)]
    pub currency: String,
    /// `en` or `zh-CN`: number formatting and ECharts' own texts.
    #[serde(default)]
    pub locale: String,
    /// Extra text per category shown in the tooltip (Pareto class).
    #[serde(default)]
    pub notes: Vec<String>,
}

/// Minor units (cents) to a chart number.
pub fn units_to_f64(units: i128, scale: u32) -> f64 {
    // Precision loss beyond 2^53 cents is far past any revenue a chart shows.
    #[allow(clippy::cast_precision_loss)]
    let v = units as f64 / 10f64.powi(i32::try_from(scale).unwrap_or(2));
    v
}

/// A customer's Pareto class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParetoClass {
    /// Among the top customers that together bring the first 80 % of revenue.
    A,
    /// The next ones, up to 95 %.
    B,
    /// The rest.
    C,
}

impl ParetoClass {
    /// `A`, `B` or `C`.
    pub fn letter(self) -> &'static str {
        match self {
            ParetoClass::A => "A",
            ParetoClass::B => "B",
            ParetoClass::C => "C",
        }
    }
}

/// One customer in the Pareto ranking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParetoRow<K> {
    pub key: K,
    pub revenue: i128,
    /// Cumulative share of total revenue after this customer, in basis points (0..=10000).
    pub cumulative_bp: u32,
    pub class: ParetoClass,
}

/// Ranks customers by revenue (largest first, ties by key for a stable order) and
/// classes them: a customer is A while the customers before it hold less than 80 % of the
/// total (so the one that crosses 80 % is still A), B while they hold less than 95 %, C
/// after. Customers with no positive revenue are left out.
pub fn pareto<K: Ord + Clone>(rows: &[(K, i128)]) -> Vec<ParetoRow<K>> {
    let mut ranked: Vec<(K, i128)> = rows.iter().filter(|(_, r)| *r > 0).cloned().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let total: i128 = ranked.iter().map(|(_, r)| r).sum();
    let mut before = 0i128;
    ranked
        .into_iter()
        .map(|(key, revenue)| {
            let class = if before * 100 < total * 80 {
                ParetoClass::A
            } else if before * 100 < total * 95 {
                ParetoClass::B
            } else {
                ParetoClass::C
            };
            before += revenue;
            let bp = if total > 0 { before * 10_000 / total } else { 0 };
            ParetoRow {
                key,
                revenue,
                cumulative_bp: u32::try_from(bp).unwrap_or(10_000),
                class,
            }
        })
        .collect()
}

/// Revenue by month of this year next to the same month of the year before: from rows
/// `(year, month, units)` (several rows for one month are added), twelve values for
/// `year` and twelve for `year - 1`, January first. Months without revenue are 0;
/// months after `through_month` of `year` (not over yet) are `None`.
pub fn same_month_last_year(rows: &[(i16, i8, i128)], year: i16, through_month: i8) -> (Vec<Option<i128>>, Vec<i128>) {
    let mut this = vec![0i128; 12];
    let mut last = vec![0i128; 12];
    for &(y, m, units) in rows {
        let Some(i) = usize::try_from(m - 1).ok().filter(|i| *i < 12) else {
            continue;
        };
        if y == year {
            this[i] += units;
        } else if y == year - 1 {
            last[i] += units;
        }
    }
    let this = this
        .into_iter()
        .enumerate()
        .map(|(i, v)| (i64::try_from(i).unwrap_or(12) < i64::from(through_month)).then_some(v))
        .collect();
    (this, last)
}

/// Conversion along lead → opportunity → won.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Conversion {
    pub leads: u64,
    pub converted_leads: u64,
    pub opportunities_from_leads: u64,
    pub won_from_leads: u64,
}

impl Conversion {
    /// Percent of leads converted (one decimal), `None` without leads.
    pub fn lead_to_opportunity(&self) -> Option<f64> {
        percent(self.converted_leads, self.leads)
    }

    /// Percent of opportunities from leads that were won, `None` without any.
    pub fn opportunity_to_won(&self) -> Option<f64> {
        percent(self.won_from_leads, self.opportunities_from_leads)
    }

    /// Percent of leads that ended in a won deal, `None` without leads.
    pub fn lead_to_won(&self) -> Option<f64> {
        percent(self.won_from_leads, self.leads)
    }
}

/// `part / whole` in percent rounded to one decimal; `None` when `whole` is 0.
pub fn percent(part: u64, whole: u64) -> Option<f64> {
    if whole == 0 {
        return None;
    }
    let tenths = (u128::from(part) * 1000 + u128::from(whole) / 2) / u128::from(whole);
    #[allow(clippy::cast_precision_loss)]
    Some(tenths as f64 / 10.0)
}

/// The Monday starting the ISO week that holds `day`.
pub fn week_start(day: Date) -> Date {
    let back = i64::from(day.weekday().to_monday_zero_offset());
    day.checked_sub(jiff::Span::new().days(back)).unwrap_or(day)
}

/// The Mondays of the `n` weeks ending with the week of `today`, oldest first.
pub fn last_weeks(today: Date, n: usize) -> Vec<Date> {
    let this = week_start(today);
    (0..n)
        .rev()
        .filter_map(|k| this.checked_sub(jiff::Span::new().weeks(i64::try_from(k).ok()?)).ok())
        .collect()
}

/// Counts per (person, week) laid out for a stacked chart: one series per person (in
/// the order of `people`), one value per week of `weeks`. Rows are `(person, day, count)`;
/// days outside the weeks are ignored.
pub fn per_person_per_week(people: &[String], weeks: &[Date], rows: &[(String, Date, u64)]) -> Vec<Vec<u64>> {
    let mut out = vec![vec![0u64; weeks.len()]; people.len()];
    for (person, day, count) in rows {
        let (Some(p), Some(w)) = (
            people.iter().position(|x| x == person),
            weeks.iter().position(|w| *w == week_start(*day)),
        ) else {
            continue;
        };
        out[p][w] += count;
    }
    out
}

/// The first and last day of the month holding `day`.
pub fn month_bounds(day: Date) -> (Date, Date) {
    (day.first_of_month(), day.last_of_month())
}

/// Whether a weekday is Monday (kept for callers that label weeks).
pub fn is_monday(day: Date) -> bool {
    day.weekday() == Weekday::Monday
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn pareto_classes_follow_the_80_and_95_percent_lines() {
        // Total 1000: 500 (50 %), 300 (→80 %), 100 (→90 %), 50 (→95 %), 30, 20.
        let rows = vec![
            ("c", 100),
            ("a", 500),
            ("e", 30),
            ("b", 300),
            ("f", 20),
            ("d", 50),
            ("z", 0),
        ];
        let got = pareto(&rows);
        let keys: Vec<_> = got.iter().map(|r| r.key).collect();
        assert_eq!(keys, ["a", "b", "c", "d", "e", "f"], "ranked, zero revenue left out");
        let classes: String = got.iter().map(|r| r.class.letter()).collect();
        // a: before 0 → A; b: before 50 % → A; c: before 80 % → B (80 is not < 80);
        // d: before 90 % → B; e: before 95 % → C; f → C.
        assert_eq!(classes, "AABBCC");
        let cum: Vec<_> = got.iter().map(|r| r.cumulative_bp).collect();
        assert_eq!(cum, [5000, 8000, 9000, 9500, 9800, 10_000]);
    }

    #[test]
    fn the_customer_crossing_80_percent_is_still_a() {
        let got = pareto(&[("x", 70), ("y", 20), ("z", 10)]);
        let classes: String = got.iter().map(|r| r.class.letter()).collect();
        // y starts at 70 % (< 80) and takes the share to 90 %: A. z starts at 90 %: B.
        assert_eq!(classes, "AAB");
    }

    #[test]
    fn pareto_ties_are_ordered_by_key_and_empty_input_is_empty() {
        let got = pareto(&[("b", 10), ("a", 10)]);
        assert_eq!(got[0].key, "a");
        assert!(pareto::<&str>(&[]).is_empty());
        assert!(
            pareto(&[("a", 0), ("b", -5)]).is_empty(),
            "refunds are not customers' revenue"
        );
    }

    #[test]
    fn same_month_last_year_aligns_months_and_hides_the_future() {
        let rows = [
            (2026, 1, 100),
            (2026, 1, 50),
            (2025, 1, 70),
            (2026, 3, 10),
            (2025, 12, 9),
            (2024, 5, 999), // two years back: ignored
            (2026, 13, 1),  // nonsense month: ignored
        ];
        let (this, last) = same_month_last_year(&rows, 2026, 3);
        assert_eq!(this[0], Some(150));
        assert_eq!(this[1], Some(0), "a month over with no revenue is 0");
        assert_eq!(this[2], Some(10));
        assert_eq!(this[3], None, "April is not over yet");
        assert_eq!(last[0], 70);
        assert_eq!(last[11], 9);
        assert_eq!(last.iter().sum::<i128>(), 79);
    }

    #[test]
    fn conversion_rates_round_to_a_tenth_and_survive_zero() {
        let c = Conversion {
            leads: 3,
            converted_leads: 1,
            opportunities_from_leads: 8,
            won_from_leads: 3,
        };
        assert_eq!(c.lead_to_opportunity(), Some(33.3));
        assert_eq!(c.opportunity_to_won(), Some(37.5));
        assert_eq!(c.lead_to_won(), Some(100.0));
        assert_eq!(Conversion::default().lead_to_opportunity(), None);
        assert_eq!(percent(2, 3), Some(66.7));
    }

    #[test]
    fn weeks_start_on_monday() {
        assert_eq!(week_start(date(2026, 12, 4)), date(2026, 11, 30)); // a Friday
        assert_eq!(week_start(date(2026, 11, 30)), date(2026, 11, 30));
        assert_eq!(week_start(date(2027, 1, 3)), date(2026, 12, 28)); // Sunday, across a year
        assert!(is_monday(week_start(date(2026, 2, 1))));
        let weeks = last_weeks(date(2026, 12, 4), 3);
        assert_eq!(weeks, [date(2026, 11, 16), date(2026, 11, 23), date(2026, 11, 30)]);
    }

    #[test]
    fn per_person_per_week_counts_into_the_right_cells() {
        let people = vec!["li".to_string(), "wang".to_string()];
        let weeks = last_weeks(date(2026, 12, 4), 2);
        let rows = vec![
            ("li".to_string(), date(2026, 12, 1), 2),
            ("li".to_string(), date(2026, 12, 3), 1),
            ("wang".to_string(), date(2026, 11, 25), 4),
            ("wang".to_string(), date(2026, 10, 1), 9), // outside
            ("nobody".to_string(), date(2026, 12, 1), 5),
        ];
        assert_eq!(
            per_person_per_week(&people, &weeks, &rows),
            vec![vec![0, 3], vec![4, 0]]
        );
    }

    #[test]
    fn month_bounds_cover_the_month() {
        assert_eq!(month_bounds(date(2026, 2, 14)), (date(2026, 2, 1), date(2026, 2, 28)));
        assert!(is_chart_kind("funnel") && !is_chart_kind("<script>"));
        assert!((units_to_f64(12_345, 2) - 123.45).abs() < 1e-9);
    }
}
