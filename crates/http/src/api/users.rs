//! `/api/users[/{id}]`: the members of the caller's organization as users.

use app::{AppError, CreateUserRequest, SecretString, Store, UserPatch};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use orgs::Role;
use serde_json::Value;

use super::repr::{self, MetaCache};
use super::{Path, Result};
use crate::ApiError;
use crate::auth::Authenticated;
use crate::body::{Fields, JsonObject};
use crate::state::Shared;
use crate::stream::json_list;

/// Written as the rows arrive (see `stream`): any number of members in bounded memory.
#[utoipa::path(get, path = "/api/users", tag = "users", responses((status = 200, description = "Every member of the caller's active organization, by id", body = Vec<super::schema::User>), super::schema::Errors))]
pub(super) async fn list_users<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
) -> Result<Response> {
    let access = st.services.active_member_access(&auth.caller).await?;
    let turn = st.lists.turn_for(access.total).await?;
    let mut listing = st.services.open_members(&access, false).await?;
    Ok(json_list(turn, "[".into(), "]", move |mut w| async move {
        let mut cache = MetaCache::default();
        while let Some(rows) = st.services.next_members(&mut listing).await? {
            for (_, u) in &rows {
                let meta = cache.get(&st.services, u.active_organization).await?;
                w.item(&repr::UserJson {
                    user: u,
                    meta,
                    projects: false,
                })?;
            }
            w.flush().await?;
        }
        Ok(w)
    }))
}

/// Create a user in the caller's active organization (owner or administrator).
#[utoipa::path(post, path = "/api/users", tag = "users", request_body(content = super::schema::UserCreate, content_type = "application/json", description = "The new user"), responses((status = 201, description = "The user, created", body = super::schema::User), super::schema::Errors))]
pub(super) async fn create_user<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    // Only managers create users: check before looking at the input.
    let (_, role) = auth.caller.active()?;
    if !role.is_manager() {
        return Err(AppError::Forbidden.into());
    }
    let mut f = Fields::default();
    f.refuse(
        &body,
        &[
            "is_superuser",
            "is_staff",
            "id",
            "date_joined",
            "active_organization",
        ],
    );
    let username = f.required_string(&body, "username");
    let email = f.required_string(&body, "email");
    let first_name = f.string(&body, "first_name").unwrap_or_default();
    let last_name = f.string(&body, "last_name").unwrap_or_default();
    let password = f.string(&body, "password").map(SecretString::new);
    let role = match f.string(&body, "role").as_deref().map(Role::parse) {
        None => Role::Member,
        Some(Ok(r)) => r,
        Some(Err(e)) => {
            return Err(ApiError::Validation(vec![("role".into(), e.to_string())]));
        }
    };
    f.finish()?;
    let (created, _token) = st
        .services
        .create_user(
            &auth.caller,
            CreateUserRequest {
                email: email.unwrap_or_default(),
                username,
                first_name,
                last_name,
                password,
                role,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(repr::user_value(&st.services, &created.user).await?),
    )
        .into_response())
}

/// A member of the caller's organization.
#[utoipa::path(get, path = "/api/users/{id}", tag = "users", params(("id" = i64, Path, description = "The user's id")), responses((status = 200, description = "The user", body = super::schema::User), super::schema::Errors))]
pub(super) async fn get_user<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
    Path(id): Path<i64>,
) -> Result<Json<Value>> {
    let (_, user) = st.services.member(&auth.caller, id).await?;
    Ok(Json(repr::user_value(&st.services, &user).await?))
}

/// Change a user: oneself, or a member as owner or administrator. `email` is read-only (405).
#[utoipa::path(patch, path = "/api/users/{id}", tag = "users", params(("id" = i64, Path, description = "The user's id")), request_body(content = super::schema::UserPatch, content_type = "application/json", description = "The fields to change"), responses((status = 200, description = "The user, changed", body = super::schema::User), super::schema::Errors))]
pub(super) async fn patch_user<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
    Path(id): Path<i64>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>> {
    if body.contains_key("email") {
        return Err(ApiError::ReadOnlyField("email"));
    }
    let mut f = Fields::default();
    f.refuse(
        &body,
        &[
            "is_superuser",
            "is_staff",
            "is_active",
            "id",
            "date_joined",
            "password",
            "token",
        ],
    );
    let patch = UserPatch {
        first_name: f.string(&body, "first_name"),
        last_name: f.string(&body, "last_name"),
        username: f.string(&body, "username"),
        phone: f.string(&body, "phone"),
        allow_newsletters: f.boolean(&body, "allow_newsletters"),
        active_organization: f.integer(&body, "active_organization"),
    };
    f.finish()?;
    let user = st.services.update_user(&auth.caller, id, patch).await?;
    Ok(Json(repr::user_value(&st.services, &user).await?))
}

/// Delete a user (owner, or administrator of the organization); never the owner.
#[utoipa::path(delete, path = "/api/users/{id}", tag = "users", params(("id" = i64, Path, description = "The user's id")), responses((status = 204, description = "Deleted"), super::schema::Errors))]
pub(super) async fn delete_user<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    st.services.delete_user(&auth.caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
