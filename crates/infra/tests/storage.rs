//! The storage, through the use-cases, on real SQLite (a temporary
//! directory) and real PostgreSQL (a fresh database per test on the server
//! at `LS_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`).
//! Every scenario runs on both.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::sync::Arc;

use accounts::{DigestKey, PasswordHasher};
use app::{
    Actor, AppError, BlockingHasher, BootstrapOutcome, BootstrapRequest, CreateUserRequest,
    OsRandom, SecretString, Services, ServicesConfig, SignupRequest, Store, SystemClock,
};
use infra::SeaStore;
use orgs::Role;
use sea_orm::{ConnectionTrait, Statement};
use signup_policy::{Deny, Mode};

struct Db {
    url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

fn pg_admin_url() -> String {
    std::env::var("LS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

impl Db {
    fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("test.sqlite3").display());
        Self {
            url,
            _dir: Some(dir),
            pg_name: None,
        }
    }

    async fn postgres() -> Self {
        let admin = pg_admin_url();
        let name = format!(
            "ls_test_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        let conn = sea_orm::Database::connect(&admin).await.unwrap_or_else(|e| {
            panic!("PostgreSQL is needed for the storage tests ({admin}): {e}. `.ci/run` starts it.")
        });
        conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        conn.close().await.unwrap();
        let base = admin
            .rsplit_once('/')
            .map_or(admin.as_str(), |(b, _)| b)
            .to_owned();
        Self {
            url: format!("{base}/{name}"),
            _dir: None,
            pg_name: Some(name),
        }
    }

    async fn drop_pg(&self) {
        if let Some(name) = &self.pg_name
            && let Ok(conn) = sea_orm::Database::connect(&pg_admin_url()).await
        {
            let _ = conn
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
        }
    }
}

async fn services(db: &Db, mode: Mode) -> Services<SeaStore> {
    let store = infra::db::open(&db.url).await.unwrap();
    Services::new(
        store,
        BlockingHasher::new(PasswordHasher::new(256, 1, 1).unwrap(), 4),
        DigestKey::from_bytes([42; 32]),
        Arc::new(OsRandom),
        Arc::new(SystemClock),
        ServicesConfig {
            signup_mode: mode,
            ..ServicesConfig::default()
        },
    )
}

fn s(v: &str) -> SecretString {
    SecretString::new(v)
}

fn signup(email: &str, password: &str, invite: Option<&str>) -> SignupRequest {
    SignupRequest {
        email: email.into(),
        password: s(password),
        invite: invite.map(s),
        client: None,
    }
}

