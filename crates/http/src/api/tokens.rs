//! `/api/token…` and `/api/jwt/settings`: personal access tokens and the
//! organization's token settings.

use app::{AppError, Store};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Result;
use crate::auth::Authenticated;
use crate::body::{Fields, JsonObject};
use crate::state::Shared;
use app::time::iso8601;

fn personal_token_body(t: &app::PersonalToken) -> Value {
    json!({
        "token": t.token,
        "created_at": iso8601(t.created_at),
        "expires_at": iso8601(t.expires_at),
    })
}

/// The caller's personal access tokens.
#[utoipa::path(get, path = "/api/token", tag = "personal access tokens", responses((status = 200, description = "The caller's live personal access tokens", body = Vec<super::schema::PersonalToken>), super::schema::Errors))]
pub(super) async fn list_personal_tokens<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
) -> Result<Json<Value>> {
    let tokens = st.services.personal_tokens(&auth.caller).await?;
    Ok(Json(Value::Array(
        tokens.iter().map(personal_token_body).collect(),
    )))
}

/// A new personal access token.
#[utoipa::path(post, path = "/api/token", tag = "personal access tokens", responses((status = 201, description = "The token, whole, shown once", body = super::schema::PersonalToken), super::schema::Errors))]
pub(super) async fn create_personal_token<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
) -> Result<Response> {
    let token = st.services.create_personal_token(&auth.caller).await?;
    Ok((StatusCode::CREATED, Json(personal_token_body(&token))).into_response())
}

/// The `refresh` field of a token request.
fn refresh_field(body: &serde_json::Map<String, Value>) -> Result<String> {
    let mut f = Fields::default();
    let refresh = f.required_string(body, "refresh");
    f.finish()?;
    Ok(refresh.unwrap_or_default())
}

/// Unauthenticated, like simplejwt's: the refresh token is the credential.
#[utoipa::path(post, path = "/api/token/refresh", tag = "personal access tokens", security(()), request_body(content = super::schema::RefreshBody, content_type = "application/json", description = "The personal access token"), responses((status = 200, description = "A short-lived access token", body = super::schema::AccessToken), super::schema::Errors))]
pub(super) async fn refresh_token<S: Store>(
    State(st): State<Shared<S>>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>> {
    let refresh = refresh_field(&body)?;
    let access = st.services.refresh_access(&refresh).await?;
    Ok(Json(json!({"access": access})))
}

/// Replace one of the caller's personal access tokens.
#[utoipa::path(post, path = "/api/token/rotate", tag = "personal access tokens", request_body(content = super::schema::RefreshBody, content_type = "application/json", description = "The personal access token"), responses((status = 200, description = "The new personal access token; the old one is revoked", body = super::schema::RotatedToken), super::schema::Errors))]
pub(super) async fn rotate_token<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>> {
    let refresh = refresh_field(&body)?;
    let new = st
        .services
        .rotate_personal_token(&auth.caller, &refresh)
        .await?;
    Ok(Json(json!({"refresh": new})))
}

/// Revoke one of the caller's personal access tokens.
#[utoipa::path(post, path = "/api/token/blacklist", tag = "personal access tokens", request_body(content = super::schema::RefreshBody, content_type = "application/json", description = "The personal access token"), responses((status = 204, description = "Revoked"), super::schema::Errors))]
pub(super) async fn blacklist_token<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
    JsonObject(body): JsonObject,
) -> Result<StatusCode> {
    let refresh = refresh_field(&body)?;
    st.services
        .revoke_personal_token(&auth.caller, &refresh)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn jwt_settings_body(s: &orgs::TokenSettings) -> Value {
    json!({
        "api_tokens_enabled": s.api_tokens_enabled,
        "legacy_api_tokens_enabled": s.legacy_api_tokens_enabled,
        "api_token_ttl_days": s.api_token_ttl_days,
    })
}

/// The active organization's token settings.
#[utoipa::path(get, path = "/api/jwt/settings", tag = "personal access tokens", responses((status = 200, description = "The organization's token settings", body = super::schema::JwtSettings), super::schema::Errors))]
pub(super) async fn get_jwt_settings<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
) -> Result<Json<Value>> {
    Ok(Json(jwt_settings_body(
        &st.services.token_settings(&auth.caller).await?,
    )))
}

/// Change the token settings (owner or administrator).
#[utoipa::path(post, path = "/api/jwt/settings", tag = "personal access tokens", request_body(content = super::schema::JwtSettingsPatch, content_type = "application/json", description = "The settings to change"), responses((status = 200, description = "The settings, changed", body = super::schema::JwtSettings), super::schema::Errors))]
pub(super) async fn set_jwt_settings<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>> {
    // A member: 403 before the input is looked at.
    let (_, role) = auth.caller.active()?;
    if !st
        .services
        .config()
        .role_policy
        .may(role, orgs::Action::ChangeTokenSettings)
    {
        return Err(AppError::Forbidden.into());
    }
    let mut f = Fields::default();
    f.only(
        &body,
        &[
            "api_tokens_enabled",
            "legacy_api_tokens_enabled",
            "api_token_ttl_days",
        ],
    );
    let patch = app::TokenSettingsPatch {
        api_tokens_enabled: f.boolean(&body, "api_tokens_enabled"),
        legacy_api_tokens_enabled: f.boolean(&body, "legacy_api_tokens_enabled"),
        api_token_ttl_days: f.integer(&body, "api_token_ttl_days"),
    };
    f.finish()?;
    let settings = st.services.set_token_settings(&auth.caller, patch).await?;
    Ok(Json(jwt_settings_body(&settings)))
}
