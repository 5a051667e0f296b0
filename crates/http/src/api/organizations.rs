//! `/api/organizations…` with memberships, and `/api/invite…`: the
//! organizations a user belongs to, their members, and the invite link.

use app::{AppError, MemberAccess, OrgRecord, Store};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use orgs::Role;
use serde_json::{Value, json};

use super::repr::{self, MetaCache};
use super::{Path, Query, Result};
use crate::ApiError;
use crate::auth::Authenticated;
use crate::body::{Fields, JsonObject};
use crate::state::Shared;
use crate::stream::{json_list, object_head};
use tokio::sync::OwnedSemaphorePermit;

const DEFAULT_PAGE_SIZE: usize = 20;
const MAX_PAGE_SIZE: usize = 1000;

/// The organizations the caller is a member of.
#[utoipa::path(get, path = "/api/organizations", tag = "organizations", responses((status = 200, description = "The caller's organizations", body = Vec<super::schema::OrganizationSummary>), super::schema::Errors))]
pub(super) async fn list_orgs<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
) -> Result<Json<Value>> {
    let orgs = st.services.organizations(&auth.caller.user).await?;
    Ok(Json(Value::Array(
        orgs.iter().map(repr::org_summary).collect(),
    )))
}

/// Create an organization (403 unless enabled in the configuration).
#[utoipa::path(post, path = "/api/organizations", tag = "organizations", request_body(content = super::schema::OrganizationCreate, content_type = "application/json", description = "The organization"), responses((status = 201, description = "The organization, created", body = super::schema::OrganizationSummary), super::schema::Errors))]
pub(super) async fn create_org<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    let mut f = Fields::default();
    let title = f.required_string(&body, "title");
    if !st.services.config().organization_creation_over_api {
        // Disabled: say so before looking at the input.
        return Err(AppError::OrgCreationDisabled.into());
    }
    f.finish()?;
    let org = st
        .services
        .create_organization(&auth.caller.user, title.as_deref().unwrap_or_default())
        .await?;
    Ok((StatusCode::CREATED, Json(repr::org_summary(&org))).into_response())
}

/// The organization's detail as its member sees it (the token only to
/// those allowed to see the invite link), its member ids written as they
/// are read (see `stream`); `written`: the row a change just saved, shown
/// as saved; `turn`: the list's turn, taken before the change.
async fn org_detail<S: Store>(
    st: Shared<S>,
    access: &MemberAccess,
    written: Option<OrgRecord>,
    turn: Option<OwnedSemaphorePermit>,
) -> Result<Response> {
    let (read, mut members, may_see_token) = st.services.organization(access).await?;
    let org = written.unwrap_or(read);
    let token = may_see_token.then(|| st.services.invite_token_of(&org));
    let detail = repr::org_detail(&org, token.as_ref().map(|t| t.expose()));
    let head = object_head(&detail, "users")?;
    Ok(json_list(turn, head, "]}", move |mut w| async move {
        while let Some(ids) = st.services.next_member_ids(&mut members).await? {
            for id in ids {
                w.item(&id)?;
            }
            w.flush().await?;
        }
        Ok(w)
    }))
}

/// An organization the caller is a member of.
#[utoipa::path(get, path = "/api/organizations/{id}", tag = "organizations", params(("id" = i64, Path, description = "The organization's id")), responses((status = 200, description = "The organization with its member ids", body = super::schema::OrganizationDetail), super::schema::Errors))]
pub(super) async fn get_org<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
    Path(id): Path<i64>,
) -> Result<Response> {
    let access = st.services.member_access(&auth.caller.user, id).await?;
    let turn = st.lists.turn_for(access.total).await?;
    org_detail(st, &access, None, turn).await
}