async fn bootstrap_is_idempotent(db: Db) {
    let svc = services(&db, Mode::InviteOnly).await;
    let first = svc
        .bootstrap(BootstrapRequest {
            username: "Admin@Example.com".into(),
            password: s("first-password-42"),
            user_token: Some(s("my-token-123")),
        })
        .await
        .unwrap();
    let BootstrapOutcome::Created {
        user,
        organization_id,
        token_generated,
    } = first
    else {
        panic!("expected a new account, got {first:?}")
    };
    assert!(!token_generated);
    assert_eq!(user.email.as_str(), "admin@example.com");
    assert_eq!(user.username, "admin");
    let org = svc
        .store()
        .organization(organization_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(org.title, "Label Studio");
    assert_eq!(org.created_by, Some(user.id));
    assert_eq!(
        svc.store()
            .membership(user.id, org.id)
            .await
            .unwrap()
            .unwrap()
            .role,
        Role::Owner
    );

    let again = svc
        .bootstrap(BootstrapRequest {
            username: "admin@example.com".into(),
            password: s("second-password-42"),
            user_token: Some(s("other-token-456")),
        })
        .await
        .unwrap();
    assert!(matches!(again, BootstrapOutcome::AlreadyExists { .. }));
    assert!(
        svc.login("admin@example.com", &s("first-password-42"))
            .await
            .is_ok()
    );
    assert!(matches!(
        svc.login("admin@example.com", &s("second-password-42"))
            .await,
        Err(AppError::BadCredentials)
    ));
    assert_eq!(
        svc.authenticate_token("my-token-123")
            .await
            .unwrap()
            .unwrap()
            .id,
        user.id
    );
    assert!(
        svc.authenticate_token("other-token-456")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(svc.store().user_count().await.unwrap(), 1);
    db.drop_pg().await;
}

async fn open_signup_first_owns_then_members_join(db: Db) {
    let svc = services(&db, Mode::Open).await;
    let (a, _) = svc
        .sign_up(signup("a@example.com", "a-good-password", None))
        .await
        .unwrap();
    assert!(a.created_organization);
    assert_eq!(a.role, Role::Owner);
    let (b, token_b) = svc
        .sign_up(signup("b@example.com", "b-good-password", None))
        .await
        .unwrap();
    assert!(!b.created_organization);
    assert_eq!(
        (b.role, b.organization_id),
        (Role::Member, a.organization_id)
    );
    assert_eq!(token_b.expose().len(), 40);
    assert_eq!(
        svc.authenticate_token(token_b.expose())
            .await
            .unwrap()
            .unwrap()
            .id,
        b.user.id
    );
    let dup = svc
        .sign_up(signup(" B@EXAMPLE.com", "another-password", None))
        .await;
    assert!(matches!(dup, Err(AppError::EmailTaken)), "{dup:?}");
    let bad = svc
        .sign_up(signup("not-an-email", "a-good-password", None))
        .await;
    assert!(
        matches!(
            bad,
            Err(AppError::Invalid {
                field: app::Field::Email,
                ..
            })
        ),
        "{bad:?}"
    );
    let weak = svc
        .sign_up(signup("c@example.com", "password1", None))
        .await;
    assert!(
        matches!(
            weak,
            Err(AppError::Invalid {
                field: app::Field::Password,
                ..
            })
        ),
        "{weak:?}"
    );
    assert_eq!(svc.store().user_count().await.unwrap(), 2);
    db.drop_pg().await;
}

async fn invite_only_and_reset_link(db: Db) {
    let svc = services(&db, Mode::InviteOnly).await;
    let denied = svc
        .sign_up(signup("x@example.com", "x-good-password", None))
        .await;
    assert!(
        matches!(denied, Err(AppError::SignupDenied(Deny::InviteRequired))),
        "{denied:?}"
    );
    assert_eq!(svc.store().user_count().await.unwrap(), 0);

    svc.bootstrap(BootstrapRequest {
        username: "owner@example.com".into(),
        password: s("owner-password-1"),
        user_token: None,
    })
    .await
    .unwrap();
    let (org, link) = svc.invite_link(&Actor::Operator).await.unwrap();
    assert_eq!(link.expose().len(), 43);
    let (joined, _) = svc
        .sign_up(signup(
            "x@example.com",
            "x-good-password",
            Some(link.expose()),
        ))
        .await
        .unwrap();
    assert_eq!(
        (joined.organization_id, joined.role),
        (org.id, Role::Member)
    );

    let (_, new_link) = svc.reset_invite(&Actor::Operator).await.unwrap();
    assert_ne!(new_link, link);
    let stale = svc
        .sign_up(signup(
            "y@example.com",
            "y-good-password",
            Some(link.expose()),
        ))
        .await;
    assert!(
        matches!(stale, Err(AppError::SignupDenied(Deny::InviteStale))),
        "{stale:?}"
    );
    for bad in [
        "",
        " ",
        "garbage",
        &format!(" {}", new_link.expose()),
        &new_link.expose().to_uppercase(),
    ] {
        let r = svc
            .sign_up(signup("y@example.com", "y-good-password", Some(bad)))
            .await;
        assert!(
            matches!(r, Err(AppError::SignupDenied(Deny::InviteInvalid))),
            "{bad:?}: {r:?}"
        );
    }
    assert_eq!(svc.store().user_count().await.unwrap(), 2);
    svc.sign_up(signup(
        "y@example.com",
        "y-good-password",
        Some(new_link.expose()),
    ))
    .await
    .unwrap();
    // The link shown again is the current one.
    assert_eq!(svc.invite_link(&Actor::Operator).await.unwrap().1, new_link);
    db.drop_pg().await;
}

async fn racing_signups_make_one_account_and_one_org(db: Db) {
    let svc = Arc::new(services(&db, Mode::Open).await);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let svc = Arc::clone(&svc);
        tasks.push(tokio::spawn(async move {
            let email = if i % 2 == 0 {
                "same@example.com".to_owned()
            } else {
                format!("other{i}@example.com")
            };
            svc.sign_up(signup(&email, "race-password-99", None)).await
        }));
    }
    let mut same_ok = 0;
    let mut taken = 0;
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.unwrap() {
            Ok(_) if i % 2 == 0 => same_ok += 1,
            Ok(_) => {}
            Err(AppError::EmailTaken) => taken += 1,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!((same_ok, taken), (1, 3));
    let users = svc.list_users().await.unwrap();
    assert_eq!(users.len(), 5);
    let orgs: std::collections::HashSet<_> =
        users.iter().map(|u| u.user.active_organization).collect();
    assert_eq!(orgs.len(), 1, "exactly one organization");
    assert_eq!(
        users.iter().filter(|u| u.role == Some(Role::Owner)).count(),
        1
    );
    db.drop_pg().await;
}

async fn tokens_passwords_and_sessions(db: Db) {
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
async fn a_login_replaces_the_session_and_forgets_failures(db: Db) {
    let svc = services(&db, Mode::Open).await;
    let (a, _) = svc
        .sign_up(signup("l@example.com", "login-password-1", None))
        .await
        .unwrap();
    let (right, wrong) = (s("login-password-1"), s("not-the-password"));
    let before = svc.start_session(a.user.id).await.unwrap();
    // Four failures of the five the account may have in a window.
    for _ in 0..4 {
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
    // Forgotten: four more failures and the right password still gets in.
    for _ in 0..4 {
        assert!(
            svc.log_in("l@example.com", &wrong, None, None)
                .await
                .is_err()
        );
    }
    svc.log_in("l@example.com", &right, None, None)
        .await
        .unwrap();
    // Without a success in between, the sixth attempt in the window is refused.
    for _ in 0..5 {
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

async fn administrator_creation_rules(db: Db) {
    let svc = services(&db, Mode::InviteOnly).await;
    let req = |email: &str, role| CreateUserRequest {
        email: email.into(),
        username: None,
        first_name: "Ann".into(),
        last_name: "Lee".into(),
        password: None,
        role,
    };
    // On an empty instance the operator's first user founds the organization.
    let (first, _) = svc
        .create_user(
            &Actor::Operator,
            req("first@example.com", Role::Administrator),
        )
        .await
        .unwrap();
    assert_eq!(first.role, Role::Owner);
    let (admin, _) = svc
        .create_user(
            &Actor::Operator,
            req("admin@example.com", Role::Administrator),
        )
        .await
        .unwrap();
    assert_eq!(admin.role, Role::Administrator);
    assert!(admin.user.password_hash.is_none());
    assert!(svc.login("admin@example.com", &s("")).await.is_err());
    assert!(matches!(
        svc.create_user(&Actor::Operator, req("two@example.com", Role::Owner))
            .await,
        Err(AppError::OneOwner)
    ));
    let member = Actor::Member {
        user_id: admin.user.id,
        organization_id: admin.organization_id,
        role: Role::Member,
    };
    assert!(matches!(
        svc.create_user(&member, req("m@example.com", Role::Member))
            .await,
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        svc.reset_invite(&member).await,
        Err(AppError::Forbidden)
    ));
    assert!(svc.invite_link(&member).await.is_ok());
    let manager = Actor::Member {
        user_id: admin.user.id,
        organization_id: admin.organization_id,
        role: Role::Administrator,
    };
    let (m, _) = svc
        .create_user(&manager, req("m@example.com", Role::Member))
        .await
        .unwrap();
    assert_eq!(
        (m.role, m.organization_id),
        (Role::Member, admin.organization_id)
    );
    let listed = svc.list_users().await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|u| u.user.email.as_str())
            .collect::<Vec<_>>(),
        ["first@example.com", "admin@example.com", "m@example.com"]
    );
    db.drop_pg().await;
}

async fn migrations_are_rerunnable(db: Db) {
    let svc = services(&db, Mode::Open).await;
    svc.sign_up(signup("keep@example.com", "keep-password-1", None))
        .await
        .unwrap();
    drop(svc);
    // Opening again applies nothing new and keeps the data.
    let svc = services(&db, Mode::Open).await;
    assert!(svc.find_user("keep@example.com").await.is_ok());
    db.drop_pg().await;
}

async fn concurrent_first_opens_migrate_once(db: Db) {
    // Several processes (or instances) starting at once on an empty database.
    let target = match &db.pg_name {
        Some(_) => None,
        None => Some(std::path::PathBuf::from(
            db.url.trim_start_matches("sqlite://"),
        )),
    };
    let opens = (0..4).map(|_| {
        let (url, target) = (db.url.clone(), target.clone());
        tokio::spawn(async move {
            match target {
                Some(path) => infra::db::open_target(&infra::DatabaseTarget::Sqlite(path)).await,
                None => infra::db::open(&url).await,
            }
        })
    });
    for o in opens.collect::<Vec<_>>() {
        o.await.unwrap().unwrap();
    }
    let svc = services(&db, Mode::Open).await;
    svc.sign_up(signup("once@example.com", "once-password-1", None))
        .await
        .unwrap();
    db.drop_pg().await;
}

async fn a_newer_schema_is_refused(db: Db) {
    let svc = services(&db, Mode::Open).await;
    let conn = svc.store().connection();
    conn.execute_unprepared(
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m2099_0101_000001_future', 0)",
    )
    .await
    .unwrap();
    drop(svc);
    let err = infra::db::open(&db.url).await.unwrap_err().to_string();
    assert!(err.contains("newer than this ls-users"), "{err}");
    db.drop_pg().await;
}

/// Membership pages are ordered by username then id from an order the store
/// keeps in memory; a change made through another store on the same
/// database (another instance, `ls-admin`) shows on the very next page.
async fn member_pages_follow_changes_made_elsewhere(db: Db) {
    let a = services(&db, Mode::Open).await;
    let b = services(&db, Mode::Open).await;
    let (owner, _) = a
        .sign_up(signup("zed@example.com", "owner-password-1", None))
        .await
        .unwrap();
    let org = owner.organization_id;
    let mut ids = std::collections::HashMap::new();
    for name in ["carol", "alice", "bob", "dave"] {
        let (m, _) = a
            .sign_up(signup(
                &format!("{name}@example.com"),
                "member-password-1",
                None,
            ))
            .await
            .unwrap();
        ids.insert(name, m.user.id);
    }
    async fn page_of(
        svc: &Services<SeaStore>,
        owner: &app::UserRecord,
        org: i64,
        page: usize,
        size: Option<usize>,
    ) -> (usize, Vec<String>) {
        let p = svc.membership_page(owner, org, page, size).await.unwrap();
        (
            p.count,
            p.members.iter().map(|(_, u)| u.username.clone()).collect(),
        )
    }
    let names = |svc, page, size| page_of(svc, &owner.user, org, page, size);
    assert_eq!(
        names(&a, 1, Some(2)).await,
        (5, vec!["alice".into(), "bob".into()])
    );
    assert_eq!(names(&a, 3, Some(2)).await, (5, vec!["zed".into()]));
    assert!(matches!(
        a.membership_page(&owner.user, org, 4, Some(2)).await,
        Err(AppError::InvalidPage)
    ));

    // A new member through the other store.
    b.sign_up(signup("aaron@example.com", "member-password-1", None))
        .await
        .unwrap();
    assert_eq!(
        names(&a, 1, Some(2)).await,
        (6, vec!["aaron".into(), "alice".into()])
    );

    // A rename through the other store moves the row.
    let owner_caller = b.caller(owner.user.clone()).await.unwrap();
    b.update_user(
        &owner_caller,
        ids["alice"],
        app::UserPatch {
            username: Some("yolanda".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (_, all) = names(&a, 1, None).await;
    assert_eq!(all, ["aaron", "bob", "carol", "dave", "yolanda", "zed"]);
    assert_eq!(
        names(&a, 2, Some(4)).await,
        (6, vec!["yolanda".into(), "zed".into()])
    );

    // A removed member and a deleted account leave the pages at once.
    b.remove_member(&owner.user, org, ids["bob"]).await.unwrap();
    assert_eq!(
        names(&a, 1, Some(3)).await,
        (5, vec!["aaron".into(), "carol".into(), "dave".into()])
    );
    b.delete_user(&owner_caller, ids["carol"]).await.unwrap();
    assert_eq!(
        names(&a, 1, Some(3)).await,
        (4, vec!["aaron".into(), "dave".into(), "yolanda".into()])
    );
    // And the list everyone sees agrees with a fresh store's.
    let c = services(&db, Mode::Open).await;
    assert_eq!(names(&a, 1, Some(100)).await, names(&c, 1, Some(100)).await);

    // Pages asked for together after a change read the order once.
    b.sign_up(signup("erin@example.com", "member-password-1", None))
        .await
        .unwrap();
    let before = a.store().member_orders_read();
    let a = Arc::new(a);
    let pages: Vec<_> = (0..8)
        .map(|_| {
            let (a, owner) = (Arc::clone(&a), owner.user.clone());
            tokio::spawn(async move { a.membership_page(&owner, org, 1, Some(2)).await })
        })
        .collect();
    for p in pages {
        assert_eq!(p.await.unwrap().unwrap().count, 5);
    }
    assert_eq!(a.store().member_orders_read(), before + 1);
    db.drop_pg().await;
}

/// Another deployment secret on the same database is refused, with a message
/// that names the setting; the right one is let in.
#[tokio::test]
async fn another_deployment_secret_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let settings = |key: &str| {
        let common = infra::CommonArgs {
            data_dir: Some(dir.path().to_owned()),
            ..Default::default()
        };
        let mut s = infra::config::load_common(&common).unwrap();
        s.secret_key = Some(SecretString::new(key));
        s
    };
    let a = "a".repeat(64);
    infra::services(&settings(&a)).await.unwrap();
    let err = infra::services(&settings(&"b".repeat(64)))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("LS_SECRET_KEY"), "{err}");
    infra::services(&settings(&a)).await.unwrap();
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Db::sqlite()).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Db::postgres().await).await })*
        }
    };
}

