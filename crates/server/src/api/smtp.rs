//! The outgoing mail server over JSON (administrators): read it (the password is never
//! returned, only whether one is set), replace it, send a test e-mail through the same
//! queue as every other e-mail, and follow a job to its outcome.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sable_store::jobs::{self, MailRequest};
use sable_store::mail_settings::{self, SmtpSettings};
use sable_store::{StoreError, workflow_views};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::AppResult;
use crate::extract::{ApiJson, ApiUser, parse_id};

use super::workflows::admin_only;

/// The settings as shown: everything but the password.
pub fn shown(s: Option<&SmtpSettings>) -> Value {
    match s {
        None => json!({"configured": false}),
        Some(s) => json!({
            "configured": true,
            "host": s.host,
            "port": s.port,
            "security": s.security,
            "username": s.username,
            "password_set": !s.password.is_empty(),
            "from_address": s.from_address,
            "from_name": s.from_name,
        }),
    }
}

/// `GET /settings/smtp`.
pub async fn show(State(state): State<AppState>, ApiUser(actor): ApiUser) -> AppResult<Json<Value>> {
    admin_only(&actor)?;
    let s = mail_settings::get_smtp(&state.store, &actor).await?;
    Ok(Json(shown(s.as_ref())))
}

/// `PUT /settings/smtp` with the settings; an empty or missing password keeps the stored one.
pub async fn replace(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(body): ApiJson<SmtpSettings>,
) -> AppResult<Json<Value>> {
    admin_only(&actor)?;
    mail_settings::set_smtp(&state.store, &actor, &body).await?;
    let s = mail_settings::get_smtp(&state.store, &actor).await?;
    Ok(Json(shown(s.as_ref())))
}

/// Where the test e-mail goes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestBody {
    to: String,
}

/// The subject and body of a test e-mail, in the sender's language.
pub fn test_message(lang: sable_core::Lang, host: &str) -> (String, String) {
    let c = crate::ui::render::Catalogs::embedded();
    let args = [("host", host.to_string())];
    (
        crate::ui::render::fill(c.get(lang, "wfui_smtp_test_subject"), &args),
        crate::ui::render::fill(c.get(lang, "wfui_smtp_test_body"), &args),
    )
}

/// Queues a test e-mail to `to` the way every e-mail is sent; returns (mail id, job id).
pub async fn queue_test(
    state: &AppState,
    actor: &sable_store::Actor,
    to: &str,
) -> Result<(i64, Option<i64>), StoreError> {
    let Some(settings) = mail_settings::get_smtp(&state.store, actor).await? else {
        return Err(StoreError::refused(
            "wfui_refused_smtp_unset",
            "save the mail server settings before sending a test e-mail",
        ));
    };
    let (subject, body) = test_message(actor.lang(), &settings.host);
    let req = MailRequest {
        to: vec![to.trim().to_string()],
        subject,
        body,
        ..MailRequest::default()
    };
    let mail_id = jobs::enqueue_mail(&state.store, actor, &req).await?;
    let job_id = jobs::get_sent_mail(&state.store, mail_id).await?.and_then(|m| m.job_id);
    Ok((mail_id, job_id))
}

/// `POST /settings/smtp/test` with `{"to"}` → 202 with the job that sends it.
pub async fn test(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(body): ApiJson<TestBody>,
) -> AppResult<(StatusCode, Json<Value>)> {
    admin_only(&actor)?;
    let (mail_id, job_id) = queue_test(&state, &actor, &body.to).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"mail_id": mail_id, "job_id": job_id})),
    ))
}

/// `GET /jobs/{id}` (administrators): a job's state, attempts, last error and, for a
/// mail job, what became of the e-mail.
pub async fn job(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    admin_only(&actor)?;
    let id = parse_id(&id)?;
    Ok(Json(json!(
        workflow_views::job_for_admin(&state.store, &actor, id).await?
    )))
}
