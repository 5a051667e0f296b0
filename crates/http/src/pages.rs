//! The web pages: sign up, log in, log out, the organization page with
//! Add People and Reset Link, and the account page. Server-rendered with
//! askama (compile-time checked, HTML-escaped); every page works without
//! JavaScript except the copy buttons; forms carry the CSRF token.

use app::{AppError, Caller, SecretString, SignupRequest, Store, UserPatch};
use askama::Template;
use axum::Router;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use cookie::{Cookie, SameSite};
use signup_policy::{Deny, Mode};

use crate::ApiError;
use crate::auth::{CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE, check_csrf, cookie};
use crate::body::{content_length, read_limited};
use crate::state::Shared;

const MEMBERS_PER_PAGE: usize = 20;

pub(crate) fn routes<S: Store>() -> Router<Shared<S>> {
    let mut r = Router::new().route("/", get(home::<S>));
    for (path, router) in [
        ("/user/login", get(login_form::<S>).post(login::<S>)),
        ("/user/signup", get(signup_form::<S>).post(signup::<S>)),
        ("/logout", get(logout_form::<S>).post(logout::<S>)),
        ("/user/account", get(account::<S>).post(save_account::<S>)),
        ("/user/account/reset-token", post(reset_token::<S>)),
        ("/organization", get(organization::<S>)),
        ("/organization/reset-link", post(reset_link::<S>)),
    ] {
        r = r
            .route(path, router.clone())
            .route(&format!("{path}/"), router);
    }
    r.route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
}

async fn css() -> Response {
    static_file("text/css; charset=utf-8", include_str!("../static/app.css"))
}

