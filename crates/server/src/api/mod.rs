//! The JSON API under `/api/v1`: a contract for clients and later features.

mod activities;
mod agenda;
mod assignment;
mod auth;
mod convert;
mod email_templates;
mod imports;
mod modules;
pub mod openapi;
mod pipeline;
pub(crate) mod record_email;
mod records;
mod reports;
mod search;
pub(crate) mod smtp;
mod stages;
mod users;
mod webforms;
mod workflows;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;
use crate::error::AppError;

/// A 400 whose message comes from the catalogues (`key`, with `{name}`/`{value}` filled).
pub(crate) fn bad_param(code: &'static str, key: &'static str, args: &[(&str, String)]) -> AppError {
    let text = |lang| crate::ui::render::fill(crate::ui::render::Catalogs::embedded().get(lang, key), args);
    AppError::bad_request(code, text(sable_core::Lang::En), text(sable_core::Lang::Zh))
}

/// Every `/api/v1` route.
pub fn router(config: &crate::ServerConfig) -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/me", get(auth::me))
        .route("/modules", get(modules::list))
        .route("/modules/{module}", get(modules::describe))
        .route("/modules/{module}/fields", post(modules::add_field))
        .route("/modules/{module}/sharing", axum::routing::put(modules::set_sharing))
        .route("/records/{module}", post(records::create).get(records::list))
        .route("/records/{module}/query", post(records::query))
        .route(
            "/records/{module}/{id}",
            get(records::show)
                .patch(records::update)
                .put(records::replace)
                .delete(records::delete),
        )
        .route("/records/{module}/{id}/restore", post(records::restore))
        .route("/records/{module}/{id}/purge", post(records::purge))
        .route("/records/{module}/{id}/history", get(records::history))
        .route("/records/{module}/{id}/convert", post(convert::convert))
        .route("/records/{module}/{id}/convert/preview", get(convert::preview))
        .route("/pipeline", get(pipeline::board))
        .route("/agenda", get(agenda::agenda))
        .route("/agenda/reminders", get(agenda::reminders))
        .route("/calendar-feed", post(agenda::rotate_feed).delete(agenda::revoke_feed))
        .route(
            "/lead-conversion/mapping",
            get(convert::mapping).put(convert::save_mapping),
        )
        .route(
            "/records/{module}/{id}/comments",
            get(records::comments).post(records::add_comment),
        )
        .route("/records/{module}/{id}/followups", post(activities::log))
        .route("/records/{module}/{id}/timeline", get(activities::timeline))
        .route("/records/{module}/{id}/stages", get(stages::history))
        .route(
            "/records/{module}/{id}/checklist",
            get(stages::checklist).put(stages::tick),
        )
        .route("/stages", get(stages::list).put(stages::replace))
        .route("/search", get(search::search))
        .route("/users", get(users::list).post(users::create))
        .route(
            "/imports",
            post(imports::start)
                .get(imports::list)
                .layer(axum::extract::DefaultBodyLimit::max(config.max_upload_bytes)),
        )
        .route("/imports/{id}", get(imports::show))
        .route("/imports/{id}/undo", post(imports::undo))
        .route("/reports", get(reports::list).post(reports::create))
        .route("/reports/run", post(reports::run))
        .route("/reports/drill", post(reports::drill))
        .route(
            "/reports/{id}",
            get(reports::show).put(reports::replace).delete(reports::delete),
        )
        .route("/reports/{id}/run", post(reports::run_saved))
        .route("/reports/{id}/export", get(reports::export))
        .route("/workflows", get(workflows::list).post(workflows::create))
        .route(
            "/workflows/{id}",
            get(workflows::show).put(workflows::replace).delete(workflows::delete),
        )
        .route("/workflows/{id}/enable", post(workflows::enable))
        .route("/workflows/{id}/disable", post(workflows::disable))
        .route("/workflows/{id}/runs", get(workflows::runs))
        .route("/workflow-runs/{id}/retry", post(workflows::retry))
        .route(
            "/email-templates",
            get(email_templates::list).post(email_templates::create),
        )
        .route(
            "/email-templates/{id}",
            get(email_templates::show)
                .put(email_templates::replace)
                .delete(email_templates::delete),
        )
        .route("/settings/smtp", get(smtp::show).put(smtp::replace))
        .route("/settings/smtp/test", post(smtp::test))
        .route("/jobs/{id}", get(smtp::job))
        .route("/records/{module}/{id}/email", post(record_email::send))
        .route("/records/{module}/{id}/emails", get(record_email::list))
        .route("/emails/{id}", get(record_email::show))
        .route("/assignment-rules", get(assignment::list).post(assignment::create))
        .route(
            "/assignment-rules/{id}",
            get(assignment::show)
                .put(assignment::replace)
                .delete(assignment::delete),
        )
        .route("/assignment-rules/{id}/log", get(assignment::log))
        .route("/webforms", get(webforms::list).post(webforms::create))
        .route(
            "/webforms/{id}",
            get(webforms::show).put(webforms::replace).delete(webforms::delete),
        )
        .route("/webforms/{id}/submissions", get(webforms::submissions))
        .route("/openapi.json", get(openapi::document))
}
