//! Evaluates a resolved filter tree against one record's values in memory, with the same
//! meaning the store's SQL gives it (empty is null, `ne` and `not_in` match empty values,
//! e-mail and phone compare by their normalised key, text matching ignores case).
//!
//! The workflow engine uses it for conditions and for "became true" (old against new
//! values); nothing here reads a database.

use std::cmp::Ordering;

use crate::filter::{Condition, Op, Operand, Resolved};
use crate::meta::FieldType;
use crate::record::FieldValues;
use crate::value::{Stored, Value};

/// True when the record's values meet the tree.
pub fn matches(tree: &Resolved, values: &FieldValues) -> bool {
    explain(tree, values).is_none()
}

/// `None` when the values meet the tree; otherwise the first condition that failed, as
/// `field op value` text for a run log ("why the condition did not match").
pub fn explain(tree: &Resolved, values: &FieldValues) -> Option<String> {
    match tree {
        Resolved::All(items) => items.iter().find_map(|i| explain(i, values)),
        Resolved::Any(items) => {
            if items.is_empty() {
                return Some("an empty `any` group matches nothing".into());
            }
            let reasons: Vec<String> = items.iter().map_while(|i| explain(i, values)).collect();
            (reasons.len() == items.len()).then(|| format!("none of: {}", reasons.join("; ")))
        }
        Resolved::Cond(c) => {
            if condition(c, values) {
                None
            } else {
                let actual = values
                    .get(&c.field.name)
                    .map(|v| v.to_text(&c.field))
                    .unwrap_or_default();
                Some(format!(
                    "{} {} {} (is {:?})",
                    c.field.name,
                    serde_json::to_value(c.op)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    operand_text(c),
                    actual
                ))
            }
        }
    }
}

fn operand_text(c: &Condition) -> String {
    match &c.operand {
        Operand::None => String::new(),
        Operand::One(v) => v.to_text(&c.field),
        Operand::Many(vs) => format!(
            "[{}]",
            vs.iter().map(|v| v.to_text(&c.field)).collect::<Vec<_>>().join(", ")
        ),
        Operand::Range(a, b) => format!("{}..{}", a.to_text(&c.field), b.to_text(&c.field)),
        Operand::Text(t) => format!("{t:?}"),
    }
}

/// The comparable form: the match key for e-mail and phone, the stored form otherwise.
fn key(v: &Value, matching: bool) -> Stored {
    let k = if matching { v.match_key() } else { Stored::Null };
    if k != Stored::Null { k } else { v.to_stored() }
}