async fn js() -> Response {
    static_file(
        "text/javascript; charset=utf-8",
        include_str!("../static/app.js"),
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

/// What the page header needs.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    prefix: String,
    csrf: String,
    user_email: Option<String>,
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
    getrandom::fill(&mut b).map_err(|_| ApiError::App(AppError::Random))?;
    Ok(hex::encode(b))
}

fn set_cookie(resp: &mut Response, c: &Cookie<'_>) {
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

/// `max_age_secs: None`: a browser-session cookie. The server-side
/// lifetime and idle timeout apply either way.
fn session_cookie<S>(st: &Shared<S>, value: String, max_age_secs: Option<i64>) -> Cookie<'static> {
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

/// The CSRF token this browser has, or a new one to set.
fn csrf_for(headers: &HeaderMap) -> Result<(String, bool), ApiError> {
    match cookie(headers, CSRF_COOKIE) {
        Some(v) if v.len() >= 32 && v.bytes().all(|b| b.is_ascii_alphanumeric()) => Ok((v, false)),
        _ => Ok((random_hex()?, true)),
    }
}

fn redirect(location: &str) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// Render, and set the CSRF cookie when this browser had none.
fn render(
    t: &impl Template,
    status: StatusCode,
    new_csrf: Option<Cookie<'static>>,
) -> Result<Response, ApiError> {
    let body = t
        .render()
        .map_err(|e| ApiError::Internal(format!("template: {e}")))?;
    let mut resp = (status, Html(body)).into_response();
    if let Some(c) = new_csrf {
        set_cookie(&mut resp, &c);
    }
    Ok(resp)
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

struct PageCtx {
    layout: Layout,
    new_csrf: Option<Cookie<'static>>,
}

impl PageCtx {
    fn cookie(&self) -> Option<Cookie<'static>> {
        self.new_csrf.clone()
    }
}

fn ctx<S>(
    st: &Shared<S>,
    headers: &HeaderMap,
    caller: Option<&Caller>,
) -> Result<PageCtx, ApiError> {
    let (csrf, new) = csrf_for(headers)?;
    Ok(PageCtx {
        new_csrf: new.then(|| csrf_cookie(st, csrf.clone())),
        layout: Layout {
            prefix: st.url.prefix.clone(),
            csrf,
            user_email: caller.map(|c| c.user.email.as_str().to_owned()),
        },
    })
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
) -> Result<Response, ApiError> {
    let c = ctx(st, headers, None)?;
    render(
        &MessagePage {
            layout: c.layout.clone(),
            heading,
            message: text,
        },
        status,
        c.cookie(),
    )
}

/// A page form whose CSRF check failed.
fn not_permitted<S>(st: &Shared<S>, headers: &HeaderMap) -> Result<Response, ApiError> {
    message(
        st,
        headers,
        StatusCode::FORBIDDEN,
        "Not permitted",
        "This is not permitted: the form was stale or came from another site. Reload the page and try again.",
    )
}

/// The form's fields, from a size-limited body.
async fn form_fields<S>(
    st: &Shared<S>,
    req: Request,
) -> Result<(HeaderMap, Uri, Vec<(String, String)>), ApiError> {
    let (parts, fields, _) = form_with_client(st, req).await?;
    Ok((parts.0, parts.1, fields))
}

type HeadersAndUri = (HeaderMap, Uri);

/// The form, and the client's address as throttling sees it.
async fn form_with_client<S>(
    st: &Shared<S>,
    req: Request,
) -> Result<(HeadersAndUri, Vec<(String, String)>, Option<IpAddr>), ApiError> {
    let declared = content_length(&req);
    let (parts, body) = req.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| *a);
    let client = st.client(&parts.headers, peer);
    let bytes = read_limited(body, declared, st.body_limit).await?;
    let fields = form_urlencoded::parse(&bytes).into_owned().collect();
    Ok(((parts.headers, parts.uri), fields, client))
}

/// A posted form from a signed-in browser: CSRF checked, session found.
/// `Err(response)` is what to answer instead (refusal, or the login page).
async fn signed_in_form<S: Store>(
    st: &Shared<S>,
    req: Request,
    login_path: &str,
) -> Result<Result<(HeaderMap, Vec<(String, String)>, Caller), Response>, ApiError> {
    let (headers, _, fields) = form_fields(st, req).await?;
    if check_csrf(&headers, &st.url, field(&fields, CSRF_FIELD)).is_err() {
        return Ok(Err(not_permitted(st, &headers)?));
    }
    match session(st, &headers).await? {
        Some(caller) => Ok(Ok((headers, fields, caller))),
        None => Ok(Err(login_redirect(st, login_path))),
    }
}

pub(crate) fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `?token=` exactly as given. Repeated or array forms are refused as
/// invalid, not resolved to one of them.
pub(crate) fn presented_invite(uri: &Uri) -> Option<String> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let tokens: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "token")
        .map(|(_, v)| v.as_str())
        .collect();
    let arrays = pairs.iter().any(|(k, _)| k.starts_with("token["));
    match (tokens.as_slice(), arrays) {
        ([], false) => None,
        ([one], false) => Some((*one).to_owned()),
        _ => Some(String::new()),
    }
}

pub(crate) fn query_next(uri: &Uri) -> Option<String> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
}

async fn home<S: Store>(
    State(st): State<Shared<S>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    Ok(match session(&st, &headers).await? {
        Some(_) => redirect(&format!("{}/organization/", st.url.prefix)),
        None => redirect(&format!("{}/user/login/", st.url.prefix)),
    })
}

// ---- log in / log out ----

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    layout: Layout,
    action: String,
    email: &'a str,
    error: Option<&'a str>,
    signup_open: bool,
}

/// A form's `action`: the page's own path, carrying its query string on
/// (the invite token and `next`, as Label Studio's forms do).
fn form_action<S>(st: &Shared<S>, path: &str, uri: &Uri) -> String {
    match uri.query() {
        Some(q) => format!("{}{path}?{q}", st.url.prefix),
        None => format!("{}{path}", st.url.prefix),
    }
}

