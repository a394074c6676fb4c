//! The home page: my overdue and today's tasks and events, my recent records and my open
//! pipeline.

use axum::extract::{Query, State};
use axum::response::Response;
use sable_core::meta::StageKind;
use sable_core::{Filter, Value};
use sable_store::{Query as ListQuery, SortKey};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::format::picklist_label;
use super::render::{Catalogs, render};
use super::session::UiUser;
use super::{Layout, store_error_page};
use crate::AppState;

#[derive(Deserialize)]
pub struct HomeQuery {
    flash: Option<String>,
}

#[derive(Serialize)]
struct Recent {
    href: String,
    label: String,
    module: String,
    when: String,
}

/// An open task or event due today or overdue.
#[derive(Serialize)]
struct Due {
    href: String,
    subject: String,
    related: String,
    when: String,
    overdue: bool,
}

#[derive(Serialize)]
struct StageBar {
    label: String,
    count: usize,
    amount: String,
    width: u32,
}

#[derive(Serialize)]
struct HomePage {
    layout: Layout,
    lang: &'static str,
    welcome: String,
    recent: Vec<Recent>,
    due: Vec<Due>,
    stages: Vec<StageBar>,
    open_count: usize,
    open_amount: String,
    weighted_amount: String,
}

/// `GET /`.
pub async fn show(State(state): State<AppState>, user: UiUser, Query(q): Query<HomeQuery>) -> Response {
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let svc = state.store.records(&user.actor);
    let mine = json!({"field": "assigned_user_id", "op": "eq", "value": user.actor.user_id()});
    let mut recent = Vec::new();
    for m in registry.entity_modules() {
        let query = ListQuery {
            filter: Filter::from_json(&mine).unwrap_or_else(|_| Filter::everything()),
            sort: vec![SortKey {
                field: "modifiedtime".into(),
                desc: true,
            }],
            limit: 5,
            with_count: false,
            ..ListQuery::default()
        };
        let page = match svc.query(&m.name, &query).await {
            Ok(p) => p,
            Err(e) => return store_error_page(user.lang, e),
        };
        for r in page.items {
            let when = match r.values.get("modifiedtime") {
                Some(Value::DateTime(t)) => *t,
                _ => jiff::Timestamp::UNIX_EPOCH,
            };
            recent.push((
                when,
                Recent {
                    href: format!("/m/{}/{}", m.name, r.id),
                    label: r.label,
                    module: m.singular.get(user.lang).into(),
                    when: String::new(),
                },
            ));
        }
    }
    recent.sort_by_key(|r| std::cmp::Reverse(r.0));
    let recent: Vec<Recent> = recent
        .into_iter()
        .take(10)
        .map(|(t, mut r)| {
            r.when = user.viewer().datetime(t);
            r
        })
        .collect();

    // My open pipeline by stage (the reports module will aggregate in the database).
    let mut stages = Vec::new();
    let (mut open_count, mut open_units, mut weighted_units) = (0usize, 0i128, 0i128);
    if let (Ok(opps), Some(stage_field)) = (
        registry.module("Opportunities"),
        registry
            .module("Opportunities")
            .ok()
            .and_then(|m| m.field("sales_stage")),
    ) {
        let query = ListQuery {
            filter: Filter::from_json(&mine).unwrap_or_else(|_| Filter::everything()),
            limit: 500,
            with_count: false,
            ..ListQuery::default()
        };
        let page = svc.query(&opps.name, &query).await.ok();
        let items = page.map(|p| p.items).unwrap_or_default();
        if let Some(list) = registry.picklist_of(stage_field) {
            for stage in list.values.iter().filter(|v| v.kind == Some(StageKind::Open)) {
                let in_stage: Vec<_> = items
                    .iter()
                    .filter(|r| r.values.get("sales_stage") == Some(&Value::Text(stage.value.clone())))
                    .collect();
                let units: i128 = in_stage
                    .iter()
                    .map(|r| match r.values.get("amount") {
                        Some(Value::Scaled(u)) => i128::from(*u),
                        _ => 0,
                    })
                    .sum();
                open_count += in_stage.len();
                open_units += units;
                weighted_units += units * i128::from(stage.probability.unwrap_or(0)) / 100;
                stages.push((
                    units,
                    StageBar {
                        label: picklist_label(&registry, stage_field, &stage.value, user.lang),
                        count: in_stage.len(),
                        amount: String::new(),
                        width: 0,
                    },
                ));
            }
        }
    }
    let max = stages.iter().map(|(u, _)| *u).max().unwrap_or(0).max(1);
    let money = |units: i128| {
        user.viewer().money(&sable_core::value::format_scaled(
            i64::try_from(units).unwrap_or(i64::MAX),
            2,
        ))
    };
    let stages = stages
        .into_iter()
        .map(|(units, mut bar)| {
            bar.amount = money(units);
            bar.width = u32::try_from(units * 100 / max).unwrap_or(0);
            bar
        })
        .collect();
    let due = match my_due_items(&state, &user).await {
        Ok(d) => d,
        Err(e) => return store_error_page(user.lang, e),
    };
    let c = Catalogs::embedded();
    let title = c.get(user.lang, "home_title").to_string();
    let welcome = super::render::fill(
        c.get(user.lang, "home_welcome"),
        &[("name", user.session.user.display_name())],
    );
    let page = HomePage {
        layout: Layout::new(&user, &registry, title, "home", q.flash.as_deref()),
        lang: user.lang.tag(),
        welcome,
        recent,
        due,
        stages,
        open_count,
        open_amount: money(open_units),
        weighted_amount: money(weighted_units),
    };
    render("pages/home.html", &page)
}

/// My open tasks and events that are overdue or due today (in my zone), at most ten.
async fn my_due_items(state: &AppState, user: &UiUser) -> Result<Vec<Due>, sable_store::StoreError> {
    use sable_store::calendar;
    let actor = &user.actor;
    let today = jiff::Timestamp::now().to_zoned_datetime(actor.tz().clone()).date();
    let overdue = calendar::overdue(&state.store, actor, today).await?;
    let on_today = calendar::agenda(&state.store, actor, today, today).await?;
    let item = |i: calendar::AgendaItem, overdue: bool| Due {
        href: format!("/m/{}/{}", i.module, i.id),
        when: match (overdue, i.time) {
            (true, _) => user.viewer().date(i.day),
            (false, Some(t)) => t.strftime("%H:%M").to_string(),
            (false, None) => String::new(),
        },
        subject: i.subject,
        related: i.related,
        overdue,
    };
    Ok(overdue
        .into_iter()
        .map(|i| item(i, true))
        .chain(on_today.into_iter().filter(|i| i.open).map(|i| item(i, false)))
        .take(10)
        .collect())
}
