//! Login, logout and "who am I".

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sable_store::users::{self, LOGIN_TOKEN_TTL_MS, LoginError};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiUser, TokenText};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    username: String,
    password: String,
}

/// `POST /auth/login` → `{"token"}`.
pub async fn login(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<LoginBody>,
) -> AppResult<(StatusCode, Json<Value>)> {
    if body.username.len() > 200 || body.password.len() > 1024 {
        return Err(AppError::Unauthorized {
            en: LoginError::Invalid.to_string(),
            zh: LoginError::Invalid.message(sable_core::Lang::Zh),
        });
    }
    match users::login(&state.store, &body.username, &body.password).await? {
        Ok(user) => {
            let (_, token) =
                users::create_token(&state.store, user.id, "login", "login", Some(LOGIN_TOKEN_TTL_MS)).await?;
            Ok((StatusCode::OK, Json(json!({"token": token, "user": user}))))
        }
        Err(e @ LoginError::Locked { .. }) => Err(AppError::TooManyAttempts {
            en: e.to_string(),
            zh: e.message(sable_core::Lang::Zh),
        }),
        Err(e @ LoginError::Inactive) => Err(AppError::Forbidden(e.to_string())),
        Err(e) => Err(AppError::Unauthorized {
            en: e.to_string(),
            zh: e.message(sable_core::Lang::Zh),
        }),
    }
}

/// `POST /auth/logout` revokes the token used for the call.
pub async fn logout(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    axum::Extension(token): axum::Extension<TokenText>,
) -> AppResult<StatusCode> {
    users::revoke_token_text(&state.store, actor.user_id(), &token.0).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /me`.
pub async fn me(State(state): State<AppState>, ApiUser(actor): ApiUser) -> AppResult<Json<Value>> {
    let user = users::get_user(&state.store, actor.user_id()).await?;
    Ok(Json(json!({"user": user})))
}
