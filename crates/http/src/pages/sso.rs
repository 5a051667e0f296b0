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
use super::forms::{Form, presented_invite, query_next, safe_next};
use super::login::login_page;
use super::{Page, redirect};
use crate::auth::{SESSION_COOKIE, cookie, cookies_named};
use crate::state::Shared;

/// The flow's browser secret, whose digest the state must be. Under https
/// with the `__Secure-` prefix, which no plain-http page (nor a sibling
/// site without TLS) can set.
fn state_cookie_name<S>(st: &Shared<S>) -> &'static str {
    if st.url.https {
        "__Secure-ls_sso_state"
    } else {
        "ls_sso_state"
    }
}

/// The browser secret, when exactly one arrived (two mean one was planted).
fn browser_secret<S>(st: &Shared<S>, headers: &HeaderMap) -> Option<String> {
    let mut values = cookies_named(headers, state_cookie_name(st));
    match (values.next(), values.next()) {
        (Some(one), None) if !one.is_empty() => Some(one),
        _ => None,
    }
}

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
    Cookie::build((state_cookie_name(st), value))
        .path(sso_path(st))
        .http_only(true)
        // Lax: the provider's redirect back is a top-level GET from its site.
        .same_site(SameSite::Lax)
        .secure(st.url.https)
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .build()
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
        AppError::EmailDomain(d) => (d.to_string(), StatusCode::FORBIDDEN),
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

/// A GET of the start (a bookmark, an old link): the page with the button.
pub(super) async fn begin_page<S: Store>(State(st): State<Shared<S>>, uri: Uri) -> Page {
    let page = if presented_invite(&uri).is_some() {
        "signup"
    } else {
        "login"
    };
    Ok(redirect(&super::form_action(
        &st,
        &format!("/user/{page}/"),
        &uri,
    )))
}

/// Leaving for the provider: a POST from the login or sign-up page's
/// button, with the CSRF token, so that no other site can start a flow (and
/// with an invite, make an account) for a visitor.
pub(super) async fn begin<S: Store>(
    State(st): State<Shared<S>>,
    Path(provider): Path<String>,
    req: Request,
) -> Page {
    let form = Form::read_checked(&st, req).await?;
    let (headers, uri, client) = (form.headers, form.uri, form.client);
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
            let label = st
                .services
                .identity_providers()
                .iter()
                .find(|p| p.name == provider)
                .map_or_else(|| provider.clone(), |p| p.label.clone());
            let mut resp = super::continue_to(
                &st,
                &headers,
                &format!("Signing in with {label}"),
                &start.url,
                &label,
            )?;
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
    let (code, state, error, issuer) = (
        super::forms::query_once(&uri, "code"),
        super::forms::query_once(&uri, "state"),
        super::forms::query_once(&uri, "error"),
        super::forms::query_once(&uri, "iss"),
    );
    let browser_secret = browser_secret(&st, &headers);
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
        })
        .await;
    let login_uri: Uri = format!("{}/user/login/", st.url.prefix)
        .parse()
        .unwrap_or_default();
    let resp = match done {
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
            // The flow is over: its cookie goes. (A refusal leaves it: a
            // callback some other page sent the browser to must not end a
            // flow that is still at the provider; it expires on its own.)
            set_cookie(&mut resp, &state_cookie(&st, String::new(), 0));
            resp
        }
        Err(e) => refused(&st, &headers, &login_uri, e)?,
    };
    Ok(resp)
}
