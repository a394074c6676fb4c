//! My agenda: reminders, overdue items, and my tasks and events by day (an agenda of the
//! coming week, or a day, week or month), plus the calendar-feed token (create, rotate,
//! revoke). Reminders are decided in UTC by the store and shown in the user's zone.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use jiff::civil::Date;
use jiff::{Span, Timestamp};
use sable_core::Registry;
use sable_store::calendar::{self, AgendaItem};
use serde::{Deserialize, Serialize};

use super::render::{Catalogs, render};
use super::session::UiUser;
use super::{Layout, csrf_refused, form_value, parse_form, store_error_page};
use crate::AppState;

#[derive(Deserialize)]
pub struct AgendaParams {
    #[serde(default)]
    view: Option<String>,
    #[serde(default)]
    date: Option<String>,
}

#[derive(Serialize)]
struct ItemView {
    href: String,
    module: String,
    subject: String,
    when: String,
    status: String,
    kind: String,
    related: String,
    open: bool,
}

#[derive(Serialize)]
struct DayView {
    label: String,
    today: bool,
    items: Vec<ItemView>,
}

#[derive(Serialize)]
struct AgendaPage {
    layout: Layout,
    lang: &'static str,
    view: String,
    period: String,
    prev_href: String,
    next_href: String,
    reminders: Vec<ItemView>,
    overdue: Vec<ItemView>,
    days: Vec<DayView>,
    has_feed: bool,
    feed_url: Option<String>,
}

fn label(registry: &Registry, picklist: &str, value: &str, user: &UiUser) -> String {
    registry
        .picklist(picklist)
        .and_then(|p| p.values.iter().find(|v| v.value == value))
        .map_or_else(|| value.to_string(), |v| v.labels.get(user.lang).to_string())
}

fn view_of(i: &AgendaItem, registry: &Registry, user: &UiUser) -> ItemView {
    let viewer = user.viewer();
    let event = i.module == "Events";
    ItemView {
        href: format!("/m/{}/{}", i.module, i.id),
        module: i.module.clone(),
        subject: i.subject.clone(),
        when: match i.at {
            Some(at) => viewer.datetime(at),
            None => viewer.date(i.day),
        },
        status: label(
            registry,
            if event { "eventstatus" } else { "taskstatus" },
            &i.status,
            user,
        ),
        kind: if event {
            label(registry, "activitytype", &i.kind, user)
        } else {
            Catalogs::embedded().get(user.lang, "act_task").to_string()
        },
        related: i.related.clone(),
        open: i.open,
    }
}

/// The first and last day a view shows, and the step between pages.
fn period(view: &str, anchor: Date) -> (Date, Date, Span) {
    match view {
        "day" => (anchor, anchor, Span::new().days(1)),
        "week" => {
            let monday = anchor.saturating_sub(Span::new().days(i64::from(anchor.weekday().to_monday_zero_offset())));
            (monday, monday.saturating_add(Span::new().days(6)), Span::new().weeks(1))
        }
        "month" => (anchor.first_of_month(), anchor.last_of_month(), Span::new().months(1)),
        _ => (anchor, anchor.saturating_add(Span::new().days(7)), Span::new().weeks(1)),
    }
}

