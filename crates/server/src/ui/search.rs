//! Global search (results grouped by module) and the type-ahead lookup of reference fields.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::render::{Catalogs, fill, render};
use super::session::UiUser;
use super::{Layout, store_error_page};
use crate::AppState;

#[derive(Deserialize)]
pub struct SearchParams {
    q: Option<String>,
}

#[derive(Serialize)]
struct Hit {
    href: String,
    label: String,
}

#[derive(Serialize)]
struct Group {
    title: String,
    hits: Vec<Hit>,
}

#[derive(Serialize)]
struct SearchPage {
    layout: Layout,
    lang: &'static str,
    q: String,
    heading: String,
    groups: Vec<Group>,
    searched: bool,
}

/// `GET /search?q=…`.
pub async fn show(State(state): State<AppState>, user: UiUser, Query(p): Query<SearchParams>) -> Response {
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let q: String = p.q.unwrap_or_default().trim().chars().take(200).collect();
    let hits = if q.is_empty() {
        Vec::new()
    } else {
        match state.store.records(&user.actor).search(&q, 100).await {
            Ok(h) => h,
            Err(e) => return store_error_page(user.lang, e),
        }
    };
    let mut groups: Vec<Group> = Vec::new();
    for m in registry.entity_modules() {
        let module_hits: Vec<Hit> = hits
            .iter()
            .filter(|h| h.module == m.name)
            .map(|h| Hit {
                href: format!("/m/{}/{}", h.module, h.id),
                label: h.label.clone(),
            })
            .collect();
        if !module_hits.is_empty() {
            groups.push(Group {
                title: format!("{} ({})", m.label(user.lang), module_hits.len()),
                hits: module_hits,
            });
        }
    }
    let c = Catalogs::embedded();
    let heading = fill(c.get(user.lang, "search_title"), &[("q", q.clone())]);
    let mut layout = Layout::new(&user, &registry, heading.clone(), "search", None);
    layout.q = q.clone();
    let page = SearchPage {
        layout,
        lang: user.lang.tag(),
        searched: !q.is_empty(),
        q,
        heading,
        groups,
    };
    render("pages/search.html", &page)
}

/// `GET /ui/lookup/{modules}?q=…` → `[{"id","label"[,"module"]}]` for the reference picker.
/// `modules` is the field's target list, comma-separated; the search is restricted to those
/// modules in the store, and each hit names its module when there are several.
pub async fn lookup(
    State(state): State<AppState>,
    user: UiUser,
    Path(modules): Path<String>,
    Query(p): Query<SearchParams>,
) -> Response {
    let q: String = p.q.unwrap_or_default().trim().chars().take(100).collect();
    if q.is_empty() {
        return Json(json!([])).into_response();
    }
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return crate::error::AppError::from(e).into_response(),
    };
    let targets: Vec<&sable_core::meta::ModuleDef> = modules
        .split(',')
        .filter_map(|name| registry.entity_modules().find(|m| m.name == name.trim()))
        .collect();
    if targets.is_empty() {
        return Json(json!([])).into_response();
    }
    let names: Vec<String> = targets.iter().map(|m| m.name.clone()).collect();
    match state.store.records(&user.actor).search_in(&q, &names, 10).await {
        Ok(hits) => {
            let items: Vec<_> = hits
                .into_iter()
                .map(|h| {
                    if targets.len() > 1 {
                        let module = targets
                            .iter()
                            .find(|m| m.name == h.module)
                            .map(|m| m.label(user.lang).to_string())
                            .unwrap_or(h.module);
                        json!({"id": h.id, "label": h.label, "module": module})
                    } else {
                        json!({"id": h.id, "label": h.label})
                    }
                })
                .collect();
            Json(json!(items)).into_response()
        }
        Err(e) => crate::error::AppError::from(e).into_response(),
    }
}
