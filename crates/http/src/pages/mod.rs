//! The web pages, one module per page: sign up (`signup`), log in and out
//! (`login`), the organization page with Add People and Reset Link
//! (`organization`) and what owners and administrators do to members there
//! (`members`), the account page (`account`, with the password change) and
//! a reset link's page (`reset_password`); what they share is
//! here and in `forms` (reading posted forms and query strings) and
//! `cookies` (the session and CSRF cookies). Server-rendered with askama
//! (compile-time checked, HTML-escaped); every page works without
//! JavaScript except the copy buttons; forms carry the CSRF token.

mod account;
mod api_docs;
mod audit;
mod cookies;
mod forgot_password;
pub(crate) mod forms;
mod invitations;
mod login;
mod members;
mod organization;
mod reset_password;
mod signup;
mod sso;

use app::{AppError, Caller, Store};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use cookie::Cookie;

use crate::ApiError;
use crate::auth::{SESSION_COOKIE, cookie};
use crate::routing::both;
use crate::state::Shared;

/// Why a page stops before its end: an answer to give instead (the
/// refusal page, the login page), or an error.
#[derive(Debug)]
pub(crate) enum Stop {
    Answer(Box<Response>),
    Error(ApiError),
}

impl Stop {
    fn answer(r: Response) -> Self {
        Stop::Answer(Box::new(r))
    }
}

impl From<ApiError> for Stop {
    fn from(e: ApiError) -> Self {
        Stop::Error(e)
    }
}

impl From<AppError> for Stop {
    fn from(e: AppError) -> Self {
        Stop::Error(e.into())
    }
}

impl IntoResponse for Stop {
    fn into_response(self) -> Response {
        match self {
            Stop::Answer(r) => *r,
            Stop::Error(e) => e.into_response(),
        }
    }
}

/// What a page handler answers.
type Page = Result<Response, Stop>;

pub(crate) fn routes<S: Store>() -> Router<Shared<S>> {
    let mut r = Router::new().route("/", get(home::<S>));
    r = both(
        r,
        "/user/login",
        get(login::login_form::<S>).post(login::login::<S>),
    );
    r = both(
        r,
        "/user/signup",
        get(signup::signup_form::<S>).post(signup::signup::<S>),
    );
    r = both(
        r,
        "/logout",
        get(login::logout_form::<S>).post(login::logout::<S>),
    );
    r = both(
        r,
        "/user/account",
        get(account::account::<S>).post(account::save_account::<S>),
    );
    r = both(
        r,
        "/user/account/reset-token",
        post(account::reset_token::<S>),
    );
    r = both(r, "/organization", get(organization::organization::<S>));
    r = both(
        r,
        "/organization/reset-link",
        post(organization::reset_link::<S>),
    );
    r = both(
        r,
        "/user/forgot-password",
        get(forgot_password::forgot_form::<S>).post(forgot_password::request_link::<S>),
    );
    r = both(
        r,
        "/organization/invitations",
        post(invitations::invite::<S>),
    );
    r = both(
        r,
        "/organization/invitations/{id}/revoke",
        post(invitations::revoke::<S>),
    );
    r = both(
        r,
        "/user/invitation",
        get(invitations::accept_form::<S>).post(invitations::accept::<S>),
    );
    r = both(
        r,
        "/user/reset-password",
        get(reset_password::reset_form::<S>).post(reset_password::reset::<S>),
    );
    r = both(
        r,
        "/user/account/password",
        post(account::change_password::<S>),
    );
    r = both(r, "/user/account/tokens", post(account::create_token::<S>));
    r = both(
        r,
        "/user/account/tokens/{jti}/revoke",
        post(account::revoke_token::<S>),
    );
    r = both(
        r,
        "/organization/members/{id}/{action}",
        post(members::act::<S>),
    );
    r = both(r, "/organization/audit", get(audit::audit::<S>));
    r = both(r, "/docs/api", get(api_docs::api_docs::<S>));
    r = both(
        r,
        "/user/sso/{provider}/login",
        get(sso::begin_page::<S>).post(sso::begin::<S>),
    );
    r = both(r, "/user/sso/{provider}/callback", get(sso::callback::<S>));
    r = both(
        r,
        "/user/account/identities/{id}/unlink",
        post(account::unlink_identity::<S>),
    );
    r.route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
}

async fn css() -> Response {
    static_file(
        "text/css; charset=utf-8",
        include_str!("../../static/app.css"),
    )
}

async fn js() -> Response {
    static_file(
        "text/javascript; charset=utf-8",
        include_str!("../../static/app.js"),
    )
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

async fn home<S: Store>(State(st): State<Shared<S>>, headers: HeaderMap) -> Page {
    Ok(match session(&st, &headers).await? {
        Some(_) => redirect(&format!("{}/organization/", st.url.prefix)),
        None => redirect(&format!("{}/user/login/", st.url.prefix)),
    })
}

/// What the page header needs.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    prefix: String,
    csrf: String,
    user_email: Option<String>,
}

