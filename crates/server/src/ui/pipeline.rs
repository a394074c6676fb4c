//! The pipeline board: a column per sales stage with count, total and weighted amount
//! (aggregated by the store in SQL), cards that move to another stage through the record
//! service (drag and drop, or the stage select on each card without JavaScript), and an
//! opportunity's stage page with guidance, checklist and stage history.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use sable_core::Value;
use sable_core::value::format_scaled;
use sable_store::pipeline::{self, BoardFilter};
use sable_store::stages::{self, MODULE};
use serde::{Deserialize, Serialize};
use serde_json::{Map, json};

use super::render::{Catalogs, render};
use super::session::UiUser;
use super::{Layout, csrf_refused, form_value, parse_form, see_other, store_error_page, store_message};
use crate::AppState;

#[derive(Deserialize, Default)]
pub struct BoardParams {
    owner: Option<String>,
    account: Option<String>,
    period: Option<String>,
    /// Custom close dates (ISO), beside the periods; either may be left open.
    from: Option<String>,
    to: Option<String>,
}

#[derive(Serialize)]
struct Card {
    id: i64,
    version: i64,
    name: String,
    account: String,
    amount: String,
    closing: String,
    owner: String,
    stage: String,
}

#[derive(Serialize)]
struct Column {
    value: String,
    label: String,
    kind: &'static str,
    color: String,
    count: i64,
    total: String,
    weighted: String,
    cards: Vec<Card>,
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Serialize)]
struct BoardPage {
    layout: Layout,
    lang: &'static str,
    columns: Vec<Column>,
    stages: Vec<Choice>,
    owners: Vec<Choice>,
    accounts: Vec<Choice>,
    periods: Vec<Choice>,
    from: String,
    to: String,
    back: String,
    is_admin: bool,
    error: Option<String>,
}

/// A valid ISO date from a form value, else none.
fn iso_date(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|v| !v.is_empty())
        .and_then(|v| v.parse::<jiff::civil::Date>().ok())
        .map(|d| d.to_string())
}

/// The close-date range: custom dates when either is given, else the period's.
fn close_range(p: &BoardParams, tz: &jiff::tz::TimeZone) -> (Option<String>, Option<String>) {
    let (from, to) = (iso_date(p.from.as_deref()), iso_date(p.to.as_deref()));
    if from.is_some() || to.is_some() {
        return (from, to);
    }
    match p
        .period
        .as_deref()
        .and_then(|x| sable_store::pipeline::close_period(x, tz))
    {
        Some((a, b)) => (Some(a), Some(b)),
        None => (None, None),
    }
}

fn query_string(p: &BoardParams) -> String {
    let pairs = [
        ("owner", &p.owner),
        ("account", &p.account),
        ("period", &p.period),
        ("from", &p.from),
        ("to", &p.to),
    ];
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            s.append_pair(k, v);
        }
    }
    s.finish()
}

