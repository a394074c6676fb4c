//! The advanced filter of list pages: conditions carried in the query string
//! (`f`, `o`, `v`, `g` repeated, `m=all|any` for the top group and `m1`… for the nested
//! ones), turned into a filter tree, and back into the builder. Relative dates are
//! written `@this_month` or `@last_n_days:14` (or chosen with `r` and `n`).

use sable_core::meta::FieldType;
use sable_core::{ModuleDef, Registry};
use serde::Serialize;
use serde_json::{Value as Json, json};

use super::render::Catalogs;
use sable_core::Lang;

/// The operators offered, in the builder's order.
pub const OPS: [&str; 14] = [
    "eq",
    "ne",
    "contains",
    "starts_with",
    "ends_with",
    "in",
    "not_in",
    "lt",
    "le",
    "gt",
    "ge",
    "between",
    "is_empty",
    "is_not_empty",
];

/// Nested groups the builder offers inside its top group (one level deep).
pub const MAX_GROUPS: usize = 3;

/// Relative dates the builder's picker offers (`last_n_days` and `next_n_days` take N).
pub const RELATIVE: [&str; 11] = [
    "today",
    "yesterday",
    "this_week",
    "last_week",
    "this_month",
    "last_month",
    "this_quarter",
    "last_quarter",
    "this_year",
    "last_n_days",
    "next_n_days",
];

/// One condition as typed in the builder; `group` 0 is the top group, 1.. a nested one.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct ConditionRow {
    pub field: String,
    pub op: String,
    pub value: String,
    pub group: usize,
}

/// The builder's state: the top group's mode, its conditions (each in the top group or in
/// one nested group) and each nested group's mode (`group_any[k - 1]` for group `k`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Builder {
    pub any: bool,
    pub rows: Vec<ConditionRow>,
    pub group_any: Vec<bool>,
}

impl Builder {
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Whether nested group `k` (1-based) matches any of its conditions.
    pub fn group_is_any(&self, k: usize) -> bool {
        k >= 1 && self.group_any.get(k - 1).copied().unwrap_or(false)
    }

    /// The query pairs that carry this builder (for links and hidden forms).
    pub fn pairs(&self) -> Vec<(String, String)> {
        let p = |k: &str, v: &str| (k.to_string(), v.to_string());
        let mut out = vec![p("m", if self.any { "any" } else { "all" })];
        for k in 1..=MAX_GROUPS {
            if self.group_is_any(k) {
                out.push(p(&format!("m{k}"), "any"));
            }
        }
        for r in &self.rows {
            out.extend([
                p("f", &r.field),
                p("o", &r.op),
                p("v", &r.value),
                p("g", &r.group.to_string()),
            ]);
        }
        out
    }
}

fn all_of<'a>(pairs: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Reads the builder from query pairs: per row `f`, `o`, `v` (or a relative date `r` with
/// `n`) and its group `g`; `m` and `m1`… the groups' modes. Rows with no field are ignored.
pub fn conditions(pairs: &[(String, String)]) -> Builder {
    let fields = all_of(pairs, "f");
    let ops = all_of(pairs, "o");
    let values = all_of(pairs, "v");
    let relatives = all_of(pairs, "r");
    let counts = all_of(pairs, "n");
    let groups = all_of(pairs, "g");
    let mode = |key: &str| pairs.iter().any(|(k, v)| k == key && v == "any");
    let rows = fields
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.is_empty())
        .take(40)
        .map(|(i, f)| {
            let relative = relatives.get(i).copied().unwrap_or("").trim();
            let value = if relative.is_empty() {
                values.get(i).copied().unwrap_or("").to_string()
            } else {
                match counts.get(i).map(|n| n.trim()).filter(|n| !n.is_empty()) {
                    Some(n) => format!("@{relative}:{n}"),
                    None => format!("@{relative}"),
                }
            };
            ConditionRow {
                field: f.to_string(),
                op: ops.get(i).copied().unwrap_or("eq").to_string(),
                value,
                group: groups
                    .get(i)
                    .and_then(|g| g.trim().parse::<usize>().ok())
                    .filter(|g| *g <= MAX_GROUPS)
                    .unwrap_or(0),
            }
        })
        .collect();
    Builder {
        any: mode("m"),
        rows,
        group_any: (1..=MAX_GROUPS).map(|k| mode(&format!("m{k}"))).collect(),
    }
}

