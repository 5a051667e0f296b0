//! The JSON API (Label Studio's user-management endpoints), one module per
//! resource: the caller themselves (`current_user`), users (`users`),
//! organizations with their memberships and invite link
//! (`organizations`), and personal access tokens (`tokens`); their JSON
//! shapes are in `repr`.

pub(crate) mod audit;
mod current_user;
mod organizations;
pub(crate) mod repr;
pub(crate) mod schema;
mod tokens;
mod users;

use app::Store;
use axum::http::Method;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::ApiError;
use crate::routing::both;
use crate::state::Shared;

type Result<T> = std::result::Result<T, ApiError>;

/// Path parameters; a malformed one (`/api/users/abc`) is a JSON 404, as
/// Label Studio's numeric URL patterns make it.
struct Path<T>(T);

impl<S, T> axum::extract::FromRequestParts<S> for Path<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(_) => Err(ApiError::NotFound),
        }
    }
}

/// Query strings; one that does not parse (a repeated parameter, say) is a
/// JSON 400 naming the problem, as every API error.
struct Query<T>(T);

impl<S, T> axum::extract::FromRequestParts<S> for Query<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(e) => Err(ApiError::BadRequest(format!(
                "Invalid query string: {}",
                e.body_text()
                    .trim_start_matches("Failed to deserialize query string: ")
            ))),
        }
    }
}

pub(crate) fn routes<S: Store>() -> Router<Shared<S>> {
    use current_user as me;
    use organizations as orgs;
    let mut r = Router::new();
    r = both(r, "/health", get(health));
    r = both(r, "/api/version", get(version));
    r = both(r, "/api/schema", get(schema::schema));
    r = both(r, "/api/current-user/whoami", get(me::whoami::<S>));
    r = both(
        r,
        "/api/current-user",
        get(me::current_user::<S>).patch(me::patch_current_user::<S>),
    );
    r = both(r, "/api/current-user/token", get(me::current_token));
    r = both(
        r,
        "/api/current-user/reset-token",
        post(me::reset_token::<S>),
    );
    r = both(
        r,
        "/api/current-user/password",
        post(me::change_password::<S>),
    );
    r = both(
        r,
        "/api/current-user/hotkeys",
        get(me::get_hotkeys).patch(me::patch_hotkeys::<S>),
    );
    r = both(
        r,
        "/api/users",
        get(users::list_users::<S>).post(users::create_user::<S>),
    );
    r = both(
        r,
        "/api/users/{id}",
        get(users::get_user::<S>)
            .patch(users::patch_user::<S>)
            .delete(users::delete_user::<S>),
    );
    r = both(
        r,
        "/api/organizations",
        get(orgs::list_orgs::<S>).post(orgs::create_org::<S>),
    );
    r = both(
        r,
        "/api/organizations/{id}",
        get(orgs::get_org::<S>).patch(orgs::patch_org::<S>),
    );
    r = both(
        r,
        "/api/organizations/{id}/memberships",
        get(orgs::list_memberships::<S>),
    );
    r = both(
        r,
        "/api/organizations/{id}/memberships/{user_id}",
        get(orgs::get_membership::<S>)
            .patch(orgs::patch_membership::<S>)
            .delete(orgs::delete_membership::<S>),
    );
    r = both(r, "/api/invite", get(orgs::invite::<S>));
    r = both(r, "/api/audit-log", get(audit::audit_log::<S>));
    r = both(r, "/api/invite/reset-token", post(orgs::reset_invite::<S>));
    r = both(
        r,
        "/api/token",
        get(tokens::list_personal_tokens::<S>).post(tokens::create_personal_token::<S>),
    );
    r = both(r, "/api/token/refresh", post(tokens::refresh_token::<S>));
    r = both(r, "/api/token/rotate", post(tokens::rotate_token::<S>));
    r = both(
        r,
        "/api/token/blacklist",
        post(tokens::blacklist_token::<S>),
    );
    r = both(
        r,
        "/api/jwt/settings",
        get(tokens::get_jwt_settings::<S>).post(tokens::set_jwt_settings::<S>),
    );
    r
}

pub(crate) async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}

async fn health() -> Json<Value> {
    Json(json!({"status": "UP"}))
}

/// The shape `versions.get()` of Label Studio's SDK reads. We are not Label
/// Studio: the package entries name this server, the editor entries are empty.
async fn version() -> Json<Value> {
    let package = json!({"version": crate::VERSION, "short_version": crate::VERSION, "latest_version_from_pypi": null});
    Json(json!({
        "release": crate::VERSION,
        "edition": "Community",
        "label-studio-os-package": package,
        "label-studio-os-backend": {"message": "ls-users", "commit": null, "branch": null, "date": null},
        "label-studio-frontend": {},
        "dm2": {},
        "label-studio-converter": {},
        "lsf": {},
        "backend": {},
        "ls-users": crate::VERSION,
    }))
}
