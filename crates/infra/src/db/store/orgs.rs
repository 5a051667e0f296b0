//! [`OrgStore`]: organizations and their memberships, with member lists
//! read through the order indexes of `m20261206_000008`.

use std::collections::HashMap;

use accounts::{Email, SecretDigest};
use app::{
    MemberCursor, MembershipRecord, OrgRecord, OrgStore, StoreError, TokenSettingsChange,
    UserRecord,
};
use invites::InviteState;
use orgs::{OrgTitle, Role};
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Order, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use super::member_scan::{SeaMemberScan, member_count, member_rows, snapshot};
use super::rows::{
    current_members, generation_i64, membership_record, org_record, salt_hex, select_prefixed,
};
use super::txn::Write;
use super::{R, SeaStore, backend};
use crate::db::entities::{memberships, organizations};

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
}

impl OrgStore for SeaStore {
    type Scan = SeaMemberScan;

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

    async fn member_count(&self, org_id: i64) -> R<Option<usize>> {
        member_count(&self.db, org_id).await
    }

    async fn member_page(
        &self,
        org_id: i64,
        offset: usize,
        limit: usize,
    ) -> R<(usize, Vec<(MembershipRecord, UserRecord)>)> {
        // Count, ids and rows from one snapshot: a change meanwhile cannot
        // shift the page (the count places a page read from the end).
        let txn = snapshot(&self.db).await?;
        let Some(count) = member_count(&txn, org_id).await? else {
            return Ok((0, Vec::new()));
        };
        // The page's user ids from the order index alone (skipping index
        // entries, no row read for them), then their rows by id. (One query
        // joining the two let SQLite walk the whole order index.) A page in
        // the second half is read from the end, so no page skips more than
        // half the members.
        let from_end = offset.saturating_mul(2) > count;
        let (skip, take, order) = if from_end {
            let take = limit.min(count.saturating_sub(offset));
            (
                count.saturating_sub(offset.saturating_add(limit)),
                take,
                Order::Desc,
            )
        } else {
            (offset, limit, Order::Asc)
        };
        if take == 0 {
            return Ok((count, Vec::new()));
        }
        let mut page = Query::select();
        page.column(memberships::Column::UserId)
            .from(memberships::Entity)
            .and_where(Expr::col(memberships::Column::OrganizationId).eq(org_id))
            .and_where(Expr::col(memberships::Column::RemovedAt).is_null())
            .order_by(memberships::Column::SortUsername, order.clone())
            .order_by(memberships::Column::UserId, order)
            .limit(take as u64)
            .offset(skip as u64);
        let stmt = txn.get_database_backend().build(&page);
        let mut ids = txn
            .query_all_raw(stmt)
            .await
            .map_err(backend)?
            .iter()
            .map(|row| row.try_get_by_index::<i64>(0))
            .collect::<Result<Vec<i64>, _>>()
            .map_err(backend)?;
        if from_end {
            ids.reverse();
        }
        if ids.is_empty() {
            return Ok((count, Vec::new()));
        }
        // No ORDER BY here: SQLite would walk the order index to avoid a
        // sort instead of looking the ids up. The ids are in page order.
        let m = Alias::new("m");
        let mut q = current_members(org_id);
        q.column((Alias::new("u"), Asterisk));
        select_prefixed::<memberships::Column>(&mut q, &m, "m_");
        q.and_where(Expr::col((m, memberships::Column::UserId)).is_in(ids.iter().copied()));
        let mut rows: HashMap<i64, (MembershipRecord, UserRecord)> = member_rows(&txn, &q)
            .await?
            .into_iter()
            .map(|(m, u)| (m.user_id, (m, u)))
            .collect();
        let page = ids.iter().filter_map(|id| rows.remove(id)).collect();
        Ok((count, page))
    }

    async fn member_scan(
        &self,
        org_id: i64,
        from: MemberCursor,
    ) -> R<Option<(usize, SeaMemberScan)>> {
        SeaMemberScan::begin(&self.db, org_id, from).await
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
