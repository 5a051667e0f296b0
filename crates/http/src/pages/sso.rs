//! Single sign-on pages: `/user/sso/<name>/login` leaves for the provider
//! (with `?next=` and, from an invite link's sign-up page, `?token=`), and
//! `/user/sso/<name>/callback` is where the provider sends the browser back
//! (the redirect URI to register there). The flow's state also goes into a
//! cookie of ours, scoped to `/user/sso/`, which the callback must match.

use app::{AppError, SsoCallback, SsoRefusal, Store};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use cookie::{Cookie, SameSite};
use signup_policy::Deny;

use super::cookies::{
    csrf_cookie, device_cookie, provider_cookie, random_hex, session_cookie, set_cookie,
};
use super::forms::{presented_invite, query_next, safe_next};
use super::login::login_page;
use super::{Page, redirect};
use crate::auth::{SESSION_COOKIE, cookie};
use crate::state::Shared;

/// The flow's browser secret, whose digest the state must be.
const STATE_COOKIE: &str = "ls_sso_state";
/// Longest `next` kept for the return (a longer one goes to the home page).
const MAX_NEXT: usize = 1024;

fn sso_path<S>(st: &Shared<S>) -> String {
    format!("{}/user/sso/", st.url.prefix)
}

/// `<public URL>/user/sso/<name>/callback`.
pub(super) fn redirect_uri<S>(st: &Shared<S>, provider: &str) -> String {
    format!("{}/user/sso/{provider}/callback", st.url.base)
}

fn state_cookie<S: Store>(st: &Shared<S>, value: String, max_age_secs: i64) -> Cookie<'static> {
    Cookie::build((STATE_COOKIE, value))
        .path(sso_path(st))
        .http_only(true)
        // Lax: the provider's redirect back is a top-level GET from its site.
        .same_site(SameSite::Lax)
        .secure(st.url.https)
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .build()
}

/// One query parameter exactly once; repeated, it is nobody's.
fn one(uri: &Uri, name: &str) -> Option<String> {
    let mut found = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned());
    let first = found.next();
    if found.next().is_some() { None } else { first }
}

/// The login page with a refusal on it.
fn refused<S: Store>(st: &Shared<S>, headers: &HeaderMap, uri: &Uri, e: AppError) -> Page {
    let (text, status) = match &e {
        AppError::SsoRefused(r @ SsoRefusal::Inactive) => (r.to_string(), StatusCode::FORBIDDEN),
        AppError::SsoRefused(r) => (r.to_string(), StatusCode::BAD_REQUEST),
        AppError::SignupDenied(Deny::InviteRequired) => (
            "There is no account here for this identity, and sign-up on this server needs an \
             invite link: ask someone in the organization for theirs, and sign up from it."
                .to_owned(),
            StatusCode::FORBIDDEN,
        ),
        AppError::SignupDenied(d) => (d.to_string(), StatusCode::FORBIDDEN),
        AppError::ProviderUnavailable => (e.to_string(), StatusCode::BAD_GATEWAY),
        AppError::Throttled { retry_after_secs } => {
            let text = "Too many sign-ins were started from your address. Try again later.";
            let mut resp = login_page(
                st,
                headers,
                uri,
                "",
                Some(text),
                StatusCode::TOO_MANY_REQUESTS,
            )?;
            super::retry_after(&mut resp, *retry_after_secs);
            return Ok(resp);
        }
        AppError::NotFound(_) => (
            "There is no such sign-in provider here.".to_owned(),
            StatusCode::NOT_FOUND,
        ),
        _ => return Err(e.into()),
    };
    login_page(st, headers, uri, "", Some(&text), status)
}

/// The client's address, as the forms read it (behind trusted proxies).
fn client<S>(st: &Shared<S>, req: &Request) -> Option<std::net::IpAddr> {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|axum::extract::ConnectInfo(a)| *a);
    st.client(req.headers(), peer)
}

pub(super) async fn begin<S: Store>(
    State(st): State<Shared<S>>,
    Path(provider): Path<String>,
    req: Request,
) -> Page {
    let client = client(&st, &req);
    let (headers, uri) = (req.headers().clone(), req.uri().clone());
    let next = query_next(&uri)
        .filter(|n| n.len() <= MAX_NEXT)
        .map(|n| safe_next(Some(&n), &st.url.prefix));
    let invite = presented_invite(&uri);
    let started = st
        .services
        .sso_begin(
            &provider,
            invite.as_deref(),
            next,
            &redirect_uri(&st, &provider),
            client,
        )
        .await;
    match started {
        Ok(start) => {
            let mut resp = redirect(&start.url);
            let ttl = st.services.config().sso_flow_ttl_secs;
            set_cookie(
                &mut resp,
                &state_cookie(&st, start.browser_secret.expose().to_owned(), ttl),
            );
            Ok(resp)
        }
        Err(e) => refused(&st, &headers, &uri, e),
    }
}

pub(super) async fn callback<S: Store>(
    State(st): State<Shared<S>>,
    Path(provider): Path<String>,
    req: Request,
) -> Page {
    let headers = req.headers().clone();
    let uri = req.uri().clone();
    let client = client(&st, &req);
    let (code, state, error, issuer) = (
        one(&uri, "code"),
        one(&uri, "state"),
        one(&uri, "error"),
        one(&uri, "iss"),
    );
    let browser_secret = cookie(&headers, STATE_COOKIE);
    let old = cookie(&headers, SESSION_COOKIE);
    let redirect_to = redirect_uri(&st, &provider);
    let done = st
        .services
        .sso_complete(SsoCallback {
            provider: &provider,
            code: code.as_deref(),
            state: state.as_deref(),
            error: error.as_deref(),
            issuer: issuer.as_deref(),
            browser_secret: browser_secret.as_deref(),
            redirect_uri: &redirect_to,
            replacing: old.as_deref(),
            client,
        })
        .await;
    let login_uri: Uri = format!("{}/user/login/", st.url.prefix)
        .parse()
        .unwrap_or_default();
    let mut resp = match done {
        Ok(login) => {
            let l = login.logged_in;
            let mut resp = redirect(&safe_next(login.next.as_deref(), &st.url.prefix));
            let lifetime = st.services.config().session_lifetime_secs;
            set_cookie(
                &mut resp,
                &session_cookie(&st, l.session.expose().to_owned(), Some(lifetime)),
            );
            set_cookie(&mut resp, &csrf_cookie(&st, random_hex()?));
            if let Some(d) = l.device {
                set_cookie(&mut resp, &device_cookie(&st, d.expose().to_owned()));
            }
            set_cookie(&mut resp, &provider_cookie(&st, provider.clone(), lifetime));
            resp
        }
        Err(e) => refused(&st, &headers, &login_uri, e)?,
    };
    // The flow is over either way: its cookie goes.
    set_cookie(&mut resp, &state_cookie(&st, String::new(), 0));
    Ok(resp)
}
