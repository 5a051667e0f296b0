//! Who is calling: `Authorization: Token <key>` (scheme in any case),
//! `X-Api-Key: <key>`, or the `sessionid` cookie of a server-side session.
//! Cookie-authenticated unsafe requests need the CSRF token and, when the
//! browser sends one, a same-origin `Origin`.

use app::{Caller, Credential, Store};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use cookie::Cookie;
use subtle::ConstantTimeEq;

use crate::ApiError;
use crate::state::{PublicUrl, Shared};

pub(crate) const SESSION_COOKIE: &str = "sessionid";
pub(crate) const CSRF_COOKIE: &str = "csrftoken";
/// The device cookie (`app::devices`): which browser logged in to an account before.
pub(crate) const DEVICE_COOKIE: &str = "ls_device";
pub(crate) const CSRF_HEADER: &str = "x-csrftoken";
pub(crate) const CSRF_FIELD: &str = "csrfmiddlewaretoken";

/// An API credential as presented: a legacy key, or a JWT access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Presented {
    Legacy(String),
    Jwt(String),
}

/// The credential in the request, or why the header is unusable. `Ok(None)`:
/// no credentials at all (or a scheme we do not know, which DRF ignores).
/// `Authorization: Token <key>` and `Bearer <jwt>` (schemes in any case);
/// `X-Api-Key: <key or jwt>`, as Label Studio's SDK sends either.
pub(crate) fn presented_credential(headers: &HeaderMap) -> Result<Option<Presented>, ApiError> {
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        let Ok(text) = v.to_str() else {
            return Err(ApiError::AuthenticationFailed(
                "Invalid token header. Token string should not contain invalid characters.",
            ));
        };
        let mut parts = text.split_whitespace();
        let kind = match parts.next() {
            Some(s) if s.eq_ignore_ascii_case("token") => Some(false),
            Some(s) if s.eq_ignore_ascii_case("bearer") => Some(true),
            _ => None,
        };
        if let Some(jwt) = kind {
            return match (parts.next(), parts.next()) {
                (None, _) => Err(ApiError::AuthenticationFailed(
                    "Invalid token header. No credentials provided.",
                )),
                (Some(_), Some(_)) => Err(ApiError::AuthenticationFailed(
                    "Invalid token header. Token string should not contain spaces.",
                )),
                (Some(k), None) if jwt => Ok(Some(Presented::Jwt(k.to_owned()))),
                (Some(k), None) => Ok(Some(Presented::Legacy(k.to_owned()))),
            };
        }
    }
    if let Some(v) = headers.get("x-api-key") {
        return match v.to_str() {
            Ok(k) if !k.trim().is_empty() && !k.trim().contains(' ') => {
                let k = k.trim();
                Ok(Some(if accounts::pat::looks_like_jwt(k) {
                    Presented::Jwt(k.to_owned())
                } else {
                    Presented::Legacy(k.to_owned())
                }))
            }
            _ => Err(ApiError::AuthenticationFailed("Invalid token.")),
        };
    }
    Ok(None)
}

/// A cookie's value from the `Cookie` headers.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    cookies_named(headers, name)
        .next()
        .filter(|v| !v.is_empty())
}