fn cmp(a: &Stored, b: &Stored) -> Option<Ordering> {
    match (a, b) {
        (Stored::Int(x), Stored::Int(y)) => Some(x.cmp(y)),
        (Stored::Text(x), Stored::Text(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn condition(c: &Condition, values: &FieldValues) -> bool {
    let null = Value::Null;
    let v = values.get(&c.field.name).unwrap_or(&null);
    let empty = v.is_empty() || matches!(v, Value::Text(s) if s.is_empty());
    if c.field.field_type.is_list() {
        return list_condition(c, v, empty);
    }
    let is_bool = c.field.field_type == FieldType::Boolean;
    match (&c.op, &c.operand) {
        (Op::IsEmpty, _) => empty,
        (Op::IsNotEmpty, _) => !empty,
        (Op::Eq, Operand::One(want)) => {
            if is_bool && *want == Value::Bool(false) {
                return matches!(v, Value::Null | Value::Bool(false));
            }
            !matches!(v, Value::Null) && key(v, true) == key(want, true)
        }
        (Op::Ne, Operand::One(want)) => matches!(v, Value::Null) || key(v, true) != key(want, true),
        (Op::Lt | Op::Le | Op::Gt | Op::Ge, Operand::One(want)) => {
            if matches!(v, Value::Null) {
                return false;
            }
            match cmp(&key(v, false), &key(want, false)) {
                Some(o) => match c.op {
                    Op::Lt => o == Ordering::Less,
                    Op::Le => o != Ordering::Greater,
                    Op::Gt => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                },
                None => false,
            }
        }
        (Op::Between, Operand::Range(lo, hi)) => {
            if matches!(v, Value::Null) {
                return false;
            }
            let k = key(v, false);
            cmp(&k, &key(lo, false)).is_some_and(|o| o != Ordering::Less)
                && cmp(&k, &key(hi, false)).is_some_and(|o| o != Ordering::Greater)
        }
        (Op::In, Operand::Many(list)) => !matches!(v, Value::Null) && list.iter().any(|w| key(v, true) == key(w, true)),
        (Op::NotIn, Operand::Many(list)) => {
            matches!(v, Value::Null) || list.iter().all(|w| key(v, true) != key(w, true))
        }
        (Op::Contains | Op::StartsWith | Op::EndsWith, Operand::Text(t)) => {
            if matches!(v, Value::Null) {
                return false;
            }
            let hay = v.to_text(&c.field).to_lowercase();
            let needle = t.to_lowercase();
            match c.op {
                Op::Contains => hay.contains(&needle),
                Op::StartsWith => hay.starts_with(&needle),
                _ => hay.ends_with(&needle),
            }
        }
        _ => false,
    }
}

fn list_condition(c: &Condition, v: &Value, empty: bool) -> bool {
    let wanted: Vec<String> = match &c.operand {
        Operand::One(w) => vec![w.to_text(&c.field)],
        Operand::Many(ws) => ws
            .iter()
            .map(|w| match w {
                Value::Text(s) => s.clone(),
                other => other.to_text(&c.field),
            })
            .collect(),
        Operand::Text(t) => vec![t.clone()],
        _ => Vec::new(),
    };
    let has = |items: &[String]| wanted.iter().any(|w| items.iter().any(|i| i == w));
    let items: &[String] = match v {
        Value::List(items) => items,
        _ => &[],
    };
    match c.op {
        Op::IsEmpty => empty,
        Op::IsNotEmpty => !empty,
        Op::Eq | Op::Contains | Op::In => has(items),
        Op::Ne | Op::NotIn => matches!(v, Value::Null) || !has(items),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{Filter, FilterContext};
    use crate::registry::Registry;
    use proptest::prelude::*;
    use serde_json::json;

    fn tree(reg: &Registry, module: &str, v: serde_json::Value) -> Resolved {
        let tz = jiff::tz::TimeZone::UTC;
        let ctx = FilterContext {
            registry: reg,
            today: jiff::civil::date(2026, 12, 4),
            tz: &tz,
        };
        Filter::from_json(&v)
            .expect("shape")
            .resolve(reg.module(module).expect("module"), &ctx)
            .expect("resolve")
    }

    fn lead(pairs: &[(&str, Value)]) -> FieldValues {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn operators_mean_what_sql_means() {
        let reg = Registry::builtin().expect("builtin");
        let rec = lead(&[
            ("lastname", Value::Text("Zhang 张伟".into())),
            ("email", Value::Email("Wei@Example.com".into())),
            ("leadsource", Value::Text("Web Site".into())),
        ]);
        let yes = |v| matches(&tree(&reg, "Leads", v), &rec);
        assert!(yes(json!({"field": "email", "op": "eq", "value": "wei@example.COM"})));
        assert!(yes(json!({"field": "lastname", "op": "contains", "value": "张"})));
        assert!(yes(json!({"field": "lastname", "op": "starts_with", "value": "zhang"})));
        assert!(!yes(json!({"field": "lastname", "op": "ends_with", "value": "zhang"})));
        assert!(yes(
            json!({"field": "leadsource", "op": "in", "value": ["Web Site", "Cold Call"]})
        ));
        assert!(yes(json!({"field": "company", "op": "is_empty"})));
        assert!(yes(json!({"field": "company", "op": "ne", "value": "x"})));
        assert!(!yes(json!({"field": "company", "op": "eq", "value": "x"})));
        assert!(yes(
            json!({"any": [{"field": "company", "op": "eq", "value": "x"}, {"field": "lastname", "op": "is_not_empty"}]})
        ));
        assert!(!yes(json!({"any": []})));
        assert!(yes(json!({})));
        let why = explain(
            &tree(
                &reg,
                "Leads",
                json!({"all": [{"field": "leadsource", "op": "eq", "value": "Cold Call"}]}),
            ),
            &rec,
        )
        .expect("a reason");
        assert!(why.contains("leadsource eq Cold Call"), "{why}");
    }

    #[test]
    fn numbers_and_dates_compare_by_value() {
        let reg = Registry::builtin().expect("builtin");
        let rec = lead(&[
            ("amount", Value::Scaled(150_000)),
            ("closingdate", Value::Date(jiff::civil::date(2026, 12, 10))),
        ]);
        let yes = |v| matches(&tree(&reg, "Opportunities", v), &rec);
        assert!(yes(json!({"field": "amount", "op": "gt", "value": "1000"})));
        assert!(!yes(json!({"field": "amount", "op": "lt", "value": "1000"})));
        assert!(yes(
            json!({"field": "closingdate", "op": "between", "value": ["2026-12-01", "2026-12-31"]})
        ));
        assert!(yes(json!({"field": "closingdate", "op": "ge", "value": "2026-12-10"})));
        assert!(!yes(json!({"field": "probability", "op": "gt", "value": "1"})));
    }

    fn try_tree(reg: &Registry, v: serde_json::Value) -> Option<Resolved> {
        let tz = jiff::tz::TimeZone::UTC;
        let ctx = FilterContext {
            registry: reg,
            today: jiff::civil::date(2026, 12, 4),
            tz: &tz,
        };
        Filter::from_json(&v)
            .ok()?
            .resolve(reg.module("Leads").ok()?, &ctx)
            .ok()
    }

    proptest! {
        #[test]
        fn any_text_is_evaluated_without_panic(s in "\\PC{0,30}", t in "[a-zA-Z张伟 ]{1,6}") {
            let reg = Registry::builtin().expect("builtin");
            let rec = lead(&[("lastname", Value::Text(s.clone()))]);
            for op in ["contains", "starts_with", "ends_with", "eq", "ne"] {
                if let Some(tr) = try_tree(&reg, json!({"field": "lastname", "op": op, "value": t})) {
                    let _ = explain(&tr, &rec);
                }
            }
            // Whatever the resolver keeps of the needle, a record holding it matches.
            let rec = lead(&[("lastname", Value::Text(format!("{s}{t}{s}")))]);
            if let Some(tr) = try_tree(&reg, json!({"field": "lastname", "op": "contains", "value": t})) {
                prop_assert!(matches(&tr, &rec));
            }
        }
    }
}
