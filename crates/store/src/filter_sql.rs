//! Compiles a resolved filter tree and sort keys into SQL, for both dialects.
//!
//! The only place filter trees meet SQL. Values are bound; columns come from field
//! definitions and pass [`Sql::ident`]'s check.

use sable_core::filter::{Condition, Op, Operand, Resolved};
use sable_core::meta::{FieldDef, FieldType};
use sable_core::{Stored, Value};

use crate::sql::{Arg, Dialect, Sql};

/// Appends the condition for a resolved tree, as one parenthesised expression.
///
/// `walk_sort_index` is for list pages on SQLite: conditions on low-cardinality fields
/// (picklists, booleans, owners) are written `+t.col` so SQLite does not pick their index
/// and then sort every match; it walks the sort column's index and stops after one page.
/// SQLite's planner does not weigh `LIMIT` in that choice; PostgreSQL's does.
pub fn compile(sql: &mut Sql, alias: &str, tree: &Resolved, walk_sort_index: bool) {
    match tree {
        Resolved::All(items) | Resolved::Any(items) => {
            if items.is_empty() {
                sql.push(if matches!(tree, Resolved::All(_)) { "1=1" } else { "1=0" });
                return;
            }
            let joiner = if matches!(tree, Resolved::All(_)) {
                " AND "
            } else {
                " OR "
            };
            sql.push("(");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    sql.push(joiner);
                }
                compile(sql, alias, item, walk_sort_index);
            }
            sql.push(")");
        }
        Resolved::Cond(c) => {
            let unindexed = walk_sort_index && sql.dialect() == Dialect::Sqlite && is_low_cardinality(&c.field);
            let alias = if unindexed {
                format!("+{alias}")
            } else {
                alias.to_string()
            };
            condition(sql, &alias, c)
        }
    }
}

/// Fields with few distinct values, whose index rarely narrows a list page much.
pub fn is_low_cardinality(field: &FieldDef) -> bool {
    matches!(
        field.field_type,
        FieldType::Picklist | FieldType::Boolean | FieldType::Owner
    )
}

fn is_int(field: &FieldDef) -> bool {
    field.field_type.storage() == sable_core::meta::Storage::Int
}

/// Value and column to compare: email and phone compare by their normalised key.
fn target(field: &FieldDef, v: &Value, matching: bool) -> (String, Arg) {
    if matching && let Some(mc) = field.match_column() {
        return (mc, Arg::from_stored(&v.match_key(), false));
    }
    (field.name.clone(), Arg::from_stored(&v.to_stored(), is_int(field)))
}

fn like_pattern(text: &str, prefix: bool, suffix: bool) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    if prefix {
        out.push('%');
    }
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    if suffix {
        out.push('%');
    }
    out
}

fn like(sql: &mut Sql, alias: &str, col: &str, pattern: String) {
    sql.col(alias, col);
    sql.push(match sql.dialect() {
        Dialect::Sqlite => " LIKE ",
        Dialect::Postgres => " ILIKE ",
    });
    sql.bind(pattern).push(" ESCAPE '\\'");
}

fn empty_check(sql: &mut Sql, alias: &str, field: &FieldDef, empty: bool) {
    let col = &field.name;
    match (is_int(field), empty) {
        (true, true) => sql.push("(").col(alias, col).push(" IS NULL)"),
        (true, false) => sql.push("(").col(alias, col).push(" IS NOT NULL)"),
        (false, true) => sql
            .push("(")
            .col(alias, col)
            .push(" IS NULL OR ")
            .col(alias, col)
            .push(" = '')"),
        (false, false) => sql
            .push("(")
            .col(alias, col)
            .push(" IS NOT NULL AND ")
            .col(alias, col)
            .push(" <> '')"),
    };
}

