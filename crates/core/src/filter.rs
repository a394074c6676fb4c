//! The filter tree: Sable's one query language.
//!
//! JSON `{"all":[…]}` / `{"any":[…]}` groups holding groups or conditions
//! `{"field","op","value"}`. Parsing checks the shape ([`Filter::from_json`]);
//! resolving against a module checks fields, operators and values and turns relative
//! dates into concrete ranges ([`Filter::resolve`]). The store compiles the resolved
//! tree to SQL; nothing here knows SQL.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::Serialize;
use serde_json::Value as Json;

use crate::error::FieldError;
use crate::i18n::{Labels, Lang};
use crate::meta::{FieldDef, FieldType, ModuleDef};
use crate::parse::{ParseContext, parse_date, parse_json};
use crate::registry::Registry;
use crate::value::Value;

/// Deepest nesting of groups.
pub const MAX_DEPTH: usize = 10;
/// Most conditions in one tree.
pub const MAX_CONDITIONS: usize = 200;
/// Most values in an `in` / `not_in` list.
pub const MAX_IN_VALUES: usize = 1000;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    StartsWith,
    EndsWith,
    In,
    NotIn,
    IsEmpty,
    IsNotEmpty,
    Between,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "lt" => Op::Lt,
            "le" => Op::Le,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "contains" => Op::Contains,
            "starts_with" => Op::StartsWith,
            "ends_with" => Op::EndsWith,
            "in" => Op::In,
            "not_in" => Op::NotIn,
            "is_empty" => Op::IsEmpty,
            "is_not_empty" => Op::IsNotEmpty,
            "between" => Op::Between,
            _ => return None,
        })
    }
}

/// A parsed (shape-checked) filter tree.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    All(Vec<Filter>),
    Any(Vec<Filter>),
    Cond { field: String, op: Op, value: Json },
}

/// A filter tree checked against a module, with typed operands.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolved {
    All(Vec<Resolved>),
    Any(Vec<Resolved>),
    Cond(Box<Condition>),
}

/// One checked condition.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub field: FieldDef,
    pub op: Op,
    pub operand: Operand,
}

/// The typed right-hand side of a condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    None,
    One(Value),
    Many(Vec<Value>),
    Range(Value, Value),
    /// Raw text for contains / starts_with / ends_with.
    Text(String),
}

/// Where in the tree something is wrong, and what.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("filter{path}: {}", .kind.labels().en)]
pub struct FilterError {
    /// JSON path such as `.all[2].value`.
    pub path: String,
    pub kind: FilterErrorKind,
}

/// The kinds of filter errors.
#[derive(Clone, Debug, PartialEq)]
pub enum FilterErrorKind {
    Shape(&'static str),
    UnknownOperator(String),
    UnknownField(String),
    OperatorNotForType { op: String, field_type: &'static str },
    BadValue(FieldError),
    BadRelative(String),
    TooDeep,
    TooMany,
}

impl FilterErrorKind {
    fn labels(&self) -> Labels {
        match self {
            FilterErrorKind::Shape(s) => Labels::new(*s, format!("结构错误：{s}")),
            FilterErrorKind::UnknownOperator(o) => Labels::new(
                format!(
                    "unknown operator `{o}` (use eq, ne, lt, le, gt, ge, contains, starts_with, ends_with, in, not_in, is_empty, is_not_empty, between)"
                ),
                format!("未知运算符“{o}”"),
            ),
            FilterErrorKind::UnknownField(f) => Labels::new(format!("unknown field `{f}`"), format!("未知字段“{f}”")),
            FilterErrorKind::OperatorNotForType { op, field_type } => Labels::new(
                format!("operator `{op}` does not apply to a {field_type} field"),
                format!("运算符“{op}”不适用于{field_type}类型字段"),
            ),
            FilterErrorKind::BadValue(e) => Labels::new(
                format!("value {}", e.message(Lang::En)),
                format!("值{}", e.message(Lang::Zh)),
            ),
            FilterErrorKind::BadRelative(s) => {
                Labels::new(format!("bad relative date: {s}"), format!("相对日期错误：{s}"))
            }
            FilterErrorKind::TooDeep => Labels::new(
                format!("groups nested deeper than {MAX_DEPTH}"),
                format!("分组嵌套超过 {MAX_DEPTH} 层"),
            ),
            FilterErrorKind::TooMany => Labels::new(
                format!("more than {MAX_CONDITIONS} conditions or {MAX_IN_VALUES} values in a list"),
                format!("条件超过 {MAX_CONDITIONS} 个或列表值超过 {MAX_IN_VALUES} 个"),
            ),
        }
    }
}

impl FilterError {
    /// The message in a language.
    pub fn message(&self, lang: Lang) -> String {
        format!("filter{}: {}", self.path, self.kind.labels().get(lang))
    }
}

fn err(path: &str, kind: FilterErrorKind) -> FilterError {
    FilterError {
        path: path.to_string(),
        kind,
    }
}

/// What resolving needs: picklists, and the acting user's "today" and zone.
pub struct FilterContext<'a> {
    pub registry: &'a Registry,
    pub today: Date,
    pub tz: &'a TimeZone,
}

impl FilterContext<'_> {
    /// Builds a context for "now" in a zone.
    pub fn today_in(tz: &TimeZone) -> Date {
        Timestamp::now().to_zoned_datetime(tz.clone()).date()
    }
}

