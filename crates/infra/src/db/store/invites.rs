//! [`InviteStore`]: invite links found by digest, and their rotation.

use accounts::SecretDigest;
use app::{InviteLookup, InviteStore, OrgRecord};
use invites::InviteState;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};

use super::orgs::org_row;
use super::rows::{generation_i64, org_record, salt_hex};
use super::{R, SeaStore, backend};
use crate::db::entities::{organizations, retired_invites};

impl InviteStore for SeaStore {
    async fn find_invite(&self, digest: &SecretDigest) -> R<InviteLookup> {
        let hex = digest.to_hex();
        if let Some(org) = organizations::Entity::find()
            .filter(
                sea_orm::Condition::any()
                    .add(organizations::Column::InviteDigest.eq(hex.clone()))
                    .add(organizations::Column::LegacyInviteDigest.eq(hex.clone())),
            )
            .one(&self.db)
            .await
            .map_err(backend)?
        {
            return Ok(InviteLookup::Current(org.id));
        }
        let retired = retired_invites::Entity::find()
            .filter(retired_invites::Column::Digest.eq(hex))
            .count(&self.db)
            .await
            .map_err(backend)?;
        Ok(if retired > 0 {
            InviteLookup::Retired
        } else {
            InviteLookup::Unknown
        })
    }

    async fn rotate_invite(
        &self,
        org_id: i64,
        rotate: impl FnOnce(&InviteState) -> (InviteState, SecretDigest) + Send,
        now: i64,
    ) -> R<OrgRecord> {
        let w = self.write().await?;
        let work = async {
            let org = org_row(&w, org_id).await?;
            let (new_state, new_digest) = rotate(&org_record(org.clone())?.invite);
            retired_invites::ActiveModel {
                organization_id: Set(org_id),
                digest: Set(org.invite_digest.clone()),
                retired_at: Set(now),
                ..Default::default()
            }
            .insert(&*w)
            .await
            .map_err(backend)?;
            // Label Studio's link, carried over by an import, ends here too.
            if let Some(legacy) = &org.legacy_invite_digest {
                retired_invites::ActiveModel {
                    organization_id: Set(org_id),
                    digest: Set(legacy.clone()),
                    retired_at: Set(now),
                    ..Default::default()
                }
                .insert(&*w)
                .await
                .map_err(backend)?;
            }
            let mut active: organizations::ActiveModel = org.into();
            active.legacy_invite_digest = Set(None);
            active.invite_generation = Set(generation_i64(&new_state)?);
            active.invite_salt = Set(salt_hex(new_state.salt()));
            active.invite_digest = Set(new_digest.to_hex());
            active.updated_at = Set(now);
            active.update(&*w).await.map_err(backend)
        }
        .await;
        org_record(w.finish(work).await?)
    }
}
