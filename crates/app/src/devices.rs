//! Device cookies (OWASP's scheme for slowing online guessing without
//! handing an attacker a lock to use against the owner). A successful login
//! gives the browser a random id bound to the account, stored only as a
//! keyed digest, expiring after [`DEVICE_LIFETIME_SECS`]. A login attempt
//! that presents a valid device cookie of the account it names counts
//! against that device alone; attempts without one count against the
//! account. An attacker rotating addresses therefore locks the account for
//! unknown browsers only, while the owner's browser still logs in. A device
//! cookie never logs anyone in by itself: the password is always checked.
//! A password change revokes every device cookie of the account;
//! `ls-admin user unlock` clears their counts too.

use accounts::{Email, SecretDigest};

use crate::error::AppError;
use crate::services::Services;
use crate::store::{NewDevice, Store, UserRecord};

/// How long a device cookie is honoured: 180 days.
pub const DEVICE_LIFETIME_SECS: i64 = 180 * 86_400;

/// Bytes of a device id: 256 bits, 64 hex characters.
const DEVICE_ID_BYTES: usize = 32;

const DEVICE: &str = "device";

pub(crate) fn device_key(digest: &SecretDigest) -> String {
    format!("login:device:{}", digest.to_hex())
}

/// What a login attempt's device cookie turned out to be.
#[derive(Debug)]
pub(crate) enum Device {
    /// None presented, or not one of this account's live device cookies:
    /// the attempt counts against the account.
    Unknown,
    /// A live device cookie of the account the attempt names, and the user.
    Known {
        digest: SecretDigest,
        user: Box<UserRecord>,
    },
}

impl<S: Store> Services<S> {
    pub(crate) fn device_digest(&self, id: &str) -> SecretDigest {
        self.key.digest(DEVICE, id.as_bytes())
    }

    /// Whether `presented` is a live device cookie of the account `email` names.
    pub(crate) async fn recognise_device(
        &self,
        presented: Option<&str>,
        email: Option<&Email>,
    ) -> Result<Device, AppError> {
        let (Some(id), Some(email)) = (presented, email) else {
            return Ok(Device::Unknown);
        };
        if id.len() != 2 * DEVICE_ID_BYTES || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Device::Unknown);
        }
        let digest = self.device_digest(id);
        let Some(owner) = self.store.device_user(&digest, self.now_micros()).await? else {
            return Ok(Device::Unknown);
        };
        match self.store.user_by_email(email).await? {
            Some(user) if user.id == owner => Ok(Device::Known {
                digest,
                user: Box::new(user),
            }),
            _ => Ok(Device::Unknown),
        }
    }

    /// A new device cookie: its id for the browser, its record for the store.
    pub(crate) fn new_device(&self) -> Result<(crate::SecretString, NewDevice), AppError> {
        let id = hex::encode(self.random::<DEVICE_ID_BYTES>()?);
        let expires_at = self
            .now_micros()
            .saturating_add(DEVICE_LIFETIME_SECS.saturating_mul(1_000_000));
        let record = NewDevice {
            digest: self.device_digest(&id),
            expires_at,
        };
        Ok((crate::SecretString::new(id), record))
    }
}