impl Filter {
    /// Parses the JSON shape; an empty object or `null` means "everything".
    pub fn from_json(v: &Json) -> Result<Filter, FilterError> {
        let mut count = 0;
        parse_node(v, "", 0, &mut count)
    }

    /// An empty `all` group (matches every record).
    pub fn everything() -> Filter {
        Filter::All(Vec::new())
    }

    /// Both trees must match.
    pub fn and(self, other: Filter) -> Filter {
        Filter::All(vec![self, other])
    }

    /// Checks the tree against a module and types every operand.
    pub fn resolve(&self, module: &ModuleDef, ctx: &FilterContext) -> Result<Resolved, FilterError> {
        resolve_node(self, module, ctx, "")
    }
}

fn parse_node(v: &Json, path: &str, depth: usize, count: &mut usize) -> Result<Filter, FilterError> {
    if depth > MAX_DEPTH {
        return Err(err(path, FilterErrorKind::TooDeep));
    }
    let obj = match v {
        Json::Null => return Ok(Filter::everything()),
        Json::Object(o) => o,
        _ => {
            return Err(err(
                path,
                FilterErrorKind::Shape(
                    "expected an object: a group {\"all\":[…]} / {\"any\":[…]} or a condition {\"field\",\"op\",\"value\"}",
                ),
            ));
        }
    };
    if obj.is_empty() {
        return Ok(Filter::everything());
    }
    for (key, ctor) in [("all", Filter::All as fn(Vec<Filter>) -> Filter), ("any", Filter::Any)] {
        if let Some(children) = obj.get(key) {
            if obj.len() != 1 {
                return Err(err(
                    path,
                    FilterErrorKind::Shape("a group has exactly one key, `all` or `any`"),
                ));
            }
            let Json::Array(items) = children else {
                return Err(err(
                    &format!("{path}.{key}"),
                    FilterErrorKind::Shape("a group holds an array"),
                ));
            };
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(parse_node(item, &format!("{path}.{key}[{i}]"), depth + 1, count)?);
            }
            return Ok(ctor(out));
        }
    }
    *count += 1;
    if *count > MAX_CONDITIONS {
        return Err(err(path, FilterErrorKind::TooMany));
    }
    if let Some(k) = obj.keys().find(|k| !matches!(k.as_str(), "field" | "op" | "value")) {
        let _ = k;
        return Err(err(
            path,
            FilterErrorKind::Shape("a condition has only the keys field, op and value"),
        ));
    }
    let field = match obj.get("field") {
        Some(Json::String(s)) => s.clone(),
        _ => {
            return Err(err(
                &format!("{path}.field"),
                FilterErrorKind::Shape("`field` must be a string"),
            ));
        }
    };
    let op_text = match obj.get("op") {
        Some(Json::String(s)) => s.clone(),
        _ => {
            return Err(err(
                &format!("{path}.op"),
                FilterErrorKind::Shape("`op` must be a string"),
            ));
        }
    };
    let op =
        Op::parse(&op_text).ok_or_else(|| err(&format!("{path}.op"), FilterErrorKind::UnknownOperator(op_text)))?;
    let value = obj.get("value").cloned().unwrap_or(Json::Null);
    if let Json::Array(a) = &value
        && a.len() > MAX_IN_VALUES
    {
        return Err(err(&format!("{path}.value"), FilterErrorKind::TooMany));
    }
    Ok(Filter::Cond { field, op, value })
}

