//! The figures of dashboard widgets: each built-in widget is one or a few report specs
//! run through the report engine as the viewer (so a dashboard shows only what its
//! viewer may see), shaped by `sable_core::dashboard` into a chart payload with links to
//! the records behind each bar or slice.

use std::collections::BTreeMap;

use sable_core::dashboard::{self as shape, ChartData, Series};
use sable_core::meta::StageKind;
use sable_core::report::{Bucket, ColumnKind, ReportResult, ReportSpec, drill_filter};
use sable_core::{Lang, Registry};
use sable_store::StoreResult;
use sable_store::stages::{StageDef, list_stages};
use serde::Serialize;
use serde_json::{Value as Json, json};

use super::filters;
use super::render::Catalogs;
use super::session::UiUser;
use crate::AppState;

/// How many weeks the follow-up widget shows.
const WEEKS: usize = 8;
/// How many customers the Pareto chart draws (the classes count them all).
const PARETO_BARS: usize = 20;

/// A widget's content: a chart, or a small table, with an optional line of figures.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WidgetView {
    pub chart: Option<ChartData>,
    pub table: Option<TableView>,
    /// A line under the chart (conversion rates, Pareto class sizes).
    pub note: String,
    /// Where "see the records" leads.
    pub more_href: Option<String>,
}

/// A small table of records.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TableView {
    pub headings: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// The list page of `module` filtered by a filter tree; `None` when the list's builder
/// cannot carry the tree.
pub fn list_href(module: &str, tree: &Json) -> Option<String> {
    let builder = filters::rows_of(tree)?;
    let query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(builder.pairs())
        .finish();
    Some(format!("/m/{module}?{query}"))
}

fn spec(v: Json) -> ReportSpec {
    // The specs below are literals checked by the tests; a bad one shows as an empty widget.
    serde_json::from_value(v).unwrap_or_default()
}

fn num(v: &Json) -> f64 {
    match v {
        Json::Number(n) => n.as_f64().unwrap_or(0.0),
        Json::String(s) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Money as integer cents from a report number.
fn cents(v: &Json) -> i128 {
    #[allow(clippy::cast_possible_truncation)]
    let c = (num(v) * 100.0).round() as i128;
    c
}

fn label(r: &ReportResult, row: usize, col: usize) -> String {
    r.labels
        .get(row)
        .and_then(|l| l.get(col))
        .cloned()
        .flatten()
        .unwrap_or_else(|| match r.rows.get(row).and_then(|x| x.get(col)) {
            Some(Json::String(s)) => s.clone(),
            Some(Json::Null) | None => String::new(),
            Some(other) => other.to_string(),
        })
}

fn cell(r: &ReportResult, row: usize, col: usize) -> Json {
    r.rows.get(row).and_then(|x| x.get(col)).cloned().unwrap_or(Json::Null)
}

fn drill(registry: &Registry, spec: &ReportSpec, values: &[Json]) -> Option<String> {
    let tree = drill_filter(registry, spec, values).ok()?;
    list_href(&spec.module, &tree)
}

/// The viewer's context for computing widgets.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub user: &'a UiUser,
    pub registry: &'a Registry,
}

impl Ctx<'_> {
    fn t(&self, key: &str) -> String {
        Catalogs::embedded().get(self.user.lang, key).to_string()
    }

    async fn run(&self, spec: &ReportSpec) -> StoreResult<ReportResult> {
        sable_store::reports::run(&self.state.store, &self.user.actor, spec).await
    }

    fn chart(&self, kind: &str) -> ChartData {
        ChartData {
            kind: kind.into(),
            currency: self.user.currency.clone(),
            locale: self.user.lang.tag().into(),
            ..ChartData::default()
        }
    }

    fn today(&self) -> jiff::civil::Date {
        jiff::Timestamp::now()
            .to_zoned_datetime(self.user.actor.tz().clone())
            .date()
    }
}

/// Computes a built-in widget for the viewer.
pub async fn builtin(ctx: &Ctx<'_>, kind: &str) -> StoreResult<WidgetView> {
    match kind {
        "pipeline_funnel" => pipeline_funnel(ctx).await,
        "leads_by_source" => count_by(ctx, "Leads", "leadsource", "donut").await,
        "leads_by_status" => count_by(ctx, "Leads", "leadstatus", "bar").await,
        "won_by_month" => won_by_month(ctx).await,
        "closing_this_month" => closing_this_month(ctx).await,
        "followups_per_week" => followups_per_week(ctx).await,
        "overdue_followups" => overdue_followups(ctx).await,
        "conversion" => conversion(ctx).await,
        "pareto" => pareto(ctx).await,
        _ => Ok(WidgetView::default()),
    }
}

