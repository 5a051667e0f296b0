//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]`
//! annotations and the shapes below (which mirror `repr`: the answers are
//! serialized by hand, key order and all, so these types only describe
//! them), served at `/api/schema`.
#![allow(dead_code)] // the shapes are read by the derive, never built

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, OpenApi, ToSchema};

use super::{audit, current_user, organizations, tokens, users};

/// Label Studio's error envelope; `validation_errors` names the fields.
#[derive(ToSchema)]
#[schema(as = Error)]
pub(super) struct ErrorEnvelope {
    /// A UUID4 naming this error (for the logs).
    id: String,
    status_code: i64,
    /// The server's version.
    version: String,
    detail: String,
    #[schema(value_type = Option<Object>)]
    exc_info: Option<()>,
    /// Field name to messages, with `detail: "Validation error"`.
    #[schema(required = false)]
    validation_errors: Option<BTreeMap<String, Vec<String>>>,
}

/// The statuses every operation may answer besides its own: a malformed
/// request (400), no or a bad credential (401), not allowed or a failed
/// CSRF check (403), not found or not visible (404), a method or a
/// read-only field (405), a conflict with what is stored (409), a body too large (413) or not JSON (415),
/// throttled (429), busy or too slow (503).
#[derive(IntoResponses)]
pub(super) enum Errors {
    #[response(status = 400, description = "Malformed request or invalid fields")]
    BadRequest(ErrorEnvelope),
    #[response(status = 401, description = "Not authenticated")]
    Unauthenticated(ErrorEnvelope),
    #[response(status = 403, description = "Not permitted, or the CSRF check failed")]
    Forbidden(ErrorEnvelope),
    #[response(status = 404, description = "Not found, or not visible to the caller")]
    NotFound(ErrorEnvelope),
    #[response(status = 405, description = "Method not allowed, or a read-only field")]
    MethodNotAllowed(ErrorEnvelope),
    #[response(status = 409, description = "In conflict with what is stored")]
    Conflict(ErrorEnvelope),
    #[response(status = 413, description = "Request body too large")]
    TooLarge(ErrorEnvelope),
    #[response(status = 415, description = "Request body is not JSON")]
    UnsupportedMediaType(ErrorEnvelope),
    #[response(status = 429, description = "Throttled: see Retry-After")]
    Throttled(ErrorEnvelope),
    #[response(status = 503, description = "Busy or too slow: see Retry-After")]
    Unavailable(ErrorEnvelope),
}

#[derive(ToSchema)]
pub(super) struct OrgMeta {
    title: String,
    /// The owner's email.
    email: String,
}

/// A user, keys in Label Studio's order.
#[derive(ToSchema)]
pub(super) struct User {
    id: i64,
    first_name: String,
    last_name: String,
    username: String,
    email: String,
    last_activity: String,
    #[schema(value_type = Object)]
    custom_hotkeys: (),
    avatar: Option<String>,
    initials: String,
    phone: String,
    active_organization: Option<i64>,
    active_organization_meta: OrgMeta,
    allow_newsletters: bool,
    date_joined: String,
}

/// The caller, with the permissions they hold.
#[derive(ToSchema)]
pub(super) struct WhoAmI {
    #[serde(flatten)]
    user: User,
    permissions: Vec<String>,
}

/// A membership's user: the user with two project fields (always null here).
#[derive(ToSchema)]
pub(super) struct MemberUser {
    #[serde(flatten)]
    user: User,
    #[schema(value_type = Option<Object>)]
    created_projects: Option<()>,
    #[schema(value_type = Option<Object>)]
    contributed_to_projects: Option<()>,
}

#[derive(ToSchema)]
pub(super) struct Membership {
    id: i64,
    organization: i64,
    user: MemberUser,
    #[schema(value_type = Option<Object>)]
    created_projects: Option<()>,
    #[schema(value_type = Option<Object>)]
    contributed_to_projects: Option<()>,
    /// owner, administrator or member.
    role: String,
}

/// One page of members, ordered by username then id.
#[derive(ToSchema)]
pub(super) struct MembershipPage {
    count: i64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<Membership>,
}

#[derive(ToSchema)]
pub(super) struct MembershipDetail {
    user: i64,
    organization: i64,
    contributed_projects_count: i64,
    annotations_count: i64,
    created_at: String,
    #[schema(value_type = Option<Object>)]
    created_projects: Option<()>,
    #[schema(value_type = Option<Object>)]
    contributed_to_projects: Option<()>,
    role: String,
}

#[derive(ToSchema)]
pub(super) struct OrganizationSummary {
    id: i64,
    title: String,
    contact_info: Option<String>,
    created_at: String,
}

