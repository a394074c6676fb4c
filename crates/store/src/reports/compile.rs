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

/// A binary tree of `CASE` expressions giving the viewer's UTC offset in milliseconds at
/// the instant `ms_column`: exact across daylight-saving changes, on both databases,
/// without either database's own time-zone tables.
fn offset_ms(sql: &mut Sql, table: &str, name: &str, tz: &TimeZone) {
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
    tree(sql, table, name, &segments);
}

fn tree(sql: &mut Sql, table: &str, name: &str, segments: &[(i64, i64)]) {
    if segments.len() == 1 {
        sql.bind(segments[0].1);
        return;
    }
    let mid = segments.len() / 2;
    sql.push("(CASE WHEN ")
        .col(table, name)
        .push(" < ")
        .bind(segments[mid].0)
        .push(" THEN ");
    tree(sql, table, name, &segments[..mid]);
    sql.push(" ELSE ");
    tree(sql, table, name, &segments[mid..]);
    sql.push(" END)");
}

/// The local day (`YYYY-MM-DD` text) of a date or date-time column.
fn day(sql: &mut Sql, joins: &Joins, path: &FieldPath, tz: &TimeZone) {
    let table = joins.table_of(path);
    let name = &path.field.name;
    if path.field.field_type == FieldType::Date {
        sql.push("NULLIF(").col(&table, name).push(", '')");
        return;
    }
    match sql.dialect() {
        Dialect::Sqlite => {
            sql.push("date((").col(&table, name).push(" + ");
            offset_ms(sql, &table, name, tz);
            sql.push(") / 1000.0, 'unixepoch')");
        }
        Dialect::Postgres => {
            sql.push("to_char(to_timestamp((").col(&table, name).push(" + ");
            offset_ms(sql, &table, name, tz);
            sql.push(") / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD')");
        }
    }
}

/// The bucket key of a date or date-time column (see `Bucket::key_of`).
fn bucket(sql: &mut Sql, joins: &Joins, path: &FieldPath, b: Bucket, tz: &TimeZone) {
    let dialect = sql.dialect();
    match b {
        Bucket::Day => day(sql, joins, path, tz),
        Bucket::Month | Bucket::Year => {
            sql.push("substr(");
            day(sql, joins, path, tz);
            sql.push(if b == Bucket::Month { ", 1, 7)" } else { ", 1, 4)" });
        }
        Bucket::Quarter => {
            sql.push("(substr(");
            day(sql, joins, path, tz);
            sql.push(", 1, 4) || '-Q' || CAST((CAST(substr(");
            day(sql, joins, path, tz);
            sql.push(", 6, 2) AS INTEGER) + 2) / 3 AS TEXT))");
        }
        Bucket::Week if dialect == Dialect::Postgres => {
            sql.push("to_char(CAST(");
            day(sql, joins, path, tz);
            sql.push(" AS DATE), 'IYYY-\"W\"IW')");
        }
        Bucket::Week => {
            // The ISO week's Thursday names its year; its day of the year, its number.
            sql.push("(substr(date(");
            day(sql, joins, path, tz);
            sql.push(", '-3 days', 'weekday 4'), 1, 4) || '-W' || printf('%02d', (CAST(strftime('%j', ");
            day(sql, joins, path, tz);
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

/// The statement for a summary or matrix report. `row_cap` rows are fetched at most.
pub fn summary(sql: &mut Sql, spec: &CheckedSpec, actor: &Actor, filter: &Resolved, row_cap: u32) {
    let joins = Joins::of(spec);
    sql.one_off();
    sql.push("SELECT ");
    let mut n = 0;
    for g in &spec.groups {
        if n > 0 {
            sql.push(", ");
        }
        match g.bucket {
            Some(b) => bucket(sql, &joins, &g.path, b, &actor.tz),
            None => column(sql, &joins, &g.path, true),
        }
        sql.push(" AS ").ident(&alias(n));
        n += 1;
    }
    for a in &spec.aggregates {
        if n > 0 {
            sql.push(", ");
        }
        aggregate(sql, &joins, a.func, a.path.as_ref(), &alias(n));
        sql.push(" AS ").ident(&alias(n));
        n += 1;
    }
    from_where(sql, spec, &joins, actor, filter);
    if !spec.groups.is_empty() {
        sql.push(" GROUP BY ");
        for i in 0..spec.groups.len() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push(&(i + 1).to_string());
        }
    }
    let mut keys: Vec<(String, bool)> = if spec.pivot {
        Vec::new()
    } else {
        spec.sort.iter().map(|(i, desc)| (alias(*i), *desc)).collect()
    };
    for i in 0..spec.groups.len() {
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
