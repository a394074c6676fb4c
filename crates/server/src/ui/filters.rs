//! The advanced filter of list pages: conditions carried in the query string
//! (`f`, `o`, `v` repeated, `m=all|any`), turned into a filter tree, and back into rows
//! of the builder. Relative dates are written `@this_month` or `@last_n_days:14`.

use sable_core::ModuleDef;
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

/// One condition as typed in the builder.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct ConditionRow {
    pub field: String,
    pub op: String,
    pub value: String,
}

/// Reads the builder's conditions from query pairs (rows with no field are ignored).
pub fn conditions(pairs: &[(String, String)]) -> (Vec<ConditionRow>, bool) {
    let fields: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "f")
        .map(|(_, v)| v.as_str())
        .collect();
    let ops: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "o")
        .map(|(_, v)| v.as_str())
        .collect();
    let values: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "v")
        .map(|(_, v)| v.as_str())
        .collect();
    let any = pairs.iter().any(|(k, v)| k == "m" && v == "any");
    let rows = fields
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.is_empty())
        .take(20)
        .map(|(i, f)| ConditionRow {
            field: f.to_string(),
            op: ops.get(i).copied().unwrap_or("eq").to_string(),
            value: values.get(i).copied().unwrap_or("").to_string(),
        })
        .collect();
    (rows, any)
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

/// The filter tree of the builder's rows.
pub fn tree(rows: &[ConditionRow], any: bool) -> Json {
    let items: Vec<Json> = rows
        .iter()
        .map(|r| json!({"field": r.field, "op": r.op, "value": value_json(&r.op, &r.value)}))
        .collect();
    if any {
        json!({"any": items})
    } else {
        json!({"all": items})
    }
}

/// Rows of a saved view's filter (a flat `all`/`any` group), for showing it in the builder.
pub fn rows_of(tree: &Json) -> (Vec<ConditionRow>, bool) {
    let (items, any) = match (tree.get("all"), tree.get("any")) {
        (Some(Json::Array(a)), _) => (a.clone(), false),
        (_, Some(Json::Array(a))) => (a.clone(), true),
        _ => (Vec::new(), false),
    };
    let text = |v: &Json| match v {
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
    };
    let rows = items
        .iter()
        .filter_map(|c| {
            Some(ConditionRow {
                field: c.get("field")?.as_str()?.to_string(),
                op: c.get("op")?.as_str()?.to_string(),
                value: text(c.get("value").unwrap_or(&Json::Null)),
            })
        })
        .collect();
    (rows, any)
}

/// A choice in a select.
#[derive(Serialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// The fields and operators the builder offers.
pub fn choices(module: &ModuleDef, lang: Lang) -> (Vec<Choice>, Vec<Choice>) {
    let c = Catalogs::embedded();
    let fields = module
        .fields
        .iter()
        .map(|f| Choice {
            value: f.name.clone(),
            label: f.label(lang).into(),
        })
        .collect();
    let ops = OPS
        .iter()
        .map(|o| Choice {
            value: o.to_string(),
            label: c.get(lang, &format!("op_{o}")).to_string(),
        })
        .collect();
    (fields, ops)
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
        let (rows, any) = conditions(&pairs);
        assert_eq!(rows.len(), 2);
        let t = tree(&rows, any);
        assert_eq!(
            t,
            json!({"all": [{"field": "leadstatus", "op": "in", "value": ["Hot", "Warm"]}, {"field": "createdtime", "op": "eq", "value": {"relative": "last_n_days", "n": 14}}]})
        );
        let (back, any) = rows_of(&t);
        assert!(!any);
        assert_eq!(back[1].value, "@last_n_days:14");
        assert_eq!(back[0].value, "Hot,Warm");
        assert_eq!(value_json("between", "1..5"), json!(["1", "5"]));
    }
}
