//! Compiles a checked report into one SQL statement for either database: the module
//! table `t`, one `LEFT JOIN` per reference field walked through (`r0`, `r1` …, each
//! with the viewer's visibility, so a related record the viewer may not see reads as
//! empty), the visibility predicate and filter exactly as list pages apply them, then
//! `GROUP BY` the group expressions (by position), aggregates, `ORDER BY`, `LIMIT`.
//!
//! Output columns are aliased `rep_c0`, `rep_c1` … (groups, then aggregates; or the
//! tabular columns); an average is read as `rep_cN_s` / `rep_cN_n` (sum and count, divided
//! in Rust so both databases round alike).

use jiff::Timestamp;
use jiff::tz::TimeZone;
use sable_core::filter::Resolved;
use sable_core::meta::{FieldType, Storage};
use sable_core::report::{AggFn, Bucket, CheckedSpec, FieldPath};

use crate::actor::Actor;
use crate::filter_sql;
use crate::read::visibility_on;
use crate::schema::table_name;
use crate::sql::{Dialect, Sql};

/// The alias of output column `i`.
pub fn alias(i: usize) -> String {
    format!("rep_c{i}")
}

/// Table aliases of the reference fields walked through, in order of first use.
struct Joins {
    via: Vec<String>,
}

impl Joins {
    fn of(spec: &CheckedSpec) -> Joins {
        let mut via: Vec<String> = Vec::new();
        let paths = spec
            .columns
            .iter()
            .chain(spec.groups.iter().map(|g| &g.path))
            .chain(spec.aggregates.iter().filter_map(|a| a.path.as_ref()));
        for p in paths {
            if let Some((reference, _)) = &p.via
                && !via.contains(&reference.name)
            {
                via.push(reference.name.clone());
            }
        }
        Joins { via }
    }

    /// The table alias a path's column is read from.
    fn table_of(&self, path: &FieldPath) -> String {
        match &path.via {
            None => "t".into(),
            Some((reference, _)) => {
                let i = self.via.iter().position(|v| *v == reference.name).unwrap_or(0);
                format!("r{i}")
            }
        }
    }
}

fn is_text(path: &FieldPath) -> bool {
    path.field.field_type.storage() == Storage::Text
}

/// The plain column of a path, with empty text read as no value (one "empty" group).
fn column(sql: &mut Sql, joins: &Joins, path: &FieldPath, empty_as_null: bool) {
    let table = joins.table_of(path);
    if empty_as_null && is_text(path) {
        sql.push("NULLIF(").col(&table, &path.field.name).push(", '')");
    } else {
        sql.col(&table, &path.field.name);
    }
}

/// Where a value is read from: a table's column, or an inner query's output column.
#[derive(Clone, Copy)]
enum Src<'a> {
    Col(&'a str, &'a str),
    Alias(&'a str),
}

fn push_src(sql: &mut Sql, src: Src) {
    match src {
        Src::Col(table, name) => sql.col(table, name),
        Src::Alias(name) => sql.ident(name),
    };
}

/// A binary tree of `CASE` expressions giving the viewer's UTC offset in milliseconds at
/// the instant `src`: exact across daylight-saving changes, on both databases, without
/// either database's own time-zone tables.
fn offset_ms(sql: &mut Sql, src: Src, tz: &TimeZone) {
    let from = Timestamp::UNIX_EPOCH;
    // 2100-01-01T00:00:00Z: transitions beyond it are not worth a branch.
    let until = Timestamp::from_second(4_102_444_800).unwrap_or(Timestamp::MAX);
    let first = i64::from(tz.to_offset(from).seconds()) * 1000;
    let mut segments = vec![(i64::MIN, first)];
    for t in tz.following(from) {
        if t.timestamp() >= until {
            break;
        }
        segments.push((t.timestamp().as_millisecond(), i64::from(t.offset().seconds()) * 1000));
    }
    segments.dedup_by(|b, a| a.1 == b.1);
    tree(sql, src, &segments);
}

fn tree(sql: &mut Sql, src: Src, segments: &[(i64, i64)]) {
    if segments.len() == 1 {
        sql.bind(segments[0].1);
        return;
    }
    let mid = segments.len() / 2;
    sql.push("(CASE WHEN ");
    push_src(sql, src);
    sql.push(" < ").bind(segments[mid].0).push(" THEN ");
    tree(sql, src, &segments[..mid]);
    sql.push(" ELSE ");
    tree(sql, src, &segments[mid..]);
    sql.push(" END)");
}

