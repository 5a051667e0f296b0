//! The JSON API (Label Studio's user-management endpoints).

use app::{AppError, CreateUserRequest, SecretString, Store, UserPatch};
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};
use orgs::Role;
use serde_json::{Value, json};

use crate::ApiError;
use crate::auth::{Authed, Via};
use crate::body::{Fields, JsonObject};
use crate::repr::{self, MetaCache};
use crate::state::Shared;
use app::time::iso8601;

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

/// Both trailing-slash forms of every route.
fn both<S: Store>(
    router: Router<Shared<S>>,
    path: &str,
    route: MethodRouter<Shared<S>>,
) -> Router<Shared<S>> {
    router
        .route(path, route.clone())
        .route(&format!("{path}/"), route)
}

pub(crate) fn routes<S: Store>() -> Router<Shared<S>> {
    let mut r = Router::new();
    r = both(r, "/health", get(health));
    r = both(r, "/api/version", get(version));
    r = both(r, "/api/current-user/whoami", get(whoami::<S>));
    r = both(
        r,
        "/api/current-user",
        get(current_user::<S>).patch(patch_current_user::<S>),
    );
    r = both(r, "/api/current-user/token", get(current_token));
    r = both(r, "/api/current-user/reset-token", post(reset_token::<S>));
    r = both(r, "/api/users", get(list_users::<S>).post(create_user::<S>));
    r = both(
        r,
        "/api/users/{id}",
        get(get_user::<S>)
            .patch(patch_user::<S>)
            .delete(delete_user::<S>),
    );
    r = both(
        r,
        "/api/organizations",
        get(list_orgs::<S>).post(create_org::<S>),
    );
    r = both(
        r,
        "/api/organizations/{id}",
        get(get_org::<S>).patch(patch_org::<S>),
    );
    r = both(
        r,
        "/api/organizations/{id}/memberships",
        get(list_memberships::<S>),
    );
    r = both(
        r,
        "/api/organizations/{id}/memberships/{user_id}",
        get(get_membership::<S>)
            .patch(patch_membership::<S>)
            .delete(delete_membership::<S>),
    );
    r = both(
        r,
        "/api/current-user/hotkeys",
        get(get_hotkeys).patch(patch_hotkeys::<S>),
    );
    r = both(
        r,
        "/api/token",
        get(list_personal_tokens::<S>).post(create_personal_token::<S>),
    );
    r = both(r, "/api/token/refresh", post(refresh_token::<S>));
    r = both(r, "/api/token/rotate", post(rotate_token::<S>));
    r = both(r, "/api/token/blacklist", post(blacklist_token::<S>));
    r = both(
        r,
        "/api/jwt/settings",
        get(get_jwt_settings::<S>).post(set_jwt_settings::<S>),
    );
    r = both(r, "/api/invite", get(invite::<S>));
    r = both(r, "/api/invite/reset-token", post(reset_invite::<S>));
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

async fn whoami<S: Store>(State(st): State<Shared<S>>, auth: Authed) -> Result<Json<Value>> {
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

async fn current_user<S: Store>(State(st): State<Shared<S>>, auth: Authed) -> Result<Json<Value>> {
    Ok(Json(
        repr::user_value(&st.services, &auth.caller.user).await?,
    ))
}

async fn patch_current_user<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authed,
    body: JsonObject,
) -> Result<Json<Value>> {
    let id = auth.caller.user.id;
    patch_user(State(st), auth, Path(id), body).await
}

/// Shown only to a request made with that very token: we keep digests only.
async fn current_token(auth: Authed) -> Result<Json<Value>> {
    match auth.via {
        Via::Token(t) => Ok(Json(json!({"token": t}))),
        Via::Session | Via::Jwt => Err(ApiError::NotFoundWith(
            "The API token is shown only once, when it is made: reset the token to see a new one.",
        )),
    }
}

async fn reset_token<S: Store>(State(st): State<Shared<S>>, auth: Authed) -> Result<Response> {
    let token = st.services.reset_own_token(auth.caller.user.id).await?;
    Ok((StatusCode::CREATED, Json(json!({"token": token.expose()}))).into_response())
}

async fn list_users<S: Store>(State(st): State<Shared<S>>, auth: Authed) -> Result<Json<Value>> {
    let members = st.services.members(&auth.caller).await?;
    let mut cache = MetaCache::default();
    let mut out = Vec::with_capacity(members.len());
    for (_, u) in &members {
        let meta = cache.get(&st.services, u.active_organization).await?;
        out.push(Value::Object(repr::user(u, &meta)));
    }
    Ok(Json(Value::Array(out)))
}

async fn create_user<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authed,
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
    let actor = auth.caller.actor()?;
    let (created, _token) = st
        .services
        .create_user(
            &actor,
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

async fn get_user<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authed,
    Path(id): Path<i64>,
) -> Result<Json<Value>> {
    let (_, user) = st.services.member(&auth.caller, id).await?;
    Ok(Json(repr::user_value(&st.services, &user).await?))
}

async fn patch_user<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authed,
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

async fn delete_user<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authed,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    st.services.delete_user(&auth.caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_orgs<S: Store>(State(st): State<Shared<S>>, auth: Authed) -> Result<Json<Value>> {
    let orgs = st.services.organizations(&auth.caller.user).await?;
    Ok(Json(Value::Array(
        orgs.iter().map(repr::org_summary).collect(),
    )))
}

async fn create_org<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authed,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let mut f = Fields::default();
    let title = f.required_string(&body, "title");
    if !st.services.config().organization_creation_over_api {
        // Disabled: say so before looking at the input.
        return Err(AppError::OrgCreationDisabled.into());
    }
    f.finish()?;
    let org = st
        .services
        .create_organization(&auth.caller.user, title.as_deref().unwrap_or_default())
        .await?;
    Ok((StatusCode::CREATED, Json(repr::org_summary(&org))).into_response())
}

async fn get_org<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authed,
    Path(id): Path<i64>,
) -> Result<Json<Value>> {
    let (org, users, may_see_token) = st.services.organization(&auth.caller.user, id).await?;
    let token = may_see_token.then(|| st.services.invite_token_of(&org));
    Ok(Json(repr::org_detail(
        &org,
        token.as_ref().map(|t| t.expose()),
        &users,
    )))
}