async fn board_page(state: &AppState, user: &UiUser, p: &BoardParams, error: Option<String>) -> Response {
    let lang = user.lang;
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(lang, e.into()),
    };
    let viewer = user.viewer();
    let (close_from, close_to) = close_range(p, viewer.tz);
    let filter = BoardFilter {
        owner: p.owner.as_deref().and_then(|o| o.parse().ok()),
        account: p.account.as_deref().and_then(|o| o.parse().ok()),
        close_from,
        close_to,
    };
    let (board, list, users, account_list) = match (
        pipeline::board(&state.store, &user.actor, &filter).await,
        stages::list_stages(&state.store).await,
        sable_store::users::list_users(&state.store).await,
        pipeline::board_accounts(&state.store, &user.actor, pipeline::MAX_ACCOUNT_CHOICES).await,
    ) {
        (Ok(b), Ok(l), Ok(u), Ok(a)) => (b, l, u, a),
        (Err(e), _, _, _) | (_, Err(e), _, _) | (_, _, _, Err(e)) => return store_error_page(lang, e),
        (_, _, Err(e), _) => return store_error_page(lang, e.into()),
    };
    let money = |units: i64| viewer.money(&format_scaled(units, 2));
    let accounts: Vec<Choice> = account_list
        .into_iter()
        .map(|(id, label)| Choice {
            selected: p.account.as_deref() == Some(&id.to_string()),
            value: id.to_string(),
            label,
        })
        .collect();
    let mut columns: Vec<Column> = list
        .iter()
        .map(|s| {
            let t = board.totals.get(&s.value).cloned().unwrap_or_default();
            Column {
                value: s.value.clone(),
                label: s.labels.get(lang).to_string(),
                kind: s.kind.as_str(),
                color: s.color.clone().unwrap_or_default(),
                count: t.count,
                total: money(t.total),
                weighted: money(t.weighted),
                cards: Vec::new(),
            }
        })
        .collect();
    for r in &board.cards {
        let text = |f: &str| match r.values.get(f) {
            Some(Value::Text(s)) => s.clone(),
            _ => String::new(),
        };
        let stage = text("sales_stage");
        let account = match r.values.get("related_to") {
            Some(Value::Id(_)) => r.labels.get("related_to").cloned().unwrap_or_default(),
            _ => String::new(),
        };
        let card = Card {
            id: r.id,
            version: r.version,
            name: r.label.clone(),
            account,
            amount: match r.values.get("amount") {
                Some(Value::Scaled(u)) => money(*u),
                _ => String::new(),
            },
            closing: match r.values.get("closingdate") {
                Some(Value::Date(d)) => viewer.date(*d),
                _ => String::new(),
            },
            owner: r.labels.get("assigned_user_id").cloned().unwrap_or_default(),
            stage: stage.clone(),
        };
        if let Some(col) = columns.iter_mut().find(|c| c.value == stage) {
            col.cards.push(card);
        }
    }
    let c = Catalogs::embedded();
    let periods = ["", "month", "quarter", "year"]
        .iter()
        .map(|v| Choice {
            value: v.to_string(),
            label: c
                .get(lang, &format!("stage_period_{}", if v.is_empty() { "all" } else { v }))
                .to_string(),
            selected: p.period.as_deref().unwrap_or("") == *v,
        })
        .collect();
    let owners = users
        .iter()
        .map(|u| Choice {
            value: u.id.to_string(),
            label: u.display_name(),
            selected: p.owner.as_deref() == Some(&u.id.to_string()),
        })
        .collect();
    let stages = list
        .iter()
        .map(|s| Choice {
            value: s.value.clone(),
            label: s.labels.get(lang).to_string(),
            selected: false,
        })
        .collect();
    let title = c.get(lang, "stage_board_title").to_string();
    let page = BoardPage {
        layout: Layout::new(user, &registry, title, "pipeline", None),
        lang: lang.tag(),
        columns,
        stages,
        owners,
        accounts,
        periods,
        from: iso_date(p.from.as_deref()).unwrap_or_default(),
        to: iso_date(p.to.as_deref()).unwrap_or_default(),
        back: query_string(p),
        is_admin: user.actor.is_admin(),
        error,
    };
    render("pages/pipeline.html", &page)
}

/// `GET /pipeline`.
pub async fn board(State(state): State<AppState>, user: UiUser, Query(p): Query<BoardParams>) -> Response {
    board_page(&state, &user, &p, None).await
}

/// `POST /pipeline/{id}/move`: `stage`, `version`, optional `lost_reason`, `back` (filters).
pub async fn move_card(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let back = form_value(&form, "back").unwrap_or("").to_string();
    let params: BoardParams = serde_urlencoded_params(&back);
    let mut input = Map::new();
    input.insert("sales_stage".into(), json!(form_value(&form, "stage").unwrap_or("")));
    if let Some(reason) = form_value(&form, "lost_reason").filter(|r| !r.trim().is_empty()) {
        input.insert("lost_reason".into(), json!(reason));
    }
    let version = form_value(&form, "version").and_then(|v| v.parse().ok());
    match state
        .store
        .records(&user.actor)
        .update(MODULE, id, version, &input)
        .await
    {
        Ok(_) if form_value(&form, "return") == Some("stage") => see_other(&format!("/pipeline/{id}")),
        Ok(_) => see_other(&format!("/pipeline?{back}")),
        Err(e) => {
            let message = store_message(user.lang, &e);
            board_page(&state, &user, &params, Some(message)).await
        }
    }
}