fn won_values(stages: &[StageDef]) -> Vec<String> {
    stages
        .iter()
        .filter(|s| s.kind == StageKind::Won)
        .map(|s| s.value.clone())
        .collect()
}

fn won_filter(stages: &[StageDef]) -> Json {
    json!({"field": "sales_stage", "op": "in", "value": won_values(stages)})
}

async fn pipeline_funnel(ctx: &Ctx<'_>) -> StoreResult<WidgetView> {
    let stages = list_stages(&ctx.state.store).await?;
    let s = spec(json!({
        "module": "Opportunities",
        "group_by": [{"field": "sales_stage"}],
        "aggregates": [{"fn": "count"}, {"fn": "sum", "field": "amount"}, {"fn": "sum", "field": "forecast_amount"}],
    }));
    let r = ctx.run(&s).await?;
    let mut c = ctx.chart("funnel");
    let (mut count, mut amount, mut weighted, mut links) = (vec![], vec![], vec![], vec![]);
    for stage in stages.iter().filter(|st| st.kind != StageKind::Lost) {
        let row = (0..r.rows.len()).find(|&i| cell(&r, i, 0) == json!(stage.value));
        c.categories.push(stage.labels.get(ctx.user.lang).to_string());
        c.colors.push(stage.color.clone());
        count.push(Some(row.map_or(0.0, |i| num(&cell(&r, i, 1)))));
        amount.push(Some(row.map_or(0.0, |i| num(&cell(&r, i, 2)))));
        weighted.push(Some(row.map_or(0.0, |i| num(&cell(&r, i, 3)))));
        links.push(drill(ctx.registry, &s, &[json!(stage.value)]));
    }
    c.series = vec![
        Series {
            name: ctx.t("dash_series_amount"),
            data: amount,
            money: true,
            ..Series::default()
        },
        Series {
            name: ctx.t("dash_series_count"),
            data: count,
            ..Series::default()
        },
        Series {
            name: ctx.t("dash_series_weighted"),
            data: weighted,
            money: true,
            ..Series::default()
        },
    ];
    c.links = vec![links];
    Ok(WidgetView {
        chart: Some(c),
        more_href: Some("/pipeline".into()),
        ..WidgetView::default()
    })
}

async fn count_by(ctx: &Ctx<'_>, module: &str, field: &str, kind: &str) -> StoreResult<WidgetView> {
    let s = spec(json!({
        "module": module,
        "group_by": [{"field": field}],
        "aggregates": [{"fn": "count"}],
        "sort": [{"key": "count", "desc": true}],
    }));
    let r = ctx.run(&s).await?;
    Ok(WidgetView {
        chart: Some(summary_chart(ctx, &s, &r, kind)),
        more_href: Some(format!("/m/{module}")),
        ..WidgetView::default()
    })
}

/// The chart of a summary report: the first group along the axis, the second (if any)
/// as stacked series, the first aggregate as the value.
pub fn summary_chart(ctx: &Ctx<'_>, s: &ReportSpec, r: &ReportResult, kind: &str) -> ChartData {
    let mut c = ctx.chart(kind);
    let groups: Vec<usize> = (0..r.columns.len())
        .filter(|&i| r.columns[i].kind == ColumnKind::Group)
        .collect();
    let Some(value_col) = (0..r.columns.len()).find(|&i| r.columns[i].kind == ColumnKind::Aggregate) else {
        return c;
    };
    let money = r.columns[value_col].field_type == Some(sable_core::FieldType::Currency);
    let Some(&g1) = groups.first() else {
        return c;
    };
    let mut cats: Vec<(Json, String)> = Vec::new();
    let mut sers: Vec<(Json, String)> = Vec::new();
    for i in 0..r.rows.len() {
        let k = (cell(r, i, g1), label(r, i, g1));
        if !cats.contains(&k) {
            cats.push(k);
        }
        if let Some(&g2) = groups.get(1) {
            let k = (cell(r, i, g2), label(r, i, g2));
            if !sers.contains(&k) {
                sers.push(k);
            }
        }
    }
    if sers.is_empty() {
        sers.push((Json::Null, r.columns[value_col].label.clone()));
    }
    let empty = ctx.t("dash_empty_value");
    c.categories = cats
        .iter()
        .map(|(_, l)| if l.is_empty() { empty.clone() } else { l.clone() })
        .collect();
    for (sv, sl) in &sers {
        let mut data = vec![None; cats.len()];
        let mut links = vec![None; cats.len()];
        for i in 0..r.rows.len() {
            if groups.len() > 1 && &cell(r, i, groups[1]) != sv {
                continue;
            }
            let Some(ci) = cats.iter().position(|(v, _)| *v == cell(r, i, g1)) else {
                continue;
            };
            data[ci] = Some(num(&cell(r, i, value_col)));
            let mut values = vec![cats[ci].0.clone()];
            if groups.len() > 1 {
                values.push(sv.clone());
            }
            links[ci] = drill(ctx.registry, s, &values);
        }
        c.series.push(Series {
            name: if sl.is_empty() { empty.clone() } else { sl.clone() },
            data,
            money,
            ..Series::default()
        });
        c.links.push(links);
    }
    c
}