async fn page(state: &AppState, user: &UiUser, p: &AgendaParams, feed_url: Option<String>) -> Response {
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let actor = &user.actor;
    let now = Timestamp::now();
    let today = now.to_zoned_datetime(actor.tz().clone()).date();
    let view = ["day", "week", "month"]
        .into_iter()
        .find(|v| p.view.as_deref() == Some(*v))
        .unwrap_or("agenda");
    let anchor = p.date.as_deref().and_then(|d| d.parse::<Date>().ok()).unwrap_or(today);
    let (from, to, step) = period(view, anchor);
    let result = async {
        Ok::<_, sable_store::StoreError>((
            calendar::reminders(&state.store, actor, now).await?,
            calendar::overdue(&state.store, actor, today).await?,
            calendar::agenda(&state.store, actor, from, to).await?,
            calendar::has_feed_token(&state.store, actor).await?,
        ))
    }
    .await;
    let (reminders, overdue, items, has_feed) = match result {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e),
    };
    let viewer = user.viewer();
    let mut days: Vec<DayView> = Vec::new();
    let mut day = from;
    while day <= to {
        let on_day: Vec<ItemView> = items
            .iter()
            .filter(|i| i.day == day)
            .map(|i| view_of(i, &registry, user))
            .collect();
        if !on_day.is_empty() || day == today || view == "day" {
            days.push(DayView {
                label: format!("{} {}", viewer.date(day), weekday(day, user)),
                today: day == today,
                items: on_day,
            });
        }
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    let href = |d: Date| format!("/agenda?view={view}&date={d}");
    let c = Catalogs::embedded();
    let page = AgendaPage {
        layout: Layout::new(user, &registry, c.get(user.lang, "act_agenda").into(), "agenda", None),
        lang: user.lang.tag(),
        view: view.into(),
        period: if from == to {
            viewer.date(from)
        } else {
            format!("{} – {}", viewer.date(from), viewer.date(to))
        },
        prev_href: href(anchor.saturating_sub(step)),
        next_href: href(anchor.saturating_add(step)),
        reminders: reminders.iter().map(|i| view_of(i, &registry, user)).collect(),
        overdue: overdue.iter().map(|i| view_of(i, &registry, user)).collect(),
        days,
        has_feed,
        feed_url,
    };
    render("pages/agenda.html", &page)
}

fn weekday(d: Date, user: &UiUser) -> String {
    let key = match d.weekday().to_monday_zero_offset() {
        0 => "act_mon",
        1 => "act_tue",
        2 => "act_wed",
        3 => "act_thu",
        4 => "act_fri",
        5 => "act_sat",
        _ => "act_sun",
    };
    Catalogs::embedded().get(user.lang, key).to_string()
}

/// `GET /agenda`.
pub async fn show(State(state): State<AppState>, user: UiUser, Query(p): Query<AgendaParams>) -> Response {
    page(&state, &user, &p, None).await
}

/// `POST /agenda/feed` with `action=rotate|revoke`: the new feed address is shown once.
pub async fn feed(State(state): State<AppState>, user: UiUser, headers: HeaderMap, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let params = AgendaParams { view: None, date: None };
    if form_value(&form, "action") == Some("revoke") {
        return match calendar::revoke_feed_token(&state.store, &user.actor).await {
            Ok(()) => page(&state, &user, &params, None).await,
            Err(e) => store_error_page(user.lang, e),
        };
    }
    match calendar::rotate_feed_token(&state.store, &user.actor).await {
        Ok(token) => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .filter(|h| {
                    h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '[' | ']'))
                })
                .unwrap_or("localhost");
            let scheme = match headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()) {
                Some("https") => "https",
                _ => "http",
            };
            let mut response = page(
                &state,
                &user,
                &params,
                Some(format!("{scheme}://{host}/ics/{token}.ics")),
            )
            .await;
            // The page shows a secret: never keep it in a cache.
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            if response.status() != StatusCode::OK {
                tracing::warn!("agenda page failed after a feed rotation");
            }
            response
        }
        Err(e) => store_error_page(user.lang, e),
    }
}

#[derive(Serialize)]
struct BadgePartial {
    lang: &'static str,
    count: usize,
    titles: String,
}

/// `GET /agenda/reminders`: the reminder badge every page loads (and refreshes each minute).
pub async fn reminders_badge(State(state): State<AppState>, user: UiUser) -> Response {
    let items = match calendar::reminders(&state.store, &user.actor, Timestamp::now()).await {
        Ok(items) => items,
        Err(e) => return store_error_page(user.lang, e),
    };
    let viewer = user.viewer();
    let titles = items
        .iter()
        .map(|i| match i.at {
            Some(at) => format!("{} {}", viewer.datetime(at), i.subject),
            None => i.subject.clone(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    render(
        "partials/reminders_badge.html",
        &BadgePartial {
            lang: user.lang.tag(),
            count: items.len(),
            titles,
        },
    )
}
