//! Users (administrators list and add them; everyone reads the list for owner pickers).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sable_store::users::{self, NewUser};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::AppResult;
use crate::extract::{ApiJson, ApiUser};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    user_name: String,
    password: String,
    #[serde(default)]
    first_name: Option<String>,
    last_name: String,
    #[serde(default)]
    email1: Option<String>,
    #[serde(default)]
    is_admin: bool,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    time_zone: Option<String>,
}

/// `GET /users`.
pub async fn list(State(state): State<AppState>, ApiUser(_actor): ApiUser) -> AppResult<Json<Value>> {
    Ok(Json(json!({"items": users::list_users(&state.store).await?})))
}

/// `POST /users` (administrators).
pub async fn create(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(b): ApiJson<NewUserBody>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let new = NewUser {
        user_name: b.user_name,
        password: b.password,
        first_name: b.first_name,
        last_name: b.last_name,
        email1: b.email1,
        is_admin: b.is_admin,
        language: b.language,
        time_zone: b.time_zone,
    };
    let user = users::create_user(&state.store, &actor, &new).await?;
    Ok((StatusCode::CREATED, Json(json!(user))))
}
