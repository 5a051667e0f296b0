//! Who is calling: `Authorization: Token <key>` (scheme in any case) or
//! `X-Api-Key: <key>`, with DRF's messages for malformed headers.

use app::{Services, Store, UserRecord};
use axum::http::HeaderMap;

use crate::ApiError;

/// The key in the request, or why the header is unusable. `Ok(None)`: no
/// credentials at all (or another scheme, which DRF ignores).
pub(crate) fn presented_token(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    if let Some(v) = headers.get(axum::http::header::AUTHORIZATION) {
        let Ok(text) = v.to_str() else {
            return Err(ApiError::AuthenticationFailed(
                "Invalid token header. Token string should not contain invalid characters.",
            ));
        };
        let mut parts = text.split_whitespace();
        match parts.next() {
            Some(scheme) if scheme.eq_ignore_ascii_case("token") => {
                let key = parts.next();
                let extra = parts.next();
                return match (key, extra) {
                    (None, _) => Err(ApiError::AuthenticationFailed(
                        "Invalid token header. No credentials provided.",
                    )),
                    (Some(_), Some(_)) => Err(ApiError::AuthenticationFailed(
                        "Invalid token header. Token string should not contain spaces.",
                    )),
                    (Some(k), None) => Ok(Some(k.to_owned())),
                };
            }
            _ => {}
        }
    }
    if let Some(v) = headers.get("x-api-key") {
        return match v.to_str() {
            Ok(k) if !k.trim().is_empty() => Ok(Some(k.trim().to_owned())),
            _ => Err(ApiError::AuthenticationFailed("Invalid token.")),
        };
    }
    Ok(None)
}

/// The authenticated, active user.
pub(crate) async fn require_user<S: Store>(
    services: &Services<S>,
    headers: &HeaderMap,
) -> Result<UserRecord, ApiError> {
    let Some(key) = presented_token(headers)? else {
        return Err(ApiError::NotAuthenticated);
    };
    match services.authenticate_token(&key).await? {
        None => Err(ApiError::AuthenticationFailed("Invalid token.")),
        Some(u) if !u.is_active => Err(ApiError::AuthenticationFailed("User inactive or deleted.")),
        Some(u) => Ok(u),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn h(name: &'static str, v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(name, HeaderValue::from_str(v).unwrap());
        m
    }

    #[test]
    fn header_forms() {
        assert_eq!(
            presented_token(&h("authorization", "Token abc"))
                .unwrap()
                .as_deref(),
            Some("abc")
        );
        assert_eq!(
            presented_token(&h("authorization", "token abc"))
                .unwrap()
                .as_deref(),
            Some("abc")
        );
        assert_eq!(
            presented_token(&h("x-api-key", "abc")).unwrap().as_deref(),
            Some("abc")
        );
        assert!(
            presented_token(&h("authorization", "Bearer abc"))
                .unwrap()
                .is_none()
        );
        assert!(presented_token(&HeaderMap::new()).unwrap().is_none());
        let e = presented_token(&h("authorization", "Token"))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "Invalid token header. No credentials provided.");
        let e = presented_token(&h("authorization", "Token a b"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "Invalid token header. Token string should not contain spaces."
        );
    }
}
