//! [`MailStore`]: the mail outbox. A row is claimed by moving its due time
//! to the end of a lease in one conditional UPDATE (still due, still the
//! attempt count read), so of two instances one claims it.

use app::{MailKind, MailStore, OutboxRecord, StoreError};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::txn::Write;
use super::{R, SeaStore, backend};
use crate::db::entities::mail_outbox;

/// Longest error text kept with a row.
const ERROR_CHARS: usize = 500;

/// A row, inside an open write (an invitation's, say).
pub(super) async fn enqueue_in(
    w: &Write,
    kind: MailKind,
    recipient: &str,
    reference: Option<i64>,
    now: i64,
) -> R<()> {
    mail_outbox::ActiveModel {
        kind: Set(kind.as_str().to_owned()),
        recipient: Set(recipient.to_owned()),
        reference: Set(reference),
        attempts: Set(0),
        due_at: Set(now),
        last_error: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&**w)
    .await
    .map(drop)
    .map_err(backend)
}

impl MailStore for SeaStore {
    async fn enqueue_mail(
        &self,
        kind: MailKind,
        recipient: &str,
        reference: Option<i64>,
        now: i64,
    ) -> R<()> {
        let w = self.independent_write().await?;
        let work = enqueue_in(&w, kind, recipient, reference, now).await;
        w.finish(work).await
    }

    async fn claim_mail(&self, now: i64, lease_until: i64) -> R<Option<OutboxRecord>> {
        // A few candidates: another instance may take the first meanwhile.
        let due = mail_outbox::Entity::find()
            .filter(mail_outbox::Column::DueAt.lte(now))
            .order_by_asc(mail_outbox::Column::DueAt)
            .order_by_asc(mail_outbox::Column::Id)
            .limit(4)
            .all(&self.db)
            .await
            .map_err(backend)?;
        for row in due {
            let _slot = self.writer_slot().await;
            let claimed = mail_outbox::Entity::update_many()
                .col_expr(mail_outbox::Column::DueAt, Expr::value(lease_until))
                .col_expr(mail_outbox::Column::Attempts, Expr::value(row.attempts + 1))
                .filter(mail_outbox::Column::Id.eq(row.id))
                .filter(mail_outbox::Column::DueAt.eq(row.due_at))
                .filter(mail_outbox::Column::Attempts.eq(row.attempts))
                .exec(&self.db)
                .await
                .map_err(backend)?
                .rows_affected;
            if claimed == 1 {
                let kind = MailKind::parse(&row.kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("mail kind {:?}", row.kind)))?;
                return Ok(Some(OutboxRecord {
                    id: row.id,
                    kind,
                    recipient: row.recipient,
                    reference: row.reference,
                    attempts: row.attempts + 1,
                    created_at: row.created_at,
                }));
            }
        }
        Ok(None)
    }

    async fn finish_mail(&self, id: i64) -> R<()> {
        let _slot = self.writer_slot().await;
        mail_outbox::Entity::delete_by_id(id)
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn retry_mail(&self, id: i64, next_at: i64, error: &str) -> R<()> {
        let _slot = self.writer_slot().await;
        let error: String = error.chars().take(ERROR_CHARS).collect();
        mail_outbox::Entity::update_many()
            .col_expr(mail_outbox::Column::DueAt, Expr::value(next_at))
            .col_expr(mail_outbox::Column::LastError, Expr::value(error))
            .filter(mail_outbox::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
