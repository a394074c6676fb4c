//! Reports: what a report asks for ([`ReportSpec`]), what it answers ([`ReportResult`]),
//! the checks a spec must pass against the metadata, and the filter tree behind one row
//! of an answer (drill-down). Pure: the store compiles a [`CheckedSpec`] to SQL.
//!
//! Wire shape (the body of `POST /api/v1/reports/run`):
//! `{"module","filter","columns","group_by":[{"field","bucket"}],"aggregates":[{"fn","field"}],
//! "sort":[{"key","desc"}],"limit","pivot"}`.
//!
//! Every column of an answer has a stable `key`: a field path (`sales_stage`,
//! `related_to.industry`), a bucketed field (`closingdate:month`), or an aggregate
//! (`count`, `sum(amount)`, `avg(related_to.annual_revenue)`). Sort keys name these.
//!
//! Rows hold raw values (what a filter compares: picklist values, record and user ids,
//! bucket keys such as `2024-Q1`, decimals as numbers); `labels` holds, cell for cell, the
//! text to show (picklist labels in the viewer's language, names of records and users,
//! `Yes`/`No`), `null` where the raw value is shown as is (aggregates).

pub mod schedule;

use jiff::ToSpan;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use crate::filter::{Filter, FilterError};
use crate::i18n::{Labels, Lang, Refusal};
use crate::meta::{FieldDef, FieldType, ModuleDef};
use crate::registry::Registry;

/// Most group-by fields in one report.
pub const MAX_GROUPS: usize = 3;
/// Most columns of a tabular report.
pub const MAX_COLUMNS: usize = 50;
/// Most aggregates in one report.
pub const MAX_AGGREGATES: usize = 20;
/// Most sort keys.
pub const MAX_SORT: usize = 5;
/// Most rows one run returns (and the largest `limit` accepted).
pub const MAX_ROWS: u32 = 10_000;
/// Most distinct values of a pivoted (matrix column) group.
pub const MAX_PIVOT_VALUES: usize = 200;

/// A date bucket for grouping date and date-time fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Bucket {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Day => "day",
            Bucket::Week => "week",
            Bucket::Month => "month",
            Bucket::Quarter => "quarter",
            Bucket::Year => "year",
        }
    }

    fn labels(self) -> Labels {
        match self {
            Bucket::Day => Labels::new("day", "日"),
            Bucket::Week => Labels::new("week", "周"),
            Bucket::Month => Labels::new("month", "月"),
            Bucket::Quarter => Labels::new("quarter", "季度"),
            Bucket::Year => Labels::new("year", "年"),
        }
    }

    /// The display text of a bucket key: keys are already readable (`2024-03-05`,
    /// `2024-W10`, `2024-03`, `2024-Q1`, `2024`), and the same in both languages.
    pub fn display(self, key: &str) -> String {
        key.to_string()
    }

    /// The inclusive day range a bucket key names, for drill-down; `None` for a key this
    /// bucket never produces.
    pub fn day_range(self, key: &str) -> Option<(Date, Date)> {
        let add_months = |d: Date, m: i32| d.checked_add(m.months()).ok();
        match self {
            Bucket::Day => {
                let d: Date = key.parse().ok()?;
                Some((d, d))
            }
            Bucket::Week => {
                let (year, week) = key.split_once("-W")?;
                let year: i16 = year.parse().ok()?;
                let week: i8 = week.parse().ok()?;
                let start = jiff::civil::ISOWeekDate::new(year, week, jiff::civil::Weekday::Monday)
                    .ok()?
                    .date();
                Some((start, start.checked_add(6.days()).ok()?))
            }
            Bucket::Month => {
                let (y, m) = key.split_once('-')?;
                let start = Date::new(y.parse().ok()?, m.parse().ok()?, 1).ok()?;
                Some((start, start.last_of_month()))
            }
            Bucket::Quarter => {
                let (y, q) = key.split_once("-Q")?;
                let q: i8 = q.parse().ok()?;
                if !(1..=4).contains(&q) {
                    return None;
                }
                let start = Date::new(y.parse().ok()?, (q - 1) * 3 + 1, 1).ok()?;
                Some((start, add_months(start, 3)?.checked_sub(1.day()).ok()?))
            }
            Bucket::Year => {
                let start = Date::new(key.parse().ok()?, 1, 1).ok()?;
                Some((start, Date::new(start.year(), 12, 31).ok()?))
            }
        }
    }

    /// The key of the bucket holding a day (what the SQL computes, for tests and totals).
    pub fn key_of(self, d: Date) -> String {
        match self {
            Bucket::Day => d.to_string(),
            Bucket::Week => {
                let w = d.iso_week_date();
                format!("{:04}-W{:02}", w.year(), w.week())
            }
            Bucket::Month => format!("{:04}-{:02}", d.year(), d.month()),
            Bucket::Quarter => format!("{:04}-Q{}", d.year(), (d.month() - 1) / 3 + 1),
            Bucket::Year => format!("{:04}", d.year()),
        }
    }
}