async fn login_form<S: Store>(
    State(st): State<Shared<S>>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    if session(&st, &headers).await?.is_some() {
        return Ok(redirect(&safe_next(
            query_next(&uri).as_deref(),
            &st.url.prefix,
        )));
    }
    let c = ctx(&st, &headers, None)?;
    let page = LoginPage {
        layout: c.layout.clone(),
        action: form_action(&st, "/user/login/", &uri),
        email: "",
        error: None,
        signup_open: st.services.config().signup_mode == Mode::Open,
    };
    render(&page, StatusCode::OK, c.cookie())
}

/// A new session for `user_id`: the old one (if any) ends, a new id and a
/// new CSRF token are set, and the browser goes to a safe `next`.
async fn start_session<S: Store>(
    st: &Shared<S>,
    headers: &HeaderMap,
    user_id: i64,
    next: Option<&str>,
    persist: bool,
) -> Result<Response, ApiError> {
    let old = cookie(headers, SESSION_COOKIE);
    let sid = st
        .services
        .start_session_replacing(user_id, old.as_deref())
        .await?;
    session_started(st, &sid, next, persist)
}

/// The answer that hands a new session `sid` to the browser.
fn session_started<S: Store>(
    st: &Shared<S>,
    sid: &SecretString,
    next: Option<&str>,
    persist: bool,
) -> Result<Response, ApiError> {
    let mut resp = redirect(&safe_next(next, &st.url.prefix));
    let lifetime = persist.then_some(st.services.config().session_lifetime_secs);
    set_cookie(
        &mut resp,
        &session_cookie(st, sid.expose().to_owned(), lifetime),
    );
    set_cookie(&mut resp, &csrf_cookie(st, random_hex()?));
    Ok(resp)
}

async fn login<S: Store>(State(st): State<Shared<S>>, req: Request) -> Result<Response, ApiError> {
    let ((headers, uri), fields, client) = form_with_client(&st, req).await?;
    if check_csrf(&headers, &st.url, field(&fields, CSRF_FIELD)).is_err() {
        return not_permitted(&st, &headers);
    }
    let email = field(&fields, "email").unwrap_or("");
    let password = SecretString::new(field(&fields, "password").unwrap_or(""));
    // Label Studio's "Keep me logged in this browser": unchecked (absent),
    // the cookie ends with the browser session.
    let persist = field(&fields, "persist_session").is_some_and(|v| !v.is_empty() && v != "false");
    let old = cookie(&headers, SESSION_COOKIE);
    let logged_in = st
        .services
        .log_in(email, &password, client, old.as_deref())
        .await;
    let (error, status) = match logged_in {
        Ok((user, sid)) => {
            tracing::info!(user_id = user.id, persist, "logged in");
            return session_started(&st, &sid, query_next(&uri).as_deref(), persist);
        }
        Err(AppError::BadCredentials) => (
            "The email and password you entered don't match.",
            StatusCode::OK,
        ),
        Err(AppError::Throttled { .. }) => (
            "Too many login attempts. Try again later, or ask an administrator to unlock the account.",
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(e) => return Err(e.into()),
    };
    let c = ctx(&st, &headers, None)?;
    let page = LoginPage {
        layout: c.layout.clone(),
        action: form_action(&st, "/user/login/", &uri),
        email,
        error: Some(error),
        signup_open: st.services.config().signup_mode == Mode::Open,
    };
    render(&page, status, c.cookie())
}

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage {
    layout: Layout,
}

async fn logout_form<S: Store>(
    State(st): State<Shared<S>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = session(&st, &headers).await?;
    let c = ctx(&st, &headers, caller.as_ref())?;
    render(
        &LogoutPage {
            layout: c.layout.clone(),
        },
        StatusCode::OK,
        c.cookie(),
    )
}

async fn logout<S: Store>(State(st): State<Shared<S>>, req: Request) -> Result<Response, ApiError> {
    let (headers, _, fields) = form_fields(&st, req).await?;
    if check_csrf(&headers, &st.url, field(&fields, CSRF_FIELD)).is_err() {
        return not_permitted(&st, &headers);
    }
    if let Some(sid) = cookie(&headers, SESSION_COOKIE) {
        st.services.end_session(&sid).await?;
    }
    let mut resp = redirect(&format!("{}/", st.url.prefix));
    set_cookie(&mut resp, &session_cookie(&st, String::new(), Some(0)));
    Ok(resp)
}

// ---- sign up ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SignupState {
    Form,
    NeedsInvite,
    StaleInvite,
    InvalidInvite,
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage<'a> {
    layout: Layout,
    state: SignupState,
    action: String,
    joining: bool,
    email: &'a str,
    error: Option<&'a str>,
    email_error: Option<String>,
    password_error: Option<String>,
}