/// A page's layout, and the CSRF cookie to set when this browser had none.
struct PageCtx {
    layout: Layout,
    new_csrf: Option<Cookie<'static>>,
}

fn ctx<S>(
    st: &Shared<S>,
    headers: &HeaderMap,
    caller: Option<&Caller>,
) -> Result<PageCtx, ApiError> {
    let (csrf, new) = cookies::csrf_for(headers)?;
    Ok(PageCtx {
        new_csrf: new.then(|| cookies::csrf_cookie(st, csrf.clone())),
        layout: Layout {
            prefix: st.url.prefix.clone(),
            csrf,
            user_email: caller.map(|c| c.user.email.as_str().to_owned()),
        },
    })
}

/// Render, and set the CSRF cookie when this browser had none.
fn render(t: &impl Template, status: StatusCode, new_csrf: Option<Cookie<'static>>) -> Page {
    let body = t
        .render()
        .map_err(|e| ApiError::Internal(format!("template: {e}")))?;
    let mut resp = (status, Html(body)).into_response();
    if let Some(c) = new_csrf {
        cookies::set_cookie(&mut resp, &c);
    }
    Ok(resp)
}

/// A page built by `page` from this request's layout, rendered.
fn page<S, T: Template>(
    st: &Shared<S>,
    headers: &HeaderMap,
    caller: Option<&Caller>,
    status: StatusCode,
    page: impl FnOnce(Layout) -> T,
) -> Page {
    let c = ctx(st, headers, caller)?;
    render(&page(c.layout), status, c.new_csrf)
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    layout: Layout,
    heading: &'a str,
    message: &'a str,
}

fn message<S>(
    st: &Shared<S>,
    headers: &HeaderMap,
    status: StatusCode,
    heading: &str,
    text: &str,
) -> Page {
    page(st, headers, None, status, |layout| MessagePage {
        layout,
        heading,
        message: text,
    })
}

#[derive(Template)]
#[template(path = "continue.html")]
struct ContinuePage<'a> {
    layout: Layout,
    heading: &'a str,
    url: &'a str,
    to: &'a str,
}

/// On to another site after a form: a page that goes there at once (a meta
/// refresh, and a link). Not a redirect: the pages' CSP (`form-action
/// 'self'`) stops a form's navigation that a redirect sends elsewhere.
fn continue_to<S>(st: &Shared<S>, headers: &HeaderMap, heading: &str, url: &str, to: &str) -> Page {
    page(st, headers, None, StatusCode::OK, |layout| ContinuePage {
        layout,
        heading,
        url,
        to,
    })
}

/// A page form whose CSRF check failed.
fn not_permitted<S>(st: &Shared<S>, headers: &HeaderMap) -> Page {
    message(
        st,
        headers,
        StatusCode::FORBIDDEN,
        "Not permitted",
        "This is not permitted: the form was stale or came from another site. Reload the page and try again.",
    )
}

/// The signed-in user of this browser (pages use the session only).
async fn session<S: Store>(
    st: &Shared<S>,
    headers: &HeaderMap,
) -> Result<Option<Caller>, ApiError> {
    let Some(sid) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    match st.services.session_user(&sid).await? {
        Some(user) => Ok(Some(st.services.caller(user).await?)),
        None => Ok(None),
    }
}

/// A browser already signed in does not see the login or sign-up form: it
/// goes on to a safe `next`.
async fn already_signed_in<S: Store>(
    st: &Shared<S>,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<Option<Response>, ApiError> {
    if session(st, headers).await?.is_none() {
        return Ok(None);
    }
    let next = forms::query_next(uri);
    Ok(Some(redirect(&forms::safe_next(
        next.as_deref(),
        &st.url.prefix,
    ))))
}

/// A throttled page's `Retry-After`, as the API's 429 has.
fn retry_after(resp: &mut Response, secs: i64) {
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
}

fn redirect(location: &str) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// To the login page, coming back to `path` after.
fn login_redirect<S>(st: &Shared<S>, path: &str) -> Response {
    let next: String =
        form_urlencoded::byte_serialize(format!("{}{path}", st.url.prefix).as_bytes()).collect();
    redirect(&format!("{}/user/login/?next={next}", st.url.prefix))
}

/// A form's `action`: the page's own path, carrying its query string on
/// (the invite token and `next`, as Label Studio's forms do).
fn form_action<S>(st: &Shared<S>, path: &str, uri: &Uri) -> String {
    match uri.query() {
        Some(q) => format!("{}{path}?{q}", st.url.prefix),
        None => format!("{}{path}", st.url.prefix),
    }
}