on_both!(
    bootstrap_is_idempotent,
    open_signup_first_owns_then_members_join,
    invite_only_and_reset_link,
    racing_signups_make_one_account_and_one_org,
    tokens_passwords_and_sessions,
    a_login_replaces_the_session_and_forgets_failures,
    administrator_creation_rules,
    migrations_are_rerunnable,
    concurrent_first_opens_migrate_once,
    a_newer_schema_is_refused,
    member_pages_follow_changes_made_elsewhere,
);

/// A new SQLite file opens every time: the pool opens its first connections
/// together, and two of them switching a new file to WAL at once made one
/// fail with "database is locked" (about one start in sixty).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_sqlite_files_open_every_time() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..100 {
        let path = dir.path().join(format!("fresh-{i}.sqlite3"));
        let store = infra::db::open_target(&infra::DatabaseTarget::Sqlite(path))
            .await
            .unwrap_or_else(|e| panic!("open {i}: {e}"));
        store.connection().clone().close().await.unwrap();
    }
}

/// The SQLite settings that let `ls-admin` write while the server runs, and
/// keep every acknowledged commit.
#[tokio::test]
async fn sqlite_is_opened_in_wal_with_full_sync_foreign_keys_and_busy_timeout() {
    let db = Db::sqlite();
    let svc = services(&db, Mode::Open).await;
    let conn = svc.store().connection();
    let pragma = |name: &'static str| async move {
        let row = conn
            .query_one_raw(Statement::from_string(
                conn.get_database_backend(),
                format!("PRAGMA {name}"),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<String>(0)
            .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
            .unwrap()
    };
    assert_eq!(pragma("journal_mode").await, "wal");
    assert_eq!(pragma("synchronous").await, "2", "FULL");
    assert_eq!(pragma("foreign_keys").await, "1");
    let timeout: i64 = pragma("busy_timeout").await.parse().unwrap();
    assert!(timeout >= 5000, "{timeout}");
}

/// A data directory may have any name: the SQLite path is never parsed as a URL.
#[tokio::test]
async fn sqlite_paths_with_url_characters_open_where_they_say() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join("my data?mode=ro#1")
        .join("ls-users.sqlite3");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let store = infra::db::open_target(&infra::DatabaseTarget::Sqlite(path.clone()))
        .await
        .unwrap();
    assert_eq!(store.user_count().await.unwrap(), 0);
    assert!(path.exists(), "{}", path.display());
}