/// An aggregate function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AggFn {
    Count,
    Sum,
    Avg,
    Min,
    Max,
}

impl AggFn {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AggFn::Count => "count",
            AggFn::Sum => "sum",
            AggFn::Avg => "avg",
            AggFn::Min => "min",
            AggFn::Max => "max",
        }
    }
}

/// One group-by field, with a bucket for date and date-time fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupBy {
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<Bucket>,
}

/// One aggregate: `count` (of records, or of non-empty values of `field`), or
/// `sum`/`avg`/`min`/`max` of a field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aggregate {
    #[serde(rename = "fn")]
    pub func: AggFn,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// One sort key: a column key of the answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSort {
    pub key: String,
    #[serde(default)]
    pub desc: bool,
}

/// What a report asks for. Tabular: `columns`; summary: `group_by` + `aggregates`
/// (a count when none is named); matrix: a summary with `pivot`, whose last group
/// becomes columns.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSpec {
    pub module: String,
    /// A filter tree (`{"all":[…]}`), as list views take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Json>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<GroupBy>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aggregates: Vec<Aggregate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sort: Vec<ReportSort>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Matrix: the last group's values become columns.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pivot: bool,
}

/// What a column of an answer holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// A group-by value (raw in `rows`, display text in `labels`).
    Group,
    /// An aggregate over the group (a number, or a date for min/max of dates).
    Aggregate,
    /// A field of a tabular report.
    Field,
}

/// For a matrix column: which value of the pivoted group it holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PivotValue {
    /// The pivoted group's key.
    pub group: String,
    /// Raw value (for drill-down).
    pub value: Json,
    /// Display text.
    pub label: String,
}

/// One column of an answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportColumn {
    /// Stable key (see the module docs); unique within an answer.
    pub key: String,
    /// Heading in the viewer's language.
    pub label: String,
    pub kind: ColumnKind,
    /// The field path, when the column is about one field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The type of that field (an aggregate's value type for sum/avg/min/max).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_type: Option<FieldType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<Bucket>,
    #[serde(default, rename = "fn", skip_serializing_if = "Option::is_none")]
    pub func: Option<AggFn>,
    /// Matrix columns: the pivoted value this column is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pivot: Option<PivotValue>,
}

/// What a report answers: rows aligned with `columns`, and `labels` aligned with `rows`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportResult {
    pub columns: Vec<ReportColumn>,
    /// Raw values, one array per row, aligned with `columns`.
    pub rows: Vec<Vec<Json>>,
    /// Display text per cell (`null` where the raw value shows as is).
    pub labels: Vec<Vec<Option<String>>>,
    /// For summary and matrix reports: the aggregates over every matching record, aligned
    /// with `columns` (`null` in group columns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totals: Option<Vec<Json>>,
    /// True when `limit` (or [`MAX_ROWS`]) cut rows off.
    pub truncated: bool,
    /// Tabular reports: the id of the record on each row (for links).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub record_ids: Vec<i64>,
}

