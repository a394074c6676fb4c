//! The outgoing mail server for administrators: the settings form (the password is never
//! shown; left empty it is kept) and a test-send button that queues an e-mail exactly as
//! workflows and "send from a record" do, then shows what became of its job.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use sable_store::mail_settings::{self, Security, SmtpSettings};
use sable_store::workflow_views::{self, JobView};
use serde::{Deserialize, Serialize};

use super::render::{Catalogs, fill, render};
use super::session::UiUser;
use super::{Layout, csrf_refused, error_page, form_value, parse_form, see_other, store_error_page};
use crate::AppState;

/// The form as shown (or as typed, after a refusal).
#[derive(Serialize, Default)]
struct Shown {
    host: String,
    port: String,
    security: String,
    username: String,
    password_set: bool,
    from_address: String,
    from_name: String,
}

/// A job's outcome as the page shows it.
#[derive(Serialize)]
struct JobShown {
    id: i64,
    /// `queued`, `running`, `done`, `failed`.
    status: String,
    attempts: i64,
    error: String,
    mail_status: String,
    to: String,
    /// Still waiting: the partial reloads itself.
    pending: bool,
}

#[derive(Serialize)]
struct SmtpPage {
    layout: Layout,
    lang: &'static str,
    s: Shown,
    configured: bool,
    test_to: String,
    job: Option<JobShown>,
    saved: bool,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct Params {
    saved: Option<String>,
    job: Option<i64>,
}

fn shown(s: &SmtpSettings) -> Shown {
    Shown {
        host: s.host.clone(),
        port: s.port.to_string(),
        security: s.security.as_str().to_string(),
        username: s.username.clone(),
        password_set: !s.password.is_empty(),
        from_address: s.from_address.clone(),
        from_name: s.from_name.clone(),
    }
}

fn job_shown(v: JobView) -> JobShown {
    let mail_status = v.mail.as_ref().map(|m| m.status.clone()).unwrap_or_default();
    let error = v
        .mail
        .as_ref()
        .and_then(|m| m.error.clone())
        .or(v.job.last_error.clone())
        .unwrap_or_default();
    JobShown {
        id: v.job.id,
        pending: matches!(v.job.status.as_str(), "queued" | "running") && mail_status != "failed",
        status: v.job.status,
        attempts: v.job.attempts,
        error,
        to: v.mail.map(|m| m.to.join(", ")).unwrap_or_default(),
        mail_status,
    }
}

async fn page(
    state: &AppState,
    user: &UiUser,
    typed: Option<Shown>,
    job: Option<i64>,
    saved: bool,
    error: Option<String>,
) -> Response {
    if !user.actor.is_admin() {
        return error_page(user.lang, StatusCode::FORBIDDEN, "admin_only");
    }
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let stored = match mail_settings::get_smtp(&state.store, &user.actor).await {
        Ok(s) => s,
        Err(e) => return store_error_page(user.lang, e),
    };
    let job = match job {
        Some(id) => match workflow_views::job_for_admin(&state.store, &user.actor, id).await {
            Ok(v) => Some(job_shown(v)),
            Err(e) => return store_error_page(user.lang, e),
        },
        None => None,
    };
    let s = typed.unwrap_or_else(|| {
        stored.as_ref().map(shown).unwrap_or_else(|| Shown {
            port: "587".into(),
            security: "starttls".into(),
            ..Shown::default()
        })
    });
    let c = Catalogs::embedded();
    let page = SmtpPage {
        layout: Layout::new(
            user,
            &registry,
            c.get(user.lang, "wfui_smtp_title").to_string(),
            "admin_smtp",
            None,
        ),
        lang: user.lang.tag(),
        configured: stored.is_some(),
        test_to: user.session.user.email1.clone().unwrap_or_default(),
        s,
        job,
        saved,
        error,
    };
    render("pages/admin_smtp.html", &page)
}

/// `GET /admin/smtp?job=`.
pub async fn show(State(state): State<AppState>, user: UiUser, Query(p): Query<Params>) -> Response {
    page(&state, &user, None, p.job, p.saved.is_some(), None).await
}

fn message(user: &UiUser, e: &sable_store::StoreError) -> String {
    fill(
        Catalogs::embedded().get(user.lang, "admin_error"),
        &[("detail", super::store_message(user.lang, e))],
    )
}

/// `POST /admin/smtp`: saves the settings (an empty password keeps the stored one).
pub async fn save(State(state): State<AppState>, user: UiUser, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    if !user.actor.is_admin() {
        return error_page(user.lang, StatusCode::FORBIDDEN, "admin_only");
    }
    let get = |k: &str| form_value(&form, k).unwrap_or("").trim().to_string();
    let typed = Shown {
        host: get("host"),
        port: get("port"),
        security: get("security"),
        username: get("username"),
        password_set: false,
        from_address: get("from_address"),
        from_name: get("from_name"),
    };
    let c = Catalogs::embedded();
    let Ok(port) = typed.port.parse::<u16>() else {
        let text = fill(
            c.get(user.lang, "admin_error"),
            &[("detail", c.get(user.lang, "wf_refused_smtp_port").to_string())],
        );
        return page(&state, &user, Some(typed), None, false, Some(text)).await;
    };
    let settings = SmtpSettings {
        host: typed.host.clone(),
        port,
        security: Security::parse(&typed.security).unwrap_or(Security::Starttls),
        username: typed.username.clone(),
        // Not trimmed: a password may end in a space.
        password: form_value(&form, "password").unwrap_or("").to_string(),
        from_address: typed.from_address.clone(),
        from_name: typed.from_name.clone(),
    };
    match mail_settings::set_smtp(&state.store, &user.actor, &settings).await {
        Ok(()) => see_other("/admin/smtp?saved=1"),
        Err(e) if e.refusal().is_some() => {
            let text = message(&user, &e);
            page(&state, &user, Some(typed), None, false, Some(text)).await
        }
        Err(e) => store_error_page(user.lang, e),
    }
}

/// `POST /admin/smtp/test` with `to`: queues the test e-mail and shows its job.
pub async fn test(State(state): State<AppState>, user: UiUser, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    if !user.actor.is_admin() {
        return error_page(user.lang, StatusCode::FORBIDDEN, "admin_only");
    }
    let to = form_value(&form, "to").unwrap_or("");
    match crate::api::smtp::queue_test(&state, &user.actor, to).await {
        Ok((_, Some(job))) => see_other(&format!("/admin/smtp?job={job}")),
        Ok((_, None)) => see_other("/admin/smtp"),
        Err(e) if e.refusal().is_some() => {
            let text = message(&user, &e);
            page(&state, &user, None, None, false, Some(text)).await
        }
        Err(e) => store_error_page(user.lang, e),
    }
}

#[derive(Serialize)]
struct JobPartial {
    lang: &'static str,
    job: JobShown,
}

/// `GET /admin/smtp/jobs/{id}`: the test e-mail's outcome (htmx polls it while pending).
pub async fn job(State(state): State<AppState>, user: UiUser, Path(id): Path<String>) -> Response {
    if !user.actor.is_admin() {
        return error_page(user.lang, StatusCode::FORBIDDEN, "admin_only");
    }
    let Some(id) = id.parse::<i64>().ok().filter(|i| *i > 0) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    match workflow_views::job_for_admin(&state.store, &user.actor, id).await {
        Ok(v) => render(
            "partials/smtp_job.html",
            &JobPartial {
                lang: user.lang.tag(),
                job: job_shown(v),
            },
        ),
        Err(e) => store_error_page(user.lang, e),
    }
}
