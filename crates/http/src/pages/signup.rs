//! `/user/signup/`, with `?token=` from an invite link.

use app::{AppError, Field, SecretString, SignupRequest, Store};
use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use signup_policy::Deny;

use super::forms::{Form, presented_invite, query_next};
use super::login::start_session;
use super::{Layout, Page, already_signed_in, form_action, page};
use crate::state::Shared;

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
    password_login: bool,
    /// (label, link): "Sign up with" and the label, the invite carried through.
    providers: Vec<(String, String)>,
}

/// What the page shows besides its layout.
struct Shown<'a> {
    state: SignupState,
    joining: bool,
    email: &'a str,
    error: Option<&'a str>,
    email_error: Option<String>,
    password_error: Option<String>,
}

impl Shown<'_> {
    fn form(joining: bool) -> Self {
        Shown {
            state: SignupState::Form,
            joining,
            email: "",
            error: None,
            email_error: None,
            password_error: None,
        }
    }

    /// The page for a refused invite, and its status.
    fn denied(d: Deny) -> (Self, StatusCode) {
        let state = match d {
            Deny::InviteRequired => SignupState::NeedsInvite,
            Deny::InviteStale => SignupState::StaleInvite,
            Deny::InviteInvalid => SignupState::InvalidInvite,
        };
        (
            Shown {
                state,
                ..Shown::form(false)
            },
            StatusCode::FORBIDDEN,
        )
    }
}

fn signup_page<S: Store>(
    st: &Shared<S>,
    headers: &HeaderMap,
    uri: &Uri,
    shown: Shown<'_>,
    status: StatusCode,
) -> Page {
    page(st, headers, None, status, |layout| SignupPage {
        layout,
        state: shown.state,
        action: form_action(st, "/user/signup/", uri),
        joining: shown.joining,
        email: shown.email,
        error: shown.error,
        email_error: shown.email_error,
        password_error: shown.password_error,
        password_login: st.services.config().password_login,
        providers: super::login::provider_links(
            st,
            query_next(uri).as_deref(),
            presented_invite(uri).as_deref(),
        ),
    })
}

pub(super) async fn signup_form<S: Store>(
    State(st): State<Shared<S>>,
    headers: HeaderMap,
    uri: Uri,
) -> Page {
    if let Some(onward) = already_signed_in(&st, &headers, &uri).await? {
        return Ok(onward);
    }
    let (shown, status) = match st
        .services
        .signup_gate(presented_invite(&uri).as_deref())
        .await
    {
        Ok(org) => (Shown::form(org.is_some()), StatusCode::OK),
        Err(AppError::SignupDenied(d)) => Shown::denied(d),
        Err(e) => return Err(e.into()),
    };
    signup_page(&st, &headers, &uri, shown, status)
}

pub(super) async fn signup<S: Store>(State(st): State<Shared<S>>, req: Request) -> Page {
    let form = Form::read_checked(&st, req).await?;
    let email = form.field("email").unwrap_or("");
    let invite = presented_invite(&form.uri);
    let request = SignupRequest {
        email: email.to_owned(),
        password: SecretString::new(form.field("password").unwrap_or("")),
        invite: invite.as_deref().map(SecretString::new),
        client: form.client,
    };
    let mut shown = Shown {
        email,
        ..Shown::form(invite.is_some())
    };
    match st.services.sign_up(request).await {
        Ok((created, _token)) => {
            return start_session(
                &st,
                &form.headers,
                created.user.id,
                query_next(&form.uri).as_deref(),
                true,
            )
            .await;
        }
        Err(AppError::Throttled { retry_after_secs }) => {
            shown.error = Some("Too many sign-ups from your address. Try again later.");
            let mut resp = signup_page(
                &st,
                &form.headers,
                &form.uri,
                shown,
                StatusCode::TOO_MANY_REQUESTS,
            )?;
            super::retry_after(&mut resp, retry_after_secs);
            return Ok(resp);
        }
        Err(AppError::SignupDenied(d)) => {
            let (shown, status) = Shown::denied(d);
            return signup_page(&st, &form.headers, &form.uri, shown, status);
        }
        Err(AppError::PasswordLoginDisabled) => {
            shown.error = Some("Accounts here are made through your organization's sign-in.");
            return signup_page(&st, &form.headers, &form.uri, shown, StatusCode::FORBIDDEN);
        }
        Err(AppError::Invalid {
            field: Field::Email,
            source,
        }) => shown.email_error = Some(source.to_string()),
        Err(AppError::Invalid {
            field: Field::Password,
            source,
        }) => shown.password_error = Some(source.to_string()),
        Err(AppError::EmailTaken) => {
            shown.email_error = Some(crate::error::wire_detail(&AppError::EmailTaken))
        }
        Err(AppError::EmailDomain(refusal)) => shown.email_error = Some(refusal.to_string()),
        Err(e) => return Err(e.into()),
    }
    signup_page(&st, &form.headers, &form.uri, shown, StatusCode::OK)
}