async fn patch_org<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authed,
    Path(id): Path<i64>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>> {
    // Not a member: 404; a member who may not edit: 403; only then the input.
    st.services
        .require_in(&auth.caller.user, id, orgs::Action::EditOrganization)
        .await?;
    let mut f = Fields::default();
    f.refuse(
        &body,
        &[
            "token",
            "created_by",
            "id",
            "created_at",
            "updated_at",
            "users",
        ],
    );
    let title = f.string(&body, "title");
    let contact_info = f.nullable_string(&body, "contact_info");
    f.finish()?;
    let org = st
        .services
        .update_organization(&auth.caller.user, id, title, contact_info)
        .await?;
    let (_, users, may_see_token) = st.services.organization(&auth.caller.user, id).await?;
    let token = may_see_token.then(|| st.services.invite_token_of(&org));
    Ok(Json(repr::org_detail(
        &org,
        token.as_ref().map(|t| t.expose()),
        &users,
    )))
}

#[derive(Debug, serde::Deserialize)]
struct PageQuery {
    page: Option<String>,
    page_size: Option<String>,
}

const DEFAULT_PAGE_SIZE: usize = 20;
const MAX_PAGE_SIZE: usize = 1000;

async fn list_memberships<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authed,
    Path(id): Path<i64>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Value>> {
    let page: usize = match q.page.as_deref() {
        None | Some("") => 1,
        Some(p) => p.parse().map_err(|_| AppError::InvalidPage)?,
    };
    let page_size: Option<usize> = match q.page_size.as_deref() {
        Some("-1") => None,
        Some(s) => Some(
            s.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .unwrap_or(DEFAULT_PAGE_SIZE)
                .min(MAX_PAGE_SIZE),
        ),
        None => Some(DEFAULT_PAGE_SIZE),
    };
    let result = st
        .services
        .membership_page(&auth.caller.user, id, page, page_size)
        .await?;
    let mut cache = MetaCache::default();
    let mut results = Vec::with_capacity(result.members.len());
    for (m, u) in &result.members {
        let meta = cache.get(&st.services, u.active_organization).await?;
        results.push(repr::membership_item(m, u, &meta));
    }
    let link = |p: usize| {
        let size = page_size.map_or("-1".to_owned(), |s| s.to_string());
        json!(format!(
            "{}/api/organizations/{id}/memberships?page={p}&page_size={size}",
            st.url.base
        ))
    };
    let (next, previous) = match page_size {
        None => (Value::Null, Value::Null),
        Some(size) => (
            if page * size < result.count {
                link(page + 1)
            } else {
                Value::Null
            },
            if page > 1 {
                link(page - 1)
            } else {
                Value::Null
            },
        ),
    };
    Ok(Json(
        json!({"count": result.count, "next": next, "previous": previous, "results": results}),
    ))
}