/// Change an organization's title or contact (owner or administrator).
#[utoipa::path(patch, path = "/api/organizations/{id}", tag = "organizations", params(("id" = i64, Path, description = "The organization's id")), request_body(content = super::schema::OrganizationPatch, content_type = "application/json", description = "The fields to change"), responses((status = 200, description = "The organization, changed", body = super::schema::OrganizationDetail), super::schema::Errors))]
pub(super) async fn patch_org<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
    Path(id): Path<i64>,
    JsonObject(body): JsonObject,
) -> Result<Response> {
    // Not a member: 404; a member who may not edit: 403; only then the input.
    st.services
        .require_in(&auth.caller.user, id, orgs::Action::EditOrganization)
        .await?;
    let mut f = Fields::default();
    f.refuse(
        &body,
        &[
            "token",
            "created_by",
            "id",
            "created_at",
            "updated_at",
            "users",
        ],
    );
    let title = f.string(&body, "title");
    let contact_info = f.nullable_string(&body, "contact_info");
    f.finish()?;
    // The answer lists the members: its turn comes first, so that a busy
    // server refuses the change rather than make it and answer 503.
    let access = st.services.member_access(&auth.caller.user, id).await?;
    let turn = st.lists.turn_for(access.total).await?;
    let written = st
        .services
        .update_organization(&auth.caller.user, id, title, contact_info)
        .await?;
    org_detail(st, &access, Some(written), turn).await
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct PageQuery {
    page: Option<String>,
    page_size: Option<String>,
}

/// The members, a page at a time, by username then id.
#[utoipa::path(get, path = "/api/organizations/{id}/memberships", tag = "organizations", params(("id" = i64, Path, description = "The organization's id"), ("page" = Option<i64>, Query, minimum = 1, description = "The page, from 1 (404 past the end)"), ("page_size" = Option<String>, Query, description = "Members a page (default 20, at most 1000); -1 for all")), responses((status = 200, description = "A page of members", body = super::schema::MembershipPage), super::schema::Errors))]
pub(super) async fn list_memberships<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
    Path(id): Path<i64>,
    Query(q): Query<PageQuery>,
) -> Result<Response> {
    let page: usize = match q.page.as_deref() {
        None | Some("") => 1,
        Some(p) => p.parse().map_err(|_| AppError::InvalidPage)?,
    };
    let page_size: usize = match q.page_size.as_deref() {
        Some("-1") => return all_memberships(st, &auth, id, page).await,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .min(MAX_PAGE_SIZE),
        None => DEFAULT_PAGE_SIZE,
    };
    let result = st
        .services
        .membership_page(&auth.caller.user, id, page, page_size)
        .await?;
    let mut cache = MetaCache::default();
    let mut results = Vec::with_capacity(result.members.len());
    for (m, u) in &result.members {
        let meta = cache.get(&st.services, u.active_organization).await?;
        results.push(repr::membership_item(m, u, meta));
    }
    let link = |p: usize| {
        json!(format!(
            "{}/api/organizations/{id}/memberships?page={p}&page_size={page_size}",
            st.url.base
        ))
    };
    let next = if page * page_size < result.count {
        link(page + 1)
    } else {
        Value::Null
    };
    let previous = if page > 1 {
        link(page - 1)
    } else {
        Value::Null
    };
    Ok(
        Json(
            json!({"count": result.count, "next": next, "previous": previous, "results": results}),
        )
        .into_response(),
    )
}

/// `page_size=-1`: every member on one page (whatever page is asked, as
/// before), written as the rows arrive (see `stream`).
async fn all_memberships<S: Store>(
    st: Shared<S>,
    auth: &Authenticated,
    id: i64,
    page: usize,
) -> Result<Response> {
    let access = st.services.member_access(&auth.caller.user, id).await?;
    if page == 0 {
        return Err(AppError::InvalidPage.into());
    }
    let turn = st.lists.turn_for(access.total).await?;
    let mut listing = st.services.open_members(&access, true).await?;
    let head = object_head(
        &json!({"count": listing.count, "next": null, "previous": null}),
        "results",
    )?;
    Ok(json_list(turn, head, "]}", move |mut w| async move {
        let mut cache = MetaCache::default();
        while let Some(rows) = st.services.next_members(&mut listing).await? {
            for (m, u) in &rows {
                let meta = cache.get(&st.services, u.active_organization).await?;
                w.item(&repr::MembershipJson {
                    membership: m,
                    user: u,
                    meta,
                })?;
            }
            w.flush().await?;
        }
        Ok(w)
    }))
}

