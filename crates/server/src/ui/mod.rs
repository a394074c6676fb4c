//! The browser interface: server-rendered pages with htmx, in Chinese and English,
//! generated from module metadata so custom fields appear without code.
//! Handlers parse, call the store's services, and render a template.

mod activities;
mod admin_assignment;
mod admin_company;
mod admin_convert;
mod admin_email_templates;
mod admin_fields;
mod admin_smtp;
mod admin_stages;
mod admin_users;
mod admin_webforms;
mod admin_workflow_edit;
mod admin_workflows;
mod agenda;
mod assets;
mod auth;
mod bulk;
mod calendar_feed;
mod convert;
mod dashboards;
mod detail;
mod filters;
mod form;
pub mod format;
mod home;
mod import;
mod inline;
mod list;
mod pipeline;
mod record_email;
pub mod render;
mod reports;
mod search;
pub mod session;
mod settings;
mod views;
mod widgets;
mod workflow_form;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sable_core::{Lang, Registry};
use serde::Serialize;

use crate::AppState;
use render::{Catalogs, render};
use session::UiUser;

/// Every page route.
pub fn router(config: &crate::ServerConfig) -> Router<AppState> {
    Router::new()
        .route("/", get(home::show))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/settings/language", post(auth::set_language))
        .route("/settings", get(settings::show).post(settings::save))
        .route("/search", get(search::show))
        .route("/ui/lookup/{module}", get(search::lookup))
        .route("/r/{id}", get(detail::by_id))
        .route("/m/{module}", get(list::show).post(form::create))
        .route("/m/{module}/new", get(form::new_form))
        .route("/m/{module}/export", get(list::export).post(list::export_selected))
        .route("/m/{module}/bulk", post(bulk::apply))
        .route("/m/{module}/duplicates", post(form::duplicates))
        .route("/m/{module}/filter-row", get(list::filter_row))
        .route("/m/{module}/views", post(views::save))
        .route("/m/{module}/views/{id}/delete", post(views::delete))
        .route("/m/{module}/{id}", get(detail::show_detail).post(form::save))
        .route("/m/{module}/{id}/edit", get(form::edit_form))
        .route("/m/{module}/{id}/inline/{field}", get(inline::edit).post(inline::save))
        .route("/m/{module}/{id}/delete", post(detail::delete))
        .route("/m/{module}/{id}/restore", post(detail::restore))
        .route("/m/{module}/{id}/comments", post(detail::add_comment))
        .route("/m/{module}/{id}/activities", get(activities::tab))
        .route("/m/{module}/{id}/followups", post(activities::log))
        .route("/agenda", get(agenda::show))
        .route("/agenda/feed", post(agenda::feed))
        .route("/agenda/reminders", get(agenda::reminders_badge))
        .route("/ics/{file}", get(calendar_feed::feed))
        .route("/m/Leads/{id}/convert", get(convert::preview).post(convert::convert))
        .route(
            "/admin/lead-conversion",
            get(admin_convert::show).post(admin_convert::save),
        )
        .route("/admin/users", get(admin_users::list).post(admin_users::create))
        .route("/admin/users/{id}/{action}", post(admin_users::act))
        .route("/admin/company", get(admin_company::show).post(admin_company::save))
        .route(
            "/admin/assignment-rules",
            get(admin_assignment::show).post(admin_assignment::save),
        )
        .route("/admin/assignment-rules/{id}/delete", post(admin_assignment::delete))
        .route("/admin/webforms", get(admin_webforms::show).post(admin_webforms::save))
        .route("/admin/webforms/{id}/delete", post(admin_webforms::delete))
        .route("/admin/stages", get(admin_stages::show).post(admin_stages::save))
        .route("/admin/fields", get(admin_fields::list))
        .route("/admin/fields/{module}", post(admin_fields::add))
        .route("/admin/fields/{module}/layout", post(admin_fields::layout))
        .route(
            "/admin/fields/{module}/{field}/values",
            get(admin_fields::values_form).post(admin_fields::save_values),
        )
        .route(
            "/m/{module}/{id}/email",
            get(record_email::form).post(record_email::send),
        )
        .route("/admin/workflows", get(admin_workflows::list))
        .route(
            "/admin/workflows/new",
            get(admin_workflow_edit::new_form).post(admin_workflow_edit::create),
        )
        .route(
            "/admin/workflows/{id}",
            get(admin_workflow_edit::edit_form).post(admin_workflow_edit::save),
        )
        .route("/admin/workflows/{id}/toggle", post(admin_workflows::toggle))
        .route("/admin/workflows/{id}/delete", post(admin_workflows::delete))
        .route("/admin/workflows/{id}/runs", get(admin_workflows::runs))
        .route("/admin/workflow-runs/{id}/retry", post(admin_workflows::retry))
        .route("/admin/email-templates", get(admin_email_templates::list))
        .route(
            "/admin/email-templates/new",
            get(admin_email_templates::new_form).post(admin_email_templates::create),
        )
        .route(
            "/admin/email-templates/{id}",
            get(admin_email_templates::edit_form).post(admin_email_templates::save),
        )
        .route(
            "/admin/email-templates/{id}/delete",
            post(admin_email_templates::delete),
        )
        .route("/admin/smtp", get(admin_smtp::show).post(admin_smtp::save))
        .route("/admin/smtp/test", post(admin_smtp::test))
        .route("/admin/smtp/jobs/{id}", get(admin_smtp::job))
        .route("/pipeline", get(pipeline::board))
        .route("/pipeline/{id}", get(pipeline::stage_page))
        .route("/pipeline/{id}/move", post(pipeline::move_card))
        .route("/pipeline/{id}/check", post(pipeline::check))
        .route("/import", get(import::start_page))
        .route(
            "/import/upload",
            post(import::upload).layer(axum::extract::DefaultBodyLimit::max(config.max_upload_bytes)),
        )
        .route("/import/run", post(import::run))
        .route("/import/jobs/{id}", get(import::job))
        .route("/import/jobs/{id}/progress", get(import::progress))
        .route("/import/jobs/{id}/undo", post(import::undo))
        .route("/import/jobs/{id}/again", post(import::again))
        .route("/import/jobs/{id}/failed.csv", get(import::failed_csv))
        .route("/reports", get(reports::list).post(reports::save))
        .route("/reports/new", get(reports::builder))
        .route("/reports/{id}", get(reports::show))
        .route("/reports/{id}/delete", post(reports::delete))
        .route("/reports/{id}/{file}", get(reports::export))
        .route("/dashboards", get(dashboards::list).post(dashboards::create))
        .route("/dashboards/{id}", get(dashboards::show))
        .route("/dashboards/{id}/settings", post(dashboards::settings))
        .route("/dashboards/{id}/delete", post(dashboards::delete))
        .route("/dashboards/{id}/widgets", post(dashboards::add_widget))
        .route(
            "/dashboards/{id}/widgets/{widget}/{action}",
            post(dashboards::widget_action),
        )
        .route("/assets/{*path}", get(assets::serve))
}

