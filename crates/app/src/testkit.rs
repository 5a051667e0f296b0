//! What the use-cases' unit tests share: [`Services`] over the in-memory
//! store, a clock the test moves, random bytes that never repeat, and
//! cheap hashing parameters.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use accounts::{DigestKey, PasswordHasher};
use orgs::Role;

use crate::store::memory::MemoryStore;
use crate::{
    AppError, BootstrapRequest, Caller, Clock, CreateUserRequest, Random, SecretString, Services,
    ServicesConfig,
};

pub(crate) const PASSWORD: &str = "correct-horse-42";
pub(crate) const OWNER: &str = "owner@example.com";

/// Microseconds since the epoch, moved by the test.
#[derive(Debug)]
pub(crate) struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now_micros(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A splitmix64 stream: different bytes on every call, the same in every run.
#[derive(Debug)]
struct TestRandom(AtomicU64);

impl Random for TestRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), AppError> {
        for chunk in buf.chunks_mut(8) {
            let mut z = self
                .0
                .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::SeqCst)
                .wrapping_add(0x9e37_79b9_7f4a_7c15);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
        Ok(())
    }
}

pub(crate) struct Fixture {
    pub(crate) svc: Services<MemoryStore>,
    clock: Arc<TestClock>,
}

pub(crate) fn secret(s: &str) -> SecretString {
    SecretString::new(s)
}

pub(crate) fn fixture(config: ServicesConfig) -> Fixture {
    fixture_with_queue(config, 64)
}

/// A fixture whose one hashing thread has `max_queued` waiting places.
pub(crate) fn fixture_with_queue(config: ServicesConfig, max_queued: usize) -> Fixture {
    let clock = Arc::new(TestClock(AtomicI64::new(1_800_000_000_000_000)));
    let hasher = PasswordHasher::new(8, 1, 1).expect("cheap argon2 parameters");
    let svc = Services::new(
        MemoryStore::new(),
        crate::BlockingHasher::new(hasher, 1, max_queued),
        DigestKey::from_bytes([7; 32]),
        Arc::new(TestRandom(AtomicU64::new(1))),
        Arc::clone(&clock) as Arc<dyn Clock>,
        config,
    );
    Fixture { svc, clock }
}

impl Fixture {
    /// The same fixture with OpenID providers to log in with.
    pub(crate) fn with_identity_providers(
        self,
        providers: Arc<dyn crate::identity_providers::IdentityProviders>,
    ) -> Self {
        Fixture {
            svc: self.svc.with_identity_providers(providers),
            clock: self.clock,
        }
    }

    /// The same fixture sending mail through `sender`.
    pub(crate) fn with_mail(self, sender: Arc<dyn crate::mail::MailSender>) -> Self {
        Fixture {
            svc: self.svc.with_mail(crate::mail::Mail { sender }),
            clock: self.clock,
        }
    }

    pub(crate) fn advance(&self, secs: i64) {
        self.clock.0.fetch_add(secs * 1_000_000, Ordering::SeqCst);
    }

    /// The first-run account: the owner of the organization.
    pub(crate) async fn owner(&self) -> Caller {
        self.svc
            .bootstrap(BootstrapRequest {
                username: OWNER.into(),
                password: secret(PASSWORD),
                user_token: None,
            })
            .await
            .expect("bootstrap");
        self.caller(OWNER).await
    }

    /// A user the operator adds to the organization, with [`PASSWORD`].
    pub(crate) async fn add(&self, email: &str, role: Role) -> Caller {
        self.svc
            .operator_create_user(CreateUserRequest {
                email: email.into(),
                username: None,
                first_name: String::new(),
                last_name: String::new(),
                password: Some(secret(PASSWORD)),
                role,
            })
            .await
            .expect("create user");
        self.caller(email).await
    }

    pub(crate) async fn caller(&self, email: &str) -> Caller {
        let user = self.svc.find_user(email).await.expect("user");
        self.svc.caller(user).await.expect("caller")
    }
}

/// Holds the one hashing thread of `hasher` until the returned sender
/// sends: the job's future (poll it with the rest), and whether the job is
/// on the thread yet.
pub(crate) fn hold_hasher(
    hasher: &crate::BlockingHasher,
) -> (
    impl std::future::Future<Output = Result<(), crate::AppError>> + '_,
    impl Fn() -> bool,
    std::sync::mpsc::Sender<()>,
) {
    let on_thread = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let held = Arc::clone(&on_thread);
    let (release, gate) = std::sync::mpsc::channel::<()>();
    let gate = std::sync::Mutex::new(gate);
    let job = hasher.run(move |_| {
        held.store(true, Ordering::SeqCst);
        let _ = gate.lock().map(|g| g.recv());
    });
    (job, move || on_thread.load(Ordering::SeqCst), release)
}
