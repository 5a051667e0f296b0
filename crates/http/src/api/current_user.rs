//! `/api/current-user…`: whoami, the profile, the legacy API token, hotkeys.

use app::Store;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::repr;
use super::users::patch_user;
use super::{Path, Query, Result};
use crate::ApiError;
use crate::auth::{Authenticated, Via};
use crate::body::{Fields, JsonObject};
use crate::state::Shared;

/// The caller.
#[utoipa::path(get, path = "/api/current-user/whoami", tag = "current user", responses((status = 200, description = "The caller, with their permissions", body = super::schema::WhoAmI), super::schema::Errors))]
pub(super) async fn whoami<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
) -> Result<Json<Value>> {
    let s = &st.services;
    // The caller carries the role and, when a token authenticated it, the
    // organization's title and owner; otherwise org_meta reads them.
    let user = &auth.caller.user;
    let meta = match &auth.caller.org_meta {
        Some(meta) => meta.clone(),
        None => s.org_meta(user.active_organization).await?,
    };
    let mut body = repr::user(user, &meta);
    body.insert(
        "permissions".into(),
        json!(s.permissions(auth.caller.membership.map(|(_, role)| role))),
    );
    Ok(Json(Value::Object(body)))
}

/// The caller's profile.
#[utoipa::path(get, path = "/api/current-user", tag = "current user", responses((status = 200, description = "The caller", body = super::schema::User), super::schema::Errors))]
pub(super) async fn current_user<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
) -> Result<Json<Value>> {
    Ok(Json(
        repr::user_value(&st.services, &auth.caller.user).await?,
    ))
}

/// Change the caller's profile.
#[utoipa::path(patch, path = "/api/current-user", tag = "current user", request_body(content = super::schema::UserPatch, content_type = "application/json", description = "The fields to change"), responses((status = 200, description = "The caller, changed", body = super::schema::User), super::schema::Errors))]
pub(super) async fn patch_current_user<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
    body: JsonObject,
) -> Result<Json<Value>> {
    let id = auth.caller.user.id;
    patch_user(State(st), auth, Path(id), body).await
}

/// Shown only to a request made with that very token: we keep digests only.
#[utoipa::path(get, path = "/api/current-user/token", tag = "current user", responses((status = 200, description = "The API token this request was made with", body = super::schema::ApiToken), super::schema::Errors))]
pub(super) async fn current_token(auth: Authenticated) -> Result<Json<Value>> {
    match auth.via {
        Via::Token(t) => Ok(Json(json!({"token": t}))),
        Via::Session | Via::Jwt => Err(ApiError::NotFoundWith(
            "The API token is shown only once, when it is made: reset the token to see a new one.",
        )),
    }
}

/// A new API token for the caller.
#[utoipa::path(post, path = "/api/current-user/reset-token", tag = "current user", responses((status = 201, description = "The new token, shown once; the old one no longer works", body = super::schema::ApiToken), super::schema::Errors))]
pub(super) async fn reset_token<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
) -> Result<Response> {
    let token = st.services.reset_own_token(auth.caller.user.id).await?;
    Ok((StatusCode::CREATED, Json(json!({"token": token.expose()}))).into_response())
}

/// Change the caller's password: the current one is required; every other
/// session, every device cookie and personal access token of the account
/// end (a session this request was made in stays); with `reset_api_token`
/// the API token is replaced too.
#[utoipa::path(post, path = "/api/current-user/password", tag = "current user", request_body(content = super::schema::PasswordChange, content_type = "application/json", description = "The current and the new password"), responses((status = 200, description = "Changed", body = super::schema::PasswordChanged), super::schema::Errors))]
pub(super) async fn change_password<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
    headers: axum::http::HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>> {
    let mut f = Fields::default();
    f.only(
        &body,
        &["current_password", "new_password", "reset_api_token"],
    );
    let current = f.required_string(&body, "current_password");
    let new = f.required_string(&body, "new_password");
    let reset = f.boolean(&body, "reset_api_token").unwrap_or(false);
    f.finish()?;
    let (current, new) = (
        app::SecretString::new(current.unwrap_or_default()),
        app::SecretString::new(new.unwrap_or_default()),
    );
    // A browser's session (and its device cookie) stay; tokens carry none.
    let (session, device) = match auth.via {
        Via::Session => (
            crate::auth::cookie(&headers, crate::auth::SESSION_COOKIE),
            crate::auth::cookie(&headers, crate::auth::DEVICE_COOKIE),
        ),
        Via::Token(_) | Via::Jwt => (None, None),
    };
    let token = st
        .services
        .change_own_password(
            &auth.caller,
            app::PasswordChangeRequest {
                current: &current,
                new: &new,
                session: session.as_deref(),
                device: device.as_deref(),
                new_api_token: reset,
            },
        )
        .await?;
    Ok(Json(json!({
        "detail": "Password changed. Every other session, device and personal access token of this account has ended.",
        "token": token.as_ref().map(|t| t.expose()),
    })))
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct HotkeysQuery {
    project: Option<String>,
}

/// Label Studio scopes hotkeys per project too; this server has no projects.
fn refuse_project(q: &HotkeysQuery) -> Result<()> {
    match q.project {
        None => Ok(()),
        Some(_) => Err(ApiError::Validation(vec![(
            "project".into(),
            "Project hotkeys are not available: this server has no projects.".into(),
        )])),
    }
}

/// The caller's hotkeys.
#[utoipa::path(get, path = "/api/current-user/hotkeys", tag = "current user", responses((status = 200, description = "The caller's hotkeys", body = super::schema::Hotkeys), super::schema::Errors))]
pub(super) async fn get_hotkeys(
    auth: Authenticated,
    Query(q): Query<HotkeysQuery>,
) -> Result<Json<Value>> {
    refuse_project(&q)?;
    let hotkeys = accounts::Hotkeys::from_stored(&auth.caller.user.custom_hotkeys);
    Ok(Json(json!({"custom_hotkeys": hotkeys.to_value()})))
}

/// Change the caller's hotkeys.
#[utoipa::path(patch, path = "/api/current-user/hotkeys", tag = "current user", request_body(content = super::schema::HotkeysPatch, content_type = "application/json", description = "The hotkeys"), responses((status = 200, description = "The hotkeys, changed", body = super::schema::Hotkeys), super::schema::Errors))]
pub(super) async fn patch_hotkeys<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
    Query(q): Query<HotkeysQuery>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>> {
    refuse_project(&q)?;
    let mut f = Fields::default();
    f.only(&body, &["custom_hotkeys"]);
    f.finish()?;
    let Some(value) = body.get("custom_hotkeys") else {
        return Err(ApiError::Validation(vec![(
            "custom_hotkeys".into(),
            "This field is required.".into(),
        )]));
    };
    let hotkeys = st.services.set_hotkeys(&auth.caller, value).await?;
    Ok(Json(json!({"custom_hotkeys": hotkeys.to_value()})))
}