/// Why a spec is refused: a refusal with an interface catalogue key (`rep_refused_…`),
/// or a filter tree that does not parse (which carries its own messages).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    Refused(Refusal),
    #[error("{0}")]
    Filter(#[from] FilterError),
}

impl ReportError {
    /// The catalogue key of a refusal (`None` for a filter error).
    pub fn key(&self) -> Option<&'static str> {
        match self {
            ReportError::Refused(r) => Some(r.key),
            ReportError::Filter(_) => None,
        }
    }
}

fn refuse(key: &'static str, en: String) -> ReportError {
    ReportError::Refused(Refusal::new(key, en))
}

/// A field reached from the report's module, possibly through a reference field.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldPath {
    /// As written (`related_to.industry`).
    pub path: String,
    /// The reference field walked through, and the module it points to.
    pub via: Option<(FieldDef, ModuleDef)>,
    /// The field itself (of the report's module, or of the referenced one).
    pub field: FieldDef,
}

impl FieldPath {
    /// Heading: the field's label, prefixed by the reference's for a related field.
    pub fn label(&self, lang: Lang) -> String {
        match &self.via {
            None => self.field.label(lang).to_string(),
            Some((via, _)) => format!("{}: {}", via.label(lang), self.field.label(lang)),
        }
    }
}

/// A checked group.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedGroup {
    pub key: String,
    pub path: FieldPath,
    pub bucket: Option<Bucket>,
}

/// A checked aggregate.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedAggregate {
    pub key: String,
    pub func: AggFn,
    pub path: Option<FieldPath>,
}

/// A spec checked against the metadata: every name resolved to its definition.
#[derive(Clone, Debug)]
pub struct CheckedSpec {
    pub module: ModuleDef,
    pub filter: Filter,
    pub columns: Vec<FieldPath>,
    pub groups: Vec<CheckedGroup>,
    pub aggregates: Vec<CheckedAggregate>,
    /// Sort keys resolved to an output column index, and descending or not.
    pub sort: Vec<(usize, bool)>,
    pub limit: u32,
    pub pivot: bool,
}

impl CheckedSpec {
    /// The output column keys of the SQL query, in order: groups then aggregates, or
    /// the tabular columns.
    pub fn keys(&self) -> Vec<String> {
        if self.is_tabular() {
            return self.columns.iter().map(|c| c.path.clone()).collect();
        }
        self.groups
            .iter()
            .map(|g| g.key.clone())
            .chain(self.aggregates.iter().map(|a| a.key.clone()))
            .collect()
    }

    /// True for a report listing records rather than groups.
    pub fn is_tabular(&self) -> bool {
        !self.columns.is_empty()
    }
}

fn is_number(t: FieldType) -> bool {
    matches!(
        t,
        FieldType::Integer | FieldType::Decimal | FieldType::Currency | FieldType::Percent
    )
}

fn is_dateish(t: FieldType) -> bool {
    matches!(t, FieldType::Date | FieldType::Datetime)
}

