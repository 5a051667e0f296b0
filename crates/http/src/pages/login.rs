//! `/user/login/` and `/logout/`.

use app::{AppError, SecretString, Store};
use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use signup_policy::Mode;

use super::cookies::{csrf_cookie, device_cookie, random_hex, session_cookie, set_cookie};
use super::forms::{Form, query_next, safe_next};
use super::{Layout, Page, already_signed_in, form_action, page, redirect, session};
use crate::auth::{DEVICE_COOKIE, SESSION_COOKIE, cookie};
use crate::state::Shared;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    layout: Layout,
    action: String,
    email: &'a str,
    error: Option<&'a str>,
    signup_open: bool,
    password_login: bool,
    /// "Forgot password?" (mail is configured).
    forgot: bool,
    /// (label, link) for each OpenID provider: "Log in with" and the label.
    providers: Vec<(String, String)>,
}

/// Each provider's "Log in with …" link, carrying `next` on.
pub(super) fn provider_links<S: Store>(
    st: &Shared<S>,
    next: Option<&str>,
    invite: Option<&str>,
) -> Vec<(String, String)> {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(n) = next {
        query.append_pair("next", n);
    }
    if let Some(t) = invite {
        query.append_pair("token", t);
    }
    let query = query.finish();
    st.services
        .identity_providers()
        .iter()
        .map(|p| {
            let mut href = format!("{}/user/sso/{}/login", st.url.prefix, p.name);
            if !query.is_empty() {
                href = format!("{href}?{query}");
            }
            (p.label.clone(), href)
        })
        .collect()
}

pub(super) fn login_page<S: Store>(
    st: &Shared<S>,
    headers: &HeaderMap,
    uri: &Uri,
    email: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Page {
    page(st, headers, None, status, |layout| LoginPage {
        layout,
        action: form_action(st, "/user/login/", uri),
        email,
        error,
        signup_open: st.services.config().signup_mode == Mode::Open
            && st.services.config().password_login,
        password_login: st.services.config().password_login,
        forgot: st.services.mail_enabled() && st.services.config().password_login,
        providers: provider_links(st, query_next(uri).as_deref(), None),
    })
}

pub(super) async fn login_form<S: Store>(
    State(st): State<Shared<S>>,
    headers: HeaderMap,
    uri: Uri,
) -> Page {
    if let Some(onward) = already_signed_in(&st, &headers, &uri).await? {
        return Ok(onward);
    }
    login_page(&st, &headers, &uri, "", None, StatusCode::OK)
}

/// A new account's first session: the old one (if any) ends, a new id, a
/// new CSRF token and a device cookie are set, and the browser goes to a
/// safe `next`.
pub(super) async fn start_session<S: Store>(
    st: &Shared<S>,
    headers: &HeaderMap,
    user_id: i64,
    next: Option<&str>,
    persist: bool,
) -> Page {
    let old = cookie(headers, SESSION_COOKIE);
    let (sid, device) = st
        .services
        .start_first_session(user_id, old.as_deref())
        .await?;
    let mut resp = session_started(st, &sid, next, persist)?;
    set_cookie(&mut resp, &device_cookie(st, device.expose().to_owned()));
    Ok(resp)
}

/// The answer that hands a new session `sid` to the browser.
fn session_started<S: Store>(
    st: &Shared<S>,
    sid: &SecretString,
    next: Option<&str>,
    persist: bool,
) -> Page {
    let mut resp = redirect(&safe_next(next, &st.url.prefix));
    let lifetime = persist.then_some(st.services.config().session_lifetime_secs);
    set_cookie(
        &mut resp,
        &session_cookie(st, sid.expose().to_owned(), lifetime),
    );
    set_cookie(&mut resp, &csrf_cookie(st, random_hex()?));
    // Not a provider's session: logging out stays here.
    set_cookie(&mut resp, &super::cookies::forget_provider(st));
    Ok(resp)
}

pub(super) async fn login<S: Store>(State(st): State<Shared<S>>, req: Request) -> Page {
    let form = Form::read_checked(&st, req).await?;
    let email = form.field("email").unwrap_or("");
    let password = SecretString::new(form.field("password").unwrap_or(""));
    // Label Studio's "Keep me logged in this browser": unchecked (absent),
    // the cookie ends with the browser session.
    let persist = form
        .field("persist_session")
        .is_some_and(|v| !v.is_empty() && v != "false");
    let old = cookie(&form.headers, SESSION_COOKIE);
    let device = cookie(&form.headers, DEVICE_COOKIE);
    let logged_in = st
        .services
        .log_in_device(
            email,
            &password,
            form.client,
            old.as_deref(),
            device.as_deref(),
        )
        .await;
    let mut retry_after = None;
    let (error, status) = match logged_in {
        Ok(l) => {
            tracing::info!(user_id = l.user.id, persist, "logged in");
            let mut resp =
                session_started(&st, &l.session, query_next(&form.uri).as_deref(), persist)?;
            if let Some(d) = l.device {
                set_cookie(&mut resp, &device_cookie(&st, d.expose().to_owned()));
            }
            return Ok(resp);
        }
        Err(AppError::BadCredentials) => (
            "The email and password you entered don't match.",
            StatusCode::OK,
        ),
        Err(AppError::PasswordLoginDisabled) => (
            "Logging in with a password is turned off here: use your organization's sign-in.",
            StatusCode::FORBIDDEN,
        ),
        Err(AppError::Throttled { retry_after_secs }) => {
            retry_after = Some(retry_after_secs);
            (
                "Too many login attempts. Try again later, or ask an administrator to unlock the account.",
                StatusCode::TOO_MANY_REQUESTS,
            )
        }
        Err(e) => return Err(e.into()),
    };
    let mut resp = login_page(&st, &form.headers, &form.uri, email, Some(error), status)?;
    if let Some(secs) = retry_after {
        super::retry_after(&mut resp, secs);
    }
    Ok(resp)
}

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage {
    layout: Layout,
}

pub(super) async fn logout_form<S: Store>(State(st): State<Shared<S>>, headers: HeaderMap) -> Page {
    let caller = session(&st, &headers).await?;
    page(&st, &headers, caller.as_ref(), StatusCode::OK, |layout| {
        LogoutPage { layout }
    })
}

pub(super) async fn logout<S: Store>(State(st): State<Shared<S>>, req: Request) -> Page {
    let form = Form::read_checked(&st, req).await?;
    if let Some(sid) = cookie(&form.headers, SESSION_COOKIE) {
        st.services.end_session(&sid).await?;
    }
    // A session that came from an OpenID provider: log out there too
    // (RP-initiated logout), when it advertises how; it sends the browser
    // back to our login page.
    let at_provider = match cookie(&form.headers, super::cookies::PROVIDER_COOKIE) {
        Some(p) => {
            let back = format!("{}/user/login/", st.url.base);
            st.services.sso_end_session_url(&p, &back).await
        }
        None => None,
    };
    let mut resp = match at_provider {
        Some(url) => super::continue_to(
            &st,
            &form.headers,
            "Logging out",
            &url,
            "your identity provider",
        )?,
        None => redirect(&format!("{}/", st.url.prefix)),
    };
    set_cookie(&mut resp, &session_cookie(&st, String::new(), Some(0)));
    set_cookie(&mut resp, &super::cookies::forget_provider(&st));
    Ok(resp)
}
