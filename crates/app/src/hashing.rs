use std::sync::{Arc, Mutex, mpsc};

use accounts::{Password, PasswordHashString, PasswordHasher, SALT_LEN};

use crate::AppError;

type Job = Box<dyn FnOnce(&PasswordHasher) + Send>;

/// How much less the hashing threads weigh with the scheduler than the
/// request handlers (Linux `nice`: 10 is about a tenth of the weight).
#[cfg(target_os = "linux")]
const HASHING_NICE: i32 = 10;

/// Argon2id off the async runtime, on threads of its own: at most
/// `max_concurrent` hashes run at once and a burst of logins queues here
/// instead of starving the request handlers. The threads run at a lower
/// priority (nice 10 on Linux, where a thread's nice is its own), so that a
/// request handler that wakes while every core hashes gets a core at once:
/// issue 7's whoami p99 during a login storm was ten times its p99 alone
/// with the hashes on tokio's blocking pool at the handlers' priority.
#[derive(Debug, Clone)]
pub struct BlockingHasher {
    jobs: mpsc::Sender<Job>,
}

impl BlockingHasher {
    pub fn new(hasher: PasswordHasher, max_concurrent: usize) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let hasher = Arc::new(hasher);
        for n in 0..max_concurrent.max(1) {
            let (queue, hasher) = (Arc::clone(&queue), Arc::clone(&hasher));
            let spawned = std::thread::Builder::new()
                .name(format!("ls-hash-{n}"))
                .spawn(move || hashing_thread(&queue, &hasher));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a hashing thread");
            }
        }
        Self { jobs }
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&PasswordHasher) -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let (done, result) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move |h| {
                let _ = done.send(job(h));
            }))
            .map_err(|_| AppError::Hashing)?;
        // A job that panicked dropped `done`: an error, not a hang.
        result.await.map_err(|_| AppError::Hashing)
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

/// Takes jobs until every [`BlockingHasher`] holding the queue is gone.
fn hashing_thread(queue: &Mutex<mpsc::Receiver<Job>>, hasher: &PasswordHasher) {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(None, HASHING_NICE) {
        tracing::warn!(error = %e, "hashing thread keeps the normal priority");
    }
    loop {
        let job = match queue.lock() {
            Ok(q) => q.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        // A panic ends the job (its caller sees an error), not the thread.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(hasher)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(threads: usize) -> BlockingHasher {
        BlockingHasher::new(PasswordHasher::new(256, 1, 1).unwrap(), threads)
    }

    #[tokio::test]
    async fn hashes_verify_and_a_panic_is_an_error_not_a_lost_thread() {
        let h = pool(1);
        let pw = || Password::for_login("a long passphrase").unwrap();
        let stored = h.hash(pw(), [4; SALT_LEN]).await.unwrap();
        assert!(h.verify(pw(), Some(stored.clone())).await.unwrap());
        assert!(!h.verify(pw(), None).await.unwrap());
        assert!(matches!(
            h.run(|_| -> () { panic!("a job that panics") }).await,
            Err(AppError::Hashing)
        ));
        // The one thread survived it.
        assert!(h.verify(pw(), Some(stored)).await.unwrap());
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_below_the_handlers_priority() {
        let h = pool(2);
        let nice = h
            .run(|_| rustix::process::getpriority_process(None).unwrap())
            .await
            .unwrap();
        let ours = rustix::process::getpriority_process(None).unwrap();
        assert_eq!(nice, (ours + HASHING_NICE).min(19));
    }
}
