//! `/organization/`: the members, **Add People** with the invite link, and
//! **Reset Link**.

use app::{AppError, Store};
use askama::Template;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode};

use super::forms::Form;
use super::{Layout, Page, login_redirect, message, not_permitted, page, redirect, session};
use crate::state::Shared;

const MEMBERS_PER_PAGE: usize = 20;

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
pub(super) struct OrgQuery {
    page: Option<String>,
    dialog: Option<String>,
    reset: Option<String>,
}

pub(super) async fn organization<S: Store>(
    State(st): State<Shared<S>>,
    headers: HeaderMap,
    Query(q): Query<OrgQuery>,
) -> Page {
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
    let meta = services.org_meta(Some(org_id)).await?;
    let invite_url = match services.invite_link(&caller).await {
        Ok((_, token)) => Some(format!("{}{}", st.url.base, token.signup_path())),
        Err(AppError::Forbidden) => None,
        Err(e) => return Err(e.into()),
    };
    page(&st, &headers, Some(&caller), StatusCode::OK, |layout| {
        OrganizationPage {
            layout,
            org_title: meta.title,
            members,
            count: result.count,
            page: page_no,
            pages,
            previous: (page_no > 1).then(|| page_no - 1),
            next: (page_no < pages).then(|| page_no + 1),
            dialog: q.dialog.unwrap_or_default(),
            invite_url,
            can_reset: role.is_manager(),
            just_reset: q.reset.as_deref() == Some("1"),
        }
    })
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
