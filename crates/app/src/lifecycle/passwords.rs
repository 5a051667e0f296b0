//! A password changed by its owner: the current password first, the policy
//! for the new one, and everything the old one may have let someone else
//! keep ends with it.

use accounts::{Password, UserToken};

use crate::SecretString;
use crate::caller::Caller;
use crate::error::AppError;
use crate::services::Services;
use crate::store::{PasswordChange, Store};
use crate::throttle::login_account_key;

/// What the account page and `POST /api/current-user/password` send.
#[derive(Debug)]
pub struct PasswordChangeRequest<'a> {
    pub current: &'a SecretString,
    pub new: &'a SecretString,
    /// The session the change is made in (it stays), if any.
    pub session: Option<&'a str>,
    /// That browser's device cookie (it stays), if any.
    pub device: Option<&'a str>,
    /// Also replace the API token (the new one is returned, once).
    pub new_api_token: bool,
}

impl<S: Store> Services<S> {
    /// The caller's password asked again (before a change of it, or a new
    /// personal access token): a wrong one counts as a failed login of the
    /// account, so a stolen session cannot guess it faster than a login
    /// could, and is an error on `field`.
    pub(crate) async fn confirm_password(
        &self,
        caller: &Caller,
        password: &SecretString,
        field: &'static str,
    ) -> Result<(), AppError> {
        let user = &caller.user;
        let key = login_account_key(Some(&user.email), "");
        self.throttle(vec![(key.clone(), self.config.throttle.login_per_account)])
            .await?;
        let wrong = || AppError::Validation(vec![(field, "The password is not correct.".into())]);
        let Some(stored) = user.password_hash.clone() else {
            return Err(AppError::Validation(vec![(
                field,
                "This account has no password yet: ask an owner or administrator for a reset link."
                    .into(),
            )]));
        };
        let given = Password::for_login(password.expose()).ok_or_else(wrong)?;
        if !self.hasher.verify(given, Some(stored)).await? {
            return Err(wrong());
        }
        self.store.throttle_clear(&key).await?;
        Ok(())
    }

    /// Changes the caller's password. A wrong current password counts as a
    /// failed login of the account (so a stolen session cannot guess it
    /// faster than a login could), and is a field error. On success every
    /// other session, every other device cookie, every personal access
    /// token and any reset link of the account end in the same
    /// transaction; with `new_api_token` the API token is replaced too and
    /// the new one returned.
    pub async fn change_own_password(
        &self,
        caller: &Caller,
        req: PasswordChangeRequest<'_>,
    ) -> Result<Option<UserToken>, AppError> {
        let user = &caller.user;
        self.confirm_password(caller, req.current, "current_password")
            .await?;
        let new = self
            .config
            .password_policy
            .check(req.new.expose(), Some(&user.email))
            .map_err(|e| AppError::Validation(vec![("new_password", e.to_string())]))?;
        let hash = self
            .hasher
            .hash(new, self.random::<{ accounts::SALT_LEN }>()?)
            .await?;
        let token = if req.new_api_token {
            Some(UserToken::generate(
                self.random::<{ accounts::GENERATED_TOKEN_BYTES }>()?,
            ))
        } else {
            None
        };
        let audit = self
            .audit_entry(
                "password.changed",
                Some(user),
                Some(user),
                self.member_org(user).await,
            )
            .detail(if req.new_api_token {
                "other sessions, devices and personal access tokens ended; API token replaced"
            } else {
                "other sessions, devices and personal access tokens ended"
            });
        let change = self.store.change_password(PasswordChange {
            user_id: user.id,
            hash,
            keep_session: req.session.map(|s| self.session_digest(s)),
            keep_device: req.device.map(|d| self.device_digest(d)),
            new_token: token.as_ref().map(|t| self.token_digest(t.expose())),
            now: self.now_micros(),
        });
        self.store.audited(audit, change).await?;
        tracing::info!(
            user_id = user.id,
            api_token_replaced = token.is_some(),
            "password changed by its owner"
        );
        Ok(token)
    }
}
