//! [`OrgStore`]: organizations and their memberships, with member pages
//! read by id from the member order kept in memory.

use std::collections::HashMap;
use std::sync::Arc;

use accounts::{Email, SecretDigest};
use app::{MembershipRecord, OrgRecord, OrgStore, StoreError, TokenSettingsChange, UserRecord};
use invites::InviteState;
use orgs::{OrgTitle, Role};
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    Set,
};

use super::rows::{
    current_members, generation_i64, membership_record, org_record, salt_hex, select_prefixed,
    user_record,
};
use super::txn::Write;
use super::{R, SeaStore, backend};
use crate::db::entities::{memberships, organizations, users};

/// How often a membership page is read again when members change under it.
const MEMBER_PAGE_ATTEMPTS: usize = 4;

/// A new organization row (no owner yet), in the open transaction.
pub(super) async fn insert_org(
    w: &Write,
    title: &str,
    invite: &InviteState,
    digest: &SecretDigest,
    now: i64,
) -> R<organizations::Model> {
    organizations::ActiveModel {
        title: Set(title.to_owned()),
        contact_info: Set(None),
        created_by: Set(None),
        invite_generation: Set(generation_i64(invite)?),
        invite_salt: Set(salt_hex(invite.salt())),
        invite_digest: Set(digest.to_hex()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&**w)
    .await
    .map_err(backend)
}

/// A current membership, in the open transaction.
pub(super) async fn insert_membership(
    w: &Write,
    user_id: i64,
    org_id: i64,
    role: Role,
    now: i64,
) -> R<()> {
    memberships::ActiveModel {
        user_id: Set(user_id),
        organization_id: Set(org_id),
        role: Set(role.as_str().to_owned()),
        created_at: Set(now),
        removed_at: Set(None),
        ..Default::default()
    }
    .insert(&**w)
    .await
    .map_err(backend)?;
    Ok(())
}

/// An organization's row, read in the open transaction; `NotFound` for an unknown one.
pub(super) async fn org_row(w: &Write, org_id: i64) -> R<organizations::Model> {
    organizations::Entity::find_by_id(org_id)
        .one(&**w)
        .await
        .map_err(backend)?
        .ok_or(StoreError::NotFound("Organization"))
}

/// Sets a current membership's column; `NotFound` when there is none.
async fn set_current_membership(
    w: &Write,
    user_id: i64,
    org_id: i64,
    column: memberships::Column,
    value: sea_orm::Value,
) -> R<()> {
    let res = memberships::Entity::update_many()
        .col_expr(column, Expr::value(value))
        .filter(memberships::Column::UserId.eq(user_id))
        .filter(memberships::Column::OrganizationId.eq(org_id))
        .filter(memberships::Column::RemovedAt.is_null())
        .exec(&**w)
        .await
        .map_err(backend)?;
    if res.rows_affected == 0 {
        return Err(StoreError::NotFound("Member"));
    }
    Ok(())
}

impl SeaStore {
    /// Reads an organization, lets `edit` change it, and saves it with
    /// `updated_at`, in one transaction; `NotFound` for an unknown one.
    pub(super) async fn edit_org(
        &self,
        org_id: i64,
        now: i64,
        edit: impl FnOnce(&mut organizations::ActiveModel) -> R<()> + Send,
    ) -> R<OrgRecord> {
        let w = self.write().await?;
        let work = async {
            let mut active: organizations::ActiveModel = org_row(&w, org_id).await?.into();
            edit(&mut active)?;
            active.updated_at = Set(now);
            active.update(&*w).await.map_err(backend)
        }
        .await;
        org_record(w.finish(work).await?)
    }

    /// `org_id`'s member order, from memory while its `members_version` is
    /// the one it was read at; `None` for an unknown organization.
    async fn member_order(&self, org_id: i64) -> R<Option<Arc<Vec<i64>>>> {
        let mut q = Query::select();
        q.column(organizations::Column::MembersVersion)
            .from(organizations::Entity)
            .and_where(Expr::col(organizations::Column::Id).eq(org_id));
        let Some(row) = self.query_one(&q).await? else {
            return Ok(None);
        };
        let version: i64 = row.try_get_by_index(0).map_err(backend)?;
        let cache = &self.member_orders;
        if let Some(ids) = cache.get(org_id, version) {
            return Ok(Some(ids));
        }
        let _reading = cache.reading().await;
        if let Some(ids) = cache.get(org_id, version) {
            return Ok(Some(ids));
        }
        // Read after the version: a change in between makes the next
        // request read the order again, never serve an older one.
        let mut q = current_members(org_id);
        q.column((Alias::new("u"), users::Column::Username))
            .column((Alias::new("u"), users::Column::Id));
        let mut members = self
            .query_all(&q)
            .await?
            .iter()
            .map(|row| {
                Ok((
                    row.try_get_by_index::<String>(0)?,
                    row.try_get_by_index::<i64>(1)?,
                ))
            })
            .collect::<Result<Vec<(String, i64)>, DbErr>>()
            .map_err(backend)?;
        members.sort_unstable();
        let ids = members.into_iter().map(|(_, id)| id).collect();
        Ok(Some(cache.put(org_id, version, ids)))
    }

    /// The current memberships in `org_id` of the users `ids`, with the users, in the order of `ids`;
    /// `None` when one of them is no longer a current member.
    async fn members_by_ids(
        &self,
        org_id: i64,
        ids: &[i64],
    ) -> R<Option<Vec<(MembershipRecord, UserRecord)>>> {
        let m = Alias::new("m");
        let mut q = current_members(org_id);
        q.column((Alias::new("u"), Asterisk));
        select_prefixed::<memberships::Column>(&mut q, &m, "m_");
        q.and_where(Expr::col((m, memberships::Column::UserId)).is_in(ids.iter().copied()));
        let mut found: HashMap<i64, (memberships::Model, users::Model)> = HashMap::new();
        for row in self.query_all(&q).await? {
            let member = memberships::Model::from_query_result(&row, "m_").map_err(backend)?;
            let user = users::Model::from_query_result(&row, "").map_err(backend)?;
            found.insert(member.user_id, (member, user));
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            match found.remove(id) {
                Some((m, u)) => out.push((membership_record(m)?, user_record(u)?)),
                None => return Ok(None),
            }
        }
        Ok(Some(out))
    }
}

impl OrgStore for SeaStore {
    async fn organization(&self, id: i64) -> R<Option<OrgRecord>> {
        organizations::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(backend)?
            .map(org_record)
            .transpose()
    }

    async fn first_organization(&self) -> R<Option<OrgRecord>> {
        organizations::Entity::find()
            .order_by_asc(organizations::Column::Id)
            .one(&self.db)
            .await
            .map_err(backend)?
            .map(org_record)
            .transpose()
    }

    async fn organizations_of(&self, user_id: i64) -> R<Vec<OrgRecord>> {
        let ids: Vec<i64> = memberships::Entity::find()
            .filter(memberships::Column::UserId.eq(user_id))
            .filter(memberships::Column::RemovedAt.is_null())
            .all(&self.db)
            .await
            .map_err(backend)?
            .into_iter()
            .map(|m| m.organization_id)
            .collect();
        organizations::Entity::find()
            .filter(organizations::Column::Id.is_in(ids))
            .order_by_asc(organizations::Column::Id)
            .all(&self.db)
            .await
            .map_err(backend)?
            .into_iter()
            .map(org_record)
            .collect()
    }

    async fn create_organization(
        &self,
        owner: i64,
        title: OrgTitle,
        invite: InviteState,
        invite_digest: SecretDigest,
        now: i64,
    ) -> R<OrgRecord> {
        let w = self.write().await?;
        let work = async {
            let org = insert_org(&w, title.as_str(), &invite, &invite_digest, now).await?;
            let mut active: organizations::ActiveModel = org.into();
            active.created_by = Set(Some(owner));
            let org = active.update(&*w).await.map_err(backend)?;
            insert_membership(&w, owner, org.id, Role::Owner, now).await?;
            Ok(org)
        }
        .await;
        org_record(w.finish(work).await?)
    }

    async fn update_organization(
        &self,
        org_id: i64,
        title: Option<OrgTitle>,
        contact_info: Option<Option<Email>>,
        now: i64,
    ) -> R<OrgRecord> {
        self.edit_org(org_id, now, |active| {
            if let Some(t) = title {
                active.title = Set(t.as_str().to_owned());
            }
            if let Some(c) = contact_info {
                active.contact_info = Set(c.map(|e| e.as_str().to_owned()));
            }
            Ok(())
        })
        .await
    }

    async fn set_token_settings(
        &self,
        org_id: i64,
        change: TokenSettingsChange,
        now: i64,
    ) -> R<OrgRecord> {
        // Only the changed columns are set, on the row read inside the
        // write transaction: a concurrent change of another setting holds.
        self.edit_org(org_id, now, |active| {
            if let Some(b) = change.api_tokens_enabled {
                active.api_tokens_enabled = Set(b);
            }
            if let Some(b) = change.legacy_api_tokens_enabled {
                active.legacy_api_tokens_enabled = Set(b);
            }
            if let Some(days) = change.api_token_ttl_days {
                active.api_token_ttl_days = Set(i32::try_from(days)
                    .map_err(|_| StoreError::Corrupt("token lifetime out of range".into()))?);
            }
            Ok(())
        })
        .await
    }

    async fn membership(&self, user_id: i64, org_id: i64) -> R<Option<MembershipRecord>> {
        memberships::Entity::find()
            .filter(memberships::Column::UserId.eq(user_id))
            .filter(memberships::Column::OrganizationId.eq(org_id))
            .one(&self.db)
            .await
            .map_err(backend)?
            .map(membership_record)
            .transpose()
    }

    async fn org_members(&self, org_id: i64) -> R<Vec<(MembershipRecord, UserRecord)>> {
        let members = memberships::Entity::find()
            .filter(memberships::Column::OrganizationId.eq(org_id))
            .filter(memberships::Column::RemovedAt.is_null())
            .order_by_asc(memberships::Column::UserId)
            .all(&self.db)
            .await
            .map_err(backend)?;
        // A subquery, not a list of ids: a list is one bound variable per
        // member, and SQLite refuses more than 32766 of them.
        let mut users: HashMap<i64, users::Model> = users::Entity::find()
            .filter(
                users::Column::Id.in_subquery(
                    Query::select()
                        .column(memberships::Column::UserId)
                        .from(memberships::Entity)
                        .and_where(memberships::Column::OrganizationId.eq(org_id))
                        .and_where(memberships::Column::RemovedAt.is_null())
                        .to_owned(),
                ),
            )
            .all(&self.db)
            .await
            .map_err(backend)?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        members
            .into_iter()
            .filter_map(|m| users.remove(&m.user_id).map(|u| (m, u)))
            .map(|(m, u)| Ok((membership_record(m)?, user_record(u)?)))
            .collect()
    }

    async fn member_page(
        &self,
        org_id: i64,
        offset: usize,
        limit: Option<usize>,
    ) -> R<(usize, Vec<(MembershipRecord, UserRecord)>)> {
        let Some(limit) = limit else {
            let mut all = self.org_members(org_id).await?;
            all.sort_by(|(_, a), (_, b)| a.username.cmp(&b.username).then(a.id.cmp(&b.id)));
            let count = all.len();
            return Ok((count, all.into_iter().skip(offset).collect()));
        };
        // A member removed (or renamed) between reading the order and the
        // rows shows as a missing row: read the order again.
        for _ in 0..MEMBER_PAGE_ATTEMPTS {
            let Some(order) = self.member_order(org_id).await? else {
                return Ok((0, Vec::new()));
            };
            let start = offset.min(order.len());
            let end = offset.saturating_add(limit).min(order.len());
            if let Some(rows) = self.members_by_ids(org_id, &order[start..end]).await? {
                return Ok((order.len(), rows));
            }
            // The order kept in memory named a row that is gone: forget it,
            // or the next attempt would be served the same order again.
            self.member_orders.evict(org_id);
        }
        Err(StoreError::Conflict(
            "the member list changed while it was read",
        ))
    }

    async fn set_role(&self, user_id: i64, org_id: i64, role: Role) -> R<()> {
        let w = self.write().await?;
        let value = sea_orm::Value::from(role.as_str());
        let work =
            set_current_membership(&w, user_id, org_id, memberships::Column::Role, value).await;
        w.finish(work).await
    }

    async fn remove_membership(&self, user_id: i64, org_id: i64, now: i64) -> R<()> {
        let w = self.write().await?;
        let column = memberships::Column::RemovedAt;
        let work = set_current_membership(&w, user_id, org_id, column, now.into()).await;
        w.finish(work).await
    }
}