/// Messages a redirect may ask a page to show (`?flash=key`); only these, so a crafted
/// URL cannot put text on the page.
pub(crate) const FLASH_KEYS: [&str; 24] = [
    "settings_saved",
    "comment_added",
    "view_saved",
    "view_deleted",
    "saved",
    "created",
    "deleted",
    "restored",
    "bulk_done",
    "bulk_partly",
    "bulk_none",
    "user_added",
    "user_saved",
    "user_deactivated",
    "field_added",
    "layout_saved",
    "values_saved",
    "view_name_invalid",
    "view_column_invalid",
    "view_filter_invalid",
    "refused_comment_empty",
    "refused_comment_long",
    "refused_comment_control",
    "wfui_email_queued",
];

/// A link in the navigation.
#[derive(Serialize)]
pub struct NavItem {
    pub href: String,
    pub label: String,
    pub active: bool,
}

/// What every page's layout shows.
#[derive(Serialize)]
pub struct Layout {
    pub lang: &'static str,
    pub title: String,
    pub user_name: String,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    pub q: String,
    pub flash: Option<String>,
    pub asset_version: &'static str,
}

impl Layout {
    /// The layout for a logged-in page; `active` is the module (or "home", "search").
    pub fn new(user: &UiUser, registry: &Registry, title: String, active: &str, flash: Option<&str>) -> Layout {
        Layout::with_counts(user, registry, title, active, flash, &[])
    }