/// Resolves `field` or `reference.field` against a module.
pub fn resolve_path(registry: &Registry, module: &ModuleDef, path: &str) -> Result<FieldPath, ReportError> {
    let unknown = || {
        ReportError::Refused(
            Refusal::new(
                "rep_refused_field",
                format!(
                    "unknown field `{path}` (name a field of {}, or reference.field)",
                    module.name
                ),
            )
            .arg("name", path),
        )
    };
    if path.len() > 130 {
        return Err(unknown());
    }
    let mut parts = path.split('.');
    let first = parts.next().unwrap_or_default();
    let second = parts.next();
    if parts.next().is_some() {
        return Err(unknown());
    }
    let head = module.field(first).ok_or_else(unknown)?;
    let Some(second) = second else {
        return Ok(FieldPath {
            path: path.to_string(),
            via: None,
            field: head.clone(),
        });
    };
    // Only a reference with one target module names one related record to read from.
    if head.field_type != FieldType::Reference || head.targets.len() != 1 {
        return Err(unknown());
    }
    let target = registry.module(&head.targets[0]).map_err(|_| unknown())?;
    if !target.entity {
        return Err(unknown());
    }
    let field = target.field(second).ok_or_else(unknown)?;
    Ok(FieldPath {
        path: path.to_string(),
        via: Some((head.clone(), target.clone())),
        field: field.clone(),
    })
}

fn group_key(g: &GroupBy) -> String {
    match g.bucket {
        Some(b) => format!("{}:{}", g.field, b.as_str()),
        None => g.field.clone(),
    }
}

fn aggregate_key(a: &Aggregate) -> String {
    match &a.field {
        Some(f) => format!("{}({f})", a.func.as_str()),
        None => a.func.as_str().to_string(),
    }
}

impl ReportSpec {
    /// Checks the spec against the metadata.
    pub fn check(&self, registry: &Registry) -> Result<CheckedSpec, ReportError> {
        let module = registry.module(&self.module).ok().filter(|m| m.entity).ok_or_else(|| {
            ReportError::Refused(
                Refusal::new("rep_refused_module", format!("unknown module `{}`", self.module))
                    .arg("name", &self.module),
            )
        })?;
        let filter = match &self.filter {
            None => Filter::everything(),
            Some(v) => Filter::from_json(v)?,
        };
        let limit = match self.limit {
            None => MAX_ROWS,
            Some(n) if (1..=MAX_ROWS).contains(&n) => n,
            Some(_) => {
                return Err(refuse(
                    "rep_refused_limit",
                    format!("limit must be from 1 to {MAX_ROWS}"),
                ));
            }
        };
        if self.group_by.len() > MAX_GROUPS {
            return Err(refuse(
                "rep_refused_groups",
                format!("group by at most {MAX_GROUPS} fields"),
            ));
        }
        if self.columns.len() > MAX_COLUMNS || self.aggregates.len() > MAX_AGGREGATES || self.sort.len() > MAX_SORT {
            return Err(refuse(
                "rep_refused_size",
                format!(
                    "a report has at most {MAX_COLUMNS} columns, {MAX_AGGREGATES} aggregates and {MAX_SORT} sort keys"
                ),
            ));
        }
        if !self.columns.is_empty() && (!self.group_by.is_empty() || !self.aggregates.is_empty()) {
            return Err(refuse(
                "rep_refused_shape",
                "a report lists columns (tabular) or groups and aggregates (summary), not both".into(),
            ));
        }
        if self.columns.is_empty() && self.group_by.is_empty() && self.aggregates.is_empty() {
            return Err(refuse(
                "rep_refused_shape",
                "name columns (tabular) or groups and aggregates (summary)".into(),
            ));
        }
        let columns = self
            .columns
            .iter()
            .map(|c| resolve_path(registry, module, c))
            .collect::<Result<Vec<_>, _>>()?;
        let mut groups = Vec::with_capacity(self.group_by.len());
        for g in &self.group_by {
            let path = resolve_path(registry, module, &g.field)?;
            let t = path.field.field_type;
            if g.bucket.is_some() && !is_dateish(t) {
                return Err(ReportError::Refused(
                    Refusal::new(
                        "rep_refused_bucket",
                        format!("`{}` is not a date, so it cannot be grouped by a period", g.field),
                    )
                    .arg("name", &g.field),
                ));
            }
            if t.is_list() || t == FieldType::Textarea {
                return Err(ReportError::Refused(
                    Refusal::new("rep_refused_group_type", format!("cannot group by `{}`", g.field))
                        .arg("name", &g.field),
                ));
            }
            // An instant is grouped by day unless a period is named: grouping by the
            // millisecond would give one group per record.
            let bucket = g.bucket.or_else(|| (t == FieldType::Datetime).then_some(Bucket::Day));
            groups.push(CheckedGroup {
                key: group_key(&GroupBy {
                    field: g.field.clone(),
                    bucket,
                }),
                path,
                bucket,
            });
        }
        let mut aggregates = Vec::with_capacity(self.aggregates.len());
        for a in &self.aggregates {
            aggregates.push(check_aggregate(registry, module, a)?);
        }
        if aggregates.is_empty() && !groups.is_empty() {
            aggregates.push(CheckedAggregate {
                key: "count".into(),
                func: AggFn::Count,
                path: None,
            });
        }
        if self.pivot && groups.len() < 2 {
            return Err(refuse(
                "rep_refused_pivot",
                "a matrix report needs two or three groups (the last one becomes columns)".into(),
            ));
        }
        let mut checked = CheckedSpec {
            module: module.clone(),
            filter,
            columns,
            groups,
            aggregates,
            sort: Vec::new(),
            limit,
            pivot: self.pivot,
        };
        let keys = checked.keys();
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].contains(k) {
                return Err(ReportError::Refused(
                    Refusal::new("rep_refused_duplicate", format!("`{k}` is named twice")).arg("name", k),
                ));
            }
        }
        for s in &self.sort {
            let idx = keys.iter().position(|k| *k == s.key).ok_or_else(|| {
                ReportError::Refused(
                    Refusal::new(
                        "rep_refused_sort",
                        format!("cannot sort by `{}`: sort by a column of the report", s.key),
                    )
                    .arg("name", &s.key),
                )
            })?;
            checked.sort.push((idx, s.desc));
        }
        Ok(checked)
    }
}

