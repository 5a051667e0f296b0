//! Mail (issue 17): a durable outbox and its delivery. A request that
//! sends mail only writes an outbox row (what to send, to whom: never a
//! secret); delivery is off the request path, by any instance (a row is
//! claimed for a lease, so two never send one), and makes the secret the
//! mail carries at send time (a fresh reset link), so no token rests in
//! the database. A row that keeps failing is dropped after
//! [`MAX_ATTEMPTS`], with a warning that says what was dropped.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use accounts::Email;

use crate::error::AppError;
use crate::services::Services;
use crate::store::{MailKind, OutboxRecord, Store};

/// Attempts before a mail is dropped (about a day of back-off in all).
pub const MAX_ATTEMPTS: i64 = 10;
/// How long a claimed row is left to the instance that claimed it.
const LEASE_SECS: i64 = 120;

pub use crate::mailer::{Mail, MailSender};

/// What one delivery step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Nothing was due.
    Idle,
    /// A mail went out.
    Sent,
    /// A row needed no mail (a reset asked for an address with no account).
    Skipped,
    /// Sending failed; it will be tried again.
    Retrying,
    /// Sending failed for the last time; the row is gone.
    Dropped,
}

/// The back-off before attempt `n + 1`: 30 s doubling, at most 4 hours.
fn backoff_secs(attempts: i64) -> i64 {
    30_i64
        .saturating_mul(1_i64 << attempts.clamp(0, 12))
        .min(4 * 3600)
}

impl<S: Store> Services<S> {
    /// Whether mail is configured ("Forgot password?" is offered then).
    pub fn mail_enabled(&self) -> bool {
        self.mail.is_some()
    }

    /// Claims the next due row and delivers it; links in it start with
    /// `base_url` (the public URL).
    pub async fn deliver_next_mail(&self, base_url: &str) -> Result<Delivery, AppError> {
        let Some(mail) = self.mail.clone() else {
            return Ok(Delivery::Idle);
        };
        let now = self.now_micros();
        let lease = now.saturating_add(LEASE_SECS * 1_000_000);
        let Some(row) = self.store.claim_mail(now, lease).await? else {
            return Ok(Delivery::Idle);
        };
        let message = match self.compose(base_url, &row).await {
            Ok(Some(m)) => m,
            Ok(None) => {
                self.store.finish_mail(row.id).await?;
                return Ok(Delivery::Skipped);
            }
            Err(e) => return self.failed(&row, &e.to_string()).await,
        };
        match mail
            .sender
            .send(&row.recipient, &message.0, &message.1)
            .await
        {
            Ok(()) => {
                self.store.finish_mail(row.id).await?;
                tracing::info!(mail_id = row.id, kind = row.kind.as_str(), "mail sent");
                metrics::counter!("ls_mail_sent_total", "kind" => row.kind.as_str()).increment(1);
                Ok(Delivery::Sent)
            }
            Err(e) => self.failed(&row, &e).await,
        }
    }

    async fn failed(&self, row: &OutboxRecord, error: &str) -> Result<Delivery, AppError> {
        if row.attempts >= MAX_ATTEMPTS {
            self.store.finish_mail(row.id).await?;
            tracing::warn!(
                mail_id = row.id,
                kind = row.kind.as_str(),
                attempts = row.attempts,
                error,
                "mail dropped after its last attempt"
            );
            metrics::counter!("ls_mail_dropped_total", "kind" => row.kind.as_str()).increment(1);
            return Ok(Delivery::Dropped);
        }
        let next = self
            .now_micros()
            .saturating_add(backoff_secs(row.attempts) * 1_000_000);
        self.store.retry_mail(row.id, next, error).await?;
        tracing::warn!(
            mail_id = row.id,
            attempts = row.attempts,
            error,
            "mail not sent; will try again"
        );
        Ok(Delivery::Retrying)
    }

    /// The subject and body of a row's mail, with its secret made now;
    /// `None` when no mail is due (no such account).
    async fn compose(
        &self,
        base: &str,
        row: &OutboxRecord,
    ) -> Result<Option<(String, String)>, AppError> {
        match row.kind {
            MailKind::PasswordReset => {
                let Ok(email) = Email::parse(&row.recipient) else {
                    return Ok(None);
                };
                let Some(user) = self.store.user_by_email(&email).await? else {
                    return Ok(None);
                };
                if !user.is_active {
                    return Ok(None);
                }
                let link = self.new_reset_link_for(user, None, None).await?;
                let minutes = self.config.password_reset_ttl_secs / 60;
                Ok(Some((
                    "Reset your password".to_owned(),
                    format!(
                        "Someone, hopefully you, asked to reset the password of the account \
                         {email} at {base}.\n\n\
                         Set a new password here within {minutes} minutes (the link works once):\n\n\
                         {base}{path}\n\n\
                         If you did not ask, ignore this mail: your password stays as it is.\n",
                        path = link.path(),
                    ),
                )))
            }
            MailKind::Invitation => {
                let Some(id) = row.reference else {
                    return Ok(None);
                };
                let (token, digest) = self.new_invitation_token()?;
                let Some(invitation) = self
                    .store
                    .reissue_invitation(id, digest, self.now_micros())
                    .await?
                else {
                    // Revoked, used or expired before its mail went out.
                    return Ok(None);
                };
                let title = self
                    .store
                    .organization(invitation.organization_id)
                    .await?
                    .map_or_else(|| "an organization".to_owned(), |o| o.title);
                let days = (invitation.expires_at - self.now_micros()).max(0) / 86_400_000_000;
                Ok(Some((
                    format!("You are invited to {title}"),
                    format!(
                        "You are invited to join {title} at {base} as {role}.\n\n\
                         Make your account here (the link works once, for {email} only, \
                         for about {days} more days):\n\n\
                         {base}{path}?token={token}\n\n\
                         Not expecting this? Ignore this mail.\n",
                        role = invitation.role,
                        email = invitation.email,
                        path = crate::signup::INVITATION_PATH,
                    ),
                )))
            }
        }
    }