fn list_has(sql: &mut Sql, alias: &str, field: &FieldDef, values: &[Value]) {
    if values.is_empty() {
        sql.push("1=0");
        return;
    }
    sql.push("(");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        let element = match v {
            Value::Text(s) => s.clone(),
            other => other.to_text(field),
        };
        let quoted = serde_json::to_string(&element).unwrap_or_default();
        // Exact element match inside the stored JSON array; case-sensitive on purpose.
        sql.col(alias, &field.name)
            .push(" LIKE ")
            .bind(like_pattern(&quoted, true, true))
            .push(" ESCAPE '\\'");
    }
    sql.push(")");
}

fn condition(sql: &mut Sql, alias: &str, c: &Condition) {
    let field = &c.field;
    if field.field_type.is_list() {
        return list_condition(sql, alias, c);
    }
    let bool_false = field.field_type == FieldType::Boolean;
    match (&c.op, &c.operand) {
        (Op::IsEmpty, _) => empty_check(sql, alias, field, true),
        (Op::IsNotEmpty, _) => empty_check(sql, alias, field, false),
        (Op::Eq, Operand::One(v)) => {
            if bool_false && *v == Value::Bool(false) {
                sql.push("(")
                    .col(alias, &field.name)
                    .push(" IS NULL OR ")
                    .col(alias, &field.name)
                    .push(" = 0)");
                return;
            }
            let (col, arg) = target(field, v, true);
            sql.col(alias, &col).push(" = ").bind(arg);
        }
        (Op::Ne, Operand::One(v)) => {
            let (col, arg) = target(field, v, true);
            sql.push("(")
                .col(alias, &col)
                .push(" IS NULL OR ")
                .col(alias, &col)
                .push(" <> ")
                .bind(arg)
                .push(")");
        }
        (Op::Lt | Op::Le | Op::Gt | Op::Ge, Operand::One(v)) => {
            let (col, arg) = target(field, v, false);
            let op = match c.op {
                Op::Lt => " < ",
                Op::Le => " <= ",
                Op::Gt => " > ",
                _ => " >= ",
            };
            sql.col(alias, &col).push(op).bind(arg);
        }
        (Op::Between, Operand::Range(a, b)) => {
            let (col, lo) = target(field, a, false);
            let (_, hi) = target(field, b, false);
            sql.push("(")
                .col(alias, &col)
                .push(" >= ")
                .bind(lo)
                .push(" AND ")
                .col(alias, &col)
                .push(" <= ")
                .bind(hi)
                .push(")");
        }
        (Op::In | Op::NotIn, Operand::Many(values)) => {
            let negate = c.op == Op::NotIn;
            if values.is_empty() {
                sql.push(if negate { "1=1" } else { "1=0" });
                return;
            }
            let col = field.match_column().unwrap_or_else(|| field.name.clone());
            let args: Vec<Arg> = values.iter().map(|v| target(field, v, true).1).collect();
            if negate {
                sql.push("(")
                    .col(alias, &col)
                    .push(" IS NULL OR ")
                    .col(alias, &col)
                    .push(" NOT IN (");
                sql.bind_list(args).push("))");
            } else {
                sql.col(alias, &col).push(" IN (");
                sql.bind_list(args).push(")");
            }
        }
        (Op::Contains, Operand::Text(t)) => like(sql, alias, &field.name, like_pattern(t, true, true)),
        (Op::StartsWith, Operand::Text(t)) => like(sql, alias, &field.name, like_pattern(t, false, true)),
        (Op::EndsWith, Operand::Text(t)) => like(sql, alias, &field.name, like_pattern(t, true, false)),
        // The resolver never produces other shapes; match nothing rather than everything.
        _ => {
            sql.push("1=0");
        }
    }
}