fn check_aggregate(registry: &Registry, module: &ModuleDef, a: &Aggregate) -> Result<CheckedAggregate, ReportError> {
    let key = aggregate_key(a);
    let path = match &a.field {
        None if a.func == AggFn::Count => None,
        None => {
            return Err(ReportError::Refused(
                Refusal::new("rep_refused_aggregate", format!("`{}` needs a field", a.func.as_str())).arg("name", &key),
            ));
        }
        Some(f) => Some(resolve_path(registry, module, f)?),
    };
    if let Some(p) = &path {
        let t = p.field.field_type;
        let fits = match a.func {
            AggFn::Count => true,
            AggFn::Sum | AggFn::Avg => is_number(t),
            AggFn::Min | AggFn::Max => is_number(t) || is_dateish(t),
        };
        if !fits {
            return Err(ReportError::Refused(
                Refusal::new(
                    "rep_refused_aggregate",
                    format!("`{key}`: {} does not apply to a {} field", a.func.as_str(), t.as_str()),
                )
                .arg("name", &key),
            ));
        }
    }
    Ok(CheckedAggregate {
        key,
        func: a.func,
        path,
    })
}

/// The heading of a group column.
pub fn group_label(g: &CheckedGroup, lang: Lang) -> String {
    match g.bucket {
        Some(b) => match lang {
            Lang::En => format!("{} ({})", g.path.label(lang), b.labels().en),
            Lang::Zh => format!("{}（{}）", g.path.label(lang), b.labels().zh),
        },
        None => g.path.label(lang),
    }
}