    /// A server's background work until `stop` resolves: due mail
    /// delivered until none is left, then a wait of `idle`; audit entries
    /// past their retention removed five minutes after the start (a start
    /// stays lean: no write, no extra database connection warmed) and then
    /// hourly.
    pub async fn run_background(
        self: Arc<Self>,
        base_url: String,
        idle: Duration,
        stop: impl Future<Output = ()> + Send,
    ) {
        tokio::pin!(stop);
        let mut prune_at = std::time::Instant::now() + Duration::from_secs(300);
        loop {
            if std::time::Instant::now() >= prune_at {
                if let Err(e) = self.prune_audit_log().await {
                    tracing::warn!(error = %e, "audit retention");
                }
                prune_at = std::time::Instant::now() + Duration::from_secs(3600);
            }
            let delivery = self.deliver_next_mail(&base_url).await;
            let wait = match delivery {
                Ok(Delivery::Idle) => idle,
                Ok(_) => Duration::ZERO,
                Err(e) => {
                    tracing::warn!(error = %e, "mail outbox");
                    idle
                }
            };
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::sync::Mutex;

    use super::*;
    use crate::ServicesConfig;
    use crate::testkit::{OWNER, fixture};

    /// Records what it is given; fails while `down`.
    #[derive(Debug, Default)]
    struct Outbox {
        sent: Mutex<Vec<(String, String)>>,
        down: std::sync::atomic::AtomicBool,
    }

    impl MailSender for Outbox {
        fn send<'a>(
            &'a self,
            to: &'a str,
            _subject: &'a str,
            body: &'a str,
        ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
            Box::pin(async move {
                if self.down.load(std::sync::atomic::Ordering::SeqCst) {
                    return Err("connection refused".into());
                }
                self.sent.lock().unwrap().push((to.into(), body.into()));
                Ok(())
            })
        }
    }

    #[tokio::test]
    async fn a_reset_mail_carries_a_fresh_link_and_unknown_addresses_get_none() {
        let out = Arc::new(Outbox::default());
        let f = fixture(ServicesConfig::default()).with_mail(out.clone());
        f.owner().await;
        f.svc.request_password_reset(OWNER, None).await.unwrap();
        f.svc
            .request_password_reset("nobody@example.com", None)
            .await
            .unwrap();
        assert_eq!(
            f.svc.deliver_next_mail("https://ls.example").await.unwrap(),
            Delivery::Sent
        );
        assert_eq!(
            f.svc.deliver_next_mail("https://ls.example").await.unwrap(),
            Delivery::Skipped
        );
        assert_eq!(
            f.svc.deliver_next_mail("https://ls.example").await.unwrap(),
            Delivery::Idle
        );
        let sent = out.sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].0, OWNER);
        let link = sent[0]
            .1
            .lines()
            .find(|l| l.starts_with("https://ls.example/user/reset-password/?token="))
            .unwrap();
        let token = link.split("token=").nth(1).unwrap();
        assert_eq!(
            f.svc.reset_link_user(token).await.unwrap().email.as_str(),
            OWNER
        );
    }

    #[tokio::test]
    async fn a_mail_that_keeps_failing_is_retried_with_back_off_then_dropped() {
        let out = Arc::new(Outbox::default());
        out.down.store(true, std::sync::atomic::Ordering::SeqCst);
        let f = fixture(ServicesConfig::default()).with_mail(out.clone());
        f.owner().await;
        f.svc.request_password_reset(OWNER, None).await.unwrap();
        let base = "https://ls.example";
        for attempt in 1..MAX_ATTEMPTS {
            assert_eq!(
                f.svc.deliver_next_mail(base).await.unwrap(),
                Delivery::Retrying,
                "{attempt}"
            );
            assert_eq!(
                f.svc.deliver_next_mail(base).await.unwrap(),
                Delivery::Idle,
                "backing off"
            );
            f.advance(backoff_secs(attempt));
        }
        assert_eq!(
            f.svc.deliver_next_mail(base).await.unwrap(),
            Delivery::Dropped
        );
        f.advance(5 * 3600);
        assert_eq!(
            f.svc.deliver_next_mail(base).await.unwrap(),
            Delivery::Idle,
            "gone"
        );
        assert!(out.sent.lock().unwrap().is_empty());
    }
}