/// An organization as its members see it; `token` (the invite token) is
/// null for those not allowed to see the invite link.
#[derive(ToSchema)]
pub(super) struct OrganizationDetail {
    id: i64,
    title: String,
    token: Option<String>,
    created_at: String,
    updated_at: String,
    contact_info: Option<String>,
    created_by: Option<i64>,
    /// Member ids.
    users: Vec<i64>,
}

#[derive(ToSchema)]
pub(super) struct InviteLink {
    token: String,
    /// Relative to the public URL: `/user/signup/?token=…`.
    invite_url: String,
}

/// A legacy API token (shown once).
#[derive(ToSchema)]
pub(super) struct ApiToken {
    token: String,
}

/// One audit entry: never a secret.
#[derive(ToSchema)]
pub(super) struct AuditEntry {
    id: i64,
    /// When, ISO 8601 UTC.
    at: String,
    /// `password.changed`, `member.role_changed`, `throttle.locked`…
    action: String,
    actor_id: Option<i64>,
    /// The actor's email then.
    actor: Option<String>,
    target_user_id: Option<i64>,
    /// The target's email, or what was acted on.
    target: Option<String>,
    organization_id: Option<i64>,
    /// The client address of the request.
    client: Option<String>,
    detail: Option<String>,
}

/// A page of the audit log, newest first.
#[derive(ToSchema)]
pub(super) struct AuditPage {
    results: Vec<AuditEntry>,
    /// The next (older) page, or null after the last.
    next: Option<String>,
}

/// A password change by its owner.
#[derive(ToSchema)]
pub(super) struct PasswordChange {
    /// The password now in use.
    #[schema(min_length = 1, max_length = 4096)]
    current_password: String,
    /// The new one (the password policy applies: 8–128 characters by default).
    #[schema(min_length = 8, max_length = 128)]
    new_password: String,
    /// Also replace the API token (the new one is in the answer, once). Default false.
    reset_api_token: Option<bool>,
}

/// What a password change answers.
#[derive(ToSchema)]
pub(super) struct PasswordChanged {
    /// What ended with the old password.
    detail: String,
    /// The new API token, when `reset_api_token` asked for one; otherwise null.
    token: Option<String>,
}

/// A personal access token: whole when just made, `header.payload` after.
#[derive(ToSchema)]
pub(super) struct PersonalToken {
    token: String,
    created_at: String,
    expires_at: String,
}

#[derive(ToSchema)]
pub(super) struct RefreshBody {
    /// A personal access token (the refresh token).
    #[schema(min_length = 1)]
    refresh: String,
}

#[derive(ToSchema)]
pub(super) struct AccessToken {
    /// A short-lived access token, sent as `Authorization: Bearer …`.
    access: String,
}

#[derive(ToSchema)]
pub(super) struct RotatedToken {
    refresh: String,
}

#[derive(ToSchema)]
pub(super) struct JwtSettings {
    api_tokens_enabled: bool,
    legacy_api_tokens_enabled: bool,
    api_token_ttl_days: i64,
}

#[derive(ToSchema)]
pub(super) struct JwtSettingsPatch {
    api_tokens_enabled: Option<bool>,
    legacy_api_tokens_enabled: Option<bool>,
    api_token_ttl_days: Option<i64>,
}

#[derive(ToSchema)]
pub(super) struct Hotkeys {
    #[schema(value_type = Object)]
    custom_hotkeys: (),
}

/// The hotkeys, and nothing else (another field is refused).
#[derive(ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HotkeysPatch {
    #[schema(value_type = Object)]
    custom_hotkeys: serde_json::Value,
}

/// A role a new user can be given (there is one owner).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(super) enum NewRole {
    Administrator,
    Member,
}

#[derive(ToSchema)]
pub(super) struct UserCreate {
    #[schema(
        max_length = 150,
        pattern = "^\\s*[^\\s\\u0000-\\u001F\\u007F-\\u009F]+\\s*$"
    )]
    username: String,
    /// Unique, whatever its case (400 when taken, as in Label Studio);
    /// stored in lower case. At most 64 characters before the `@` and 63 in
    /// a domain label.
    #[schema(
        max_length = 254,
        pattern = "^\\s*[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\\.)+([A-Za-z]{2,}|xn--[A-Za-z0-9-]+)\\s*$"
    )]
    email: String,
    #[schema(max_length = 256, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    first_name: Option<String>,
    #[schema(max_length = 256, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    last_name: Option<String>,
    /// Checked by the password policy (8 to 128 characters by default);
    /// without one the user cannot log in until one is set.
    #[schema(
        min_length = 8,
        max_length = 128,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    password: Option<String>,
    /// member (default) or administrator.
    role: Option<NewRole>,
}