/// The heading of an aggregate column.
pub fn aggregate_label(a: &CheckedAggregate, lang: Lang) -> String {
    let field = a.path.as_ref().map(|p| p.label(lang));
    match (lang, a.func, field) {
        (Lang::En, AggFn::Count, None) => "Count".into(),
        (Lang::Zh, AggFn::Count, None) => "记录数".into(),
        (Lang::En, AggFn::Count, Some(f)) => format!("Count of {f}"),
        (Lang::Zh, AggFn::Count, Some(f)) => format!("{f}计数"),
        (Lang::En, AggFn::Sum, Some(f)) => format!("Sum of {f}"),
        (Lang::Zh, AggFn::Sum, Some(f)) => format!("{f}合计"),
        (Lang::En, AggFn::Avg, Some(f)) => format!("Average {f}"),
        (Lang::Zh, AggFn::Avg, Some(f)) => format!("平均{f}"),
        (Lang::En, AggFn::Min, Some(f)) => format!("Lowest {f}"),
        (Lang::Zh, AggFn::Min, Some(f)) => format!("最小{f}"),
        (Lang::En, AggFn::Max, Some(f)) => format!("Highest {f}"),
        (Lang::Zh, AggFn::Max, Some(f)) => format!("最大{f}"),
        (_, f, None) => f.as_str().into(),
    }
}