async fn won_by_month(ctx: &Ctx<'_>) -> StoreResult<WidgetView> {
    let stages = list_stages(&ctx.state.store).await?;
    let today = ctx.today();
    let year = today.year();
    let s = spec(json!({
        "module": "Opportunities",
        "filter": {"all": [
            won_filter(&stages),
            {"field": "closingdate", "op": "between", "value": [format!("{}-01-01", year - 1), format!("{year}-12-31")]},
        ]},
        "group_by": [{"field": "closingdate", "bucket": "month"}],
        "aggregates": [{"fn": "sum", "field": "amount"}],
    }));
    let r = ctx.run(&s).await?;
    let rows: Vec<(i16, i8, i128)> = (0..r.rows.len())
        .filter_map(|i| {
            let key = cell(&r, i, 0);
            let (from, _) = Bucket::Month.day_range(key.as_str()?)?;
            Some((from.year(), from.month(), cents(&cell(&r, i, 1))))
        })
        .collect();
    let (this, last) = shape::same_month_last_year(&rows, year, today.month());
    let mut c = ctx.chart("line");
    c.categories = (1..=12).map(|m| month_name(ctx.user.lang, m)).collect();
    let to = |u: i128| shape::units_to_f64(u, 2);
    c.series = vec![
        Series {
            name: year.to_string(),
            data: this.iter().map(|v| v.map(to)).collect(),
            money: true,
            ..Series::default()
        },
        Series {
            name: (year - 1).to_string(),
            data: last.iter().map(|v| Some(to(*v))).collect(),
            money: true,
            ..Series::default()
        },
    ];
    let link = |y: i16| -> Vec<Option<String>> {
        (1..=12)
            .map(|m| drill(ctx.registry, &s, &[json!(format!("{y:04}-{m:02}"))]))
            .collect()
    };
    c.links = vec![link(year), link(year - 1)];
    Ok(WidgetView {
        chart: Some(c),
        ..WidgetView::default()
    })
}

fn month_name(lang: Lang, m: i8) -> String {
    const EN: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    match lang {
        Lang::Zh => format!("{m}月"),
        Lang::En => EN[usize::try_from(m - 1).unwrap_or(0).min(11)].to_string(),
    }
}

async fn closing_this_month(ctx: &Ctx<'_>) -> StoreResult<WidgetView> {
    let stages = list_stages(&ctx.state.store).await?;
    let open: Vec<&str> = stages
        .iter()
        .filter(|s| s.kind == StageKind::Open)
        .map(|s| s.value.as_str())
        .collect();
    let filter = json!({"all": [
        {"field": "closingdate", "op": "eq", "value": {"relative": "this_month"}},
        {"field": "sales_stage", "op": "in", "value": open},
    ]});
    let s = spec(json!({
        "module": "Opportunities",
        "filter": filter,
        "columns": ["potentialname", "related_to", "amount", "sales_stage", "closingdate", "assigned_user_id"],
        "sort": [{"key": "closingdate"}],
        "limit": 20,
    }));
    let r = ctx.run(&s).await?;
    let table = TableView {
        headings: r.columns.iter().map(|c| c.label.clone()).collect(),
        rows: (0..r.rows.len())
            .map(|i| (0..r.columns.len()).map(|j| label(&r, i, j)).collect())
            .collect(),
    };
    Ok(WidgetView {
        table: Some(table),
        more_href: list_href("Opportunities", &filter),
        ..WidgetView::default()
    })
}