    /// Like [`Layout::new`], with numbers for messages such as "{done} records changed".
    pub fn with_counts(
        user: &UiUser,
        registry: &Registry,
        title: String,
        active: &str,
        flash: Option<&str>,
        counts: &[(&str, u64)],
    ) -> Layout {
        let catalogs = Catalogs::embedded();
        let mut nav = vec![NavItem {
            href: "/".into(),
            label: catalogs.get(user.lang, "nav_home").into(),
            active: active == "home",
        }];
        nav.push(NavItem {
            href: "/agenda".into(),
            label: catalogs.get(user.lang, "act_agenda").into(),
            active: active == "agenda",
        });
        for m in registry.entity_modules() {
            nav.push(NavItem {
                href: format!("/m/{}", m.name),
                label: m.label(user.lang).into(),
                active: active == m.name,
            });
        }
        nav.push(NavItem {
            href: "/dashboards".into(),
            label: catalogs.get(user.lang, "dash_nav").into(),
            active: active == "dashboards",
        });
        nav.push(NavItem {
            href: "/reports".into(),
            label: catalogs.get(user.lang, "dash_reports").into(),
            active: active == "reports",
        });
        nav.push(NavItem {
            href: "/pipeline".into(),
            label: catalogs.get(user.lang, "stage_nav_pipeline").into(),
            active: active == "pipeline",
        });
        nav.push(NavItem {
            href: "/import".into(),
            label: catalogs.get(user.lang, "nav_import").into(),
            active: active == "import",
        });
        if user.actor.is_admin() {
            nav.push(NavItem {
                href: "/admin/users".into(),
                label: catalogs.get(user.lang, "nav_admin_users").into(),
                active: active == "admin_users",
            });
            nav.push(NavItem {
                href: "/admin/fields".into(),
                label: catalogs.get(user.lang, "nav_admin_fields").into(),
                active: active == "admin_fields",
            });
            nav.push(NavItem {
                href: "/admin/stages".into(),
                label: catalogs.get(user.lang, "stage_admin_title").into(),
                active: active == "admin_stages",
            });
            for (href, key, name) in [
                ("/admin/workflows", "wfui_nav_workflows", "admin_workflows"),
                ("/admin/email-templates", "wfui_nav_templates", "admin_email_templates"),
                ("/admin/smtp", "wfui_nav_smtp", "admin_smtp"),
            ] {
                nav.push(NavItem {
                    href: href.into(),
                    label: catalogs.get(user.lang, key).into(),
                    active: active == name,
                });
            }
            nav.push(NavItem {
                href: "/admin/webforms".into(),
                label: catalogs.get(user.lang, "form6_nav").into(),
                active: active == "admin_webforms" || active == "admin_assignment",
            });
            nav.push(NavItem {
                href: "/admin/company".into(),
                label: catalogs.get(user.lang, "nav_admin_company").into(),
                active: active == "admin_company",
            });
        }
        let flash = flash.filter(|k| FLASH_KEYS.contains(k)).map(|k| {
            let args: Vec<(&str, String)> = counts.iter().map(|(n, v)| (*n, v.to_string())).collect();
            render::fill(catalogs.get(user.lang, k), &args)
        });
        Layout {
            lang: user.lang.tag(),
            title,
            user_name: user.session.user.display_name(),
            csrf: user.session.csrf_token.clone(),
            nav,
            q: String::new(),
            flash,
            asset_version: assets::VERSION,
        }
    }
}

#[derive(Serialize)]
struct ErrorPage {
    lang: &'static str,
    title: String,
    message: String,
    back: String,
    asset_version: &'static str,
}

/// A full error page in a language.
pub fn error_page(lang: Lang, status: StatusCode, message_key: &str) -> Response {
    let c = Catalogs::embedded();
    let page = ErrorPage {
        lang: lang.tag(),
        title: c.get(lang, "error_title").into(),
        message: c.get(lang, message_key).into(),
        back: c.get(lang, "error_back").into(),
        asset_version: assets::VERSION,
    };
    let mut response = render("pages/error.html", &page);
    if response.status() == StatusCode::OK {
        *response.status_mut() = status;
    }
    response
}

/// Turns a store error into an error page.
pub fn store_error_page(lang: Lang, e: sable_store::StoreError) -> Response {
    use sable_store::StoreError as E;
    match e {
        E::NotFound { .. } | E::Meta(_) => error_page(lang, StatusCode::NOT_FOUND, "error_not_found"),
        E::Forbidden(_) => error_page(lang, StatusCode::FORBIDDEN, "error_forbidden"),
        other => {
            tracing::error!(error = format!("{other:#}"), "page failed");
            error_page(lang, StatusCode::INTERNAL_SERVER_ERROR, "error_server")
        }
    }
}

/// Why a store call failed, for a person reading `lang`: refusals and filter errors in
/// that language; anything unexpected as the generic server error (logged once here).
pub fn store_message(lang: Lang, e: &sable_store::StoreError) -> String {
    use sable_store::StoreError as E;
    if let Some(refusal) = e.refusal() {
        return render::refusal_text(lang, &refusal);
    }
    match e {
        E::BadFilter(f) => f.message(lang),
        E::Invalid(v) => v.messages(lang).into_values().collect::<Vec<_>>().join("; "),
        E::Forbidden(_) => render::Catalogs::embedded().get(lang, "error_forbidden").to_string(),
        E::NotFound { .. } => render::Catalogs::embedded().get(lang, "error_not_found").to_string(),
        other => {
            tracing::error!(error = format!("{other:#}"), "request failed");
            render::Catalogs::embedded().get(lang, "error_server").to_string()
        }
    }
}

/// The response for a form posted without a valid CSRF token.
pub fn csrf_refused(lang: Lang) -> Response {
    error_page(lang, StatusCode::FORBIDDEN, "error_csrf")
}

/// Parses a form body into ordered (name, value) pairs; repeated names are kept.
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The first value of a form field.
pub fn form_value<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// A redirect after a POST (303, so the browser follows with GET).
pub fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(axum::http::header::LOCATION, location.to_string())],
    )
        .into_response()
}