/// Every value the request's `Cookie` headers give `name`, in order.
pub(crate) fn cookies_named<'a>(
    headers: &'a HeaderMap,
    name: &'a str,
) -> impl Iterator<Item = String> + 'a {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(move |c| c.name() == name)
        .map(|c| c.value().to_owned())
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Django's checks, for a cookie-authenticated unsafe request: the
/// `Origin` (when sent) is ours, and the CSRF cookie is echoed back.
pub(crate) fn check_csrf(
    headers: &HeaderMap,
    url: &PublicUrl,
    submitted: Option<&str>,
) -> Result<(), ApiError> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let ok = origin
            .to_str()
            .is_ok_and(|o| o.eq_ignore_ascii_case(&url.origin));
        if !ok {
            return Err(ApiError::CsrfFailed(
                "CSRF Failed: Origin checking failed - the origin does not match.",
            ));
        }
    }
    let Some(expected) = cookie(headers, CSRF_COOKIE) else {
        return Err(ApiError::CsrfFailed("CSRF Failed: CSRF cookie not set."));
    };
    let given = submitted.map(str::to_owned).or_else(|| {
        headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    match given {
        None => Err(ApiError::CsrfFailed("CSRF Failed: CSRF token missing.")),
        Some(g) if same(&g, &expected) => Ok(()),
        Some(_) => Err(ApiError::CsrfFailed("CSRF Failed: CSRF token incorrect.")),
    }
}

pub(crate) fn is_unsafe(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub(crate) enum Via {
    /// A legacy key (kept to show it back to that very request).
    Token(String),
    /// An access token made from a personal access token.
    Jwt,
    Session,
}

/// An API request's authenticated, active caller, and how they proved it.
#[derive(Debug, Clone)]
pub(crate) struct Authenticated {
    pub(crate) caller: Caller,
    pub(crate) via: Via,
}

impl<S: Store> FromRequestParts<Shared<S>> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Shared<S>,
    ) -> Result<Self, Self::Rejection> {
        let services = &state.services;
        if let Some(presented) = presented_credential(&parts.headers)? {
            let (credential, via) = match &presented {
                Presented::Legacy(k) => (Credential::Legacy(k), Via::Token(k.clone())),
                Presented::Jwt(t) => (Credential::Access(t), Via::Jwt),
            };
            let peer = parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|axum::extract::ConnectInfo(a)| *a);
            let client = state.client(&parts.headers, peer);
            return Ok(Authenticated {
                caller: services.token_caller_from(credential, client).await?,
                via,
            });
        }
        let Some(sid) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(ApiError::NotAuthenticated);
        };
        let Some(user) = services.session_user(&sid).await? else {
            return Err(ApiError::NotAuthenticated);
        };
        if is_unsafe(&parts.method) {
            check_csrf(&parts.headers, &state.url, None)?;
        }
        Ok(Authenticated {
            caller: services.caller(user).await?,
            via: Via::Session,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn h(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(*k, HeaderValue::from_str(v).unwrap());
        }
        m
    }

    #[test]
    fn header_forms() {
        let legacy = |k: &str| Some(Presented::Legacy(k.into()));
        let jwt = |k: &str| Some(Presented::Jwt(k.into()));
        let p = |pairs: &[(&'static str, &str)]| presented_credential(&h(pairs)).unwrap();
        assert_eq!(p(&[("authorization", "Token abc")]), legacy("abc"));
        assert_eq!(p(&[("authorization", "token abc")]), legacy("abc"));
        assert_eq!(p(&[("x-api-key", "abc")]), legacy("abc"));
        assert_eq!(p(&[("authorization", "Bearer abc")]), jwt("abc"));
        assert_eq!(p(&[("authorization", "bearer  abc ")]), jwt("abc"));
        assert_eq!(p(&[("x-api-key", "eyJh.eyJi.c2ln")]), jwt("eyJh.eyJi.c2ln"));
        assert_eq!(p(&[("authorization", "Basic YTpi")]), None);
        let e = presented_credential(&h(&[("authorization", "Bearer")]))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "Invalid token header. No credentials provided.");
        assert!(presented_credential(&HeaderMap::new()).unwrap().is_none());
        let e = presented_credential(&h(&[("authorization", "Token")]))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "Invalid token header. No credentials provided.");
        let e = presented_credential(&h(&[("authorization", "Token a b")]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "Invalid token header. Token string should not contain spaces."
        );
    }

    #[test]
    fn csrf_rules() {
        let url = PublicUrl::parse("http://127.0.0.1:8080");
        let ok = h(&[
            ("cookie", "csrftoken=abc; sessionid=s"),
            ("x-csrftoken", "abc"),
        ]);
        assert!(check_csrf(&ok, &url, None).is_ok());
        let with_origin = h(&[
            ("cookie", "csrftoken=abc"),
            ("x-csrftoken", "abc"),
            ("origin", "http://127.0.0.1:8080"),
        ]);
        assert!(check_csrf(&with_origin, &url, None).is_ok());
        let evil = h(&[
            ("cookie", "csrftoken=abc"),
            ("x-csrftoken", "abc"),
            ("origin", "http://evil.example"),
        ]);
        assert!(check_csrf(&evil, &url, None).is_err());
        let wrong = h(&[("cookie", "csrftoken=abc"), ("x-csrftoken", "abd")]);
        assert!(check_csrf(&wrong, &url, None).is_err());
        let missing = h(&[("cookie", "csrftoken=abc")]);
        assert!(check_csrf(&missing, &url, None).is_err());
        assert!(check_csrf(&missing, &url, Some("abc")).is_ok());
        assert!(check_csrf(&h(&[("x-csrftoken", "abc")]), &url, None).is_err());
    }

    #[test]
    fn cookies_are_found_among_several_headers() {
        let m = h(&[("cookie", "a=1"), ("cookie", "sessionid=xyz; b=2")]);
        assert_eq!(cookie(&m, "sessionid").as_deref(), Some("xyz"));
        assert_eq!(cookie(&m, "nope"), None);
    }
}
