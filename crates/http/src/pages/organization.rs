//! `/organization/`: the members, **Add People** with the invite link,
//! **Reset Link**, and for owners and administrators a **Manage** dialog per
//! member whose actions (`super::members`) each ask for confirmation.

use app::{AppError, Store};
use askama::Template;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode};

use super::forms::Form;
use super::{Layout, Page, login_redirect, message, not_permitted, page, redirect, session};
use crate::state::Shared;

const MEMBERS_PER_PAGE: usize = 20;

struct MemberRow {
    id: i64,
    name: String,
    email: String,
    role: &'static str,
    joined: String,
    active: bool,
    /// The viewer may open **Manage** for this row (not themselves).
    manageable: bool,
}

/// The member a **Manage** dialog is about.
pub(super) struct ManageView {
    id: i64,
    name: String,
    email: String,
    role: &'static str,
    active: bool,
    is_owner: bool,
}

/// A confirmation dialog's words for an action on a member.
pub(super) struct Confirm {
    title: String,
    text: String,
    button: &'static str,
}

/// The confirmation for `dialog` about `m` (not for the owner, whose only
/// change is a transfer made from another member's dialog), or none.
fn confirm(dialog: &str, m: &ManageView, viewer_is_owner: bool) -> Option<Confirm> {
    if m.is_owner {
        return None;
    }
    let who = &m.email;
    let (title, text, button) = match dialog {
        "role" => (
            format!("Change the role of {who}?"),
            "Administrators manage members and the invite link; members use the organization.".to_owned(),
            "Change role",
        ),
        "remove" => (
            format!("Remove {who} from the organization?"),
            "They keep their account but lose this organization at once.".to_owned(),
            "Remove",
        ),
        "deactivate" if m.active => (
            format!("Deactivate {who}?"),
            "Their sessions end at once and they cannot log in or use the API until re-activated. This applies to their whole account.".to_owned(),
            "Deactivate",
        ),
        "activate" if !m.active => (
            format!("Re-activate {who}?"),
            "They can log in again with their password or their organization's sign-in.".to_owned(),
            "Re-activate",
        ),
        "transfer" if viewer_is_owner => (
            format!("Make {who} the owner?"),
            "They become the organization's owner and you become an administrator. Only the new owner can give it back.".to_owned(),
            "Transfer ownership",
        ),
        "reset-link" => (
            format!("Make a password reset link for {who}?"),
            "You get a link to give them; it sets a new password once, logs them out everywhere, and replaces any earlier link.".to_owned(),
            "Make link",
        ),
        _ => return None,
    };
    Some(Confirm {
        title,
        text,
        button,
    })
}

/// What an action on a member left to show: a note, or a reset link made
/// just now (shown in this answer only).
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub(super) reset_url: Option<String>,
    pub(super) reset_for: Option<String>,
    /// An invitation just made without SMTP: its link, shown this once.
    pub(super) invitation_url: Option<String>,
    /// What the invitation form said (a mailed invitation, or a refusal).
    pub(super) invitation_note: Option<String>,
    pub(super) invitation_error: Option<String>,
}

/// A pending invitation as the Add People dialog lists it.
pub(super) struct InvitationView {
    id: i64,
    email: String,
    role: &'static str,
    expires: String,
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
    manage: Option<ManageView>,
    confirm: Option<Confirm>,
    invitations: Vec<InvitationView>,
    viewer_is_owner: bool,
    done: Option<&'static str>,
    outcome: Outcome,
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct OrgQuery {
    page: Option<String>,
    dialog: Option<String>,
    reset: Option<String>,
    member: Option<String>,
    done: Option<String>,
}

impl OrgQuery {
    pub(super) fn dialog(dialog: &str) -> Self {
        Self {
            page: None,
            dialog: Some(dialog.to_owned()),
            reset: None,
            member: None,
            done: None,
        }
    }

    pub(super) fn for_member(member: i64, dialog: &str) -> Self {
        Self {
            page: None,
            dialog: Some(dialog.to_owned()),
            reset: None,
            member: Some(member.to_string()),
            done: None,
        }
    }
}

/// What `?done=` says after an action.
fn done_note(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "role" => "The role was changed.",
        "remove" => "The member was removed from the organization.",
        "deactivate" => {
            "The account was deactivated: its sessions have ended and it cannot log in."
        }
        "activate" => "The account was re-activated.",
        "transfer" => "The ownership was transferred: you are an administrator now.",
        "revoked" => "The invitation was revoked: its link no longer works.",
        _ => return None,
    })
}