/// A membership.
#[utoipa::path(get, path = "/api/organizations/{id}/memberships/{user_id}", tag = "organizations", params(("id" = i64, Path, description = "The organization's id"), ("user_id" = i64, Path, description = "The member's user id")), responses((status = 200, description = "The membership", body = super::schema::MembershipDetail), super::schema::Errors))]
pub(super) async fn get_membership<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
    Path((id, user_id)): Path<(i64, i64)>,
) -> Result<Json<Value>> {
    let (m, _) = st
        .services
        .membership(&auth.caller.user, id, user_id)
        .await?;
    Ok(Json(repr::membership_detail(&m)))
}

/// `{"role": "administrator" | "member"}`, by the owner or an administrator.
#[utoipa::path(patch, path = "/api/organizations/{id}/memberships/{user_id}", tag = "organizations", params(("id" = i64, Path, description = "The organization's id"), ("user_id" = i64, Path, description = "The member's user id")), request_body(content = super::schema::MembershipPatch, content_type = "application/json", description = "The new role"), responses((status = 200, description = "The membership, changed", body = super::schema::MembershipDetail), super::schema::Errors))]
pub(super) async fn patch_membership<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
    Path((id, user_id)): Path<(i64, i64)>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>> {
    st.services
        .require_in(&auth.caller.user, id, orgs::Action::ChangeRole)
        .await?;
    let mut f = Fields::default();
    f.refuse(&body, &["user", "organization", "created_at"]);
    let role = f.required_string(&body, "role");
    f.finish()?;
    let role = Role::parse(role.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::Validation(vec![("role".into(), e.to_string())]))?;
    let m = st
        .services
        .change_role(&auth.caller.user, id, user_id, role)
        .await?;
    Ok(Json(repr::membership_detail(&m)))
}

/// Remove a member (owner or administrator; not oneself).
#[utoipa::path(delete, path = "/api/organizations/{id}/memberships/{user_id}", tag = "organizations", params(("id" = i64, Path, description = "The organization's id"), ("user_id" = i64, Path, description = "The member's user id")), responses((status = 204, description = "Removed"), super::schema::Errors))]
pub(super) async fn delete_membership<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
    Path((id, user_id)): Path<(i64, i64)>,
) -> Result<StatusCode> {
    st.services
        .remove_member(&auth.caller.user, id, user_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn invite_body<S>(st: &Shared<S>, token: &invites::InviteToken) -> Value {
    json!({"token": token.expose(), "invite_url": format!("{}{}", st.url.prefix, token.signup_path())})
}

/// The invite link of the caller's active organization.
#[utoipa::path(get, path = "/api/invite", tag = "invite link", responses((status = 200, description = "The invite link", body = super::schema::InviteLink), super::schema::Errors))]
pub(super) async fn invite<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
) -> Result<Json<Value>> {
    let (_, token) = st.services.invite_link(&auth.caller).await?;
    Ok(Json(invite_body(&st, &token)))
}

/// A new invite link (owner or administrator).
#[utoipa::path(post, path = "/api/invite/reset-token", tag = "invite link", responses((status = 201, description = "The new invite link; the old one registers no one", body = super::schema::InviteLink), super::schema::Errors))]
pub(super) async fn reset_invite<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
) -> Result<Response> {
    let (_, token) = st.services.reset_invite(&auth.caller).await?;
    Ok((StatusCode::CREATED, Json(invite_body(&st, &token))).into_response())
}
