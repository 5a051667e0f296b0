//! The cookies the pages set: the session id and the CSRF token.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use cookie::{Cookie, SameSite};

use crate::ApiError;
use crate::auth::{CSRF_COOKIE, DEVICE_COOKIE, SESSION_COOKIE, cookie};
use crate::state::Shared;

/// 256 random bits, as 64 hex characters.
pub(super) fn random_hex() -> Result<String, ApiError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|_| ApiError::App(app::AppError::Random))?;
    Ok(hex::encode(b))
}

pub(super) fn set_cookie(resp: &mut Response, c: &Cookie<'_>) {
    if let Ok(v) = HeaderValue::from_str(&c.to_string()) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

pub(super) fn csrf_cookie<S>(st: &Shared<S>, value: String) -> Cookie<'static> {
    Cookie::build((CSRF_COOKIE, value))
        .path(format!("{}/", st.url.prefix))
        .same_site(SameSite::Lax)
        .secure(st.url.https)
        .max_age(cookie::time::Duration::days(365))
        .build()
}

/// `max_age_secs: None`: a browser-session cookie. The server-side
/// lifetime and idle timeout apply either way.
pub(super) fn session_cookie<S>(
    st: &Shared<S>,
    value: String,
    max_age_secs: Option<i64>,
) -> Cookie<'static> {
    let mut c = Cookie::build((SESSION_COOKIE, value))
        .path(format!("{}/", st.url.prefix))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(st.url.https);
    if let Some(secs) = max_age_secs {
        c = c.max_age(cookie::time::Duration::seconds(secs));
    }
    c.build()
}

/// A device cookie: sent back with every login to this deployment, never
/// readable by scripts, for as long as the server honours it.
pub(super) fn device_cookie<S>(st: &Shared<S>, value: String) -> Cookie<'static> {
    Cookie::build((DEVICE_COOKIE, value))
        .path(format!("{}/", st.url.prefix))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(st.url.https)
        .max_age(cookie::time::Duration::seconds(app::DEVICE_LIFETIME_SECS))
        .build()
}

/// The CSRF token this browser has, or a new one to set (`true`).
pub(super) fn csrf_for(headers: &HeaderMap) -> Result<(String, bool), ApiError> {
    match cookie(headers, CSRF_COOKIE) {
        Some(v) if v.len() >= 32 && v.bytes().all(|b| b.is_ascii_alphanumeric()) => Ok((v, false)),
        _ => Ok((random_hex()?, true)),
    }
}

/// Which provider this browser's session came from (not a secret): logging
/// out also logs out there, when the provider offers it.
pub(super) const PROVIDER_COOKIE: &str = "ls_sso_provider";

pub(super) fn provider_cookie<S>(
    st: &Shared<S>,
    name: String,
    max_age_secs: i64,
) -> Cookie<'static> {
    Cookie::build((PROVIDER_COOKIE, name))
        .path(format!("{}/", st.url.prefix))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(st.url.https)
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .build()
}

/// A session that did not come from a provider (or is over).
pub(super) fn forget_provider<S>(st: &Shared<S>) -> Cookie<'static> {
    provider_cookie(st, String::new(), 0)
}
