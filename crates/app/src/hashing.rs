use std::sync::Arc;

use accounts::{Password, PasswordHashString, PasswordHasher, SALT_LEN};
use tokio::sync::Semaphore;

use crate::AppError;

/// Argon2id off the async runtime: each hash runs on a blocking thread, and
/// at most `permits` run at once, so a burst of logins queues here instead
/// of starving the request handlers.
#[derive(Debug, Clone)]
pub struct BlockingHasher {
    hasher: Arc<PasswordHasher>,
    permits: Arc<Semaphore>,
}

impl BlockingHasher {
    pub fn new(hasher: PasswordHasher, max_concurrent: usize) -> Self {
        Self {
            hasher: Arc::new(hasher),
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&PasswordHasher) -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| AppError::Hashing)?;
        let hasher = Arc::clone(&self.hasher);
        tokio::task::spawn_blocking(move || job(&hasher))
            .await
            .map_err(|_| AppError::Hashing)
    }

    pub async fn hash(
        &self,
        password: Password,
        salt: [u8; SALT_LEN],
    ) -> Result<PasswordHashString, AppError> {
        self.run(move |h| h.hash(&password, &salt))
            .await?
            .map_err(|_| AppError::Hashing)
    }

    /// `stored = None` (unknown user, or no usable password) still spends a
    /// hash's time and answers false.
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<PasswordHashString>,
    ) -> Result<bool, AppError> {
        self.run(move |h| match stored {
            Some(s) => h.verify(&password, &s),
            None => {
                h.dummy_verify(&password);
                false
            }
        })
        .await
    }
}