async fn followups_per_week(ctx: &Ctx<'_>) -> StoreResult<WidgetView> {
    let weeks = shape::last_weeks(ctx.today(), WEEKS);
    let from = weeks.first().map(ToString::to_string).unwrap_or_default();
    let mut people: Vec<(Json, String)> = Vec::new();
    let mut rows: Vec<(String, jiff::civil::Date, u64)> = Vec::new();
    for (module, status, done) in [("Tasks", "taskstatus", "Completed"), ("Events", "eventstatus", "Held")] {
        let s = spec(json!({
            "module": module,
            "filter": {"all": [
                {"field": status, "op": "eq", "value": done},
                {"field": "date_start", "op": "ge", "value": from},
            ]},
            "group_by": [{"field": "assigned_user_id"}, {"field": "date_start", "bucket": "week"}],
            "aggregates": [{"fn": "count"}],
        }));
        let r = ctx.run(&s).await?;
        for i in 0..r.rows.len() {
            let who = (cell(&r, i, 0), label(&r, i, 0));
            if !people.contains(&who) {
                people.push(who.clone());
            }
            let Some((monday, _)) = cell(&r, i, 1).as_str().and_then(|k| Bucket::Week.day_range(k)) else {
                continue;
            };
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let n = num(&cell(&r, i, 2)) as u64;
            rows.push((who.1, monday, n));
        }
    }
    let names: Vec<String> = people.iter().map(|(_, l)| l.clone()).collect();
    let grid = shape::per_person_per_week(&names, &weeks, &rows);
    let mut c = ctx.chart("stacked_bar");
    c.categories = weeks.iter().map(|w| ctx.user.viewer().date(*w)).collect();
    #[allow(clippy::cast_precision_loss)]
    for (name, counts) in names.iter().zip(grid) {
        c.series.push(Series {
            name: name.clone(),
            data: counts.into_iter().map(|n| Some(n as f64)).collect(),
            ..Series::default()
        });
    }
    Ok(WidgetView {
        chart: Some(c),
        more_href: Some("/agenda".into()),
        ..WidgetView::default()
    })
}