fn list_condition(sql: &mut Sql, alias: &str, c: &Condition) {
    let field = &c.field;
    let values: Vec<Value> = match &c.operand {
        Operand::One(v) => vec![v.clone()],
        Operand::Many(v) => v.clone(),
        Operand::Text(t) => vec![Value::Text(t.clone())],
        _ => Vec::new(),
    };
    match c.op {
        Op::IsEmpty => empty_check(sql, alias, field, true),
        Op::IsNotEmpty => empty_check(sql, alias, field, false),
        Op::Eq | Op::Contains | Op::In => list_has(sql, alias, field, &values),
        Op::Ne | Op::NotIn => {
            sql.push("(").col(alias, &field.name).push(" IS NULL OR NOT ");
            list_has(sql, alias, field, &values);
            sql.push(")");
        }
        _ => {
            sql.push("1=0");
        }
    }
}

/// Appends `ORDER BY` for the sort keys and the `id` tie-breaker. Empty values sort as
/// the smallest on both databases (first ascending, last descending).
pub fn order_by(sql: &mut Sql, alias: &str, keys: &[(FieldDef, bool)]) {
    sql.push(" ORDER BY ");
    for (field, desc) in keys {
        sql.col(alias, &field.name);
        match (sql.dialect(), desc) {
            (Dialect::Sqlite, false) => sql.push(" ASC, "),
            (Dialect::Sqlite, true) => sql.push(" DESC, "),
            (Dialect::Postgres, false) => sql.push(" ASC NULLS FIRST, "),
            (Dialect::Postgres, true) => sql.push(" DESC NULLS LAST, "),
        };
    }
    let desc = keys.first().is_some_and(|(_, d)| *d);
    sql.col(alias, "id").push(if desc { " DESC" } else { " ASC" });
}

/// Whether a cursor's last sort value has the sort column's type (a cursor kept from
/// another sort, or edited by hand, may not: PostgreSQL would refuse the comparison).
pub fn cursor_value_fits(key: Option<&(FieldDef, bool)>, last_value: &Stored) -> bool {
    match (key, last_value) {
        (_, Stored::Null) => true,
        (None, _) => false,
        (Some((field, _)), Stored::Int(_)) => is_int(field),
        (Some((field, _)), Stored::Text(t)) => !is_int(field) && !t.contains('\0'),
    }
}

/// Appends the keyset condition "after (value, id)" for a single sort key (or none).
pub fn after(sql: &mut Sql, alias: &str, key: Option<&(FieldDef, bool)>, last_value: &Stored, last_id: i64) {
    let Some((field, desc)) = key else {
        sql.col(alias, "id").push(" > ").bind(last_id);
        return;
    };
    let col = &field.name;
    let id_cmp = if *desc { " < " } else { " > " };
    let int = is_int(field);
    match (last_value, desc) {
        (Stored::Null, false) => {
            sql.push("((")
                .col(alias, col)
                .push(" IS NULL AND ")
                .col(alias, "id")
                .push(id_cmp)
                .bind(last_id);
            sql.push(") OR ").col(alias, col).push(" IS NOT NULL)");
        }
        (Stored::Null, true) => {
            sql.push("(")
                .col(alias, col)
                .push(" IS NULL AND ")
                .col(alias, "id")
                .push(id_cmp)
                .bind(last_id)
                .push(")");
        }
        (v, false) => {
            let a = Arg::from_stored(v, int);
            sql.push("(").col(alias, col).push(" > ").bind(a.clone());
            sql.push(" OR (")
                .col(alias, col)
                .push(" = ")
                .bind(a)
                .push(" AND ")
                .col(alias, "id")
                .push(id_cmp)
                .bind(last_id)
                .push("))");
        }
        (v, true) => {
            let a = Arg::from_stored(v, int);
            sql.push("(").col(alias, col).push(" < ").bind(a.clone());
            sql.push(" OR (")
                .col(alias, col)
                .push(" = ")
                .bind(a)
                .push(" AND ")
                .col(alias, "id")
                .push(id_cmp)
                .bind(last_id);
            sql.push(") OR ").col(alias, col).push(" IS NULL)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("50%_off\\", true, true), "%50\\%\\_off\\\\%");
    }
}