fn value_json(op: &str, text: &str) -> Json {
    let text = text.trim();
    if let Some(rel) = text.strip_prefix('@') {
        let (name, n) = rel
            .split_once(':')
            .map_or((rel, None), |(a, b)| (a, b.trim().parse::<i64>().ok()));
        return match n {
            Some(n) => json!({"relative": name.trim(), "n": n}),
            None => json!({"relative": name.trim()}),
        };
    }
    match op {
        "in" | "not_in" => Json::Array(
            text.split([',', '，'])
                .map(|s| json!(s.trim()))
                .filter(|v| v != "")
                .collect(),
        ),
        "between" => {
            let (a, b) = text
                .split_once("..")
                .or_else(|| text.split_once(','))
                .unwrap_or((text, ""));
            json!([a.trim(), b.trim()])
        }
        "is_empty" | "is_not_empty" => Json::Null,
        _ => json!(text),
    }
}

fn group_json(any: bool, items: Vec<Json>) -> Json {
    if any {
        json!({"any": items})
    } else {
        json!({"all": items})
    }
}

/// The filter tree of the builder: the top group holding its conditions and, where its
/// first condition stood, each nested group.
pub fn tree(b: &Builder) -> Json {
    let cond = |r: &ConditionRow| json!({"field": r.field, "op": r.op, "value": value_json(&r.op, &r.value)});
    let mut items = Vec::new();
    let mut placed = [false; MAX_GROUPS + 1];
    for r in &b.rows {
        if r.group == 0 {
            items.push(cond(r));
        } else if !placed[r.group] {
            placed[r.group] = true;
            let members = b.rows.iter().filter(|x| x.group == r.group).map(cond).collect();
            items.push(group_json(b.group_is_any(r.group), members));
        }
    }
    group_json(b.any, items)
}

/// `(any, items)` of a group `{"all": […]}` or `{"any": […]}`.
fn as_group(v: &Json) -> Option<(bool, &Vec<Json>)> {
    let o = v.as_object()?;
    if o.len() != 1 {
        return None;
    }
    match (o.get("all"), o.get("any")) {
        (Some(Json::Array(a)), _) => Some((false, a)),
        (_, Some(Json::Array(a))) => Some((true, a)),
        _ => None,
    }
}

fn value_text(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        Json::Array(a) => a
            .iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(","),
        Json::Object(o) => match (o.get("relative").and_then(Json::as_str), o.get("n")) {
            (Some(r), Some(n)) => format!("@{r}:{n}"),
            (Some(r), None) => format!("@{r}"),
            _ => v.to_string(),
        },
        other => other.to_string(),
    }
}

fn as_row(v: &Json, group: usize) -> Option<ConditionRow> {
    Some(ConditionRow {
        field: v.get("field")?.as_str()?.to_string(),
        op: v.get("op")?.as_str()?.to_string(),
        value: value_text(v.get("value").unwrap_or(&Json::Null)),
        group,
    })
}

/// The builder showing a saved view's filter: a top group of conditions and groups of
/// conditions. `None` when the tree is deeper or larger than the builder can show, so the
/// caller applies the saved tree as it is rather than a lossy copy.
pub fn rows_of(tree: &Json) -> Option<Builder> {
    if tree.is_null() || tree.as_object().is_some_and(|o| o.is_empty()) {
        return Some(Builder::default());
    }
    if let Some(row) = as_row(tree, 0) {
        return Some(Builder {
            rows: vec![row],
            ..Builder::default()
        });
    }
    let (any, items) = as_group(tree)?;
    let mut b = Builder {
        any,
        ..Builder::default()
    };
    for item in items {
        if let Some((group_any, members)) = as_group(item) {
            b.group_any.push(group_any);
            let k = b.group_any.len();
            if k > MAX_GROUPS || members.is_empty() {
                return None;
            }
            for m in members {
                b.rows.push(as_row(m, k)?);
            }
        } else {
            b.rows.push(as_row(item, 0)?);
        }
    }
    Some(b)
}

/// A choice in a select.
#[derive(Serialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// The fields the builder offers.
pub fn field_choices(module: &ModuleDef, lang: Lang) -> Vec<Choice> {
    module
        .fields
        .iter()
        .map(|f| Choice {
            value: f.name.clone(),
            label: f.label(lang).into(),
        })
        .collect()
}

/// One row of the builder as shown: the operators valid for its field's type and the
/// value widget that type calls for (`text`, `select`, `date` with a relative-date picker,
/// or `none` for operators that take no value).
#[derive(Serialize)]
pub struct RowView {
    pub field: String,
    pub op: String,
    pub value: String,
    pub group: usize,
    pub ops: Vec<Choice>,
    pub widget: &'static str,
    pub options: Vec<Choice>,
    pub relative: String,
    pub n: String,
}

