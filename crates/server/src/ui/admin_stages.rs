//! Sales stages for administrators: order, labels in both languages, probability, kind,
//! guidance and checklist. The store refuses non-administrators and removing a stage in use.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use sable_core::Labels;
use sable_core::meta::StageKind;
use sable_store::stages::{self, StageDef};
use serde::{Deserialize, Serialize};

use super::render::{Catalogs, fill, render};
use super::session::UiUser;
use super::{Layout, csrf_refused, error_page, form_value, parse_form, see_other, store_error_page};
use crate::AppState;

#[derive(Deserialize)]
pub struct StagesParams {
    saved: Option<String>,
}

#[derive(Serialize)]
struct Row {
    index: usize,
    order: usize,
    value: String,
    is_new: bool,
    label_en: String,
    label_zh: String,
    probability: u32,
    kind: &'static str,
    color: String,
    guidance_en: String,
    guidance_zh: String,
    checklist_en: String,
    checklist_zh: String,
}

#[derive(Serialize)]
struct StagesPage {
    layout: Layout,
    lang: &'static str,
    rows: Vec<Row>,
    count: usize,
    saved: bool,
    error: Option<String>,
}

fn lines(items: &[Labels], zh: bool) -> String {
    items
        .iter()
        .map(|l| if zh { l.zh.as_str() } else { l.en.as_str() })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn page(state: &AppState, user: &UiUser, saved: bool, error: Option<String>) -> Response {
    if !user.actor.is_admin() {
        return error_page(user.lang, StatusCode::FORBIDDEN, "admin_only");
    }
    let (registry, list) = match (state.store.registry().await, stages::list_stages(&state.store).await) {
        (Ok(r), Ok(l)) => (r, l),
        (Err(e), _) => return store_error_page(user.lang, e.into()),
        (_, Err(e)) => return store_error_page(user.lang, e),
    };
    let mut rows: Vec<Row> = list
        .iter()
        .enumerate()
        .map(|(i, s)| Row {
            index: i,
            order: i + 1,
            value: s.value.clone(),
            is_new: false,
            label_en: s.labels.en.clone(),
            label_zh: s.labels.zh.clone(),
            probability: s.probability,
            kind: s.kind.as_str(),
            color: s.color.clone().unwrap_or_default(),
            guidance_en: s.guidance.en.clone(),
            guidance_zh: s.guidance.zh.clone(),
            checklist_en: lines(&s.checklist, false),
            checklist_zh: lines(&s.checklist, true),
        })
        .collect();
    let n = rows.len();
    rows.push(Row {
        index: n,
        order: n + 1,
        value: String::new(),
        is_new: true,
        label_en: String::new(),
        label_zh: String::new(),
        probability: 0,
        kind: "open",
        color: String::new(),
        guidance_en: String::new(),
        guidance_zh: String::new(),
        checklist_en: String::new(),
        checklist_zh: String::new(),
    });
    let title = Catalogs::embedded().get(user.lang, "stage_admin_title").to_string();
    let page = StagesPage {
        layout: Layout::new(user, &registry, title, "admin_stages", None),
        lang: user.lang.tag(),
        count: rows.len(),
        rows,
        saved,
        error,
    };
    render("pages/admin_stages.html", &page)
}

/// `GET /admin/stages`.
pub async fn show(State(state): State<AppState>, user: UiUser, Query(p): Query<StagesParams>) -> Response {
    page(&state, &user, p.saved.is_some(), None).await
}

/// Reads the posted rows: `s{i}_value`, `s{i}_label_en`, … ; a row without a value, or
/// with `s{i}_remove`, is left out; rows are ordered by `s{i}_order`.
fn read_rows(form: &[(String, String)]) -> Vec<StageDef> {
    let count: usize = form_value(form, "count")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
        .min(100);
    let mut out: Vec<(usize, StageDef)> = Vec::new();
    for i in 0..count {
        let get = |name: &str| {
            form_value(form, &format!("s{i}_{name}"))
                .unwrap_or("")
                .trim()
                .to_string()
        };
        let value = get("value");
        if value.is_empty() || !get("remove").is_empty() {
            continue;
        }
        let en_items: Vec<String> = get("checklist_en").lines().map(|l| l.trim().to_string()).collect();
        let zh_items: Vec<String> = get("checklist_zh").lines().map(|l| l.trim().to_string()).collect();
        let checklist = (0..en_items.len().max(zh_items.len()))
            .map(|k| {
                Labels::new(
                    en_items.get(k).cloned().unwrap_or_default(),
                    zh_items.get(k).cloned().unwrap_or_default(),
                )
            })
            .collect();
        let kind = match get("kind").as_str() {
            "won" => StageKind::Won,
            "lost" => StageKind::Lost,
            _ => StageKind::Open,
        };
        let color = get("color");
        let def = StageDef {
            labels: Labels::new(get("label_en"), get("label_zh")),
            value,
            probability: get("probability").parse().unwrap_or(0),
            kind,
            color: (!color.is_empty()).then_some(color),
            guidance: Labels::new(get("guidance_en"), get("guidance_zh")),
            checklist,
        };
        out.push((get("order").parse().unwrap_or(i + 1), def));
    }
    out.sort_by_key(|(order, _)| *order);
    out.into_iter().map(|(_, d)| d).collect()
}

/// `POST /admin/stages`: the whole list.
pub async fn save(State(state): State<AppState>, user: UiUser, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    match stages::set_stages(&state.store, &user.actor, read_rows(&form)).await {
        Ok(_) => see_other("/admin/stages?saved=1"),
        Err(sable_store::StoreError::Forbidden(_)) => error_page(user.lang, StatusCode::FORBIDDEN, "admin_only"),
        Err(e) => {
            let message = fill(
                Catalogs::embedded().get(user.lang, "admin_error"),
                &[("detail", super::store_message(user.lang, &e))],
            );
            page(&state, &user, false, Some(message)).await
        }
    }
}
