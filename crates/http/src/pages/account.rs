//! `/user/account/`: the profile, and **Reset token**, which shows the new
//! API token once.

use app::{AppError, Caller, Store, UserPatch};
use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};

use super::forms::Form;
use super::{Layout, Page, login_redirect, page, redirect, session};
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

async fn account_page<S: Store>(
    st: &Shared<S>,
    headers: &HeaderMap,
    caller: &Caller,
    saved: bool,
    error: Option<String>,
    new_token: Option<String>,
) -> Page {
    let identities = identities(st, caller.user.id).await?;
    let u = &caller.user;
    page(st, headers, Some(caller), StatusCode::OK, |layout| {
        AccountPage {
            layout,
            email: u.email.as_str(),
            first_name: &u.first_name,
            last_name: &u.last_name,
            phone: &u.phone,
            saved,
            error,
            new_token,
            identities,
        }
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
    account_page(
        &st,
        &headers,
        &caller,
        q.saved.as_deref() == Some("1"),
        None,
        None,
    )
    .await
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
            let text = errors
                .iter()
                .map(|(f, m)| format!("{f}: {m}"))
                .collect::<Vec<_>>()
                .join(" ");
            account_page(&st, &form.headers, &caller, false, Some(text), None).await
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn reset_token<S: Store>(State(st): State<Shared<S>>, req: Request) -> Page {
    let (form, caller) = Form::signed_in(&st, req, "/user/account/").await?;
    let token = st.services.reset_own_token(caller.user.id).await?;
    // Shown in this response only; a reload shows it no more.
    account_page(
        &st,
        &form.headers,
        &caller,
        false,
        None,
        Some(token.expose().to_owned()),
    )
    .await
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
            account_page(
                &st,
                &form.headers,
                &caller,
                false,
                Some(r.to_string()),
                None,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