fn id_field() -> FieldDef {
    FieldDef {
        name: "id".into(),
        field_type: FieldType::Integer,
        labels: Labels::new("ID", "ID"),
        block: String::new(),
        mandatory: false,
        readonly: true,
        unique: true,
        default: None,
        picklist: None,
        targets: Vec::new(),
        max_length: None,
        scale: None,
        searchable: false,
        list_column: false,
        help: None,
        custom: false,
        sequence: 0,
        number_prefix: None,
    }
}

fn resolve_node(f: &Filter, module: &ModuleDef, ctx: &FilterContext, path: &str) -> Result<Resolved, FilterError> {
    match f {
        Filter::All(items) | Filter::Any(items) => {
            let key = if matches!(f, Filter::All(_)) { "all" } else { "any" };
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(resolve_node(item, module, ctx, &format!("{path}.{key}[{i}]"))?);
            }
            Ok(if key == "all" {
                Resolved::All(out)
            } else {
                Resolved::Any(out)
            })
        }
        Filter::Cond { field, op, value } => {
            let def = if field == "id" {
                id_field()
            } else {
                module
                    .field(field)
                    .cloned()
                    .ok_or_else(|| err(&format!("{path}.field"), FilterErrorKind::UnknownField(field.clone())))?
            };
            resolve_condition(def, *op, value, ctx, path)
        }
    }
}

/// Whether the operator named `op` (`eq`, `starts_with`, …) applies to fields of type `t`:
/// the rule [`Filter::resolve`] enforces, for builders that offer only valid operators.
pub fn op_allowed_for(t: FieldType, op: &str) -> bool {
    Op::parse(op).is_some_and(|o| op_allowed(t, o))
}

fn op_allowed(t: FieldType, op: Op) -> bool {
    use FieldType as T;
    match op {
        Op::IsEmpty | Op::IsNotEmpty | Op::Eq | Op::Ne | Op::In | Op::NotIn => true,
        Op::Contains => !matches!(
            t,
            T::Boolean
                | T::Reference
                | T::Owner
                | T::Integer
                | T::Decimal
                | T::Currency
                | T::Percent
                | T::Date
                | T::Datetime
                | T::Time
        ),
        Op::StartsWith | Op::EndsWith => matches!(
            t,
            T::Text | T::Textarea | T::Email | T::Phone | T::Url | T::AutoNumber | T::Picklist
        ),
        Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::Between => matches!(
            t,
            T::Integer
                | T::Decimal
                | T::Currency
                | T::Percent
                | T::Date
                | T::Datetime
                | T::Time
                | T::Text
                | T::AutoNumber
        ),
    }
}