async fn overdue_followups(ctx: &Ctx<'_>) -> StoreResult<WidgetView> {
    let today = ctx.today().to_string();
    let mut by_person: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    let mut links: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
    for (k, (module, status, date)) in [
        (
            "Tasks",
            json!({"field": "taskstatus", "op": "not_in", "value": ["Completed", "Deferred"]}),
            "due_date",
        ),
        (
            "Events",
            json!({"field": "eventstatus", "op": "eq", "value": "Planned"}),
            "date_start",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let s = spec(json!({
            "module": module,
            "filter": {"all": [status, {"field": date, "op": "lt", "value": today}]},
            "group_by": [{"field": "assigned_user_id"}],
            "aggregates": [{"fn": "count"}],
        }));
        let r = ctx.run(&s).await?;
        for i in 0..r.rows.len() {
            let who = label(&r, i, 0);
            let e = by_person.entry(who.clone()).or_default();
            let l = links.entry(who).or_default();
            let link = drill(ctx.registry, &s, &[cell(&r, i, 0)]);
            if k == 0 {
                e.0 += num(&cell(&r, i, 1));
                l.0 = link;
            } else {
                e.1 += num(&cell(&r, i, 1));
                l.1 = link;
            }
        }
    }
    let mut c = ctx.chart("stacked_bar");
    c.categories = by_person.keys().cloned().collect();
    c.series = vec![
        Series {
            name: ctx.t("dash_series_tasks"),
            data: by_person.values().map(|v| Some(v.0)).collect(),
            ..Series::default()
        },
        Series {
            name: ctx.t("dash_series_events"),
            data: by_person.values().map(|v| Some(v.1)).collect(),
            ..Series::default()
        },
    ];
    c.links = vec![
        links.values().map(|l| l.0.clone()).collect(),
        links.values().map(|l| l.1.clone()).collect(),
    ];
    Ok(WidgetView {
        chart: Some(c),
        more_href: Some("/agenda".into()),
        ..WidgetView::default()
    })
}

async fn count_of(ctx: &Ctx<'_>, module: &str, filter: Json) -> StoreResult<(u64, Option<String>)> {
    let s = spec(json!({"module": module, "filter": filter, "aggregates": [{"fn": "count"}]}));
    let r = ctx.run(&s).await?;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = r.rows.first().and_then(|row| row.first()).map_or(0.0, num) as u64;
    Ok((n, list_href(module, &filter)))
}

async fn conversion(ctx: &Ctx<'_>) -> StoreResult<WidgetView> {
    let stages = list_stages(&ctx.state.store).await?;
    let (leads, l0) = count_of(ctx, "Leads", json!({"all": []})).await?;
    let (converted, l1) = count_of(
        ctx,
        "Leads",
        json!({"all": [{"field": "converted", "op": "eq", "value": true}]}),
    )
    .await?;
    let from_leads = json!({"field": "isconvertedfromlead", "op": "eq", "value": true});
    let (opps, l2) = count_of(ctx, "Opportunities", json!({"all": [from_leads.clone()]})).await?;
    let (won, l3) = count_of(ctx, "Opportunities", json!({"all": [from_leads, won_filter(&stages)]})).await?;
    let conv = shape::Conversion {
        leads,
        converted_leads: converted,
        opportunities_from_leads: opps,
        won_from_leads: won,
    };
    let mut c = ctx.chart("funnel");
    c.categories = vec![
        ctx.t("dash_conv_leads"),
        ctx.t("dash_conv_converted"),
        ctx.t("dash_conv_opportunities"),
        ctx.t("dash_conv_won"),
    ];
    #[allow(clippy::cast_precision_loss)]
    let data = [leads, converted, opps, won].iter().map(|n| Some(*n as f64)).collect();
    c.series = vec![Series {
        name: ctx.t("dash_series_count"),
        data,
        ..Series::default()
    }];
    c.links = vec![vec![l0, l1, l2, l3]];
    let pct = |p: Option<f64>| p.map_or_else(|| "–".to_string(), |v| format!("{v:.1}%"));
    let note = super::render::fill(
        Catalogs::embedded().get(ctx.user.lang, "dash_conv_note"),
        &[
            ("lead_opp", pct(conv.lead_to_opportunity())),
            ("opp_won", pct(conv.opportunity_to_won())),
            ("lead_won", pct(conv.lead_to_won())),
        ],
    );
    Ok(WidgetView {
        chart: Some(c),
        note,
        ..WidgetView::default()
    })
}

async fn pareto(ctx: &Ctx<'_>) -> StoreResult<WidgetView> {
    let stages = list_stages(&ctx.state.store).await?;
    let s = spec(json!({
        "module": "Opportunities",
        "filter": {"all": [won_filter(&stages), {"field": "related_to", "op": "is_not_empty"}]},
        "group_by": [{"field": "related_to"}],
        "aggregates": [{"fn": "sum", "field": "amount"}],
    }));
    let r = ctx.run(&s).await?;
    // Keyed by row index so equal names stay apart; the name is looked up after ranking.
    let rows: Vec<(usize, i128)> = (0..r.rows.len()).map(|i| (i, cents(&cell(&r, i, 1)))).collect();
    let ranked = shape::pareto(&rows);
    let mut c = ctx.chart("pareto");
    let mut revenue = vec![];
    let mut share = vec![];
    let mut links = vec![];
    let mut classes = [0usize; 3];
    for p in &ranked {
        classes[p.class as usize] += 1;
    }
    for p in ranked.iter().take(PARETO_BARS) {
        c.categories.push(label(&r, p.key, 0));
        c.notes.push(p.class.letter().into());
        revenue.push(Some(shape::units_to_f64(p.revenue, 2)));
        share.push(Some(f64::from(p.cumulative_bp) / 100.0));
        links.push(drill(ctx.registry, &s, &[cell(&r, p.key, 0)]));
    }
    c.series = vec![
        Series {
            name: ctx.t("dash_series_won_revenue"),
            data: revenue,
            money: true,
            ..Series::default()
        },
        Series {
            name: ctx.t("dash_series_cumulative"),
            data: share,
            percent: true,
            line: true,
            ..Series::default()
        },
    ];
    c.links = vec![links];
    let note = super::render::fill(
        Catalogs::embedded().get(ctx.user.lang, "dash_pareto_note"),
        &[
            ("a", classes[0].to_string()),
            ("b", classes[1].to_string()),
            ("c", classes[2].to_string()),
        ],
    );
    Ok(WidgetView {
        chart: Some(c),
        note,
        ..WidgetView::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_href_carries_a_drill_filter_the_list_page_reads() {
        let tree = json!({"all": [{"field": "sales_stage", "op": "eq", "value": "Prospecting"}]});
        let href = list_href("Opportunities", &tree).unwrap();
        assert!(href.starts_with("/m/Opportunities?"), "{href}");
        assert!(
            href.contains("f=sales_stage") && href.contains("v=Prospecting"),
            "{href}"
        );
        let pairs: Vec<(String, String)> = form_urlencoded::parse(href.split_once('?').unwrap().1.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(filters::tree(&filters::conditions(&pairs)), tree);
    }

    #[test]
    fn month_names_in_both_languages() {
        assert_eq!(month_name(Lang::En, 1), "Jan");
        assert_eq!(month_name(Lang::Zh, 12), "12月");
    }
}
