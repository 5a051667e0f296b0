//! `/user/account/`: the profile, and **Reset token**, which shows the new
//! API token once.

use app::{AppError, Caller, PasswordChangeRequest, SecretString, Store, UserPatch};
use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};

use super::forms::Form;
use super::{Layout, Page, login_redirect, page, redirect, session};
use crate::auth::{DEVICE_COOKIE, SESSION_COOKIE, cookie};
use crate::state::Shared;

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
    identities: Vec<IdentityView>,
    has_password: bool,
    password_error: Option<String>,
    password_changed: bool,
    tokens: Vec<TokenView>,
    /// A personal access token just made (shown this once).
    new_pat: Option<String>,
    pat_error: Option<String>,
}

/// A personal access token as the account page lists it (never the token).
struct TokenView {
    jti: String,
    created: String,
    expires: String,
    last_used: String,
}

/// A linked identity as the account page lists it.
struct IdentityView {
    id: i64,
    provider: String,
    email: String,
    linked: String,
    last_login: String,
}

async fn identities<S: Store>(st: &Shared<S>, user_id: i64) -> Result<Vec<IdentityView>, AppError> {
    let providers = st.services.identity_providers();
    Ok(st
        .services
        .linked_identities(user_id)
        .await?
        .into_iter()
        .map(|i| IdentityView {
            id: i.id,
            provider: providers
                .iter()
                .find(|p| p.name == i.provider)
                .map_or_else(|| i.provider.clone(), |p| p.label.clone()),
            email: i.email.unwrap_or_default(),
            linked: app::time::iso8601(i.created_at),
            last_login: i.last_login_at.map(app::time::iso8601).unwrap_or_default(),
        })
        .collect())
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct SavedQuery {
    saved: Option<String>,
}

/// What the account page shows besides the profile.
#[derive(Debug, Default)]
struct Notes {
    saved: bool,
    error: Option<String>,
    new_token: Option<String>,
    password_error: Option<String>,
    password_changed: bool,
    new_pat: Option<String>,
    pat_error: Option<String>,
}

/// A time to the minute, for people: `2026-12-06 15:46 UTC`.
fn minute(micros: i64) -> String {
    let iso = app::time::iso8601(micros);
    format!("{} UTC", iso.get(..16).unwrap_or(&iso).replace('T', " "))
}

fn field_errors(errors: &[(&'static str, String)]) -> String {
    errors
        .iter()
        .map(|(f, m)| format!("{f}: {m}"))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn account_page<S: Store>(
    st: &Shared<S>,
    headers: &HeaderMap,
    caller: &Caller,
    notes: Notes,
) -> Page {
    let identities = identities(st, caller.user.id).await?;
    let tokens = match st.services.personal_tokens(caller).await {
        Ok(list) => list
            .into_iter()
            .map(|t| TokenView {
                jti: t.jti,
                created: minute(t.created_at),
                expires: minute(t.expires_at),
                last_used: t.last_used_at.map_or_else(|| "never".to_owned(), minute),
            })
            .collect(),
        Err(e) => return Err(e.into()),
    };
    let u = &caller.user;
    let status = if notes.password_error.is_some() || notes.pat_error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page(st, headers, Some(caller), status, |layout| AccountPage {
        layout,
        email: u.email.as_str(),
        first_name: &u.first_name,
        last_name: &u.last_name,
        phone: &u.phone,
        saved: notes.saved,
        error: notes.error,
        new_token: notes.new_token,
        identities,
        has_password: u.password_hash.is_some(),
        password_error: notes.password_error,
        password_changed: notes.password_changed,
        tokens,
        new_pat: notes.new_pat,
        pat_error: notes.pat_error,
    })
}

pub(super) async fn account<S: Store>(
    State(st): State<Shared<S>>,
    headers: HeaderMap,
    Query(q): Query<SavedQuery>,
) -> Page {
    let Some(caller) = session(&st, &headers).await? else {
        return Ok(login_redirect(&st, "/user/account/"));
    };
    let notes = Notes {
        saved: q.saved.as_deref() == Some("1"),
        password_changed: q.saved.as_deref() == Some("password"),
        ..Notes::default()
    };
    account_page(&st, &headers, &caller, notes).await
}

pub(super) async fn save_account<S: Store>(State(st): State<Shared<S>>, req: Request) -> Page {
    let (form, caller) = Form::signed_in(&st, req, "/user/account/").await?;
    let patch = UserPatch {
        first_name: form.field("first_name").map(str::to_owned),
        last_name: form.field("last_name").map(str::to_owned),
        phone: form.field("phone").map(str::to_owned),
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
            let notes = Notes {
                error: Some(field_errors(&errors)),
                ..Notes::default()
            };
            account_page(&st, &form.headers, &caller, notes).await
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn reset_token<S: Store>(State(st): State<Shared<S>>, req: Request) -> Page {
    let (form, caller) = Form::signed_in(&st, req, "/user/account/").await?;
    let token = st.services.reset_own_token(caller.user.id).await?;
    // Shown in this response only; a reload shows it no more.
    let notes = Notes {
        new_token: Some(token.expose().to_owned()),
        ..Notes::default()
    };
    account_page(&st, &form.headers, &caller, notes).await
}

/// Unlinks one of the caller's identities (when another way in remains).
pub(super) async fn unlink_identity<S: Store>(
    State(st): State<Shared<S>>,
    Path(id): Path<String>,
    req: Request,
) -> Page {
    let (form, caller) = Form::signed_in(&st, req, "/user/account/").await?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(AppError::NotFound("Linked identity").into());
    };
    match st.services.unlink_identity(&caller.user, id).await {
        Ok(()) => Ok(redirect(&format!(
            "{}/user/account/?saved=1",
            st.url.prefix
        ))),
        Err(AppError::SsoRefused(r)) => {
            let notes = Notes {
                error: Some(r.to_string()),
                ..Notes::default()
            };
            account_page(&st, &form.headers, &caller, notes).await
        }
        Err(e) => Err(e.into()),
    }
}

/// **Change password**: the current one, the new one, and optionally a new
/// API token (shown once on the page that answers). Every other session,
/// device cookie and personal access token of the account ends; this
/// browser stays signed in.
pub(super) async fn change_password<S: Store>(State(st): State<Shared<S>>, req: Request) -> Page {
    let (form, caller) = Form::signed_in(&st, req, "/user/account/").await?;
    let current = SecretString::new(form.field("current_password").unwrap_or_default());
    let new = SecretString::new(form.field("new_password").unwrap_or_default());
    let session = cookie(&form.headers, SESSION_COOKIE);
    let device = cookie(&form.headers, DEVICE_COOKIE);
    let request = PasswordChangeRequest {
        current: &current,
        new: &new,
        session: session.as_deref(),
        device: device.as_deref(),
        new_api_token: form.field("reset_api_token") == Some("on"),
    };
    match st.services.change_own_password(&caller, request).await {
        Ok(None) => Ok(redirect(&format!(
            "{}/user/account/?saved=password",
            st.url.prefix
        ))),
        Ok(Some(token)) => {
            let notes = Notes {
                new_token: Some(token.expose().to_owned()),
                password_changed: true,
                ..Notes::default()
            };
            account_page(&st, &form.headers, &caller, notes).await
        }
        Err(AppError::Validation(errors)) => {
            let notes = Notes {
                password_error: Some(field_errors(&errors)),
                ..Notes::default()
            };
            account_page(&st, &form.headers, &caller, notes).await
        }
        Err(e) => Err(e.into()),
    }
}

/// **Create token** (a personal access token): the password asked again,
/// the token shown in this answer only.
pub(super) async fn create_token<S: Store>(State(st): State<Shared<S>>, req: Request) -> Page {
    let (form, caller) = Form::signed_in(&st, req, "/user/account/").await?;
    let password = SecretString::new(form.field("password").unwrap_or_default());
    let notes = match st
        .services
        .create_personal_token_confirmed(&caller, &password)
        .await
    {
        Ok(token) => Notes {
            new_pat: Some(token.token),
            ..Notes::default()
        },
        Err(AppError::Validation(errors)) => Notes {
            pat_error: Some(field_errors(&errors)),
            ..Notes::default()
        },
        Err(e @ (AppError::PersonalTokenExists | AppError::PersonalTokensDisabled)) => Notes {
            pat_error: Some(e.to_string()),
            ..Notes::default()
        },
        Err(e) => return Err(e.into()),
    };
    account_page(&st, &form.headers, &caller, notes).await
}

/// **Revoke** one of the caller's personal access tokens.
pub(super) async fn revoke_token<S: Store>(
    State(st): State<Shared<S>>,
    Path(jti): Path<String>,
    req: Request,
) -> Page {
    let (_, caller) = Form::signed_in(&st, req, "/user/account/").await?;
    match st.services.revoke_personal_token_by_id(&caller, &jti).await {
        Ok(()) | Err(AppError::PersonalTokenRevoked) => Ok(redirect(&format!(
            "{}/user/account/?saved=1",
            st.url.prefix
        ))),
        Err(e) => Err(e.into()),
    }
}