/// The local day (`YYYY-MM-DD` text) of a date or date-time value.
fn day(sql: &mut Sql, src: Src, field_type: FieldType, tz: &TimeZone) {
    if field_type == FieldType::Date {
        sql.push("NULLIF(");
        push_src(sql, src);
        sql.push(", '')");
        return;
    }
    match sql.dialect() {
        Dialect::Sqlite => sql.push("date(("),
        Dialect::Postgres => sql.push("to_char(to_timestamp(("),
    };
    push_src(sql, src);
    sql.push(" + ");
    offset_ms(sql, src, tz);
    match sql.dialect() {
        Dialect::Sqlite => sql.push(") / 1000.0, 'unixepoch')"),
        Dialect::Postgres => sql.push(") / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
    };
}

/// The bucket key of a date or date-time value (see `Bucket::key_of`).
fn bucket(sql: &mut Sql, src: Src, field_type: FieldType, b: Bucket, tz: &TimeZone) {
    let dialect = sql.dialect();
    match b {
        Bucket::Day => day(sql, src, field_type, tz),
        Bucket::Month | Bucket::Year => {
            sql.push("substr(");
            day(sql, src, field_type, tz);
            sql.push(if b == Bucket::Month { ", 1, 7)" } else { ", 1, 4)" });
        }
        Bucket::Quarter => {
            sql.push("(substr(");
            day(sql, src, field_type, tz);
            sql.push(", 1, 4) || '-Q' || CAST((CAST(substr(");
            day(sql, src, field_type, tz);
            sql.push(", 6, 2) AS INTEGER) + 2) / 3 AS TEXT))");
        }
        Bucket::Week if dialect == Dialect::Postgres => {
            sql.push("to_char(CAST(");
            day(sql, src, field_type, tz);
            sql.push(" AS DATE), 'IYYY-\"W\"IW')");
        }
        Bucket::Week => {
            // The ISO week's Thursday names its year; its day of the year, its number.
            sql.push("(substr(date(");
            day(sql, src, field_type, tz);
            sql.push(", '-3 days', 'weekday 4'), 1, 4) || '-W' || printf('%02d', (CAST(strftime('%j', ");
            day(sql, src, field_type, tz);
            sql.push(", '-3 days', 'weekday 4') AS INTEGER) - 1) / 7 + 1))");
        }
    }
}

fn aggregate(sql: &mut Sql, joins: &Joins, func: AggFn, path: Option<&FieldPath>, out: &str) {
    let pg = sql.dialect() == Dialect::Postgres;
    match (func, path) {
        (AggFn::Count, None) => {
            sql.push("COUNT(*)");
        }
        (AggFn::Count, Some(p)) => {
            sql.push("COUNT(");
            column(sql, joins, p, true);
            sql.push(")");
        }
        (AggFn::Sum, Some(p)) => {
            // PostgreSQL sums bigints as numeric; the sum of i64 money fits i64 in practice,
            // and an overflow is an error on both databases rather than a wrong figure.
            sql.push(if pg { "CAST(SUM(" } else { "SUM(" });
            column(sql, joins, p, false);
            sql.push(if pg { ") AS BIGINT)" } else { ")" });
        }
        (AggFn::Avg, Some(p)) => {
            sql.push(if pg { "CAST(SUM(" } else { "SUM(" });
            column(sql, joins, p, false);
            sql.push(if pg { ") AS BIGINT)" } else { ")" });
            sql.push(" AS ").ident(&format!("{out}_s")).push(", COUNT(");
            column(sql, joins, p, false);
            // The average itself only orders rows: a thousandth of a unit is plenty, and an
            // integer reads back alike from both databases.
            sql.push(") AS ").ident(&format!("{out}_n")).push(", CAST(ROUND(AVG(");
            column(sql, joins, p, false);
            sql.push(") * 1000) AS BIGINT)");
        }
        (AggFn::Min | AggFn::Max, Some(p)) => {
            sql.push(if func == AggFn::Min { "MIN(" } else { "MAX(" });
            column(sql, joins, p, true);
            sql.push(")");
        }
        // The checks refuse these; count rather than fail.
        (_, None) => {
            sql.push("COUNT(*)");
        }
    }
}

/// The `FROM … WHERE …` part shared by every report shape.
fn from_where(sql: &mut Sql, spec: &CheckedSpec, joins: &Joins, actor: &Actor, filter: &Resolved) {
    sql.push(" FROM ").ident(&table_name(&spec.module)).push(" t");
    for (i, name) in joins.via.iter().enumerate() {
        let Some((reference, target)) = spec
            .columns
            .iter()
            .chain(spec.groups.iter().map(|g| &g.path))
            .chain(spec.aggregates.iter().filter_map(|a| a.path.as_ref()))
            .find_map(|p| p.via.as_ref().filter(|(r, _)| r.name == *name))
        else {
            continue;
        };
        let r = format!("r{i}");
        sql.push(" LEFT JOIN ")
            .ident(&table_name(target))
            .push(" ")
            .push(&r)
            .push(" ON ")
            .col(&r, "id")
            .push(" = ")
            .col("t", &reference.name)
            .push(" AND ")
            .col(&r, "deleted_at")
            .push(" IS NULL");
        visibility_on(sql, actor, target, &r);
    }
    sql.push(" WHERE t.\"deleted_at\" IS NULL");
    visibility_on(sql, actor, &spec.module, "t");
    sql.push(" AND ");
    filter_sql::compile(sql, "t", filter, false);
}

fn order_by(sql: &mut Sql, keys: &[(String, bool)]) {
    if keys.is_empty() {
        return;
    }
    sql.push(" ORDER BY ");
    for (i, (alias, desc)) in keys.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.ident(alias);
        match (sql.dialect(), desc) {
            (Dialect::Sqlite, false) => sql.push(" ASC"),
            (Dialect::Sqlite, true) => sql.push(" DESC"),
            (Dialect::Postgres, false) => sql.push(" ASC NULLS FIRST"),
            (Dialect::Postgres, true) => sql.push(" DESC NULLS LAST"),
        };
    }
}

