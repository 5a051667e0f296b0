use std::sync::Arc;

use app::{Services, Store};
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::{ApiError, auth};

pub(crate) fn router<S: Store>(services: Arc<Services<S>>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/health/", get(health))
        .route("/api/version", get(version))
        .route("/api/version/", get(version))
        .route("/api/current-user/whoami", get(whoami::<S>))
        .route("/api/current-user/whoami/", get(whoami::<S>))
        .fallback(not_found)
        .with_state(services)
}

async fn health() -> Json<Value> {
    Json(json!({"status": "UP"}))
}

async fn version() -> Json<Value> {
    Json(json!({"release": crate::VERSION, "ls-users": crate::VERSION}))
}

async fn not_found(uri: Uri) -> ApiError {
    tracing::debug!(path = uri.path(), "no route");
    ApiError::NotFound
}

/// Label Studio's `initials`.
fn initials(first: &str, last: &str, email: &str) -> String {
    let first_char = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
    match (first.is_empty(), last.is_empty()) {
        (true, true) => email.chars().take(2).collect(),
        (false, true) => first_char(first),
        (true, false) => first_char(last),
        (false, false) => first_char(first) + &first_char(last),
    }
}

async fn whoami<S: Store>(
    State(services): State<Arc<Services<S>>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let user = auth::require_user(&services, &headers).await?;
    let profile = services.profile(user).await?;
    let u = &profile.user;
    let meta = json!({
        "title": profile.organization.as_ref().map_or("", |o| o.title.as_str()),
        "email": profile.owner_email.as_deref().unwrap_or(""),
    });
    Ok(Json(json!({
        "id": u.id,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "username": u.username,
        "email": u.email.as_str(),
        "last_activity": u.last_activity.map(app::time::iso8601),
        "custom_hotkeys": {},
        "avatar": null,
        "initials": initials(&u.first_name, &u.last_name, u.email.as_str()),
        "phone": u.phone,
        "active_organization": u.active_organization,
        "active_organization_meta": meta,
        "allow_newsletters": false,
        "date_joined": app::time::iso8601(u.date_joined),
        "permissions": services.permissions(profile.role),
    })))
}

#[cfg(test)]
mod tests {
    use super::initials;

    #[test]
    fn initials_rules() {
        assert_eq!(initials("", "", "jo@example.com"), "jo");
        assert_eq!(initials("Ann", "", "x@example.com"), "A");
        assert_eq!(initials("", "Lee", "x@example.com"), "L");
        assert_eq!(initials("Ann", "Lee", "x@example.com"), "AL");
    }
}
