use app::{AppError, Unauthenticated};
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// Every API error, and the one place that gives each its status code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    #[error("Authentication credentials were not provided.")]
    NotAuthenticated,
    #[error("{0}")]
    AuthenticationFailed(&'static str),
    #[error("{0}")]
    CsrfFailed(&'static str),
    #[error("Not found.")]
    NotFound,
    #[error("{0}")]
    NotFoundWith(&'static str),
    #[error("Method \"{0}\" not allowed.")]
    MethodNotAllowed(String),
    #[error("Cannot update read-only field: {0}")]
    ReadOnlyField(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    BadRequest(String),
    #[error("Validation error")]
    Validation(Vec<(String, String)>),
    #[error("Request body is larger than {0} bytes.")]
    PayloadTooLarge(usize),
    #[error("Unsupported media type: send application/json.")]
    UnsupportedMediaType,
    #[error("The request took too long.")]
    Timeout,
    /// Our fault (a template that failed to render, say): logged, bare 500.
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    App(#[from] AppError),
}

/// Label Studio's error envelope.
pub(crate) fn envelope(status: StatusCode, detail: &str, validation: Option<Value>) -> Response {
    let mut body = Map::new();
    body.insert("id".into(), json!(uuid4()));
    body.insert("status_code".into(), json!(status.as_u16()));
    body.insert("version".into(), json!(crate::VERSION));
    body.insert("detail".into(), json!(detail));
    body.insert("exc_info".into(), Value::Null);
    if let Some(v) = validation {
        body.insert("validation_errors".into(), v);
    }
    (status, Json(Value::Object(body))).into_response()
}

fn validation(errors: impl IntoIterator<Item = (String, String)>) -> Response {
    let mut fields: Map<String, Value> = Map::new();
    for (field, message) in errors {
        if let Value::Array(list) = fields.entry(field).or_insert_with(|| json!([])) {
            list.push(json!(message));
        }
    }
    envelope(
        StatusCode::BAD_REQUEST,
        "Validation error",
        Some(Value::Object(fields)),
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let detail = self.to_string();
        let status = match &self {
            ApiError::NotAuthenticated | ApiError::AuthenticationFailed(_) => {
                let mut r = envelope(StatusCode::UNAUTHORIZED, &detail, None);
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token"));
                return r;
            }
            ApiError::CsrfFailed(_) | ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound | ApiError::NotFoundWith(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) | ApiError::ReadOnlyField(_) => {
                StatusCode::METHOD_NOT_ALLOWED
            }
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Validation(errors) => return validation(errors.clone()),
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::App(e) => return app_error(e),
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        };
        envelope(status, &detail, None)
    }
}

/// Label Studio's words for why a credential stands for no one.
fn unauthenticated(why: Unauthenticated) -> &'static str {
    match why {
        Unauthenticated::UnknownToken => "Invalid token.",
        Unauthenticated::Inactive => "User inactive or deleted.",
        Unauthenticated::LegacyTokensDisabled => {
            "Authentication token no longer valid: legacy token authentication has been disabled for this organization"
        }
        Unauthenticated::PersonalTokensDisabled => {
            "Authentication token no longer valid: personal access tokens have been disabled for this organization"
        }
        Unauthenticated::InvalidOrExpired => "Token is invalid or expired",
    }
}

/// What the client is told of a use-case's refusal: Label Studio's own
/// words where it has them. (The use-cases' own `Display` is for logs and
/// the command line.)
pub(crate) fn wire_detail(e: &AppError) -> String {
    let text: &str = match e {
        AppError::EmailTaken => "User with this email already exists",
        AppError::Unauthenticated(why) => unauthenticated(*why),
        AppError::PersonalTokensDisabled => {
            "Personal access tokens are disabled for this organization."
        }
        AppError::PersonalTokenExists => {
            "You already have a valid token. Please revoke it before creating a new one."
        }
        AppError::PersonalTokenRevoked => "Token is already blacklisted.",
        AppError::NotTokenOwner => "You can revoke or rotate only your own tokens.",
        AppError::Throttled { retry_after_secs } => {
            return format!(
                "Request was throttled. Expected available in {retry_after_secs} seconds."
            );
        }
        AppError::BadCredentials => "The email and password you entered don't match.",
        AppError::NotFound(_) => "Not found.",
        AppError::Forbidden => "You do not have permission to perform this action.",
        AppError::OwnerUndeletable => "The organization owner cannot be deleted",
        AppError::OnlyOwnerDeletes => "Only the organization owner can delete users",
        AppError::CannotRemoveSelf => "User cannot soft delete self",
        AppError::MemberNotFound => "Member not found",
        AppError::InvalidPage => "Invalid page.",
        AppError::OrgCreationDisabled => {
            "Creating organizations over the API is disabled on this instance"
        }
        AppError::OneOwner => "An organization has one owner: choose administrator or member.",
        // Sign-up refusals, the organization that does not exist yet, and
        // conflicts say what the domain says.
        other => return other.to_string(),
    };
    text.to_owned()
}

fn app_error(e: &AppError) -> Response {
    let status = match e {
        AppError::Unauthenticated(why) => {
            return ApiError::AuthenticationFailed(unauthenticated(*why)).into_response();
        }
        AppError::Throttled { retry_after_secs } | AppError::Busy { retry_after_secs } => {
            let status = if matches!(e, AppError::Busy { .. }) {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::TOO_MANY_REQUESTS
            };
            let mut r = envelope(status, &wire_detail(e), None);
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return r;
        }
        AppError::PersonalTokenExists
        | AppError::OwnershipMoved
        | AppError::LastOwner
        | AppError::InactiveOwner
        | AppError::Store(app::StoreError::Conflict(_)) => StatusCode::CONFLICT,
        AppError::ResetLinkInvalid | AppError::InvitationInvalid => StatusCode::NOT_FOUND,
        AppError::InvitationForAnother => return validation([("email".to_owned(), e.to_string())]),
        AppError::PersonalTokenRevoked => StatusCode::NOT_FOUND,
        AppError::PersonalTokensDisabled | AppError::NotTokenOwner => StatusCode::FORBIDDEN,
        AppError::Invalid { field, source } => {
            return validation([(field.as_str().to_owned(), source.to_string())]);
        }
        AppError::InvalidOrg { field, source } => {
            return validation([(field.as_str().to_owned(), source.to_string())]);
        }
        AppError::Validation(errors) => {
            return validation(errors.iter().map(|(f, m)| ((*f).to_owned(), m.clone())));
        }
        AppError::EmailTaken => return validation([("email".to_owned(), wire_detail(e))]),
        AppError::EmailDomain(refusal) => {
            return validation([("email".to_owned(), refusal.to_string())]);
        }
        AppError::OneOwner => return validation([("role".to_owned(), wire_detail(e))]),
        AppError::SignupDenied(_)
        | AppError::Forbidden
        | AppError::OwnerUndeletable
        | AppError::OnlyOwnerDeletes
        | AppError::OrgCreationDisabled => StatusCode::FORBIDDEN,
        AppError::BadCredentials => StatusCode::UNAUTHORIZED,
        AppError::SsoRefused(app::SsoRefusal::Inactive) | AppError::PasswordLoginDisabled => {
            StatusCode::FORBIDDEN
        }
        AppError::SsoRefused(_) => StatusCode::BAD_REQUEST,
        AppError::ProviderUnavailable => StatusCode::BAD_GATEWAY,
        AppError::CannotRemoveSelf => StatusCode::METHOD_NOT_ALLOWED,
        AppError::NotFound(_)
        | AppError::NoOrganization
        | AppError::MemberNotFound
        | AppError::InvalidPage => StatusCode::NOT_FOUND,
        _ => {
            // The cause goes to the log, never to the client.
            tracing::error!(error = ?e, "request failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    envelope(status, &wire_detail(e), None)
}

/// A random (version 4) UUID for the error envelope's `id`.
fn uuid4() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        return "00000000-0000-4000-8000-000000000000".into();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        let u = uuid4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn statuses() {
        let cases: Vec<(ApiError, u16)> = vec![
            (ApiError::NotAuthenticated, 401),
            (ApiError::CsrfFailed("x"), 403),
            (ApiError::ReadOnlyField("email"), 405),
            (ApiError::PayloadTooLarge(1), 413),
            (ApiError::UnsupportedMediaType, 415),
            (ApiError::App(AppError::EmailTaken), 400),
            (ApiError::App(AppError::OwnerUndeletable), 403),
            (ApiError::App(AppError::CannotRemoveSelf), 405),
            (ApiError::App(AppError::InvalidPage), 404),
            (ApiError::App(AppError::Hashing), 500),
            (
                ApiError::App(AppError::Unauthenticated(Unauthenticated::Inactive)),
                401,
            ),
            (ApiError::App(AppError::PersonalTokenExists), 409),
            (
                ApiError::App(AppError::Throttled {
                    retry_after_secs: 5,
                }),
                429,
            ),
            (ApiError::App(AppError::PersonalTokenRevoked), 404),
            (ApiError::App(AppError::NotTokenOwner), 403),
            (
                ApiError::App(AppError::Store(app::StoreError::Conflict(
                    "the member list changed while it was read",
                ))),
                409,
            ),
        ];
        for (e, status) in cases {
            assert_eq!(e.into_response().status().as_u16(), status);
        }
    }
}