fn resolve_condition(
    field: FieldDef,
    op: Op,
    value: &Json,
    ctx: &FilterContext,
    path: &str,
) -> Result<Resolved, FilterError> {
    let t = field.field_type;
    if !op_allowed(t, op) {
        let op_name = serde_json::to_value(op)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        return Err(err(
            &format!("{path}.op"),
            FilterErrorKind::OperatorNotForType {
                op: op_name,
                field_type: t.as_str(),
            },
        ));
    }
    let vpath = format!("{path}.value");
    // Relative dates become ranges first: eq → between, ne → outside, lt/ge → from, le/gt → to.
    if matches!(t, FieldType::Date | FieldType::Datetime)
        && let Some(range) = relative_or_day_range(&field, value, ctx, &vpath)?
    {
        let (from, to) = range;
        let cond = |op, operand| {
            Resolved::Cond(Box::new(Condition {
                field: field.clone(),
                op,
                operand,
            }))
        };
        return Ok(match op {
            Op::Eq | Op::Between | Op::In => cond(Op::Between, Operand::Range(from, to)),
            Op::Ne | Op::NotIn => Resolved::Any(vec![
                cond(Op::Lt, Operand::One(from)),
                cond(Op::Gt, Operand::One(to)),
                cond(Op::IsEmpty, Operand::None),
            ]),
            Op::Lt => cond(Op::Lt, Operand::One(from)),
            Op::Ge => cond(Op::Ge, Operand::One(from)),
            Op::Le => cond(Op::Le, Operand::One(to)),
            Op::Gt => cond(Op::Gt, Operand::One(to)),
            _ => {
                return Err(err(
                    &vpath,
                    FilterErrorKind::Shape("this operator does not take a relative date"),
                ));
            }
        });
    }
    let operand = match op {
        Op::IsEmpty | Op::IsNotEmpty => Operand::None,
        Op::Contains | Op::StartsWith | Op::EndsWith if !t.is_list() => match value {
            // PostgreSQL refuses NUL in text; no stored value can hold one anyway.
            Json::String(s) if s.contains('\0') => {
                return Err(err(
                    &vpath,
                    FilterErrorKind::Shape("text may not contain a NUL character"),
                ));
            }
            Json::String(s) if !s.is_empty() => Operand::Text(s.clone()),
            Json::Number(n) => Operand::Text(n.to_string()),
            _ => {
                return Err(err(&vpath, FilterErrorKind::Shape("expected a non-empty string")));
            }
        },
        Op::In | Op::NotIn => {
            let Json::Array(items) = value else {
                return Err(err(&vpath, FilterErrorKind::Shape("`in` and `not_in` take an array")));
            };
            let mut vals = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                vals.push(parse_operand(&field, item, ctx, &format!("{vpath}[{i}]"))?);
            }
            Operand::Many(vals)
        }
        Op::Between => {
            let Json::Array(items) = value else {
                return Err(err(&vpath, FilterErrorKind::Shape("`between` takes [from, to]")));
            };
            if items.len() != 2 {
                return Err(err(&vpath, FilterErrorKind::Shape("`between` takes [from, to]")));
            }
            Operand::Range(
                parse_operand(&field, &items[0], ctx, &format!("{vpath}[0]"))?,
                parse_operand(&field, &items[1], ctx, &format!("{vpath}[1]"))?,
            )
        }
        _ => {
            let v = parse_operand(&field, value, ctx, &vpath)?;
            if v == Value::Null {
                // `eq null` is the natural way to write "is empty"
                return Ok(Resolved::Cond(Box::new(Condition {
                    field,
                    op: if op == Op::Ne { Op::IsNotEmpty } else { Op::IsEmpty },
                    operand: Operand::None,
                })));
            }
            Operand::One(v)
        }
    };
    Ok(Resolved::Cond(Box::new(Condition { field, op, operand })))
}

fn parse_operand(field: &FieldDef, value: &Json, ctx: &FilterContext, path: &str) -> Result<Value, FilterError> {
    let picklist = ctx.registry.picklist_of(field);
    let pctx = ParseContext { picklist, tz: ctx.tz };
    // A list field compares one element at a time.
    let mut single = field.clone();
    if field.field_type == FieldType::Multipicklist {
        single.field_type = FieldType::Picklist;
    } else if matches!(field.field_type, FieldType::Tags | FieldType::AutoNumber) {
        single.field_type = FieldType::Text;
    }
    single.max_length = None;
    parse_json(&single, value, &pctx).map_err(|e| err(path, FilterErrorKind::BadValue(e)))
}

/// For date and datetime fields: a relative date object, or (datetime fields) a plain
/// date meaning that whole day, becomes an inclusive range.
fn relative_or_day_range(
    field: &FieldDef,
    value: &Json,
    ctx: &FilterContext,
    path: &str,
) -> Result<Option<(Value, Value)>, FilterError> {
    let days = match value {
        Json::Object(o) if o.contains_key("relative") => Some(relative_days(o, ctx.today, path)?),
        Json::String(s) if field.field_type == FieldType::Datetime && s.trim().len() <= 11 => {
            parse_date(s).ok().map(|d| (d, d))
        }
        _ => None,
    };
    let Some((from, to)) = days else {
        return Ok(None);
    };
    Ok(Some(match field.field_type {
        FieldType::Date => (Value::Date(from), Value::Date(to)),
        _ => {
            let start = day_start(from, ctx.tz).map_err(|m| err(path, FilterErrorKind::BadRelative(m)))?;
            let next = to
                .checked_add(1.day())
                .map_err(|e| err(path, FilterErrorKind::BadRelative(e.to_string())))?;
            let end = day_start(next, ctx.tz).map_err(|m| err(path, FilterErrorKind::BadRelative(m)))?;
            let end = end
                .checked_sub(1.millisecond())
                .map_err(|e| err(path, FilterErrorKind::BadRelative(e.to_string())))?;
            (Value::DateTime(start), Value::DateTime(end))
        }
    }))
}