fn sum(sql: &mut Sql, inner: impl FnOnce(&mut Sql)) {
    // PostgreSQL sums bigints as numeric; the sum of i64 money fits i64 in practice, and
    // an overflow is an error on both databases rather than a wrong figure.
    let pg = sql.dialect() == Dialect::Postgres;
    sql.push(if pg { "CAST(SUM(" } else { "SUM(" });
    inner(sql);
    sql.push(if pg { ") AS BIGINT)" } else { ")" });
}

/// Per-(raw value) partial aggregates of the inner query, named `{out}` (`{out}_s`,
/// `{out}_n` for an average).
fn inner_aggregate(sql: &mut Sql, joins: &Joins, func: AggFn, path: Option<&FieldPath>, out: &str) {
    match (func, path) {
        (AggFn::Count, Some(p)) => {
            sql.push("COUNT(");
            column(sql, joins, p, true);
            sql.push(")");
        }
        (AggFn::Sum, Some(p)) => sum(sql, |sql| column(sql, joins, p, false)),
        (AggFn::Avg, Some(p)) => {
            sum(sql, |sql| column(sql, joins, p, false));
            sql.push(" AS ").ident(&format!("{out}_s")).push(", COUNT(");
            column(sql, joins, p, false);
            sql.push(") AS ").ident(&format!("{out}_n"));
            return;
        }
        (AggFn::Min | AggFn::Max, Some(p)) => {
            sql.push(if func == AggFn::Min { "MIN(" } else { "MAX(" });
            column(sql, joins, p, true);
            sql.push(")");
        }
        (_, None) => {
            sql.push("COUNT(*)");
        }
    }
    sql.push(" AS ").ident(out);
}

/// The outer query's aggregate over the partials `part`, named `out` (plus `{out}_s` and
/// `{out}_n` for an average, whose own column is only a sort key).
fn outer_aggregate(sql: &mut Sql, func: AggFn, has_field: bool, part: &str, out: &str) {
    match func {
        AggFn::Avg if has_field => {
            let (s, n) = (format!("{part}_s"), format!("{part}_n"));
            sum(sql, |sql| {
                sql.ident(&s);
            });
            sql.push(" AS ").ident(&format!("{out}_s")).push(", ");
            sum(sql, |sql| {
                sql.ident(&n);
            });
            sql.push(" AS ").ident(&format!("{out}_n"));
            // A thousandth of a unit orders rows well enough, and an integer reads back
            // alike from both databases.
            sql.push(", CAST(ROUND(SUM(")
                .ident(&s)
                .push(") * 1000.0 / NULLIF(SUM(")
                .ident(&n)
                .push("), 0)) AS BIGINT)");
        }
        AggFn::Min | AggFn::Max if has_field => {
            sql.push(if func == AggFn::Min { "MIN(" } else { "MAX(" })
                .ident(part)
                .push(")");
        }
        _ => sum(sql, |sql| {
            sql.ident(part);
        }),
    }
    sql.push(" AS ").ident(out);
}