fn denied_state(d: Deny) -> (SignupState, StatusCode) {
    match d {
        Deny::InviteRequired => (SignupState::NeedsInvite, StatusCode::FORBIDDEN),
        Deny::InviteStale => (SignupState::StaleInvite, StatusCode::FORBIDDEN),
        Deny::InviteInvalid => (SignupState::InvalidInvite, StatusCode::FORBIDDEN),
    }
}

async fn signup_form<S: Store>(
    State(st): State<Shared<S>>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    if session(&st, &headers).await?.is_some() {
        return Ok(redirect(&safe_next(
            query_next(&uri).as_deref(),
            &st.url.prefix,
        )));
    }
    let (state, status, joining) = match st
        .services
        .signup_gate(presented_invite(&uri).as_deref())
        .await
    {
        Ok(org) => (SignupState::Form, StatusCode::OK, org.is_some()),
        Err(AppError::SignupDenied(d)) => {
            let (s, code) = denied_state(d);
            (s, code, false)
        }
        Err(e) => return Err(e.into()),
    };
    let c = ctx(&st, &headers, None)?;
    let page = SignupPage {
        layout: c.layout.clone(),
        state,
        action: form_action(&st, "/user/signup/", &uri),
        joining,
        email: "",
        error: None,
        email_error: None,
        password_error: None,
    };
    render(&page, status, c.cookie())
}

async fn signup<S: Store>(State(st): State<Shared<S>>, req: Request) -> Result<Response, ApiError> {
    let ((headers, uri), fields, client) = form_with_client(&st, req).await?;
    if check_csrf(&headers, &st.url, field(&fields, CSRF_FIELD)).is_err() {
        return not_permitted(&st, &headers);
    }
    let email = field(&fields, "email").unwrap_or("");
    let invite = presented_invite(&uri);
    let request = SignupRequest {
        email: email.to_owned(),
        password: SecretString::new(field(&fields, "password").unwrap_or("")),
        invite: invite.as_deref().map(SecretString::new),
        client,
    };
    let (mut email_error, mut password_error) = (None, None);
    let mut error = None;
    let mut status = StatusCode::OK;
    match st.services.sign_up(request).await {
        Ok((created, _token)) => {
            return start_session(
                &st,
                &headers,
                created.user.id,
                query_next(&uri).as_deref(),
                true,
            )
            .await;
        }
        Err(AppError::Throttled { .. }) => {
            error = Some("Too many sign-ups from your address. Try again later.");
            status = StatusCode::TOO_MANY_REQUESTS;
        }
        Err(AppError::SignupDenied(d)) => {
            let (state, status) = denied_state(d);
            let c = ctx(&st, &headers, None)?;
            let page = SignupPage {
                layout: c.layout.clone(),
                state,
                action: form_action(&st, "/user/signup/", &uri),
                joining: false,
                email: "",
                error: None,
                email_error: None,
                password_error: None,
            };
            return render(&page, status, c.cookie());
        }
        Err(AppError::Invalid {
            field: app::Field::Email,
            source,
        }) => email_error = Some(source.to_string()),
        Err(AppError::Invalid {
            field: app::Field::Password,
            source,
        }) => password_error = Some(source.to_string()),
        Err(AppError::EmailTaken) => email_error = Some(AppError::EmailTaken.to_string()),
        Err(e) => return Err(e.into()),
    }
    let c = ctx(&st, &headers, None)?;
    let page = SignupPage {
        layout: c.layout.clone(),
        state: SignupState::Form,
        action: form_action(&st, "/user/signup/", &uri),
        joining: invite.is_some(),
        email,
        error,
        email_error,
        password_error,
    };
    render(&page, status, c.cookie())
}

