//! Runs a checked report and shapes the answer: raw values and display labels per
//! cell, totals, and for a matrix the last group pivoted into columns (in Rust, after the
//! one SQL query).

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

use sable_core::filter::FilterContext;
use sable_core::meta::{FieldDef, FieldType};
use sable_core::report::{
    self, AggFn, CheckedAggregate, CheckedGroup, CheckedSpec, ColumnKind, FieldPath, MAX_PIVOT_VALUES, MAX_ROWS,
    PivotValue, ReportColumn, ReportResult, ReportSpec,
};
use sable_core::value::format_scaled;
use sable_core::{Lang, Registry, Stored, Value};
use serde_json::{Value as Json, json};

use super::compile;
use crate::actor::Actor;
use crate::db::Row;
use crate::error::StoreResult;
use crate::store::Store;

/// Rows a matrix may read before pivoting.
const MATRIX_ROW_CAP: u32 = MAX_ROWS * 10;

/// Runs a report for a viewer: only records the viewer may see are counted.
pub async fn run(store: &Store, actor: &Actor, spec: &ReportSpec) -> StoreResult<ReportResult> {
    let registry = store.registry().await?;
    let checked = spec.check(&registry)?;
    let ctx = FilterContext {
        registry: &registry,
        today: FilterContext::today_in(&actor.tz),
        tz: &actor.tz,
    };
    let filter = checked.filter.resolve(&checked.module, &ctx)?;
    let db = store.db();
    let mut sql = db.sql();
    let mut result = if checked.is_tabular() {
        compile::tabular(&mut sql, &checked, actor, &filter);
        let rows = db.fetch_all(&sql).await?;
        tabular(&registry, &checked, actor, &rows)?
    } else {
        let cap = if checked.pivot { MATRIX_ROW_CAP } else { checked.limit };
        compile::summary(&mut sql, &checked, actor, &filter, cap);
        let rows = db.fetch_all(&sql).await?;
        let truncated = rows.len() > cap as usize;
        let groups: Vec<GroupRow> = rows
            .iter()
            .take(cap as usize)
            .map(|r| GroupRow::read(&checked, r))
            .collect::<anyhow::Result<_>>()?;
        if checked.pivot {
            matrix(&registry, &checked, actor.lang, groups, truncated)
        } else {
            summary(&registry, &checked, actor.lang, groups, truncated)
        }
    };
    fill_reference_labels(store, &checked, &mut result, actor.lang).await?;
    Ok(result)
}

/// One aggregate's running state, mergeable so totals and matrix row totals need no
/// further query.
#[derive(Clone, Debug)]
struct Acc {
    func: AggFn,
    count: i64,
    sum: i128,
    extreme: Option<Stored>,
}

impl Acc {
    fn empty(func: AggFn) -> Acc {
        Acc {
            func,
            count: 0,
            sum: 0,
            extreme: None,
        }
    }

    fn read(row: &Row, a: &CheckedAggregate, alias: &str) -> anyhow::Result<Acc> {
        let mut acc = Acc::empty(a.func);
        match a.func {
            AggFn::Count => acc.count = row.opt_int(alias)?.unwrap_or(0),
            AggFn::Sum => acc.sum = i128::from(row.opt_int(alias)?.unwrap_or(0)),
            AggFn::Avg => {
                acc.sum = i128::from(row.opt_int(&format!("{alias}_s"))?.unwrap_or(0));
                acc.count = row.opt_int(&format!("{alias}_n"))?.unwrap_or(0);
            }
            AggFn::Min | AggFn::Max => {
                acc.extreme = match row.stored(alias)? {
                    Stored::Null => None,
                    s => Some(s),
                }
            }
        }
        Ok(acc)
    }

