//! The user's agenda and calendar-feed token over JSON. The rules live in
//! `sable_store::calendar`; this module parses and renders.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use jiff::{Span, Timestamp};
use sable_store::calendar::{self, AgendaItem};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::AppResult;
use crate::extract::ApiUser;

#[derive(Deserialize)]
pub struct AgendaParams {
    #[serde(default)]
    view: Option<String>,
    #[serde(default)]
    date: Option<String>,
}

fn item_json(i: &AgendaItem) -> Value {
    json!({
        "module": i.module,
        "id": i.id,
        "subject": i.subject,
        "status": i.status,
        "kind": i.kind,
        "day": i.day.to_string(),
        "time": i.time.map(|t| t.strftime("%H:%M").to_string()),
        "at": i.at.map(|t| t.to_string()),
        "end": i.end.map(|t| t.to_string()),
        "end_day": i.end_day.map(|d| d.to_string()),
        "all_day": i.all_day,
        "open": i.open,
        "location": i.location,
        "related": i.related,
    })
}

fn items_json(items: &[AgendaItem]) -> Vec<Value> {
    items.iter().map(item_json).collect()
}

/// The first and last day a view shows.
fn range(view: &str, anchor: Date) -> (Date, Date) {
    match view {
        "day" => (anchor, anchor),
        "month" => (anchor.first_of_month(), anchor.last_of_month()),
        _ => {
            let monday = anchor.saturating_sub(Span::new().days(i64::from(anchor.weekday().to_monday_zero_offset())));
            (monday, monday.saturating_add(Span::new().days(6)))
        }
    }
}

/// `GET /agenda?view=day|week|month&date=YYYY-MM-DD` → the actor's items in that range,
/// plus what is overdue and upcoming (the next seven days) as of today in their zone.
pub async fn agenda(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Query(p): Query<AgendaParams>,
) -> AppResult<Json<Value>> {
    let view = match p.view.as_deref().filter(|v| !v.is_empty()) {
        None => "week",
        Some(v @ ("day" | "week" | "month")) => v,
        Some(v) => {
            return Err(super::bad_param(
                "bad_view",
                "api5_bad_view",
                &[("value", v.to_string())],
            ));
        }
    };
    let today = Timestamp::now().to_zoned_datetime(actor.tz().clone()).date();
    let anchor = match p.date.as_deref().filter(|v| !v.is_empty()) {
        None => today,
        Some(v) => v
            .parse::<Date>()
            .ok()
            .filter(|_| v.len() == 10)
            .ok_or_else(|| super::bad_param("bad_date", "api5_bad_date", &[("value", v.to_string())]))?,
    };
    let (from, to) = range(view, anchor);
    let items = calendar::agenda(&state.store, &actor, from, to).await?;
    let overdue = calendar::overdue(&state.store, &actor, today).await?;
    let upcoming = calendar::agenda(&state.store, &actor, today, today.saturating_add(Span::new().days(7))).await?;
    Ok(Json(json!({
        "view": view,
        "from": from.to_string(),
        "to": to.to_string(),
        "today": today.to_string(),
        "items": items_json(&items),
        "overdue": items_json(&overdue),
        "upcoming": items_json(&upcoming),
    })))
}

/// `GET /agenda/reminders` → what to remind the actor of now.
pub async fn reminders(State(state): State<AppState>, ApiUser(actor): ApiUser) -> AppResult<Json<Value>> {
    let items = calendar::reminders(&state.store, &actor, Timestamp::now()).await?;
    Ok(Json(json!({ "items": items_json(&items) })))
}

/// `POST /calendar-feed` → 201 `{"url"}` with a new token; any old one stops working.
pub async fn rotate_feed(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    headers: HeaderMap,
) -> AppResult<Response> {
    let token = calendar::rotate_feed_token(&state.store, &actor).await?;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '[' | ']'))
        })
        .unwrap_or("localhost");
    let scheme = match headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()) {
        Some("https") => "https",
        _ => "http",
    };
    let mut response = (
        StatusCode::CREATED,
        Json(json!({ "url": format!("{scheme}://{host}/ics/{token}.ics") })),
    )
        .into_response();
    // The answer holds a secret: never keep it in a cache.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `DELETE /calendar-feed` → 204; the feed stops working.
pub async fn revoke_feed(State(state): State<AppState>, ApiUser(actor): ApiUser) -> AppResult<StatusCode> {
    calendar::revoke_feed_token(&state.store, &actor).await?;
    Ok(StatusCode::NO_CONTENT)
}
