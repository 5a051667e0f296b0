//! "Forgot password?" (when mail is configured): the request only queues
//! a mail for the address, the same work whether or not it has an account,
//! so the answer is the same and takes the same time; delivery decides,
//! and makes the reset link then (see `crate::mail`).

use std::net::IpAddr;

use accounts::Email;

use crate::error::AppError;
use crate::services::Services;
use crate::store::{MailKind, Store};
use crate::throttle::client_net;

impl<S: Store> Services<S> {
    /// Queues a reset mail for `email`. Refused only when mail is not
    /// configured (`NotFound`), the address is not an email (a field
    /// error), or the account's or the client's hourly limit is reached.
    pub async fn request_password_reset(
        &self,
        email: &str,
        client: Option<IpAddr>,
    ) -> Result<(), AppError> {
        if !self.mail_enabled() {
            return Err(AppError::NotFound("Password reset by email"));
        }
        let parsed = Email::parse(email).map_err(AppError::invalid(crate::Field::Email))?;
        let mut keys = vec![(
            format!("reset-mail:account:{}", parsed.as_str()),
            self.config.throttle.reset_mail_per_account,
        )];
        if let Some(ip) = client {
            keys.push((
                format!("reset-mail:client:{}", client_net(ip)),
                self.config.throttle.reset_mail_per_client,
            ));
        }
        self.throttle(keys).await?;
        // The same entry whether the address has an account or not.
        let audit = self
            .audit_entry("password.reset_requested", None, None, None)
            .target_text(parsed.as_str());
        let enqueue = self.store.enqueue_mail(
            MailKind::PasswordReset,
            parsed.as_str(),
            None,
            self.now_micros(),
        );
        self.store.audited(audit, enqueue).await?;
        Ok(())
    }
}