    fn merge(&mut self, other: &Acc) {
        self.count += other.count;
        self.sum += other.sum;
        let keep_other = match (&self.extreme, &other.extreme) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(a), Some(b)) => {
                let ord = cmp_stored(b, a);
                (self.func == AggFn::Min && ord == Ordering::Less)
                    || (self.func == AggFn::Max && ord == Ordering::Greater)
            }
        };
        if keep_other {
            self.extreme = other.extreme.clone();
        }
    }

    fn to_json(&self, path: Option<&FieldPath>) -> Json {
        let field = path.map(|p| &p.field);
        let scale = field.map_or(0, FieldDef::scale);
        match self.func {
            AggFn::Count => json!(self.count),
            AggFn::Sum => number(self.sum, scale),
            AggFn::Avg if self.count == 0 => Json::Null,
            AggFn::Avg => {
                let out_scale = scale.max(2);
                let num = self.sum * 10i128.pow(out_scale - scale);
                number(div_round(num, i128::from(self.count)), out_scale)
            }
            AggFn::Min | AggFn::Max => match (&self.extreme, field) {
                (None, _) | (_, None) => Json::Null,
                (Some(Stored::Int(i)), Some(f)) if is_number(f.field_type) => number(i128::from(*i), scale),
                (Some(s), Some(f)) => Value::from_stored(f, s.clone()).to_json(f),
            },
        }
    }
}

fn is_number(t: FieldType) -> bool {
    matches!(
        t,
        FieldType::Integer | FieldType::Decimal | FieldType::Currency | FieldType::Percent
    )
}

/// Division rounding half away from zero.
fn div_round(num: i128, den: i128) -> i128 {
    if den == 0 {
        return 0;
    }
    let q = num / den;
    let r = num % den;
    if 2 * r.abs() >= den.abs() {
        q + if (num < 0) == (den < 0) { 1 } else { -1 }
    } else {
        q
    }
}

/// Integer units of 10^-scale as a JSON number (exact for any sum of money under 2^53
/// units: the shortest decimal that reads back as the same double is the exact one).
fn number(units: i128, scale: u32) -> Json {
    let factor = 10i128.pow(scale);
    if units % factor == 0
        && let Ok(whole) = i64::try_from(units / factor)
    {
        // Whole amounts read as integers (`700`, not `700.0`).
        return json!(whole);
    }
    match i64::try_from(units) {
        Ok(u) => format_scaled(u, scale)
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Json::Null, Json::Number),
        Err(_) => {
            serde_json::Number::from_f64(units as f64 / 10f64.powi(scale as i32)).map_or(Json::Null, Json::Number)
        }
    }
}

fn cmp_stored(a: &Stored, b: &Stored) -> Ordering {
    match (a, b) {
        (Stored::Null, Stored::Null) => Ordering::Equal,
        (Stored::Null, _) => Ordering::Less,
        (_, Stored::Null) => Ordering::Greater,
        (Stored::Int(x), Stored::Int(y)) => x.cmp(y),
        (Stored::Text(x), Stored::Text(y)) => x.cmp(y),
        (Stored::Int(_), Stored::Text(_)) => Ordering::Less,
        (Stored::Text(_), Stored::Int(_)) => Ordering::Greater,
    }
}

/// One row of the SQL answer: group values as stored, and the aggregates.
struct GroupRow {
    keys: Vec<Stored>,
    accs: Vec<Acc>,
}

