//! Throttle counters and device cookies in the database.

use app::{SecretString, SessionStore as _, ThrottleStore as _};
use sea_orm::TransactionTrait as _;

use super::{Db, Mode, s, services, signup};

fn limit(max_events: u32) -> accounts::throttle::Limit {
    accounts::throttle::Limit {
        max_events,
        window_secs: 900,
        lockout_secs: 900,
    }
}

/// 10,000 distinct client addresses, one failed login each, cannot grow
/// the table past its cap (plus the keys one process adds between two
/// clean-ups); a locked account survives the eviction; once their windows
/// have passed every counter is removed.
pub(super) async fn the_throttle_table_stays_within_its_cap(db: Db) {
    let store = infra::db::open(&db.url)
        .await
        .unwrap()
        .with_throttle_cap(1000);
    let t0 = 1_800_000_000;
    let account = || vec![("login:account:victim@example.com".to_owned(), limit(1))];
    assert_eq!(store.throttle_admit(account(), t0).await.unwrap(), Ok(()));
    assert!(store.throttle_admit(account(), t0).await.unwrap().is_err());
    let mut most = 0;
    for i in 0..10_000u32 {
        let ip = format!("login:client:10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
        assert_eq!(
            store
                .throttle_admit(vec![(ip, limit(300))], t0 + 1)
                .await
                .unwrap(),
            Ok(())
        );
        if i % 500 == 499 {
            most = most.max(store.throttle_rows().await.unwrap());
        }
    }
    let rows = store.throttle_rows().await.unwrap();
    most = most.max(rows);
    assert!(most <= 1000 + 64, "the table grew to {most} rows");
    assert!(
        store
            .throttle_admit(account(), t0 + 2)
            .await
            .unwrap()
            .is_err(),
        "the account's lock was evicted"
    );
    // Past every window and the lock: the next clean-up removes them all.
    let later = t0 + 901 + 60;
    assert_eq!(
        store
            .throttle_admit(vec![("login:client:192.0.2.1".into(), limit(300))], later)
            .await
            .unwrap(),
        Ok(())
    );
    assert_eq!(store.throttle_rows().await.unwrap(), 1);
    db.drop_pg().await;
}

/// A login gives a device cookie bound to the account; with it, failures
/// count against the device and the account's lock does not apply; it does
/// nothing for another account; a password change revokes it.
pub(super) async fn device_cookies_bypass_the_account_lock_for_their_owner(db: Db) {
    let svc = services(&db, Mode::Open).await;
    let (a, _) = svc
        .sign_up(signup("d@example.com", "device-password-1", None))
        .await
        .unwrap();
    svc.sign_up(signup("e@example.com", "device-password-2", None))
        .await
        .unwrap();
    let (right, wrong) = (s("device-password-1"), s("not-the-password"));
    let first = svc
        .log_in_device("d@example.com", &right, None, None, None)
        .await
        .unwrap();
    let device = first.device.expect("a new device cookie");
    assert_eq!(
        svc.store().device_digests(a.user.id).await.unwrap().len(),
        1
    );
    // Lock the account for browsers without the cookie.
    for _ in 0..10 {
        assert!(
            svc.log_in("d@example.com", &wrong, None, None)
                .await
                .is_err()
        );
    }
    assert!(matches!(
        svc.log_in("d@example.com", &right, None, None).await,
        Err(app::AppError::Throttled { .. })
    ));
    // The owner's browser gets in, and keeps its cookie (no new one).
    let again = svc
        .log_in_device("d@example.com", &right, None, None, Some(device.expose()))
        .await
        .unwrap();
    assert!(again.device.is_none());
    // A wrong password with the cookie is refused and counts on the device only.
    assert!(matches!(
        svc.log_in_device("d@example.com", &wrong, None, None, Some(device.expose()))
            .await,
        Err(app::AppError::BadCredentials)
    ));
    // Another account's lock is not lifted by this cookie.
    for _ in 0..10 {
        let _ = svc
            .log_in("e@example.com", &s("wrong-for-e"), None, None)
            .await;
    }
    assert!(matches!(
        svc.log_in_device(
            "e@example.com",
            &s("device-password-2"),
            None,
            None,
            Some(device.expose())
        )
        .await,
        Err(app::AppError::Throttled { .. })
    ));
    // A password change revokes it.
    svc.set_password("d@example.com", &SecretString::new("a-new-password-9"))
        .await
        .unwrap();
    assert!(
        svc.store()
            .device_digests(a.user.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        svc.log_in_device(
            "d@example.com",
            &s("a-new-password-9"),
            None,
            None,
            Some(device.expose())
        )
        .await,
        Err(app::AppError::Throttled { .. })
    ));
    db.drop_pg().await;
}

/// Logins that succeed (forgetting the account's counter in their session's
/// transaction) racing failures (updating it) on one account: every answer
/// is a session or the ordinary refusal, never a storage error (on
/// PostgreSQL the session's write now serialises with the counters').
pub(super) async fn racing_logins_and_failures_never_fail_the_store(db: Db) {
    let svc = std::sync::Arc::new(services(&db, Mode::Open).await);
    svc.sign_up(signup("race@example.com", "race-password-1", None))
        .await
        .unwrap();
    let device = svc
        .log_in_device("race@example.com", &s("race-password-1"), None, None, None)
        .await
        .unwrap()
        .device
        .unwrap();
    let device = std::sync::Arc::new(device.expose().to_owned());
    let ip: std::net::IpAddr = "192.0.2.77".parse().unwrap();
    for round in 0..5 {
        let tasks: Vec<_> = (0..24)
            .map(|i| {
                let svc = std::sync::Arc::clone(&svc);
                let device = std::sync::Arc::clone(&device);
                tokio::spawn(async move {
                    let pw = if i % 2 == 0 {
                        "race-password-1"
                    } else {
                        "not-it-at-all"
                    };
                    // Without and with the device cookie, from one address:
                    // the account's, the device's and the address's counters.
                    let dev = (i % 4 >= 2).then_some(device.as_str());
                    svc.log_in_device("race@example.com", &s(pw), Some(ip), None, dev)
                        .await
                        .map(|_| ())
                })
            })
            .collect();
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) | Err(app::AppError::BadCredentials | app::AppError::Throttled { .. }) => {}
                Err(e) => panic!("round {round}: {e:?}"),
            }
        }
    }
    db.drop_pg().await;
}

/// An attempt at a locked key is refused on a read alone: while another
/// connection holds SQLite's write lock, the refusal still comes at once
/// (a write transaction would wait out the busy timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_key_is_refused_without_a_write_transaction() {
    let db = Db::sqlite();
    let store = infra::db::open(&db.url).await.unwrap();
    let key = || vec![("login:account:l@example.com".to_owned(), limit(1))];
    let t0 = 1_800_000_000;
    assert_eq!(store.throttle_admit(key(), t0).await.unwrap(), Ok(()));
    assert!(store.throttle_admit(key(), t0).await.unwrap().is_err());
    let other = infra::db::open(&db.url).await.unwrap();
    let holder = other
        .connection()
        .begin_with_options(sea_orm::TransactionOptions {
            sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
            ..Default::default()
        });
    let holder = holder.await.unwrap();
    let refused = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        store.throttle_admit(key(), t0 + 1),
    )
    .await
    .expect("a locked key waited for the write lock");
    assert!(refused.unwrap().is_err());
    holder.rollback().await.unwrap();
}