pub fn row_view(registry: &Registry, module: &ModuleDef, row: &ConditionRow, lang: Lang) -> RowView {
    let c = Catalogs::embedded();
    let field = module.field(&row.field);
    let ops: Vec<Choice> = OPS
        .iter()
        .filter(|o| field.is_none_or(|f| sable_core::filter::op_allowed_for(f.field_type, o)))
        .map(|o| Choice {
            value: o.to_string(),
            label: c.get(lang, &format!("op_{o}")).to_string(),
        })
        .collect();
    let op = if ops.iter().any(|o| o.value == row.op) {
        row.op.clone()
    } else {
        ops.first().map(|o| o.value.clone()).unwrap_or_default()
    };
    let (relative, n) = match row.value.trim().strip_prefix('@') {
        Some(rel) => match rel.split_once(':') {
            Some((r, n)) => (r.trim().to_string(), n.trim().to_string()),
            None => (rel.trim().to_string(), String::new()),
        },
        None => (String::new(), String::new()),
    };
    let single = !matches!(op.as_str(), "in" | "not_in" | "between");
    let mut options = Vec::new();
    let widget = match field.map(|f| f.field_type) {
        _ if matches!(op.as_str(), "is_empty" | "is_not_empty") => "none",
        Some(FieldType::Picklist) if single => {
            if let Some(f) = field
                && let Some(p) = registry.picklist_of(f)
            {
                options = p
                    .values
                    .iter()
                    .map(|v| Choice {
                        value: v.value.clone(),
                        label: v.labels.get(lang).into(),
                    })
                    .collect();
            }
            "select"
        }
        Some(FieldType::Boolean) => {
            options = [("1", "yes"), ("0", "no")]
                .iter()
                .map(|(v, k)| Choice {
                    value: v.to_string(),
                    label: c.get(lang, k).to_string(),
                })
                .collect();
            "select"
        }
        Some(FieldType::Date | FieldType::Datetime) if single => "date",
        _ => "text",
    };
    RowView {
        field: row.field.clone(),
        op,
        value: if relative.is_empty() {
            row.value.clone()
        } else {
            String::new()
        },
        group: row.group,
        ops,
        widget,
        options,
        relative,
        n,
    }
}

/// The relative dates of the picker, labelled.
pub fn relative_choices(lang: Lang) -> Vec<Choice> {
    let c = Catalogs::embedded();
    RELATIVE
        .iter()
        .map(|r| Choice {
            value: r.to_string(),
            label: c.get(lang, &format!("rel_{r}")).to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_trees_and_back() {
        let pairs: Vec<(String, String)> = [
            ("f", "leadstatus"),
            ("o", "in"),
            ("v", "Hot, Warm"),
            ("f", "createdtime"),
            ("o", "eq"),
            ("v", "@last_n_days:14"),
            ("f", ""),
            ("o", "eq"),
            ("v", ""),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let b = conditions(&pairs);
        assert_eq!(b.rows.len(), 2);
        let t = tree(&b);
        assert_eq!(
            t,
            json!({"all": [{"field": "leadstatus", "op": "in", "value": ["Hot", "Warm"]}, {"field": "createdtime", "op": "eq", "value": {"relative": "last_n_days", "n": 14}}]})
        );
        let back = rows_of(&t).unwrap();
        assert!(!back.any);
        assert_eq!(back.rows[1].value, "@last_n_days:14");
        assert_eq!(back.rows[0].value, "Hot,Warm");
        assert_eq!(value_json("between", "1..5"), json!(["1", "5"]));
    }

    #[test]
    fn nested_groups_round_trip() {
        let t = json!({"any": [
            {"field": "lastname", "op": "eq", "value": "王"},
            {"all": [
                {"field": "leadstatus", "op": "eq", "value": "Hot"},
                {"field": "createdtime", "op": "eq", "value": {"relative": "this_month"}}
            ]},
            {"any": [{"field": "city", "op": "starts_with", "value": "北"}]}
        ]});
        let b = rows_of(&t).unwrap();
        assert!(b.any && !b.group_is_any(1) && b.group_is_any(2));
        assert_eq!(tree(&b), t);
        // through the query string and back
        let again = conditions(&b.pairs());
        assert_eq!(tree(&again), t);
        // the relative-date picker's fields
        let picked: Vec<(String, String)> = [
            ("f", "createdtime"),
            ("o", "eq"),
            ("v", ""),
            ("r", "last_n_days"),
            ("n", "7"),
            ("g", "0"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(conditions(&picked).rows[0].value, "@last_n_days:7");
        // deeper than one level: not shown in the builder (the saved tree applies as is)
        assert!(rows_of(&json!({"all": [{"any": [{"all": []}]}]})).is_none());
    }
}