impl GroupRow {
    fn read(spec: &CheckedSpec, row: &Row) -> anyhow::Result<GroupRow> {
        let n = spec.groups.len();
        let keys = (0..n)
            .map(|i| row.stored(&compile::alias(i)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let accs = spec
            .aggregates
            .iter()
            .enumerate()
            .map(|(i, a)| Acc::read(row, a, &compile::alias(n + i)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(GroupRow { keys, accs })
    }
}

/// The raw wire value of a group cell.
fn group_raw(g: &CheckedGroup, s: &Stored) -> Json {
    match (g.bucket, s) {
        (_, Stored::Null) => Json::Null,
        (Some(_), Stored::Text(t)) => json!(t),
        (Some(_), Stored::Int(i)) => json!(i.to_string()),
        (None, s) => Value::from_stored(&g.path.field, s.clone()).to_json(&g.path.field),
    }
}

/// The text shown for a value of a field (references and owners are filled in later
/// from the names of the records and users, see [`fill_reference_labels`]).
fn display(registry: &Registry, field: &FieldDef, raw: &Value, lang: Lang) -> String {
    match (field.field_type, raw) {
        (_, Value::Null) => empty_label(lang).into(),
        (FieldType::Picklist, Value::Text(v)) => picklist_label(registry, field, v, lang),
        (FieldType::Multipicklist, Value::List(items)) => items
            .iter()
            .map(|v| picklist_label(registry, field, v, lang))
            .collect::<Vec<_>>()
            .join(", "),
        (FieldType::Boolean, Value::Bool(b)) => match (lang, b) {
            (Lang::En, true) => "Yes".into(),
            (Lang::En, false) => "No".into(),
            (Lang::Zh, true) => "是".into(),
            (Lang::Zh, false) => "否".into(),
        },
        (_, v) => v.to_text(field),
    }
}

fn empty_label(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "(empty)",
        Lang::Zh => "（空）",
    }
}

fn picklist_label(registry: &Registry, field: &FieldDef, value: &str, lang: Lang) -> String {
    registry
        .picklist_of(field)
        .and_then(|p| p.values.iter().find(|v| v.value == value))
        .map_or_else(|| value.to_string(), |v| v.labels.get(lang).to_string())
}

fn group_label_of(registry: &Registry, g: &CheckedGroup, s: &Stored, lang: Lang) -> String {
    match (g.bucket, s) {
        (_, Stored::Null) => empty_label(lang).into(),
        (Some(b), Stored::Text(t)) => b.display(t),
        _ => display(
            registry,
            &g.path.field,
            &Value::from_stored(&g.path.field, s.clone()),
            lang,
        ),
    }
}

/// Rank of a group value for the default order: a picklist's own order (a funnel reads
/// in stage order), else the stored order.
fn rank(registry: &Registry, g: &CheckedGroup, s: &Stored) -> (usize, Stored) {
    if g.bucket.is_none()
        && g.path.field.field_type == FieldType::Picklist
        && let Stored::Text(v) = s
        && let Some(p) = registry.picklist_of(&g.path.field)
        && let Some(i) = p.values.iter().position(|x| x.value == *v)
    {
        return (i + 1, Stored::Null);
    }
    match s {
        Stored::Null => (0, Stored::Null),
        other => (usize::MAX, other.clone()),
    }
}

fn cmp_rank(a: &(usize, Stored), b: &(usize, Stored)) -> Ordering {
    a.0.cmp(&b.0).then_with(|| cmp_stored(&a.1, &b.1))
}

fn group_column(g: &CheckedGroup, lang: Lang) -> ReportColumn {
    ReportColumn {
        key: g.key.clone(),
        label: report::group_label(g, lang),
        kind: ColumnKind::Group,
        field: Some(g.path.path.clone()),
        field_type: Some(if g.bucket.is_some() {
            FieldType::Text
        } else {
            g.path.field.field_type
        }),
        bucket: g.bucket,
        func: None,
        pivot: None,
    }
}

fn aggregate_column(a: &CheckedAggregate, lang: Lang) -> ReportColumn {
    ReportColumn {
        key: a.key.clone(),
        label: report::aggregate_label(a, lang),
        kind: ColumnKind::Aggregate,
        field: a.path.as_ref().map(|p| p.path.clone()),
        field_type: Some(match (a.func, &a.path) {
            (AggFn::Count, _) | (_, None) => FieldType::Integer,
            (_, Some(p)) => p.field.field_type,
        }),
        bucket: None,
        func: Some(a.func),
        pivot: None,
    }
}

fn totals_of(spec: &CheckedSpec, groups: &[GroupRow]) -> Vec<Acc> {
    let mut totals: Vec<Acc> = spec.aggregates.iter().map(|a| Acc::empty(a.func)).collect();
    for g in groups {
        for (t, a) in totals.iter_mut().zip(&g.accs) {
            t.merge(a);
        }
    }
    totals
}

fn summary(
    registry: &Registry,
    spec: &CheckedSpec,
    lang: Lang,
    mut groups: Vec<GroupRow>,
    truncated: bool,
) -> ReportResult {
    let mut columns: Vec<ReportColumn> = spec.groups.iter().map(|g| group_column(g, lang)).collect();
    columns.extend(spec.aggregates.iter().map(|a| aggregate_column(a, lang)));
    if spec.sort.is_empty() && !truncated {
        groups.sort_by(|a, b| {
            spec.groups
                .iter()
                .enumerate()
                .map(|(i, g)| cmp_rank(&rank(registry, g, &a.keys[i]), &rank(registry, g, &b.keys[i])))
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        });
    }
    let totals = (!spec.groups.is_empty() && !truncated).then(|| {
        let t = totals_of(spec, &groups);
        spec.groups
            .iter()
            .map(|_| Json::Null)
            .chain(
                t.iter()
                    .zip(&spec.aggregates)
                    .map(|(acc, a)| acc.to_json(a.path.as_ref())),
            )
            .collect()
    });
    let mut rows = Vec::with_capacity(groups.len());
    let mut labels = Vec::with_capacity(groups.len());
    for g in &groups {
        let mut row = Vec::with_capacity(columns.len());
        let mut label = Vec::with_capacity(columns.len());
        for (def, s) in spec.groups.iter().zip(&g.keys) {
            row.push(group_raw(def, s));
            label.push(Some(group_label_of(registry, def, s, lang)));
        }
        for (acc, a) in g.accs.iter().zip(&spec.aggregates) {
            row.push(acc.to_json(a.path.as_ref()));
            label.push(None);
        }
        rows.push(row);
        labels.push(label);
    }
    ReportResult {
        columns,
        rows,
        labels,
        totals,
        truncated,
        record_ids: Vec::new(),
    }
}

fn cmp_json(a: &Json, b: &Json) -> Ordering {
    match (a, b) {
        (Json::Null, Json::Null) => Ordering::Equal,
        (Json::Null, _) => Ordering::Less,
        (_, Json::Null) => Ordering::Greater,
        (Json::Number(x), Json::Number(y)) => x
            .as_f64()
            .unwrap_or(0.0)
            .partial_cmp(&y.as_f64().unwrap_or(0.0))
            .unwrap_or(Ordering::Equal),
        (Json::String(x), Json::String(y)) => x.cmp(y),
        (Json::Bool(x), Json::Bool(y)) => x.cmp(y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

fn pivot_key(s: &Stored) -> String {
    match s {
        Stored::Null => String::new(),
        Stored::Int(i) => i.to_string(),
        Stored::Text(t) => t.clone(),
    }
}

fn matrix(
    registry: &Registry,
    spec: &CheckedSpec,
    lang: Lang,
    groups: Vec<GroupRow>,
    mut truncated: bool,
) -> ReportResult {
    let n = spec.groups.len();
    let row_groups = &spec.groups[..n - 1];
    let pivot = &spec.groups[n - 1];
    // The pivot's values, in the default order.
    let mut values: Vec<Stored> = groups.iter().map(|g| g.keys[n - 1].clone()).collect();
    values.sort_by(cmp_stored);
    values.dedup();
    values.sort_by(|a, b| cmp_rank(&rank(registry, pivot, a), &rank(registry, pivot, b)));
    if values.len() > MAX_PIVOT_VALUES {
        values.truncate(MAX_PIVOT_VALUES);
        truncated = true;
    }
    let value_index: HashMap<String, usize> = values.iter().enumerate().map(|(i, v)| (pivot_key(v), i)).collect();

    // Cells per row key: one accumulator per pivot value and aggregate, plus row totals.
    struct MatrixRow {
        keys: Vec<Stored>,
        cells: Vec<Vec<Acc>>,
        total: Vec<Acc>,
    }
    let empty_accs = || spec.aggregates.iter().map(|a| Acc::empty(a.func)).collect::<Vec<_>>();
    let mut order: Vec<MatrixRow> = Vec::new();
    let mut index: HashMap<Vec<String>, usize> = HashMap::new();
    for g in &groups {
        let key: Vec<String> = g.keys[..n - 1].iter().map(pivot_key).collect();
        let ri = *index.entry(key).or_insert_with(|| {
            order.push(MatrixRow {
                keys: g.keys[..n - 1].to_vec(),
                cells: values.iter().map(|_| empty_accs()).collect(),
                total: empty_accs(),
            });
            order.len() - 1
        });
        let row = &mut order[ri];
        for (t, a) in row.total.iter_mut().zip(&g.accs) {
            t.merge(a);
        }
        if let Some(&vi) = value_index.get(&pivot_key(&g.keys[n - 1])) {
            for (c, a) in row.cells[vi].iter_mut().zip(&g.accs) {
                c.merge(a);
            }
        }
    }

    let mut columns: Vec<ReportColumn> = row_groups.iter().map(|g| group_column(g, lang)).collect();
    for v in &values {
        let pv = PivotValue {
            group: pivot.key.clone(),
            value: group_raw(pivot, v),
            label: group_label_of(registry, pivot, v, lang),
        };
        for a in &spec.aggregates {
            let mut c = aggregate_column(a, lang);
            c.key = format!("{}@{}", a.key, pivot_key(v));
            c.label = if spec.aggregates.len() == 1 {
                pv.label.clone()
            } else {
                format!("{} · {}", pv.label, c.label)
            };
            c.pivot = Some(pv.clone());
            columns.push(c);
        }
    }
    for a in &spec.aggregates {
        let mut c = aggregate_column(a, lang);
        c.label = match lang {
            Lang::En => format!("{} (total)", c.label),
            Lang::Zh => format!("{}（合计）", c.label),
        };
        columns.push(c);
    }

    let cell_json = |accs: &[Acc]| -> Vec<Json> {
        accs.iter()
            .zip(&spec.aggregates)
            .map(|(acc, a)| acc.to_json(a.path.as_ref()))
            .collect()
    };
    let mut rows: Vec<(Vec<Json>, Vec<Option<String>>)> = order
        .iter()
        .map(|r| {
            let mut row = Vec::with_capacity(columns.len());
            let mut label = Vec::with_capacity(columns.len());
            for (def, s) in row_groups.iter().zip(&r.keys) {
                row.push(group_raw(def, s));
                label.push(Some(group_label_of(registry, def, s, lang)));
            }
            for cell in &r.cells {
                row.extend(cell_json(cell));
            }
            row.extend(cell_json(&r.total));
            label.resize(row.len(), None);
            (row, label)
        })
        .collect();

    // Sort keys name groups (row groups only) or aggregates (their row totals).
    let total_start = columns.len() - spec.aggregates.len();
    let sort: Vec<(usize, bool)> = spec
        .sort
        .iter()
        .filter_map(|&(i, desc)| {
            if i < n - 1 {
                Some((i, desc))
            } else if i >= n {
                Some((total_start + i - n, desc))
            } else {
                None
            }
        })
        .collect();
    if sort.is_empty() {
        let ranks: Vec<Vec<(usize, Stored)>> = order
            .iter()
            .map(|r| {
                row_groups
                    .iter()
                    .zip(&r.keys)
                    .map(|(g, s)| rank(registry, g, s))
                    .collect()
            })
            .collect();
        let mut ranked: Vec<_> = ranks.into_iter().zip(rows).collect();
        ranked.sort_by(|(a, _), (b, _)| {
            a.iter()
                .zip(b)
                .map(|(x, y)| cmp_rank(x, y))
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        });
        rows = ranked.into_iter().map(|(_, row)| row).collect();
    } else {
        rows.sort_by(|a, b| {
            sort.iter()
                .map(|&(i, desc)| {
                    let o = cmp_json(&a.0[i], &b.0[i]);
                    if desc { o.reverse() } else { o }
                })
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        });
    }
    let totals = (!truncated).then(|| {
        let mut per_value: Vec<Vec<Acc>> = values.iter().map(|_| empty_accs()).collect();
        let mut all = empty_accs();
        for r in &order {
            for (pv, cell) in per_value.iter_mut().zip(&r.cells) {
                for (t, a) in pv.iter_mut().zip(cell) {
                    t.merge(a);
                }
            }
            for (t, a) in all.iter_mut().zip(&r.total) {
                t.merge(a);
            }
        }
        let mut out: Vec<Json> = row_groups.iter().map(|_| Json::Null).collect();
        for pv in &per_value {
            out.extend(cell_json(pv));
        }
        out.extend(cell_json(&all));
        out
    });
    if rows.len() > spec.limit as usize {
        rows.truncate(spec.limit as usize);
        truncated = true;
    }
    let (rows, labels) = rows.into_iter().unzip();
    ReportResult {
        columns,
        rows,
        labels,
        totals,
        truncated,
        record_ids: Vec::new(),
    }
}

fn tabular(registry: &Registry, spec: &CheckedSpec, actor: &Actor, rows: &[Row]) -> anyhow::Result<ReportResult> {
    let lang = actor.lang;
    let columns = spec
        .columns
        .iter()
        .map(|p| ReportColumn {
            key: p.path.clone(),
            label: p.label(lang),
            kind: ColumnKind::Field,
            field: Some(p.path.clone()),
            field_type: Some(p.field.field_type),
            bucket: None,
            func: None,
            pivot: None,
        })
        .collect();
    let truncated = rows.len() > spec.limit as usize;
    let mut out = ReportResult {
        columns,
        truncated,
        ..ReportResult::default()
    };
    for r in rows.iter().take(spec.limit as usize) {
        out.record_ids.push(r.int("rep_id")?);
        let mut row = Vec::with_capacity(spec.columns.len());
        let mut label = Vec::with_capacity(spec.columns.len());
        for (i, p) in spec.columns.iter().enumerate() {
            let v = Value::from_stored(&p.field, r.stored(&compile::alias(i))?);
            label.push(Some(match (&v, p.field.field_type) {
                (Value::DateTime(t), _) => actor.tz.to_datetime(*t).strftime("%Y-%m-%d %H:%M").to_string(),
                (Value::Null, _) => String::new(),
                _ => display(registry, &p.field, &v, lang),
            }));
            row.push(v.to_json(&p.field));
        }
        out.rows.push(row);
        out.labels.push(label);
    }
    Ok(out)
}

/// Replaces the labels of reference and owner cells by the names of the records and
/// users they point to.
async fn fill_reference_labels(
    store: &Store,
    spec: &CheckedSpec,
    result: &mut ReportResult,
    lang: Lang,
) -> anyhow::Result<()> {
    let field_of = |c: &ReportColumn| -> Option<FieldDef> {
        if c.kind == ColumnKind::Aggregate || c.bucket.is_some() {
            return None;
        }
        let path = c.field.as_deref()?;
        spec.columns
            .iter()
            .chain(spec.groups.iter().map(|g| &g.path))
            .find(|p| p.path == path)
            .map(|p| p.field.clone())
            .filter(|f| matches!(f.field_type, FieldType::Reference | FieldType::Owner))
    };
    let ref_columns: Vec<usize> = result
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| field_of(c).is_some())
        .map(|(i, _)| i)
        .collect();
    let mut ids: BTreeSet<i64> = BTreeSet::new();
    for row in &result.rows {
        for &i in &ref_columns {
            if let Some(id) = row.get(i).and_then(Json::as_i64) {
                ids.insert(id);
            }
        }
    }
    let pivot_refs: Vec<usize> = result
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.pivot.is_some()
                && spec.groups.last().is_some_and(|g| {
                    g.bucket.is_none() && matches!(g.path.field.field_type, FieldType::Reference | FieldType::Owner)
                })
        })
        .map(|(i, _)| i)
        .collect();
    for &i in &pivot_refs {
        if let Some(id) = result.columns[i].pivot.as_ref().and_then(|p| p.value.as_i64()) {
            ids.insert(id);
        }
    }
    if ids.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = ids.into_iter().collect();
    let names = crate::read::labels_of(store.db(), &ids).await?;
    let name = |id: i64| names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
    for (row, label) in result.rows.iter().zip(result.labels.iter_mut()) {
        for &i in &ref_columns {
            if let (Some(id), Some(l)) = (row.get(i).and_then(Json::as_i64), label.get_mut(i)) {
                *l = Some(name(id));
            }
        }
    }
    let single = spec.aggregates.len() == 1;
    for &i in &pivot_refs {
        let agg_label = spec
            .aggregates
            .iter()
            .find(|a| result.columns[i].key.starts_with(&format!("{}@", a.key)))
            .map(|a| report::aggregate_label(a, lang));
        if let Some(p) = result.columns[i].pivot.as_mut()
            && let Some(id) = p.value.as_i64()
        {
            p.label = name(id);
            result.columns[i].label = match (single, agg_label) {
                (false, Some(a)) => format!("{} · {a}", p.label),
                _ => p.label.clone(),
            };
        }
    }
    Ok(())
}
