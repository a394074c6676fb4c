//! Administration of users: add, reset a password, language and time zone, and
//! deactivate — handing all of the user's records to someone else in the same step, so
//! nothing is orphaned when a person leaves.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use sable_store::users::{self, NewUser};
use serde::{Deserialize, Serialize};

use super::render::{Catalogs, fill, render};
use super::session::UiUser;
use super::{Layout, csrf_refused, error_page, form_value, parse_form, see_other, store_error_page};
use crate::AppState;
use crate::extract::parse_id;

/// Time zones offered in pickers; any IANA name is accepted through the API.
pub const ZONES: [&str; 12] = [
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "UTC",
];

#[derive(Deserialize)]
pub struct AdminParams {
    flash: Option<String>,
    done: Option<u64>,
}

#[derive(Serialize)]
struct UserRow {
    id: i64,
    user_name: String,
    name: String,
    is_admin: bool,
    active: bool,
    is_self: bool,
    language: String,
    time_zone: String,
}

#[derive(Serialize, Default)]
struct NewUserForm {
    user_name: String,
    first_name: String,
    last_name: String,
    email1: String,
    language: String,
    time_zone: String,
}

/// A record a deactivation could not hand over, shown with the reason.
#[derive(Serialize)]
struct TransferFailure {
    label: String,
    module: String,
    href: String,
    reason: String,
}

#[derive(Serialize)]
struct UsersPage {
    layout: Layout,
    lang: &'static str,
    users: Vec<UserRow>,
    zones: &'static [&'static str],
    form: NewUserForm,
    error: Option<String>,
    transfer_failures: Vec<TransferFailure>,
}

/// Why a page shows an error: the message, and any records a transfer could not move.
#[derive(Default)]
struct Trouble {
    message: Option<String>,
    transfer_failures: Vec<TransferFailure>,
}

impl From<Option<String>> for Trouble {
    fn from(message: Option<String>) -> Trouble {
        Trouble {
            message,
            transfer_failures: Vec::new(),
        }
    }
}

