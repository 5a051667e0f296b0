//! The mail outbox: what to send and to whom, never a secret (the secret a
//! mail carries is made when it is sent).

use std::future::Future;

use super::R;

/// What a mail is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// "Forgot password?": a reset link, if the address has an account.
    PasswordReset,
    /// An invitation of one person (the row's reference is its id).
    Invitation,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::PasswordReset => "password_reset",
            MailKind::Invitation => "invitation",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "password_reset" => Some(MailKind::PasswordReset),
            "invitation" => Some(MailKind::Invitation),
            _ => None,
        }
    }
}

/// A row of the outbox, as claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRecord {
    pub id: i64,
    pub kind: MailKind,
    /// The address, as typed (the worker parses it).
    pub recipient: String,
    /// What it is about (an invitation's id).
    pub reference: Option<i64>,
    /// Attempts made, this one included.
    pub attempts: i64,
    pub created_at: i64,
}

pub trait MailStore {
    /// Adds a row, due now.
    fn enqueue_mail(
        &self,
        kind: MailKind,
        recipient: &str,
        reference: Option<i64>,
        now: i64,
    ) -> impl Future<Output = R<()>> + Send;
    /// The oldest row due at `now`, leased to the caller until `lease_until`
    /// (its attempt counted); `None` when nothing is due. Two instances
    /// never claim one row at once.
    fn claim_mail(
        &self,
        now: i64,
        lease_until: i64,
    ) -> impl Future<Output = R<Option<OutboxRecord>>> + Send;
    /// Removes a row (sent, needing no mail, or dropped).
    fn finish_mail(&self, id: i64) -> impl Future<Output = R<()>> + Send;
    /// Leaves a row for another attempt at `next_at`, with the error.
    fn retry_mail(&self, id: i64, next_at: i64, error: &str) -> impl Future<Output = R<()>> + Send;
}
