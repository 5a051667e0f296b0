use app::AppError;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Every API error, and the one place that gives each its status code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    #[error("Authentication credentials were not provided.")]
    NotAuthenticated,
    #[error("{0}")]
    AuthenticationFailed(&'static str),
    #[error("Not found.")]
    NotFound,
    #[error(transparent)]
    App(#[from] AppError),
}

fn envelope(status: StatusCode, detail: &str) -> Response {
    let body = json!({
        "id": uuid4(),
        "status_code": status.as_u16(),
        "version": crate::VERSION,
        "detail": detail,
        "exc_info": null,
    });
    (status, Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, detail) = match &self {
            ApiError::NotAuthenticated | ApiError::AuthenticationFailed(_) => {
                let mut r = envelope(StatusCode::UNAUTHORIZED, &self.to_string());
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token"));
                return r;
            }
            ApiError::NotFound => (StatusCode::NOT_FOUND, self.to_string()),
            ApiError::App(e) => match e {
                AppError::Invalid { .. }
                | AppError::InvalidOrg { .. }
                | AppError::EmailTaken
                | AppError::OneOwner => (StatusCode::BAD_REQUEST, e.to_string()),
                AppError::SignupDenied(_) | AppError::Forbidden => {
                    (StatusCode::FORBIDDEN, e.to_string())
                }
                AppError::BadCredentials => (StatusCode::UNAUTHORIZED, e.to_string()),
                AppError::NotFound(_) | AppError::NoOrganization => {
                    (StatusCode::NOT_FOUND, e.to_string())
                }
                _ => {
                    // The cause goes to the log, never to the client.
                    tracing::error!(error = ?e, "request failed");
                    return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                }
            },
        };
        envelope(status, &detail)
    }
}

/// A random (version 4) UUID for the error envelope's `id`.
fn uuid4() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        return "00000000-0000-4000-8000-000000000000".into();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
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
}