fn positions(sql: &mut Sql, n: usize) {
    for i in 0..n {
        if i > 0 {
            sql.push(", ");
        }
        sql.push(&(i + 1).to_string());
    }
}

/// The statement for a summary or matrix report. `row_cap` rows are fetched at most.
///
/// Two levels: the inner query groups by the *stored* values (a date, a stage), which an
/// index can deliver in order, so a million rows are aggregated without a sort; the outer
/// query folds those partial aggregates into buckets (month, quarter …), over at most a
/// few thousand rows. Date-times are bucketed inside, where their raw values would make
/// one group per record.
pub fn summary(sql: &mut Sql, spec: &CheckedSpec, actor: &Actor, filter: &Resolved, row_cap: u32) {
    let joins = Joins::of(spec);
    let tz = &actor.tz;
    sql.one_off();
    let n = spec.groups.len();
    sql.push("SELECT ");
    if n == 0 {
        for (j, a) in spec.aggregates.iter().enumerate() {
            if j > 0 {
                sql.push(", ");
            }
            aggregate(sql, &joins, a.func, a.path.as_ref(), &alias(j));
            sql.push(" AS ").ident(&alias(j));
        }
        from_where(sql, spec, &joins, actor, filter);
        return;
    }
    for (i, g) in spec.groups.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        let key = format!("rep_k{i}");
        match (g.bucket, g.path.field.field_type) {
            (Some(b), FieldType::Date) => bucket(sql, Src::Alias(&key), FieldType::Date, b, tz),
            (None, _) if is_text(&g.path) => {
                sql.push("NULLIF(").ident(&key).push(", '')");
            }
            _ => {
                sql.ident(&key);
            }
        }
        sql.push(" AS ").ident(&alias(i));
    }
    for (j, a) in spec.aggregates.iter().enumerate() {
        sql.push(", ");
        outer_aggregate(sql, a.func, a.path.is_some(), &format!("rep_a{j}"), &alias(n + j));
    }
    sql.push(" FROM (SELECT ");
    for (i, g) in spec.groups.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        match (g.bucket, g.path.field.field_type) {
            (Some(b), FieldType::Datetime) => {
                let table = joins.table_of(&g.path);
                bucket(sql, Src::Col(&table, &g.path.field.name), FieldType::Datetime, b, tz);
            }
            _ => column(sql, &joins, &g.path, false),
        }
        sql.push(" AS ").ident(&format!("rep_k{i}"));
    }
    for (j, a) in spec.aggregates.iter().enumerate() {
        sql.push(", ");
        inner_aggregate(sql, &joins, a.func, a.path.as_ref(), &format!("rep_a{j}"));
    }
    from_where(sql, spec, &joins, actor, filter);
    sql.push(" GROUP BY ");
    positions(sql, n);
    sql.push(") rep_inner GROUP BY ");
    positions(sql, n);
    let mut keys: Vec<(String, bool)> = if spec.pivot {
        Vec::new()
    } else {
        spec.sort.iter().map(|(i, desc)| (alias(*i), *desc)).collect()
    };
    for i in 0..n {
        if !keys.iter().any(|(a, _)| *a == alias(i)) {
            keys.push((alias(i), false));
        }
    }
    order_by(sql, &keys);
    sql.push(" LIMIT ").bind(i64::from(row_cap) + 1);
}

/// The statement for a tabular report: the record id, then the columns.
pub fn tabular(sql: &mut Sql, spec: &CheckedSpec, actor: &Actor, filter: &Resolved) {
    let joins = Joins::of(spec);
    sql.push("SELECT t.\"id\" AS rep_id");
    for (i, c) in spec.columns.iter().enumerate() {
        sql.push(", ");
        column(sql, &joins, c, false);
        sql.push(" AS ").ident(&alias(i));
    }
    from_where(sql, spec, &joins, actor, filter);
    let mut keys: Vec<(String, bool)> = spec.sort.iter().map(|(i, desc)| (alias(*i), *desc)).collect();
    keys.push(("rep_id".into(), false));
    order_by(sql, &keys);
    sql.push(" LIMIT ").bind(i64::from(spec.limit) + 1);
}