fn day_start(d: Date, tz: &TimeZone) -> Result<Timestamp, String> {
    d.to_zoned_datetime(tz.clone())
        .map(|z| z.timestamp())
        .map_err(|e| e.to_string())
}

/// The inclusive day range a relative date names, weeks starting on Monday.
pub fn relative_days(o: &serde_json::Map<String, Json>, today: Date, path: &str) -> Result<(Date, Date), FilterError> {
    let bad = |m: &str| err(path, FilterErrorKind::BadRelative(m.to_string()));
    if let Some(k) = o.keys().find(|k| !matches!(k.as_str(), "relative" | "n")) {
        return Err(bad(&format!("unexpected key `{k}`")));
    }
    let name = o
        .get("relative")
        .and_then(Json::as_str)
        .ok_or_else(|| bad("`relative` must be a string"))?;
    let n = match o.get("n") {
        None => None,
        Some(v) => Some(
            v.as_i64()
                .filter(|n| (1..=3650).contains(n))
                .ok_or_else(|| bad("`n` must be a whole number from 1 to 3650"))?,
        ),
    };
    let add = |d: Date, days: i64| d.checked_add(days.days()).map_err(|e| bad(&e.to_string()));
    let week_start = add(today, -i64::from(today.weekday().to_monday_zero_offset()))?;
    let month_start = today.first_of_month();
    let quarter_start = Date::new(today.year(), (today.month() - 1) / 3 * 3 + 1, 1).map_err(|e| bad(&e.to_string()))?;
    let months = |d: Date, m: i32| d.checked_add(m.months()).map_err(|e| bad(&e.to_string()));
    let year_start = Date::new(today.year(), 1, 1).map_err(|e| bad(&e.to_string()))?;
    let need_n = || n.ok_or_else(|| bad("this relative date needs `n`"));
    let range = match name {
        "today" => (today, today),
        "yesterday" => (add(today, -1)?, add(today, -1)?),
        "tomorrow" => (add(today, 1)?, add(today, 1)?),
        "this_week" => (week_start, add(week_start, 6)?),
        "last_week" => (add(week_start, -7)?, add(week_start, -1)?),
        "next_week" => (add(week_start, 7)?, add(week_start, 13)?),
        "this_month" => (month_start, today.last_of_month()),
        "last_month" => {
            let s = months(month_start, -1)?;
            (s, s.last_of_month())
        }
        "next_month" => {
            let s = months(month_start, 1)?;
            (s, s.last_of_month())
        }
        "this_quarter" => (quarter_start, add(months(quarter_start, 3)?, -1)?),
        "last_quarter" => (months(quarter_start, -3)?, add(quarter_start, -1)?),
        "next_quarter" => (months(quarter_start, 3)?, add(months(quarter_start, 6)?, -1)?),
        "this_year" => (year_start, add(months(year_start, 12)?, -1)?),
        "last_year" => (months(year_start, -12)?, add(year_start, -1)?),
        "last_n_days" => (add(today, -need_n()?)?, today),
        "next_n_days" => (today, add(today, need_n()?)?),
        other => return Err(bad(&format!("unknown relative date `{other}`"))),
    };
    Ok(range)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    static UTC: TimeZone = TimeZone::UTC;

    fn ctx(reg: &Registry) -> FilterContext<'_> {
        FilterContext {
            registry: reg,
            today: Date::new(2024, 5, 15).unwrap(),
            tz: &UTC,
        }
    }

    fn resolve(module: &str, v: Json) -> Result<Resolved, FilterError> {
        let reg = Registry::builtin().unwrap();
        let m = reg.module(module).unwrap().clone();
        Filter::from_json(&v)?.resolve(&m, &ctx(&reg))
    }

    #[test]
    fn relative_ranges() {
        let today = Date::new(2024, 5, 15).unwrap(); // a Wednesday
        let r = |name: &str, n: Option<i64>| {
            let mut o = serde_json::Map::new();
            o.insert("relative".into(), json!(name));
            if let Some(n) = n {
                o.insert("n".into(), json!(n));
            }
            let (a, b) = relative_days(&o, today, "").unwrap();
            (a.to_string(), b.to_string())
        };
        assert_eq!(r("this_week", None), ("2024-05-13".into(), "2024-05-19".into()));
        assert_eq!(r("last_week", None), ("2024-05-06".into(), "2024-05-12".into()));
        assert_eq!(r("last_month", None), ("2024-04-01".into(), "2024-04-30".into()));
        assert_eq!(r("this_quarter", None), ("2024-04-01".into(), "2024-06-30".into()));
        assert_eq!(r("last_quarter", None), ("2024-01-01".into(), "2024-03-31".into()));
        assert_eq!(r("this_year", None), ("2024-01-01".into(), "2024-12-31".into()));
        assert_eq!(r("last_n_days", Some(14)), ("2024-05-01".into(), "2024-05-15".into()));
        assert_eq!(r("next_n_days", Some(7)), ("2024-05-15".into(), "2024-05-22".into()));
    }

    #[test]
    fn conditions_are_typed() {
        let r = resolve(
            "Opportunities",
            json!({"all":[
                {"field":"amount","op":"ge","value":"1000.50"},
                {"field":"sales_stage","op":"in","value":["赢单","Proposal"]},
                {"field":"closingdate","op":"eq","value":{"relative":"this_month"}}
            ]}),
        )
        .unwrap();
        let Resolved::All(items) = r else {
            panic!("expected all")
        };
        assert_eq!(items.len(), 3);
        let Resolved::Cond(c) = &items[0] else { panic!() };
        assert_eq!(c.operand, Operand::One(Value::Scaled(100050)));
        let Resolved::Cond(c) = &items[1] else { panic!() };
        assert_eq!(
            c.operand,
            Operand::Many(vec![Value::Text("Closed Won".into()), Value::Text("Proposal".into())])
        );
        let Resolved::Cond(c) = &items[2] else { panic!() };
        assert_eq!(c.op, Op::Between);
    }

    #[test]
    fn errors_name_the_path() {
        let e = resolve(
            "Leads",
            json!({"all":[{"field":"lastname","op":"eq","value":"x"},{"field":"nope","op":"eq","value":1}]}),
        )
        .unwrap_err();
        assert_eq!(e.path, ".all[1].field");
        let e = resolve("Leads", json!({"any":[{"field":"lastname","op":"like","value":"x"}]})).unwrap_err();
        assert!(e.to_string().contains("unknown operator"), "{e}");
        let e = resolve("Opportunities", json!({"field":"amount","op":"gt","value":"abc"})).unwrap_err();
        assert_eq!(e.path, ".value");
        let e = resolve("Leads", json!({"field":"emailoptout","op":"contains","value":"x"})).unwrap_err();
        assert!(matches!(e.kind, FilterErrorKind::OperatorNotForType { .. }));
        assert!(resolve("Leads", json!([1, 2])).is_err());
        assert!(resolve("Leads", json!({"all":[], "any":[]})).is_err());
        assert!(resolve("Leads", json!({"field":"lastname","op":"eq","value":"x","extra":1})).is_err());
    }

    #[test]
    fn depth_and_size_are_bounded() {
        let mut v = json!({"field":"lastname","op":"eq","value":"x"});
        for _ in 0..20 {
            v = json!({"all":[v]});
        }
        assert!(matches!(
            Filter::from_json(&v).unwrap_err().kind,
            FilterErrorKind::TooDeep
        ));
        let many: Vec<_> = (0..300)
            .map(|_| json!({"field":"lastname","op":"eq","value":"x"}))
            .collect();
        assert!(matches!(
            Filter::from_json(&json!({"any": many})).unwrap_err().kind,
            FilterErrorKind::TooMany
        ));
    }
}
