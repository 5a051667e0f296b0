//! Mail over SMTP with lettre (issue 17): `smtp_url` in lettre's forms
//! (`smtp://user:pass@host:587?tls=required` for STARTTLS,
//! `smtps://user:pass@host` for TLS, plain `smtp://host:port` for a local
//! relay), `smtp_from` the sender. TLS is rustls with the system's roots.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use app::mail::MailSender;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How long one delivery may take (connect, TLS, the whole exchange).
const TIMEOUT: Duration = Duration::from_secs(30);

/// The configured SMTP server and sender.
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpSender {
    /// Never the URL: it may hold the SMTP password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSender")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

/// `smtp_url` and `smtp_from`, checked: the message names the setting.
pub fn check(url: &str, from: &str) -> Result<(), (&'static str, String)> {
    transport(url)?;
    mailbox(from)?;
    Ok(())
}

fn transport(url: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, (&'static str, String)> {
    AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map(|b| b.timeout(Some(TIMEOUT)).build())
        // lettre's message may quote the URL, password and all: not shown.
        .map_err(|_| {
            (
                "smtp_url",
                "not an SMTP URL lettre reads (smtp://host:port, smtp://user:pass@host:587?tls=required, smtps://user:pass@host)".to_owned(),
            )
        })
}

fn mailbox(from: &str) -> Result<Mailbox, (&'static str, String)> {
    from.parse::<Mailbox>().map_err(|e| {
        (
            "smtp_from",
            format!("not a mail address ({e}): write noreply@example.com or \"Label Studio <noreply@example.com>\""),
        )
    })
}

impl SmtpSender {
    pub fn new(url: &str, from: &str) -> Result<Self, (&'static str, String)> {
        Ok(Self {
            transport: transport(url)?,
            from: mailbox(from)?,
        })
    }
}

impl MailSender for SmtpSender {
    fn send<'a>(
        &'a self,
        to: &'a str,
        subject: &'a str,
        body: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let to: Mailbox = to.parse().map_err(|e| format!("recipient: {e}"))?;
            let message = Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(subject)
                .header(ContentType::TEXT_PLAIN)
                .body(body.to_owned())
                .map_err(|e| format!("message: {e}"))?;
            self.transport
                .send(message)
                .await
                .map(drop)
                .map_err(|e| format!("SMTP: {e}"))
        })
    }
}
