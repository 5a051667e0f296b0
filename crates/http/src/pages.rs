//! The HTML forms that create and end sessions: log in and log out. Kept
//! small and dependency-free here; the full pages build on these handlers.

use app::{SecretString, Store};
use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use cookie::{Cookie, SameSite};

use crate::ApiError;
use crate::auth::{CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE, check_csrf, cookie};
use crate::body::{content_length, read_limited};
use crate::state::Shared;

pub(crate) fn routes<S: Store>() -> Router<Shared<S>> {
    Router::new()
        .route("/user/login", get(login_form::<S>).post(login::<S>))
        .route("/user/login/", get(login_form::<S>).post(login::<S>))
        .route("/logout", get(logout_form::<S>).post(logout::<S>))
        .route("/logout/", get(logout_form::<S>).post(logout::<S>))
}

/// HTML-escape user-supplied text.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// A `next` that stays on this site: a plain absolute path, nothing that a
/// browser could read as another host or a scheme.
pub(crate) fn safe_next(next: Option<&str>, prefix: &str) -> String {
    let fallback = format!("{prefix}/");
    let Some(n) = next else { return fallback };
    let ok = n.starts_with('/')
        && !n.starts_with("//")
        && !n.contains('\\')
        && !n.chars().any(|c| c.is_control() || c.is_whitespace())
        && !n.contains("://");
    if ok { n.to_owned() } else { fallback }
}

fn random_hex() -> Result<String, ApiError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|_| ApiError::App(app::AppError::Random))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

fn set_cookie(resp: &mut Response, c: Cookie<'_>) {
    if let Ok(v) = HeaderValue::from_str(&c.to_string()) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn csrf_cookie<S>(st: &Shared<S>, value: String) -> Cookie<'static> {
    Cookie::build((CSRF_COOKIE, value))
        .path(format!("{}/", st.url.prefix))
        .same_site(SameSite::Lax)
        .secure(st.url.https)
        .max_age(cookie::time::Duration::days(365))
        .build()
}

fn session_cookie<S>(st: &Shared<S>, value: String, max_age_secs: i64) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, value))
        .path(format!("{}/", st.url.prefix))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(st.url.https)
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .build()
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Label Studio</title></head><body><main>{body}</main></body></html>",
        escape(title)
    )
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

fn login_page<S>(
    st: &Shared<S>,
    csrf: &str,
    email: &str,
    error: Option<&str>,
    next: Option<&str>,
) -> String {
    let action = match next {
        Some(n) => format!(
            "{}/user/login/?next={}",
            st.url.prefix,
            escape(&form_urlencoded::byte_serialize(n.as_bytes()).collect::<String>())
        ),
        None => format!("{}/user/login/", st.url.prefix),
    };
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    page(
        "Log in",
        &format!(
            "<h1>Log in</h1>{error}<form method=\"post\" action=\"{action}\">\
             <input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{}\">\
             <label for=\"email\">Email</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required value=\"{}\">\
             <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
             <button type=\"submit\">Log in</button></form>",
            escape(csrf),
            escape(email)
        ),
    )
}

/// The CSRF token this browser has, or a new one to set.
fn csrf_for(headers: &HeaderMap) -> Result<(String, bool), ApiError> {
    match cookie(headers, CSRF_COOKIE) {
        Some(v) if v.len() >= 32 && v.bytes().all(|b| b.is_ascii_alphanumeric()) => Ok((v, false)),
        _ => Ok((random_hex()?, true)),
    }
}

fn html<S>(st: &Shared<S>, status: StatusCode, body: String, new_csrf: Option<String>) -> Response {
    let mut resp = (status, Html(body)).into_response();
    if let Some(c) = new_csrf {
        set_cookie(&mut resp, csrf_cookie(st, c));
    }
    resp
}

async fn login_form<S: Store>(
    State(st): State<Shared<S>>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, ApiError> {
    let (csrf, new) = csrf_for(&headers)?;
    let body = login_page(&st, &csrf, "", None, q.next.as_deref());
    Ok(html(&st, StatusCode::OK, body, new.then_some(csrf)))
}

/// The form's fields, from a size-limited body.
async fn form_fields<S>(
    st: &Shared<S>,
    req: Request,
) -> Result<(HeaderMap, Vec<(String, String)>), ApiError> {
    let declared = content_length(&req);
    let (parts, body) = req.into_parts();
    let bytes = read_limited(body, declared, st.body_limit).await?;
    let fields = form_urlencoded::parse(&bytes).into_owned().collect();
    Ok((parts.headers, fields))
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

async fn login<S: Store>(
    State(st): State<Shared<S>>,
    Query(q): Query<NextQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    let (headers, fields) = form_fields(&st, req).await?;
    check_csrf(&headers, &st.url, field(&fields, CSRF_FIELD))?;
    let email = field(&fields, "email").unwrap_or("");
    let password = SecretString::new(field(&fields, "password").unwrap_or(""));
    match st.services.login(email, &password).await {
        Ok(user) => {
            // A new session id at every login; the old session ends.
            if let Some(old) = cookie(&headers, SESSION_COOKIE) {
                st.services.end_session(&old).await?;
            }
            let sid = st.services.start_session(user.id).await?;
            let mut resp = StatusCode::FOUND.into_response();
            let location = safe_next(q.next.as_deref(), &st.url.prefix);
            if let Ok(v) = HeaderValue::from_str(&location) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            let lifetime = st.services.config().session_lifetime_secs;
            set_cookie(
                &mut resp,
                session_cookie(&st, sid.expose().to_owned(), lifetime),
            );
            set_cookie(&mut resp, csrf_cookie(&st, random_hex()?));
            tracing::info!(user_id = user.id, "logged in");
            Ok(resp)
        }
        Err(app::AppError::BadCredentials) => {
            let (csrf, _) = csrf_for(&headers)?;
            let body = login_page(
                &st,
                &csrf,
                email,
                Some("The email and password you entered don't match."),
                q.next.as_deref(),
            );
            Ok(html(&st, StatusCode::OK, body, None))
        }
        Err(e) => Err(e.into()),
    }
}

async fn logout_form<S: Store>(
    State(st): State<Shared<S>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (csrf, new) = csrf_for(&headers)?;
    let body = page(
        "Log out",
        &format!(
            "<h1>Log out?</h1><form method=\"post\" action=\"{}/logout/\">\
             <input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{}\"><button type=\"submit\">Log out</button></form>",
            st.url.prefix,
            escape(&csrf)
        ),
    );
    Ok(html(&st, StatusCode::OK, body, new.then_some(csrf)))
}

async fn logout<S: Store>(State(st): State<Shared<S>>, req: Request) -> Result<Response, ApiError> {
    let (headers, fields) = form_fields(&st, req).await?;
    check_csrf(&headers, &st.url, field(&fields, CSRF_FIELD))?;
    if let Some(sid) = cookie(&headers, SESSION_COOKIE) {
        st.services.end_session(&sid).await?;
    }
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{}/", st.url.prefix)) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    set_cookie(&mut resp, session_cookie(&st, String::new(), 0));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_site() {
        assert_eq!(safe_next(Some("/organization/"), ""), "/organization/");
        for bad in [
            "//evil.example",
            "/\\evil",
            "https://evil.example",
            "javascript:alert(1)",
            "/a\nb",
            "evil",
            "/x://y",
        ] {
            assert_eq!(safe_next(Some(bad), ""), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None, "/ls"), "/ls/");
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;/a&gt;"
        );
    }
}