pub(super) async fn organization<S: Store>(
    State(st): State<Shared<S>>,
    headers: HeaderMap,
    Query(q): Query<OrgQuery>,
) -> Page {
    let Some(caller) = session(&st, &headers).await? else {
        return Ok(login_redirect(&st, "/organization/"));
    };
    organization_page(&st, &headers, &caller, q, Outcome::default()).await
}

/// The page as `caller` sees it, with what an action left to show.
pub(super) async fn organization_page<S: Store>(
    st: &Shared<S>,
    headers: &HeaderMap,
    caller: &app::Caller,
    q: OrgQuery,
    outcome: Outcome,
) -> Page {
    let (st, headers) = (st, headers);
    let Ok((org_id, role)) = caller.active() else {
        return message(
            st,
            headers,
            StatusCode::NOT_FOUND,
            "Organization",
            "You are not a member of an organization.",
        );
    };
    let services = &st.services;
    let page_no: usize = q
        .page
        .as_deref()
        .and_then(|p| p.parse().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let result = match services
        .membership_page(&caller.user, org_id, page_no, MEMBERS_PER_PAGE)
        .await
    {
        Err(AppError::InvalidPage) => {
            services
                .membership_page(&caller.user, org_id, 1, MEMBERS_PER_PAGE)
                .await?
        }
        other => other?,
    };
    let pages = result.count.div_ceil(MEMBERS_PER_PAGE).max(1);
    let page_no = page_no.min(pages);
    let members = result
        .members
        .iter()
        .map(|(m, u)| MemberRow {
            id: u.id,
            name: display_name(u),
            email: u.email.as_str().to_owned(),
            role: m.role.as_str(),
            joined: app::time::iso8601(m.created_at)
                .get(..10)
                .unwrap_or("")
                .to_owned(),
            active: u.is_active,
            manageable: role.is_manager() && u.id != caller.user.id,
        })
        .collect();
    let manage = match q.member.as_deref().map(str::parse::<i64>) {
        Some(Ok(id)) if role.is_manager() && id != caller.user.id => {
            match services.membership(&caller.user, org_id, id).await {
                Ok((m, u)) => Some(ManageView {
                    id: u.id,
                    name: display_name(&u),
                    email: u.email.as_str().to_owned(),
                    role: m.role.as_str(),
                    active: u.is_active,
                    is_owner: m.role == orgs::Role::Owner,
                }),
                Err(AppError::MemberNotFound) => None,
                Err(e) => return Err(e.into()),
            }
        }
        _ => None,
    };
    let invitations = if role.is_manager() {
        services
            .pending_invitations(&caller.user, org_id)
            .await?
            .into_iter()
            .map(|i| InvitationView {
                id: i.id,
                email: i.email,
                role: i.role.as_str(),
                expires: app::time::iso8601(i.expires_at)
                    .get(..10)
                    .unwrap_or("")
                    .to_owned(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let dialog = q.dialog.unwrap_or_default();
    let confirm = manage
        .as_ref()
        .and_then(|m| confirm(&dialog, m, role == orgs::Role::Owner));
    let meta = services.org_meta(Some(org_id)).await?;
    let invite_url = match services.invite_link(caller).await {
        Ok((_, token)) => Some(format!("{}{}", st.url.base, token.signup_path())),
        Err(AppError::Forbidden) => None,
        Err(e) => return Err(e.into()),
    };
    page(st, headers, Some(caller), StatusCode::OK, |layout| {
        OrganizationPage {
            layout,
            org_title: meta.title,
            members,
            count: result.count,
            page: page_no,
            pages,
            previous: (page_no > 1).then(|| page_no - 1),
            next: (page_no < pages).then(|| page_no + 1),
            dialog,
            invite_url,
            can_reset: role.is_manager(),
            just_reset: q.reset.as_deref() == Some("1"),
            manage,
            confirm,
            invitations,
            viewer_is_owner: role == orgs::Role::Owner,
            done: done_note(q.done.as_deref()),
            outcome,
        }
    })
}

fn display_name(u: &app::UserRecord) -> String {
    match (u.first_name.is_empty(), u.last_name.is_empty()) {
        (true, true) => u.username.clone(),
        _ => format!("{} {}", u.first_name, u.last_name)
            .trim()
            .to_owned(),
    }
}

pub(super) async fn reset_link<S: Store>(State(st): State<Shared<S>>, req: Request) -> Page {
    let (form, caller) = Form::signed_in(&st, req, "/organization/").await?;
    // Not a member of an organization: a 404, before any role is looked at.
    caller.active()?;
    match st.services.reset_invite(&caller).await {
        Ok(_) => Ok(redirect(&format!(
            "{}/organization/?dialog=add-people&reset=1",
            st.url.prefix
        ))),
        Err(AppError::Forbidden | AppError::NotFound(_)) => not_permitted(&st, &form.headers),
        Err(e) => Err(e.into()),
    }
}
