use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

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
///
/// The queue is bounded (`max_queued` jobs waiting): past it a hash is
/// refused at once with [`AppError::Busy`] (503 and `Retry-After`) rather
/// than joining a queue whose wait outlives the request. A waiting job
/// whose caller has gone (its request timed out or the client left) is
/// dropped when its turn comes, not computed.
#[derive(Debug, Clone)]
pub struct BlockingHasher {
    jobs: mpsc::Sender<Job>,
    queued: Arc<AtomicUsize>,
    max_queued: usize,
    /// Jobs dropped because their caller had gone (for tests and logs).
    abandoned: Arc<AtomicUsize>,
    /// The parameters new hashes get (to tell which stored ones are older).
    current: Arc<PasswordHasher>,
}

/// One waiting job's place in the count: given up once, by whichever
/// comes first, the job starting or its caller going away.
#[derive(Clone)]
struct Place {
    queued: Arc<AtomicUsize>,
    held: Arc<std::sync::atomic::AtomicBool>,
}

impl Place {
    fn leave(&self) {
        if self.held.swap(false, Ordering::AcqRel) {
            self.queued.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// The caller's side: leaves the queue when the caller's future is dropped.
struct Waiting(Place);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.leave();
    }
}

impl BlockingHasher {
    pub fn new(hasher: PasswordHasher, max_concurrent: usize, max_queued: usize) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let hasher = Arc::new(hasher);
        for n in 0..max_concurrent.max(1) {
            let (queue, hasher) = (Arc::clone(&queue), Arc::clone(&hasher));
            let spawned = std::thread::Builder::new()
                .name(format!("ls-hash-{n}"))
                .spawn(move || hashing_thread(&queue, &hasher, IDLE_RELEASE));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a hashing thread");
            }
        }
        Self {
            jobs,
            queued: Arc::default(),
            max_queued: max_queued.max(1),
            abandoned: Arc::default(),
            current: hasher,
        }
    }

    /// True when a stored hash is not argon2id with our parameters (one
    /// carried over from Label Studio, or made before they changed): the
    /// next successful login replaces it.
    pub fn needs_rehash(&self, stored: &PasswordHashString) -> bool {
        self.current.needs_rehash(stored)
    }

    /// Hashes waiting for a thread now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// Waiting hashes dropped because their caller had gone.
    pub fn abandoned(&self) -> usize {
        self.abandoned.load(Ordering::Acquire)
    }

    pub(crate) async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&PasswordHasher) -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let waiting = self.queued.fetch_add(1, Ordering::AcqRel);
        let enqueued = std::time::Instant::now();
        let place = Place {
            queued: Arc::clone(&self.queued),
            held: Arc::new(std::sync::atomic::AtomicBool::new(true)),
        };
        let caller = Waiting(place.clone());
        if waiting >= self.max_queued {
            drop(caller);
            tracing::warn!(waiting, "hashing queue full: request refused");
            return Err(AppError::Busy {
                retry_after_secs: 1,
            });
        }
        let (done, result) = tokio::sync::oneshot::channel();
        let abandoned = Arc::clone(&self.abandoned);
        self.jobs
            .send(Box::new(move |h| {
                place.leave();
                metrics::histogram!("ls_hash_wait_seconds")
                    .record(enqueued.elapsed().as_secs_f64());
                if done.is_closed() {
                    abandoned.fetch_add(1, Ordering::AcqRel);
                    return;
                }
                let _ = done.send(job(h));
            }))
            .map_err(|_| AppError::Hashing)?;
        // A job that panicked dropped `done`: an error, not a hang.
        let out = result.await.map_err(|_| AppError::Hashing);
        drop(caller);
        out
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

/// How long the queue stays empty before a hashing thread gives back
/// argon2's working memory (19 MiB at the default cost). Allocating it
/// again costs the next hash 0.5-6 ms, as the pages are faulted in again
/// (BENCHMARKS.md, issue 20).
pub(crate) const IDLE_RELEASE: Duration = Duration::from_secs(2);

/// Takes jobs until every [`BlockingHasher`] holding the queue is gone,
/// and gives back its argon2 memory when none came for `idle`.
fn hashing_thread(queue: &Mutex<mpsc::Receiver<Job>>, hasher: &PasswordHasher, idle: Duration) {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(None, HASHING_NICE) {
        tracing::warn!(error = %e, "hashing thread keeps the normal priority");
    }
    loop {
        let job = match queue.lock() {
            Ok(q) => q.recv_timeout(idle),
            Err(_) => return,
        };
        match job {
            Ok(job) => {
                // A panic ends the job (its caller sees an error), not the thread.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(hasher)));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if accounts::release_thread_memory() {
                    tracing::debug!("hashing queue idle: argon2 memory released");
                }
                // One thread at a time waits on the queue, the others on
                // its lock: stepping aside lets the next one time out and
                // release its memory too.
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(threads: usize) -> BlockingHasher {
        BlockingHasher::new(PasswordHasher::new(256, 1, 1).unwrap(), threads, 4)
    }

    #[tokio::test]
    async fn a_full_queue_refuses_and_abandoned_jobs_are_dropped() {
        let h = pool(1);
        // Hold the one thread until released.
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Mutex::new(gate);
        let (started, on_thread) = tokio::sync::oneshot::channel::<()>();
        let blocker = {
            let h = h.clone();
            tokio::spawn(async move {
                h.run(move |_| {
                    let _ = started.send(());
                    let _ = gate.lock().unwrap().recv();
                })
                .await
            })
        };
        on_thread.await.unwrap();
        // Four wait (the limit); their callers then give up.
        let ran = Arc::new(AtomicUsize::new(0));
        let mut waiting = Vec::new();
        for _ in 0..4 {
            let (h, ran) = (h.clone(), Arc::clone(&ran));
            waiting.push(tokio::spawn(async move {
                h.run(move |_| ran.fetch_add(1, Ordering::AcqRel)).await
            }));
        }
        while h.queued() < 4 {
            tokio::task::yield_now().await;
        }
        let refused = h.run(|_| ()).await;
        assert!(matches!(refused, Err(AppError::Busy { .. })), "{refused:?}");
        for w in &waiting {
            w.abort();
        }
        for w in waiting {
            let _ = w.await;
        }
        assert_eq!(h.queued(), 0, "callers that left free their places at once");
        release.send(()).unwrap();
        blocker.await.unwrap().unwrap();
        // The queue drains without running the abandoned jobs.
        let pw = Password::for_login("a long passphrase").unwrap();
        assert!(!h.verify(pw, None).await.unwrap());
        assert_eq!(ran.load(Ordering::Acquire), 0);
        assert_eq!(h.abandoned(), 4);
        assert_eq!(h.queued(), 0);
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