/// The filter tree selecting the records behind one row of a summary (or one cell of a
/// matrix): the report's filter and, for each group, its raw value from the row
/// (`group_values[i]` for `spec.group_by[i]`; pass fewer for a subtotal).
///
/// A group through a reference field (`related_to.industry`) cannot be expressed in the
/// list page's filter, which names the module's own fields; it is refused.
pub fn drill_filter(registry: &Registry, spec: &ReportSpec, group_values: &[Json]) -> Result<Json, ReportError> {
    let checked = spec.check(registry)?;
    if group_values.len() > checked.groups.len() {
        let n = checked.groups.len().to_string();
        return Err(ReportError::Refused(
            Refusal::new("rep_refused_drill", format!("this report has only {n} groups")).arg("name", n),
        ));
    }
    let mut conditions = Vec::new();
    if let Some(f) = &spec.filter
        && !f.is_null()
        && f.as_object().is_none_or(|o| !o.is_empty())
    {
        conditions.push(f.clone());
    }
    for (g, value) in checked.groups.iter().zip(group_values) {
        if g.path.via.is_some() {
            return Err(ReportError::Refused(
                Refusal::new(
                    "rep_refused_drill",
                    format!(
                        "cannot list the records behind a group on related field `{}`",
                        g.path.path
                    ),
                )
                .arg("name", &g.path.path),
            ));
        }
        let field = &g.path.field.name;
        if value.is_null() {
            conditions.push(json!({"field": field, "op": "is_empty"}));
            continue;
        }
        match g.bucket {
            Some(b) => {
                let key = value.as_str().unwrap_or_default();
                let (from, to) = b.day_range(key).ok_or_else(|| {
                    ReportError::Refused(
                        Refusal::new("rep_refused_drill", format!("`{key}` is not a {} key", b.as_str()))
                            .arg("name", key),
                    )
                })?;
                conditions.push(json!({"field": field, "op": "ge", "value": from.to_string()}));
                conditions.push(json!({"field": field, "op": "le", "value": to.to_string()}));
            }
            None => conditions.push(json!({"field": field, "op": "eq", "value": value})),
        }
    }
    Ok(json!({ "all": conditions }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: Json) -> Result<ReportSpec, serde_json::Error> {
        serde_json::from_value(v)
    }

    fn check(v: Json) -> Result<CheckedSpec, ReportError> {
        let reg = Registry::builtin().unwrap();
        spec(v).unwrap().check(&reg)
    }

    #[test]
    fn the_issue_body_parses_and_checks() {
        let c = check(json!({
            "module": "Opportunities",
            "filter": {"all": [{"field": "sales_stage", "op": "eq", "value": "Closed Won"}]},
            "group_by": [{"field": "assigned_user_id"}, {"field": "closingdate", "bucket": "quarter"}],
            "aggregates": [{"fn": "sum", "field": "amount"}, {"fn": "count"}],
            "sort": [{"key": "sum(amount)", "desc": true}]
        }))
        .unwrap();
        assert_eq!(
            c.keys(),
            ["assigned_user_id", "closingdate:quarter", "sum(amount)", "count"]
        );
        assert_eq!(c.sort, vec![(2, true)]);
        assert_eq!(c.limit, MAX_ROWS);
    }

    #[test]
    fn related_fields_go_through_a_reference() {
        let c = check(json!({"module": "Opportunities", "group_by": [{"field": "related_to.industry"}]})).unwrap();
        let (via, target) = c.groups[0].path.via.as_ref().unwrap();
        assert_eq!(via.name, "related_to");
        assert_eq!(target.name, "Accounts");
        assert_eq!(c.aggregates[0].key, "count");
        for bad in [
            "related_to.nope",
            "amount.x",
            "related_to.industry.x",
            "nope",
            "x; DROP TABLE m_leads",
        ] {
            let e = check(json!({"module": "Opportunities", "group_by": [{"field": bad}]})).unwrap_err();
            assert_eq!(e.key(), Some("rep_refused_field"), "{bad}");
        }
    }

    #[test]
    fn refusals_name_what_is_wrong() {
        let key = |v: Json| check(v).unwrap_err().key().unwrap_or("filter");
        assert_eq!(key(json!({"module": "Nope", "columns": ["x"]})), "rep_refused_module");
        assert_eq!(
            key(json!({"module": "Users", "columns": ["user_name"]})),
            "rep_refused_module"
        );
        assert_eq!(
            key(json!({"module": "Leads", "group_by": [
                {"field": "leadsource"}, {"field": "leadstatus"}, {"field": "industry"}, {"field": "rating"}]})),
            "rep_refused_groups"
        );
        assert_eq!(
            key(json!({"module": "Leads", "group_by": [{"field": "lastname", "bucket": "month"}]})),
            "rep_refused_bucket"
        );
        assert_eq!(
            key(
                json!({"module": "Leads", "group_by": [{"field": "leadsource"}], "aggregates": [{"fn": "sum", "field": "lastname"}]})
            ),
            "rep_refused_aggregate"
        );
        assert_eq!(
            key(json!({"module": "Leads", "aggregates": [{"fn": "avg"}]})),
            "rep_refused_aggregate"
        );
        assert_eq!(
            key(json!({"module": "Leads", "columns": ["lastname"], "limit": 10_000_000})),
            "rep_refused_limit"
        );
        assert_eq!(
            key(json!({"module": "Leads", "columns": ["lastname"], "limit": 0})),
            "rep_refused_limit"
        );
        assert_eq!(key(json!({"module": "Leads"})), "rep_refused_shape");
        assert_eq!(
            key(json!({"module": "Leads", "columns": ["lastname"], "group_by": [{"field": "leadsource"}]})),
            "rep_refused_shape"
        );
        assert_eq!(
            key(json!({"module": "Leads", "columns": ["lastname"], "sort": [{"key": "count"}]})),
            "rep_refused_sort"
        );
        assert_eq!(
            key(json!({"module": "Leads", "group_by": [{"field": "leadsource"}], "pivot": true})),
            "rep_refused_pivot"
        );
        assert_eq!(
            key(json!({"module": "Leads", "group_by": [{"field": "leadsource"}, {"field": "leadsource"}]})),
            "rep_refused_duplicate"
        );
        assert!(matches!(
            check(json!({"module": "Leads", "columns": ["lastname"], "filter": {"all": 3}})),
            Err(ReportError::Filter(_))
        ));
        // Unknown keys and bad enum values are refused by the parser.
        assert!(spec(json!({"module": "Leads", "colums": ["lastname"]})).is_err());
        assert!(spec(json!({"module": "Leads", "group_by": [{"field": "createdtime", "bucket": "hour"}]})).is_err());
        assert!(spec(json!({"module": "Leads", "aggregates": [{"fn": "median", "field": "x"}]})).is_err());
    }

    #[test]
    fn datetime_groups_default_to_days() {
        let c = check(json!({"module": "Leads", "group_by": [{"field": "createdtime"}]})).unwrap();
        assert_eq!(c.groups[0].bucket, Some(Bucket::Day));
        assert_eq!(c.groups[0].key, "createdtime:day");
    }

    #[test]
    fn bucket_keys_and_ranges_agree() {
        let d = Date::new(2024, 12, 30).unwrap(); // ISO week 1 of 2025
        for b in [Bucket::Day, Bucket::Week, Bucket::Month, Bucket::Quarter, Bucket::Year] {
            let key = b.key_of(d);
            let (from, to) = b.day_range(&key).unwrap();
            assert!(from <= d && d <= to, "{b:?} {key} {from} {to}");
            assert_eq!(b.key_of(from), key);
            assert_eq!(b.key_of(to), key);
        }
        assert_eq!(Bucket::Week.key_of(d), "2025-W01");
        assert_eq!(Bucket::Quarter.key_of(d), "2024-Q4");
        assert_eq!(Bucket::Quarter.day_range("2024-Q5"), None);
        assert_eq!(Bucket::Month.day_range("garbage"), None);
    }

    #[test]
    fn drill_down_selects_the_group() {
        let reg = Registry::builtin().unwrap();
        let s = spec(json!({
            "module": "Opportunities",
            "filter": {"all": [{"field": "amount", "op": "gt", "value": 0}]},
            "group_by": [{"field": "sales_stage"}, {"field": "closingdate", "bucket": "quarter"}, {"field": "leadsource"}]
        }))
        .unwrap();
        let f = drill_filter(&reg, &s, &[json!("Closed Won"), json!("2024-Q2"), Json::Null]).unwrap();
        assert_eq!(
            f,
            json!({"all": [
                {"all": [{"field": "amount", "op": "gt", "value": 0}]},
                {"field": "sales_stage", "op": "eq", "value": "Closed Won"},
                {"field": "closingdate", "op": "ge", "value": "2024-04-01"},
                {"field": "closingdate", "op": "le", "value": "2024-06-30"},
                {"field": "leadsource", "op": "is_empty"}
            ]})
        );
        // The tree is one the filter parser and resolver accept.
        let m = reg.module("Opportunities").unwrap();
        let tz = jiff::tz::TimeZone::UTC;
        let ctx = crate::filter::FilterContext {
            registry: &reg,
            today: Date::new(2024, 5, 1).unwrap(),
            tz: &tz,
        };
        Filter::from_json(&f).unwrap().resolve(m, &ctx).unwrap();
        let related = spec(json!({"module": "Opportunities", "group_by": [{"field": "related_to.industry"}]})).unwrap();
        assert_eq!(
            drill_filter(&reg, &related, &[json!("Banking")]).unwrap_err().key(),
            Some("rep_refused_drill")
        );
    }

    proptest::proptest! {
        #[test]
        fn any_names_are_refused_or_accepted_never_a_panic(
            field in "\\PC{0,40}",
            related in "[a-z_.]{0,30}",
            key in "\\PC{0,20}",
            value in "\\PC{0,20}",
        ) {
            let reg = Registry::builtin().unwrap();
            for name in [&field, &related] {
                let s = ReportSpec {
                    module: "Opportunities".into(),
                    group_by: vec![GroupBy { field: name.clone(), bucket: Some(Bucket::Quarter) }],
                    aggregates: vec![Aggregate { func: AggFn::Max, field: Some(name.clone()) }],
                    sort: vec![ReportSort { key: key.clone(), desc: true }],
                    ..ReportSpec::default()
                };
                let _ = s.check(&reg);
            }
            let s = spec(json!({"module": "Opportunities", "group_by": [{"field": "closingdate", "bucket": "week"}, {"field": "sales_stage"}]})).unwrap();
            let _ = drill_filter(&reg, &s, &[json!(value), json!(key)]);
        }
    }
}
