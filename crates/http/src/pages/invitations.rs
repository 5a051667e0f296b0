//! Invitations of one person on the pages: **Invite** under Add People
//! (`POST /organization/invitations`), **Revoke**
//! (`POST /organization/invitations/<id>/revoke`), and the invited
//! person's page, `/user/invitation/?token=…`, where they make their
//! account (for the invited address only, once).

use app::{AppError, Field, Store};
use askama::Template;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use orgs::Role;

use super::forms::Form;
use super::organization::{OrgQuery, Outcome, organization_page};
use super::reset_password::{link_not_valid, no_store, token};
use super::{Layout, Page, form_action, message, not_permitted, page, redirect};
use crate::state::Shared;

pub(super) async fn invite<S: Store>(State(st): State<Shared<S>>, req: Request) -> Page {
    let (form, caller) = Form::signed_in(&st, req, "/organization/").await?;
    let (org_id, _) = caller.active()?;
    let email = form.field("email").unwrap_or_default();
    let mut outcome = Outcome::default();
    let role = match Role::parse(form.field("role").unwrap_or("member")) {
        Ok(r) => r,
        Err(e) => {
            outcome.invitation_error = Some(format!("role: {e}"));
            let q = OrgQuery::dialog("add-people");
            return organization_page(&st, &form.headers, &caller, q, outcome).await;
        }
    };
    match st
        .services
        .invite_person(&caller.user, org_id, email, role)
        .await
    {
        Ok(invited) => match invited.path() {
            Some(path) => {
                outcome.invitation_url = Some(format!("{}{path}", st.url.base));
                outcome.invitation_note = Some(format!(
                    "Invitation made for {} as {}. Send them this link yourself: it is shown this once.",
                    invited.record.email, invited.record.role
                ));
            }
            None => {
                outcome.invitation_note = Some(format!(
                    "Invitation mailed to {} as {}.",
                    invited.record.email, invited.record.role
                ));
            }
        },
        Err(AppError::Forbidden) => return not_permitted(&st, &form.headers),
        Err(AppError::Invalid { source, .. }) => {
            outcome.invitation_error = Some(format!("email: {source}"));
        }
        Err(e @ (AppError::EmailTaken | AppError::EmailDomain(_))) => {
            outcome.invitation_error = Some(format!("email: {}", crate::error::wire_detail(&e)));
        }
        Err(AppError::OneOwner) => {
            outcome.invitation_error =
                Some("role: invite as administrator or member; the owner is one.".into());
        }
        Err(e) => return Err(e.into()),
    }
    let q = OrgQuery::dialog("add-people");
    organization_page(&st, &form.headers, &caller, q, outcome).await
}

pub(super) async fn revoke<S: Store>(
    State(st): State<Shared<S>>,
    Path(id): Path<String>,
    req: Request,
) -> Page {
    let (form, caller) = Form::signed_in(&st, req, "/organization/").await?;
    let (org_id, _) = caller.active()?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(AppError::NotFound("Invitation").into());
    };
    match st
        .services
        .revoke_invitation(&caller.user, org_id, id)
        .await
    {
        Ok(()) => Ok(redirect(&format!(
            "{}/organization/?dialog=add-people&done=revoked",
            st.url.prefix
        ))),
        Err(AppError::Forbidden) => not_permitted(&st, &form.headers),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "invitation.html")]
struct InvitationPage {
    layout: Layout,
    action: String,
    email: String,
    role: &'static str,
    email_error: Option<String>,
    password_error: Option<String>,
}

fn invalid<S>(st: &Shared<S>, headers: &HeaderMap) -> Page {
    link_not_valid(
        st,
        headers,
        "Invitation not valid",
        &AppError::InvitationInvalid,
    )
}

fn form_page<S>(
    st: &Shared<S>,
    headers: &HeaderMap,
    uri: &Uri,
    email: String,
    role: Role,
    email_error: Option<String>,
    password_error: Option<String>,
) -> Page {
    let status = if email_error.is_some() || password_error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page(st, headers, None, status, |layout| InvitationPage {
        layout,
        action: form_action(st, app::INVITATION_PATH, uri),
        email,
        role: role.as_str(),
        email_error,
        password_error,
    })
}

pub(super) async fn accept_form<S: Store>(
    State(st): State<Shared<S>>,
    headers: HeaderMap,
    uri: Uri,
) -> Page {
    let Some(t) = token(&uri) else {
        return invalid(&st, &headers);
    };
    match st.services.invitation(&t).await {
        Ok(i) => form_page(&st, &headers, &uri, i.email, i.role, None, None).map(no_store),
        Err(AppError::InvitationInvalid) => invalid(&st, &headers),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn accept<S: Store>(State(st): State<Shared<S>>, req: Request) -> Page {
    let form = Form::read_checked(&st, req).await?;
    let headers = &form.headers;
    let Some(t) = token(&form.uri) else {
        return invalid(&st, headers);
    };
    let email = form.field("email").unwrap_or_default().to_owned();
    let password = app::SecretString::new(form.field("password").unwrap_or_default());
    let refused = |e: AppError| -> Result<(Option<String>, Option<String>), AppError> {
        match e {
            AppError::Invalid {
                field: Field::Password,
                source,
            } => Ok((None, Some(source.to_string()))),
            AppError::Invalid { source, .. } => Ok((Some(source.to_string()), None)),
            e @ (AppError::InvitationForAnother
            | AppError::EmailTaken
            | AppError::EmailDomain(_)) => Ok((Some(crate::error::wire_detail(&e)), None)),
            other => Err(other),
        }
    };
    match st.services.accept_invitation(&t, &email, &password).await {
        Ok((created, _)) => {
            super::login::start_session(&st, headers, created.user.id, Some("/organization/"), true)
                .await
        }
        Err(AppError::InvitationInvalid) => invalid(&st, headers),
        Err(e @ (AppError::SignupDenied(_) | AppError::PasswordLoginDisabled)) => message(
            &st,
            headers,
            StatusCode::FORBIDDEN,
            "Not permitted",
            &e.to_string(),
        ),
        Err(e) => {
            let invitation = match st.services.invitation(&t).await {
                Ok(i) => i,
                Err(AppError::InvitationInvalid) => return invalid(&st, headers),
                Err(other) => return Err(other.into()),
            };
            let (email_error, password_error) = refused(e)?;
            form_page(
                &st,
                headers,
                &form.uri,
                email,
                invitation.role,
                email_error,
                password_error,
            )
            .map(no_store)
        }
    }
}