// ---- organization ----

struct MemberRow {
    name: String,
    email: String,
    role: &'static str,
    joined: String,
}

#[derive(Template)]
#[template(path = "organization.html")]
struct OrganizationPage {
    layout: Layout,
    org_title: String,
    members: Vec<MemberRow>,
    count: usize,
    page: usize,
    pages: usize,
    previous: Option<usize>,
    next: Option<usize>,
    dialog: String,
    invite_url: Option<String>,
    can_reset: bool,
    just_reset: bool,
}

#[derive(Debug, serde::Deserialize)]
struct OrgQuery {
    page: Option<String>,
    dialog: Option<String>,
    reset: Option<String>,
}

fn login_redirect<S>(st: &Shared<S>, path: &str) -> Response {
    let next: String =
        form_urlencoded::byte_serialize(format!("{}{path}", st.url.prefix).as_bytes()).collect();
    redirect(&format!("{}/user/login/?next={next}", st.url.prefix))
}

async fn organization<S: Store>(
    State(st): State<Shared<S>>,
    headers: HeaderMap,
    Query(q): Query<OrgQuery>,
) -> Result<Response, ApiError> {
    let Some(caller) = session(&st, &headers).await? else {
        return Ok(login_redirect(&st, "/organization/"));
    };
    let Ok((org_id, role)) = caller.active() else {
        return message(
            &st,
            &headers,
            StatusCode::NOT_FOUND,
            "Organization",
            "You are not a member of an organization.",
        );
    };
    let services = &st.services;
    let page: usize = q
        .page
        .as_deref()
        .and_then(|p| p.parse().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let result = match services
        .membership_page(&caller.user, org_id, page, Some(MEMBERS_PER_PAGE))
        .await
    {
        Err(AppError::InvalidPage) => {
            services
                .membership_page(&caller.user, org_id, 1, Some(MEMBERS_PER_PAGE))
                .await?
        }
        other => other?,
    };
    let pages = result.count.div_ceil(MEMBERS_PER_PAGE).max(1);
    let page = page.min(pages);
    let members = result
        .members
        .iter()
        .map(|(m, u)| MemberRow {
            name: match (u.first_name.is_empty(), u.last_name.is_empty()) {
                (true, true) => u.username.clone(),
                _ => format!("{} {}", u.first_name, u.last_name)
                    .trim()
                    .to_owned(),
            },
            email: u.email.as_str().to_owned(),
            role: m.role.as_str(),
            joined: app::time::iso8601(m.created_at)
                .get(..10)
                .unwrap_or("")
                .to_owned(),
        })
        .collect();
    let (title, _) = services.org_meta(Some(org_id)).await?;
    let invite_url = match services.invite_link(&caller.actor()?).await {
        Ok((_, token)) => Some(format!("{}{}", st.url.base, token.signup_path())),
        Err(AppError::Forbidden) => None,
        Err(e) => return Err(e.into()),
    };
    let c = ctx(&st, &headers, Some(&caller))?;
    let view = OrganizationPage {
        layout: c.layout.clone(),
        org_title: title,
        members,
        count: result.count,
        page,
        pages,
        previous: (page > 1).then(|| page - 1),
        next: (page < pages).then(|| page + 1),
        dialog: q.dialog.unwrap_or_default(),
        invite_url,
        can_reset: role.is_manager(),
        just_reset: q.reset.as_deref() == Some("1"),
    };
    render(&view, StatusCode::OK, c.cookie())
}

async fn reset_link<S: Store>(
    State(st): State<Shared<S>>,
    req: Request,
) -> Result<Response, ApiError> {
    let (headers, _, caller) = match signed_in_form(&st, req, "/organization/").await? {
        Ok(ok) => ok,
        Err(answer) => return Ok(answer),
    };
    match st.services.reset_invite(&caller.actor()?).await {
        Ok(_) => Ok(redirect(&format!(
            "{}/organization/?dialog=add-people&reset=1",
            st.url.prefix
        ))),
        Err(AppError::Forbidden | AppError::NotFound(_)) => not_permitted(&st, &headers),
        Err(e) => Err(e.into()),
    }
}

// ---- account ----

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    layout: Layout,
    email: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    phone: &'a str,
    saved: bool,
    error: Option<String>,
    new_token: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct SavedQuery {
    saved: Option<String>,
}

fn account_page<S>(
    st: &Shared<S>,
    headers: &HeaderMap,
    caller: &Caller,
    saved: bool,
    error: Option<String>,
    new_token: Option<String>,
) -> Result<Response, ApiError> {
    let c = ctx(st, headers, Some(caller))?;
    let u = &caller.user;
    let page = AccountPage {
        layout: c.layout.clone(),
        email: u.email.as_str(),
        first_name: &u.first_name,
        last_name: &u.last_name,
        phone: &u.phone,
        saved,
        error,
        new_token,
    };
    render(&page, StatusCode::OK, c.cookie())
}

async fn account<S: Store>(
    State(st): State<Shared<S>>,
    headers: HeaderMap,
    Query(q): Query<SavedQuery>,
) -> Result<Response, ApiError> {
    let Some(caller) = session(&st, &headers).await? else {
        return Ok(login_redirect(&st, "/user/account/"));
    };
    account_page(
        &st,
        &headers,
        &caller,
        q.saved.as_deref() == Some("1"),
        None,
        None,
    )
}

async fn save_account<S: Store>(
    State(st): State<Shared<S>>,
    req: Request,
) -> Result<Response, ApiError> {
    let (headers, fields, caller) = match signed_in_form(&st, req, "/user/account/").await? {
        Ok(ok) => ok,
        Err(answer) => return Ok(answer),
    };
    let patch = UserPatch {
        first_name: field(&fields, "first_name").map(str::to_owned),
        last_name: field(&fields, "last_name").map(str::to_owned),
        phone: field(&fields, "phone").map(str::to_owned),
        ..UserPatch::default()
    };
    match st
        .services
        .update_user(&caller, caller.user.id, patch)
        .await
    {
        Ok(_) => Ok(redirect(&format!(
            "{}/user/account/?saved=1",
            st.url.prefix
        ))),
        Err(AppError::Validation(errors)) => {
            let text = errors
                .iter()
                .map(|(f, m)| format!("{f}: {m}"))
                .collect::<Vec<_>>()
                .join(" ");
            account_page(&st, &headers, &caller, false, Some(text), None)
        }
        Err(e) => Err(e.into()),
    }
}

async fn reset_token<S: Store>(
    State(st): State<Shared<S>>,
    req: Request,
) -> Result<Response, ApiError> {
    let (headers, _, caller) = match signed_in_form(&st, req, "/user/account/").await? {
        Ok(ok) => ok,
        Err(answer) => return Ok(answer),
    };
    let token = st.services.reset_own_token(caller.user.id).await?;
    // Shown in this response only; a reload shows it no more.
    account_page(
        &st,
        &headers,
        &caller,
        false,
        None,
        Some(token.expose().to_owned()),
    )
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
    fn invite_parameters_are_taken_exactly() {
        let uri = |q: &str| format!("/user/signup/?{q}").parse::<Uri>().unwrap();
        assert_eq!(presented_invite(&uri("next=/")), None);
        assert_eq!(presented_invite(&uri("token=abc")).as_deref(), Some("abc"));
        assert_eq!(
            presented_invite(&uri("token=abc&token=def")).as_deref(),
            Some("")
        );
        assert_eq!(presented_invite(&uri("token[]=abc")).as_deref(), Some(""));
        assert_eq!(
            presented_invite(&uri("token=%20abc")).as_deref(),
            Some(" abc")
        );
    }
}
