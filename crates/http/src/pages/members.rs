//! `POST /organization/members/<id>/<action>`: what an owner or
//! administrator does to a member from the organization page, each after a
//! confirmation dialog and with the CSRF token: `role` (with the field
//! `role`), `remove`, `deactivate`, `activate`, `transfer` (the owner
//! only), and `reset-link` (a one-time password reset link, shown in the
//! answer only).

use app::{AppError, Store};
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use orgs::Role;

use super::forms::Form;
use super::organization::{OrgQuery, Outcome, organization_page};
use super::{Page, message, redirect};
use crate::state::Shared;

pub(super) async fn act<S: Store>(
    State(st): State<Shared<S>>,
    Path((id, action)): Path<(String, String)>,
    req: Request,
) -> Page {
    let (form, caller) = Form::signed_in(&st, req, "/organization/").await?;
    let headers = &form.headers;
    // Not a member of an organization: a 404, before any role is looked at.
    let (org_id, _) = caller.active()?;
    let Ok(member) = id.parse::<i64>() else {
        return Err(AppError::MemberNotFound.into());
    };
    let s = &st.services;
    let user = &caller.user;
    let result = match action.as_str() {
        "role" => match Role::parse(form.field("role").unwrap_or_default()) {
            Ok(Role::Owner) => Err(AppError::OneOwner),
            Ok(role) => s.change_role(user, org_id, member, role).await.map(drop),
            Err(e) => Err(AppError::Validation(vec![("role", e.to_string())])),
        },
        "remove" => s.remove_member(user, org_id, member).await,
        "deactivate" | "activate" => s
            .set_member_active(user, org_id, member, action == "activate")
            .await
            .map(drop),
        "transfer" => s.transfer_ownership(user, org_id, member).await,
        "reset-link" => {
            return match s.make_reset_link(user, org_id, member).await {
                Ok(link) => {
                    let outcome = Outcome {
                        reset_url: Some(format!("{}{}", st.url.base, link.path())),
                        reset_for: Some(link.user.email.as_str().to_owned()),
                        ..Outcome::default()
                    };
                    let q = OrgQuery::for_member(member, "reset-made");
                    organization_page(&st, headers, &caller, q, outcome).await
                }
                Err(e) => refusal(&st, headers, e),
            };
        }
        _ => return Err(AppError::NotFound("Action").into()),
    };
    match result {
        Ok(()) => Ok(redirect(&format!(
            "{}/organization/?done={action}",
            st.url.prefix
        ))),
        Err(e) => refusal(&st, headers, e),
    }
}

/// A refused action: the plain page saying why (a 403 for a right the
/// viewer does not have, as for a stale form).
fn refusal<S>(st: &Shared<S>, headers: &axum::http::HeaderMap, e: AppError) -> Page {
    let status = match &e {
        AppError::Forbidden => return not_permitted_action(st, headers),
        AppError::MemberNotFound
        | AppError::NotFound(_)
        | AppError::Store(app::StoreError::NotFound(_)) => StatusCode::NOT_FOUND,
        AppError::Validation(_) | AppError::OneOwner => StatusCode::BAD_REQUEST,
        AppError::CannotRemoveSelf
        | AppError::LastOwner
        | AppError::InactiveOwner
        | AppError::OwnershipMoved => StatusCode::CONFLICT,
        _ => return Err(e.into()),
    };
    let text = match &e {
        AppError::Validation(errors) => errors
            .iter()
            .map(|(f, m)| format!("{f}: {m}"))
            .collect::<Vec<_>>()
            .join(" "),
        AppError::CannotRemoveSelf => "You cannot remove yourself.".to_owned(),
        AppError::Store(_) => "That member is no longer here.".to_owned(),
        other => other.to_string(),
    };
    message(st, headers, status, "Not done", &text)
}

fn not_permitted_action<S>(st: &Shared<S>, headers: &axum::http::HeaderMap) -> Page {
    message(
        st,
        headers,
        StatusCode::FORBIDDEN,
        "Not permitted",
        "You do not have permission to do this to that member: only the owner, or an administrator acting on someone below them in every organization they belong to.",
    )
}