async fn page(
    state: &AppState,
    user: &UiUser,
    flash: Option<&str>,
    done: u64,
    form: NewUserForm,
    trouble: impl Into<Trouble>,
) -> Response {
    let Trouble {
        message: error,
        transfer_failures,
    } = trouble.into();
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let list = match users::list_users(&state.store).await {
        Ok(l) => l,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let users = list
        .into_iter()
        .map(|u| UserRow {
            id: u.id,
            name: u.display_name(),
            is_admin: u.is_admin,
            active: u.is_active(),
            is_self: u.id == user.actor.user_id(),
            user_name: u.user_name,
            language: u.language,
            time_zone: u.time_zone,
        })
        .collect();
    let title = Catalogs::embedded().get(user.lang, "admin_users_title").to_string();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = UsersPage {
        layout: Layout::with_counts(user, &registry, title, "admin_users", flash, &[("done", done)]),
        lang: user.lang.tag(),
        users,
        zones: &ZONES,
        form,
        error,
        transfer_failures,
    };
    let mut response = render("pages/admin_users.html", &page);
    if response.status() == StatusCode::OK {
        *response.status_mut() = status;
    }
    response
}

fn admin_only(user: &UiUser) -> Option<Response> {
    (!user.actor.is_admin()).then(|| error_page(user.lang, StatusCode::FORBIDDEN, "admin_only"))
}

fn failure(user: &UiUser, e: &sable_store::StoreError) -> String {
    let detail = super::store_message(user.lang, e);
    fill(
        Catalogs::embedded().get(user.lang, "admin_error"),
        &[("detail", detail)],
    )
}

/// `GET /admin/users`.
pub async fn list(State(state): State<AppState>, user: UiUser, Query(p): Query<AdminParams>) -> Response {
    if let Some(r) = admin_only(&user) {
        return r;
    }
    let form = NewUserForm {
        time_zone: "Asia/Shanghai".into(),
        ..NewUserForm::default()
    };
    page(&state, &user, p.flash.as_deref(), p.done.unwrap_or(0), form, None).await
}

/// `POST /admin/users`: adds a user.
pub async fn create(State(state): State<AppState>, user: UiUser, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    if let Some(r) = admin_only(&user) {
        return r;
    }
    let text = |k: &str| form_value(&form, k).unwrap_or("").trim().to_string();
    let optional = |k: &str| Some(text(k)).filter(|v| !v.is_empty());
    let new = NewUser {
        user_name: text("user_name"),
        password: form_value(&form, "password").unwrap_or("").to_string(),
        first_name: optional("first_name"),
        last_name: text("last_name"),
        email1: optional("email1"),
        is_admin: form_value(&form, "is_admin").is_some(),
        language: optional("language"),
        time_zone: optional("time_zone"),
    };
    match users::create_user(&state.store, &user.actor, &new).await {
        Ok(_) => see_other("/admin/users?flash=user_added"),
        Err(e) => {
            let kept = NewUserForm {
                user_name: text("user_name"),
                first_name: text("first_name"),
                last_name: text("last_name"),
                email1: text("email1"),
                language: text("language"),
                time_zone: text("time_zone"),
            };
            let message = failure(&user, &e);
            page(&state, &user, None, 0, kept, Some(message)).await
        }
    }
}

/// `POST /admin/users/{id}/{action}`: `password`, `preferences` or `deactivate`.
pub async fn act(
    State(state): State<AppState>,
    user: UiUser,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    if let Some(r) = admin_only(&user) {
        return r;
    }
    let Ok(id) = parse_id(&id) else {
        return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found");
    };
    let target = match users::get_user(&state.store, id).await {
        Ok(Some(u)) => u,
        Ok(None) => return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found"),
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let result = match action.as_str() {
        "password" => users::set_password(
            &state.store,
            &user.actor,
            &target.user_name,
            form_value(&form, "password").unwrap_or(""),
        )
        .await
        .map(|()| "/admin/users?flash=user_saved".to_string()),
        "preferences" => users::set_preferences(
            &state.store,
            &user.actor,
            id,
            form_value(&form, "language").unwrap_or(""),
            form_value(&form, "time_zone").unwrap_or(""),
        )
        .await
        .map(|()| "/admin/users?flash=user_saved".to_string()),
        "deactivate" => {
            let transfer_to = form_value(&form, "transfer_to").and_then(|v| parse_id(v).ok());
            match transfer_to {
                Some(to) => return deactivate_with_transfer(&state, &user, &target, to).await,
                None => users::deactivate(&state.store, &user.actor, &target.user_name)
                    .await
                    .map(|_| "/admin/users?flash=user_deactivated&done=0".to_string()),
            }
        }
        _ => return error_page(user.lang, StatusCode::NOT_FOUND, "error_not_found"),
    };
    match result {
        Ok(location) => see_other(&location),
        Err(e) => {
            let message = failure(&user, &e);
            page(
                &state,
                &user,
                None,
                0,
                NewUserForm {
                    time_zone: "Asia/Shanghai".into(),
                    ..NewUserForm::default()
                },
                Some(message),
            )
            .await
        }
    }
}

/// Hands all of `target`'s records to user `to`, then deactivates `target` — only when every
/// record moved. Otherwise the user stays active and the page lists what did not move and
/// why, so nothing is left half done without notice.
async fn deactivate_with_transfer(state: &AppState, user: &UiUser, target: &users::User, to: i64) -> Response {
    let blank = || NewUserForm {
        time_zone: "Asia/Shanghai".into(),
        ..NewUserForm::default()
    };
    let heir_ok = matches!(users::get_user(&state.store, to).await, Ok(Some(u)) if u.is_active() && u.id != target.id);
    if !heir_ok {
        let e = sable_store::StoreError::refused(
            "refused_transfer_target",
            "the user to transfer to must be another active user",
        );
        return page(state, user, None, 0, blank(), Some(failure(user, &e))).await;
    }
    let outcome = match state.store.records(&user.actor).reassign_all(target.id, to).await {
        Ok(o) => o,
        Err(e) => return page(state, user, None, 0, blank(), Some(failure(user, &e))).await,
    };
    if outcome.failed.is_empty() {
        return match users::deactivate(&state.store, &user.actor, &target.user_name).await {
            Ok(_) => see_other(&format!("/admin/users?flash=user_deactivated&done={}", outcome.moved)),
            Err(e) => page(state, user, None, 0, blank(), Some(failure(user, &e))).await,
        };
    }
    let registry = state.store.registry().await.ok();
    let c = Catalogs::embedded();
    let key = if outcome.stopped {
        "admin_transfer_stopped"
    } else {
        "admin_transfer_partial"
    };
    let message = fill(
        c.get(user.lang, key),
        &[
            ("moved", outcome.moved.to_string()),
            ("failed", outcome.failed.len().to_string()),
            ("name", target.display_name()),
        ],
    );
    let transfer_failures = outcome
        .failed
        .iter()
        .map(|f| TransferFailure {
            label: f.label.clone(),
            module: registry
                .as_ref()
                .and_then(|r| r.module(&f.module).ok())
                .map_or_else(|| f.module.clone(), |m| m.label(user.lang).to_string()),
            href: format!("/m/{}/{}", f.module, f.id),
            reason: super::store_message(user.lang, &f.error),
        })
        .collect();
    page(
        state,
        user,
        None,
        0,
        blank(),
        Trouble {
            message: Some(message),
            transfer_failures,
        },
    )
    .await
}