/// The fields a user may change; `email` is read-only (405).
#[derive(ToSchema)]
pub(super) struct UserPatch {
    #[schema(max_length = 256, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    first_name: Option<String>,
    #[schema(max_length = 256, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    last_name: Option<String>,
    #[schema(
        max_length = 150,
        pattern = "^\\s*[^\\s\\u0000-\\u001F\\u007F-\\u009F]+\\s*$"
    )]
    username: Option<String>,
    #[schema(max_length = 256, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    phone: Option<String>,
    allow_newsletters: Option<bool>,
    /// An organization the user is a member of.
    active_organization: Option<i64>,
}

#[derive(ToSchema)]
pub(super) struct OrganizationCreate {
    #[schema(
        max_length = 1000,
        pattern = "^\\s*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*\\s*$"
    )]
    title: String,
}

#[derive(ToSchema)]
pub(super) struct OrganizationPatch {
    #[schema(
        max_length = 1000,
        pattern = "^\\s*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*\\s*$"
    )]
    title: Option<String>,
    /// An email address; null or "" clears it.
    #[schema(
        max_length = 254,
        pattern = "^(\\s*[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\\.)+([A-Za-z]{2,}|xn--[A-Za-z0-9-]+)\\s*)?$"
    )]
    contact_info: Option<String>,
}

#[derive(ToSchema)]
pub(super) struct MembershipPatch {
    /// There is one owner: ownership is not given here.
    role: NewRole,
}

#[derive(ToSchema)]
pub(super) struct Health {
    /// `UP`.
    status: String,
}

/// `GET /health`: up (no authentication).
#[utoipa::path(get, path = "/health", tag = "server", security(()),
    responses((status = 200, description = "The server is up", body = Health), Errors))]
fn health_doc() {}

/// `GET /api/version`: the version, in the shape Label Studio's SDK reads.
#[utoipa::path(get, path = "/api/version", tag = "server", security(()),
    responses((status = 200, description = "Versions", body = Object), Errors))]
fn version_doc() {}

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        // A PATCH without a body changes nothing and answers the resource:
        // its body is optional (utoipa marks every body required).
        for item in doc.paths.paths.values_mut() {
            let patch = item.patch.as_mut().filter(|op| {
                // These bodies have a required field: they stay required.
                !matches!(
                    op.operation_id.as_deref(),
                    Some("patch_hotkeys" | "patch_membership")
                )
            });
            if let Some(utoipa::openapi::RefOr::T(body)) =
                patch.and_then(|op| op.request_body.as_mut())
            {
                body.required = Some(utoipa::openapi::Required::False);
            }
        }
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Token <key>`: the user's API token (also accepted as `X-Api-Key: <key>`)",
            ))),
        );
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An access token from POST /api/token/refresh (a personal access token's)",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ls-users",
        description = "Label Studio's user-management API: users, organizations and their \
            members, the invite link, API tokens and personal access tokens. Every route also \
            answers with a trailing slash. A browser session (the `sessionid` cookie) \
            authenticates too; its unsafe methods need the CSRF token (`X-CSRFToken`).",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        health_doc,
        version_doc,
        current_user::whoami,
        current_user::current_user,
        current_user::patch_current_user,
        current_user::current_token,
        current_user::reset_token,
        current_user::change_password,
        audit::audit_log,
        current_user::get_hotkeys,
        current_user::patch_hotkeys,
        users::list_users,
        users::create_user,
        users::get_user,
        users::patch_user,
        users::delete_user,
        organizations::list_orgs,
        organizations::create_org,
        organizations::get_org,
        organizations::patch_org,
        organizations::list_memberships,
        organizations::get_membership,
        organizations::patch_membership,
        organizations::delete_membership,
        organizations::invite,
        organizations::reset_invite,
        tokens::list_personal_tokens,
        tokens::create_personal_token,
        tokens::refresh_token,
        tokens::rotate_token,
        tokens::blacklist_token,
        tokens::get_jwt_settings,
        tokens::set_jwt_settings,
    ),
    components(schemas(ErrorEnvelope)),
    modifiers(&Security),
    security(("token" = []), ("bearer" = [])),
)]
struct ApiDoc;

/// The document, built once.
pub(crate) fn document() -> &'static utoipa::openapi::OpenApi {
    static DOC: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(|| {
        let mut doc = ApiDoc::openapi();
        doc.info.version = crate::VERSION.to_owned();
        doc
    });
    &DOC
}

/// `GET /api/schema`: the document as JSON (public: it holds no secret).
pub(super) async fn schema() -> Response {
    static JSON: LazyLock<String> =
        LazyLock::new(|| document().to_pretty_json().unwrap_or_default());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        JSON.as_str(),
    )
        .into_response()
}