async fn get_membership<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authed,
    Path((id, user_id)): Path<(i64, i64)>,
) -> Result<Json<Value>> {
    let (m, _) = st
        .services
        .membership(&auth.caller.user, id, user_id)
        .await?;
    Ok(Json(repr::membership_detail(&m)))
}

/// `{"role": "administrator" | "member"}`, by the owner or an administrator.
async fn patch_membership<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authed,
    Path((id, user_id)): Path<(i64, i64)>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>> {
    st.services
        .require_in(&auth.caller.user, id, orgs::Action::ChangeRole)
        .await?;
    let mut f = Fields::default();
    f.refuse(&body, &["user", "organization", "created_at"]);
    let role = f.required_string(&body, "role");
    f.finish()?;
    let role = Role::parse(role.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::Validation(vec![("role".into(), e.to_string())]))?;
    let m = st
        .services
        .change_role(&auth.caller.user, id, user_id, role)
        .await?;
    Ok(Json(repr::membership_detail(&m)))
}

async fn delete_membership<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authed,
    Path((id, user_id)): Path<(i64, i64)>,
) -> Result<StatusCode> {
    st.services
        .remove_member(&auth.caller.user, id, user_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn invite_body<S>(st: &Shared<S>, token: &invites::InviteToken) -> Value {
    json!({"token": token.expose(), "invite_url": format!("{}{}", st.url.prefix, token.signup_path())})
}

async fn invite<S: Store>(State(st): State<Shared<S>>, auth: Authed) -> Result<Json<Value>> {
    let (_, token) = st.services.invite_link(&auth.caller.actor()?).await?;
    Ok(Json(invite_body(&st, &token)))
}

async fn reset_invite<S: Store>(State(st): State<Shared<S>>, auth: Authed) -> Result<Response> {
    let (_, token) = st.services.reset_invite(&auth.caller.actor()?).await?;
    Ok((StatusCode::CREATED, Json(invite_body(&st, &token))).into_response())
}

#[derive(Debug, serde::Deserialize)]
struct HotkeysQuery {
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

async fn get_hotkeys(auth: Authed, Query(q): Query<HotkeysQuery>) -> Result<Json<Value>> {
    refuse_project(&q)?;
    let hotkeys = accounts::Hotkeys::from_stored(&auth.caller.user.custom_hotkeys);
    Ok(Json(json!({"custom_hotkeys": hotkeys.to_value()})))
}

async fn patch_hotkeys<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authed,
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

fn personal_token_body(t: &app::PersonalToken) -> Value {
    json!({
        "token": t.token,
        "created_at": iso8601(t.created_at),
        "expires_at": iso8601(t.expires_at),
    })
}

async fn list_personal_tokens<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authed,
) -> Result<Json<Value>> {
    let tokens = st.services.personal_tokens(&auth.caller).await?;
    Ok(Json(Value::Array(
        tokens.iter().map(personal_token_body).collect(),
    )))
}

async fn create_personal_token<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authed,
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
async fn refresh_token<S: Store>(
    State(st): State<Shared<S>>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>> {
    let refresh = refresh_field(&body)?;
    let access = st.services.refresh_access(&refresh).await?;
    Ok(Json(json!({"access": access})))
}

async fn rotate_token<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authed,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>> {
    let refresh = refresh_field(&body)?;
    let new = st
        .services
        .rotate_personal_token(&auth.caller, &refresh)
        .await?;
    Ok(Json(json!({"refresh": new})))
}

async fn blacklist_token<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authed,
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

async fn get_jwt_settings<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authed,
) -> Result<Json<Value>> {
    Ok(Json(jwt_settings_body(
        &st.services.token_settings(&auth.caller).await?,
    )))
}

async fn set_jwt_settings<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authed,
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