fn serde_urlencoded_params(qs: &str) -> BoardParams {
    let mut p = BoardParams::default();
    for (k, v) in form_urlencoded::parse(qs.as_bytes()) {
        match k.as_ref() {
            "owner" => p.owner = Some(v.into_owned()),
            "account" => p.account = Some(v.into_owned()),
            "period" => p.period = Some(v.into_owned()),
            "from" => p.from = Some(v.into_owned()),
            "to" => p.to = Some(v.into_owned()),
            _ => {}
        }
    }
    p
}

#[derive(Serialize)]
struct Item {
    index: usize,
    label: String,
    done: bool,
}

#[derive(Serialize)]
struct Visit {
    stage: String,
    entered: String,
    user: String,
    days: i64,
}

#[derive(Serialize)]
struct StagePage {
    layout: Layout,
    lang: &'static str,
    id: i64,
    version: i64,
    name: String,
    stage: String,
    stage_label: String,
    guidance: String,
    items: Vec<Item>,
    history: Vec<Visit>,
    stages: Vec<Choice>,
}

/// `GET /pipeline/{id}`: an opportunity's current stage with its guidance, checklist and history.
pub async fn stage_page(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Response {
    let lang = user.lang;
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(lang, e.into()),
    };
    let record = match state.store.records(&user.actor).get(MODULE, id).await {
        Ok(r) => r,
        Err(e) => return store_error_page(lang, e),
    };
    let current = match record.values.get("sales_stage") {
        Some(Value::Text(s)) => s.clone(),
        _ => String::new(),
    };
    let (list, ticked, visits) = match (
        stages::list_stages(&state.store).await,
        stages::ticked_items(&state.store, &user.actor, id, &current).await,
        stages::stage_history(&state.store, &user.actor, id).await,
    ) {
        (Ok(l), Ok(t), Ok(h)) => (l, t, h),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return store_error_page(lang, e),
    };
    let label_of = |v: &str| {
        list.iter()
            .find(|s| s.value == v)
            .map_or_else(|| v.to_string(), |s| s.labels.get(lang).to_string())
    };
    let stage = list.iter().find(|s| s.value == current);
    let viewer = user.viewer();
    let page = StagePage {
        layout: Layout::new(&user, &registry, record.label.clone(), "pipeline", None),
        lang: lang.tag(),
        id,
        version: record.version,
        name: record.label.clone(),
        stage: current.clone(),
        stage_label: label_of(&current),
        guidance: stage.map(|s| s.guidance.get(lang).to_string()).unwrap_or_default(),
        items: stage
            .map(|s| {
                s.checklist
                    .iter()
                    .enumerate()
                    .map(|(i, l)| Item {
                        index: i,
                        label: l.get(lang).to_string(),
                        done: ticked.contains(&u32::try_from(i).unwrap_or(u32::MAX)),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        history: visits
            .iter()
            .map(|v| Visit {
                stage: label_of(&v.stage),
                entered: jiff::Timestamp::from_millisecond(v.entered_ms)
                    .map(|t| viewer.datetime(t))
                    .unwrap_or_default(),
                user: v.user.clone(),
                days: v.days,
            })
            .collect(),
        stages: list
            .iter()
            .map(|s| Choice {
                value: s.value.clone(),
                label: s.labels.get(lang).to_string(),
                selected: s.value == current,
            })
            .collect(),
    };
    render("pages/pipeline_stage.html", &page)
}

/// `POST /pipeline/{id}/check`: `stage`, `item`, `done` (`1` ticks, anything else unticks).
pub async fn check(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let item = form_value(&form, "item")
        .and_then(|i| i.parse().ok())
        .unwrap_or(u32::MAX);
    let done = form_value(&form, "done") == Some("1");
    let stage = form_value(&form, "stage").unwrap_or("");
    match stages::set_item(&state.store, &user.actor, id, stage, item, done).await {
        Ok(()) => see_other(&format!("/pipeline/{id}")),
        Err(e) => store_error_page(user.lang, e),
    }
}
