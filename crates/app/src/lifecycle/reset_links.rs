//! One-time password reset links: made by an owner or administrator for
//! someone they outrank, or by the operator (`ls-admin user reset-link`);
//! stored only as the keyed digest of their token; live for
//! `password_reset_ttl_secs`; used once; replaced by a newer one; gone when
//! the password changes. Setting the new password ends every session.

use accounts::{Password, SecretDigest};
use orgs::Action;

use crate::SecretString;
use crate::error::AppError;
use crate::services::Services;
use crate::store::{PasswordChange, ResetLinkRecord, Store, UserRecord};

/// Where a reset link leads (its token in the query string).
pub const RESET_PATH: &str = "/user/reset-password/";
/// Digest purpose: a reset token authenticates as nothing else.
const PURPOSE: &str = "password-reset";
/// 256 bits: guessing one is hopeless, so no throttle is needed for it.
const TOKEN_BYTES: usize = 32;

/// A link just made: its token is shown this once and never stored.
#[derive(Debug)]
pub struct ResetLink {
    pub token: SecretString,
    pub user: UserRecord,
    /// Microseconds since the epoch.
    pub expires_at: i64,
}

impl ResetLink {
    /// The path and query of the link (the public URL goes in front).
    pub fn path(&self) -> String {
        format!("{RESET_PATH}?token={}", self.token.expose())
    }
}

impl<S: Store> Services<S> {
    fn reset_digest(&self, token: &str) -> SecretDigest {
        self.key.digest(PURPOSE, token.as_bytes())
    }

    /// An owner or administrator of `org_id` makes a link for `member_id`,
    /// a current member there whom they outrank in every organization.
    pub async fn make_reset_link(
        &self,
        actor: &UserRecord,
        org_id: i64,
        member_id: i64,
    ) -> Result<ResetLink, AppError> {
        let role = self.role_in(actor.id, org_id).await?;
        self.require(role, Action::ChangeRole)?;
        self.current_membership(member_id, org_id)
            .await?
            .ok_or(AppError::MemberNotFound)?;
        self.outranks_everywhere(actor.id, member_id).await?;
        let user = self
            .store
            .user_by_id(member_id)
            .await?
            .ok_or(AppError::MemberNotFound)?;
        self.new_reset_link_for(user, Some(actor), Some(org_id))
            .await
    }

    /// `ls-admin user reset-link --email E`.
    pub async fn operator_reset_link(&self, email: &str) -> Result<ResetLink, AppError> {
        let user = self.find_user(email).await?;
        self.new_reset_link_for(user, None, None).await
    }

    pub(crate) async fn new_reset_link_for(
        &self,
        user: UserRecord,
        actor: Option<&UserRecord>,
        organization_id: Option<i64>,
    ) -> Result<ResetLink, AppError> {
        let created_by = actor.map(|a| a.id);
        let token = hex::encode(self.random::<TOKEN_BYTES>()?);
        let now = self.now_micros();
        let expires_at = now.saturating_add(
            self.config
                .password_reset_ttl_secs
                .saturating_mul(1_000_000),
        );
        let organization_id = match organization_id {
            Some(o) => Some(o),
            None => self.member_org(&user).await,
        };
        let audit = self.audit_entry(
            "password.reset_link_made",
            actor,
            Some(&user),
            organization_id,
        );
        let record = ResetLinkRecord {
            user_id: user.id,
            created_by,
            created_at: now,
            expires_at,
        };
        self.store
            .audited(
                audit,
                self.store
                    .create_reset_link(self.reset_digest(&token), record),
            )
            .await?;
        tracing::info!(user_id = user.id, by = ?created_by, "password reset link made");
        Ok(ResetLink {
            token: SecretString::new(token),
            user,
            expires_at,
        })
    }

    /// The person a live link is for; `ResetLinkInvalid` for any other token.
    pub async fn reset_link_user(&self, token: &str) -> Result<UserRecord, AppError> {
        Ok(self.live_reset_link(token).await?.1)
    }

    async fn live_reset_link(
        &self,
        token: &str,
    ) -> Result<(ResetLinkRecord, UserRecord), AppError> {
        let digest = self.reset_digest(token);
        let link = self
            .store
            .reset_link(&digest, self.now_micros())
            .await?
            .ok_or(AppError::ResetLinkInvalid)?;
        let user = self
            .store
            .user_by_id(link.user_id)
            .await?
            .filter(|u| u.is_active)
            .ok_or(AppError::ResetLinkInvalid)?;
        Ok((link, user))
    }

    /// Sets the new password through a live link, once: the link goes and
    /// every session, device cookie and personal access token of the
    /// account ends, in one transaction. A link used, replaced or expired
    /// meanwhile (another tab, say) is `ResetLinkInvalid`, nothing written.
    pub async fn reset_password(
        &self,
        token: &str,
        new: &SecretString,
    ) -> Result<UserRecord, AppError> {
        let (_, user) = self.live_reset_link(token).await?;
        let password: Password = self
            .config
            .password_policy
            .check(new.expose(), Some(&user.email))
            .map_err(|e| AppError::Validation(vec![("password", e.to_string())]))?;
        let hash = self
            .hasher
            .hash(password, self.random::<{ accounts::SALT_LEN }>()?)
            .await?;
        let digest = self.reset_digest(token);
        let change = PasswordChange {
            user_id: user.id,
            hash,
            keep_session: None,
            keep_device: None,
            new_token: None,
            now: self.now_micros(),
        };
        let audit = self
            .audit_entry(
                "password.reset",
                Some(&user),
                Some(&user),
                self.member_org(&user).await,
            )
            .detail("through a one-time link; every session ended");
        let used = self
            .store
            .audited(audit, self.store.use_reset_link(&digest, change))
            .await?;
        if !used {
            return Err(AppError::ResetLinkInvalid);
        }
        tracing::info!(user_id = user.id, "password set through a reset link");
        Ok(user)
    }
}
