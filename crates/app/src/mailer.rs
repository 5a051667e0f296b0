//! The mail port: what sends one mail (`infra`: SMTP with lettre), and
//! mail as the services hold it when SMTP is configured. Delivery and the
//! outbox are `crate::mail`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Sends one mail (`infra`: SMTP with lettre). The error is for the log.
pub trait MailSender: Send + Sync + std::fmt::Debug {
    fn send<'a>(
        &'a self,
        to: &'a str,
        subject: &'a str,
        body: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
}

/// Mail, when configured.
#[derive(Debug, Clone)]
pub struct Mail {
    pub sender: Arc<dyn MailSender>,
}
