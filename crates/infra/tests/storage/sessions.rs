//! Tokens, passwords and sessions.

use super::*;

pub(super) async fn tokens_passwords_and_sessions(db: Db) {
    let svc = services(&db, Mode::Open).await;
    let (a, old) = svc
        .sign_up(signup("t@example.com", "token-password-1", None))
        .await
        .unwrap();
    let new = svc.reset_token(a.user.id).await.unwrap();
    assert!(
        svc.authenticate_token(old.expose())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        svc.authenticate_token(new.expose())
            .await
            .unwrap()
            .unwrap()
            .id,
        a.user.id
    );

    // Only digests are stored.
    let conn = svc.store().connection();
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT digest FROM api_tokens",
        ))
        .await
        .unwrap();
    for row in rows {
        let digest: String = row.try_get("", "digest").unwrap();
        assert_ne!(digest, new.expose());
        assert_eq!(digest.len(), 64);
    }

    let sid = svc.start_session(a.user.id).await.unwrap();
    assert_eq!(
        svc.session_user(sid.expose()).await.unwrap().unwrap().id,
        a.user.id
    );
    svc.set_password("t@example.com", &s("token-password-2"))
        .await
        .unwrap();
    assert!(
        svc.session_user(sid.expose()).await.unwrap().is_none(),
        "password change ends sessions"
    );
    assert!(
        svc.login("t@example.com", &s("token-password-1"))
            .await
            .is_err()
    );
    assert!(
        svc.login("T@Example.com", &s("token-password-2"))
            .await
            .is_ok()
    );

    let sid = svc.start_session(a.user.id).await.unwrap();
    svc.set_active("t@example.com", false).await.unwrap();
    assert!(
        svc.session_user(sid.expose()).await.unwrap().is_none(),
        "deactivation ends sessions"
    );
    assert!(
        svc.login("t@example.com", &s("token-password-2"))
            .await
            .is_err()
    );
    svc.set_active("t@example.com", true).await.unwrap();
    let sid = svc.start_session(a.user.id).await.unwrap();
    svc.end_session(sid.expose()).await.unwrap();
    assert!(svc.session_user(sid.expose()).await.unwrap().is_none());
    assert!(
        svc.login("nobody@example.com", &s("token-password-2"))
            .await
            .is_err()
    );
    db.drop_pg().await;
}

/// A login's session, the end of the browser's previous one and the reset of
/// the account's failure count are one write: each of the three holds.
pub(super) async fn a_login_replaces_the_session_and_forgets_failures(db: Db) {
    let svc = services(&db, Mode::Open).await;
    let (a, _) = svc
        .sign_up(signup("l@example.com", "login-password-1", None))
        .await
        .unwrap();
    let (right, wrong) = (s("login-password-1"), s("not-the-password"));
    let before = svc.start_session(a.user.id).await.unwrap();
    // Nine failures of the ten the account may have in a row (API.md).
    for _ in 0..9 {
        assert!(matches!(
            svc.log_in("l@example.com", &wrong, None, None).await,
            Err(AppError::BadCredentials)
        ));
    }
    let (user, after) = svc
        .log_in("l@example.com", &right, None, Some(before.expose()))
        .await
        .unwrap();
    assert_eq!(user.id, a.user.id);
    assert!(svc.session_user(before.expose()).await.unwrap().is_none());
    assert_eq!(
        svc.session_user(after.expose()).await.unwrap().unwrap().id,
        a.user.id
    );
    // Forgotten: nine more failures and the right password still gets in.
    for _ in 0..9 {
        assert!(
            svc.log_in("l@example.com", &wrong, None, None)
                .await
                .is_err()
        );
    }
    svc.log_in("l@example.com", &right, None, None)
        .await
        .unwrap();
    // Without a success in between, the eleventh attempt is refused.
    for _ in 0..10 {
        assert!(
            svc.log_in("l@example.com", &wrong, None, None)
                .await
                .is_err()
        );
    }
    assert!(matches!(
        svc.log_in("l@example.com", &right, None, None).await,
        Err(AppError::Throttled { .. })
    ));
    db.drop_pg().await;
}

/// A write the store refuses commits nothing: a rotation of a token that is
/// not live, a locked throttle key, an email already taken leave the
/// database as it was (on SQLite a commit would also empty every process's
/// token cache).
pub(super) async fn refused_writes_commit_nothing(db: Db) {
    use app::{PersonalTokenRecord, ThrottleStore, TokenStore};
    let svc = services(&db, Mode::Open).await;
    let (a, _) = svc
        .sign_up(signup("r@example.com", "rotate-password-1", None))
        .await
        .unwrap();
    let store = svc.store();
    let conn = store.connection();
    let writes = || async {
        let row = conn
            .query_one_raw(Statement::from_string(
                conn.get_database_backend(),
                "SELECT write_counter FROM deployment".to_owned(),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    };
    let token = |jti: &str| PersonalTokenRecord {
        jti: jti.into(),
        user_id: a.user.id,
        created_at: 1,
        expires_at: i64::MAX,
        revoked_at: None,
        last_used_at: None,
    };
    store.create_personal_token(token("a1"), 2).await.unwrap();
    assert!(store.revoke_personal_token("a1", 3).await.unwrap());
    let before = writes().await;
    assert!(
        !store
            .rotate_personal_token("a1", token("b2"), 4)
            .await
            .unwrap()
    );
    assert!(
        !store
            .rotate_personal_token("nope", token("b2"), 4)
            .await
            .unwrap()
    );
    assert!(store.personal_token("b2").await.unwrap().is_none());
    let limit = accounts::throttle::Limit {
        max_events: 1,
        window_secs: 900,
        lockout_secs: 900,
    };
    let key = || vec![("k".to_owned(), limit)];
    assert_eq!(store.throttle_admit(key(), 10).await.unwrap(), Ok(()));
    // The attempt after the limit is refused and starts the lock: that
    // lock is written once; attempts at a locked key write nothing.
    assert_eq!(store.throttle_admit(key(), 11).await.unwrap(), Err(911));
    let before = before + 2;
    assert_eq!(writes().await, before);
    assert_eq!(store.throttle_admit(key(), 12).await.unwrap(), Err(911));
    assert!(matches!(
        svc.sign_up(signup("R@example.com", "rotate-password-1", None))
            .await,
        Err(AppError::EmailTaken)
    ));
    assert_eq!(writes().await, before, "a refused write committed");
    db.drop_pg().await;
}
