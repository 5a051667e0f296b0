//! Sign-up, bootstrap and user creation against the in-memory store.
use signup_policy::{Deny, Mode};

use super::*;
use crate::ServicesConfig;
use crate::store::UserStore as _;
use crate::testkit::{Fixture, OWNER, PASSWORD, fixture, secret};

fn signup(email: &str, invite: Option<&str>) -> SignupRequest {
    SignupRequest {
        email: email.into(),
        password: secret(PASSWORD),
        invite: invite.map(secret),
        client: None,
    }
}

fn invite_only() -> Fixture {
    fixture(ServicesConfig {
        signup_mode: Mode::InviteOnly,
        ..ServicesConfig::default()
    })
}

/// A Reset Link that lands while a sign-up's password is being hashed
/// (after its invite was checked) still stops that sign-up.
#[tokio::test]
async fn a_reset_during_the_hash_stops_the_sign_up() {
    let f = invite_only();
    let owner = f.owner().await;
    let (_, link) = f.svc.invite_link(&owner).await.unwrap();
    // Hold the one hashing thread until the reset is done.
    let (blocker, started, release) = crate::testkit::hold_hasher(&f.svc.hasher);
    let sign_up = f
        .svc
        .sign_up(signup("late@example.com", Some(link.expose())));
    let reset = async {
        while !started() || f.svc.hasher.queued() < 1 {
            tokio::task::yield_now().await;
        }
        // The sign-up passed its invite check and waits for the hash.
        f.svc.reset_invite(&owner).await.unwrap();
        release.send(()).unwrap();
    };
    let (held, joined, ()) = tokio::join!(blocker, sign_up, reset);
    held.unwrap();
    assert!(
        matches!(joined, Err(AppError::SignupDenied(Deny::InviteStale))),
        "{joined:?}"
    );
    assert!(f.svc.find_user("late@example.com").await.is_err());
}

#[tokio::test]
async fn the_first_account_founds_the_organization_and_the_next_join_it() {
    let f = fixture(ServicesConfig::default());
    let (first, _) = f.svc.sign_up(signup("a@example.com", None)).await.unwrap();
    assert!(first.created_organization);
    assert_eq!(first.role, Role::Owner);
    let (second, _) = f.svc.sign_up(signup("b@example.com", None)).await.unwrap();
    assert!(!second.created_organization);
    assert_eq!(
        (second.organization_id, second.role),
        (first.organization_id, Role::Member)
    );
    let again = f.svc.sign_up(signup(" A@Example.com ", None)).await;
    assert!(matches!(again, Err(AppError::EmailTaken)), "{again:?}");
}

#[tokio::test]
async fn sign_ups_that_make_an_account_never_count_against_the_address() {
    let f = fixture(ServicesConfig {
        throttle: crate::ThrottleConfig {
            signup_per_client: accounts::throttle::Limit {
                max_events: 2,
                window_secs: 3600,
                lockout_secs: 900,
            },
            ..crate::ThrottleConfig::default()
        },
        ..ServicesConfig::default()
    });
    let from = |email: &str| SignupRequest {
        client: Some("192.0.2.1".parse().unwrap()),
        ..signup(email, None)
    };
    for i in 0..5 {
        f.svc
            .sign_up(from(&format!("p{i}@example.com")))
            .await
            .unwrap();
    }
    for _ in 0..2 {
        assert!(matches!(
            f.svc.sign_up(from("p0@example.com")).await,
            Err(AppError::EmailTaken)
        ));
    }
    assert!(matches!(
        f.svc.sign_up(from("new@example.com")).await,
        Err(AppError::Throttled { .. })
    ));
}

#[tokio::test]
async fn invite_only_sign_up_needs_the_current_link() {
    let f = invite_only();
    let owner = f.owner().await;
    let refused = |r: Result<_, AppError>| match r {
        Err(AppError::SignupDenied(d)) => d,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(
        refused(f.svc.sign_up(signup("x@example.com", None)).await),
        Deny::InviteRequired
    );
    assert_eq!(
        refused(
            f.svc
                .sign_up(signup("x@example.com", Some("nonsense")))
                .await
        ),
        Deny::InviteInvalid
    );
    let (_, link) = f.svc.invite_link(&owner).await.unwrap();
    let (joined, _) = f
        .svc
        .sign_up(signup("x@example.com", Some(link.expose())))
        .await
        .unwrap();
    assert_eq!(
        (joined.organization_id, joined.role),
        (owner.active().unwrap().0, Role::Member)
    );
    f.svc.reset_invite(&owner).await.unwrap();
    assert_eq!(
        refused(
            f.svc
                .sign_up(signup("y@example.com", Some(link.expose())))
                .await
        ),
        Deny::InviteStale
    );
    assert_eq!(f.svc.store().user_count().await.unwrap(), 2);
}

/// A refused request learns nothing about its input: the policy answers first.
#[tokio::test]
async fn a_refused_sign_up_is_refused_before_its_input_is_read() {
    let f = invite_only();
    let bad = SignupRequest {
        password: secret("x"),
        ..signup("not an email", None)
    };
    assert!(matches!(
        f.svc.sign_up(bad).await,
        Err(AppError::SignupDenied(Deny::InviteRequired))
    ));
    assert!(matches!(
        f.svc.signup_gate(None).await,
        Err(AppError::SignupDenied(Deny::InviteRequired))
    ));
}

#[tokio::test]
async fn bootstrap_is_idempotent_and_changes_nothing_the_second_time() {
    let f = invite_only();
    let req = |password: &str| BootstrapRequest {
        username: OWNER.into(),
        password: secret(password),
        user_token: Some(secret("given-token-1")),
    };
    let first = f.svc.bootstrap(req(PASSWORD)).await.unwrap();
    assert!(matches!(
        first,
        BootstrapOutcome::Created {
            token_generated: false,
            ..
        }
    ));
    let second = f.svc.bootstrap(req("another-password-9")).await.unwrap();
    assert!(matches!(second, BootstrapOutcome::AlreadyExists { .. }));
    assert!(f.svc.login(OWNER, &secret(PASSWORD)).await.is_ok());
    assert!(
        f.svc
            .login(OWNER, &secret("another-password-9"))
            .await
            .is_err()
    );
    assert!(
        f.svc
            .authenticate_token("given-token-1")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn bootstrap_refuses_a_short_token_and_a_weak_password() {
    let f = fixture(ServicesConfig::default());
    let short = f
        .svc
        .bootstrap(BootstrapRequest {
            username: OWNER.into(),
            password: secret(PASSWORD),
            user_token: Some(secret("abcd")),
        })
        .await;
    assert!(matches!(
        short,
        Err(AppError::Invalid {
            field: Field::Token,
            ..
        })
    ));
    let weak = f
        .svc
        .bootstrap(BootstrapRequest {
            username: OWNER.into(),
            password: secret("short"),
            user_token: None,
        })
        .await;
    assert!(matches!(
        weak,
        Err(AppError::Invalid {
            field: Field::Password,
            ..
        })
    ));
    assert_eq!(f.svc.store().user_count().await.unwrap(), 0);
}

#[tokio::test]
async fn who_may_create_users_and_with_which_role() {
    let f = invite_only();
    let req = |email: &str, role| CreateUserRequest {
        email: email.into(),
        username: None,
        first_name: String::new(),
        last_name: String::new(),
        password: None,
        role,
    };
    // The operator's first user founds the organization, whatever the policy.
    let (founder, _) = f
        .svc
        .operator_create_user(req(OWNER, Role::Member))
        .await
        .unwrap();
    assert_eq!(founder.role, Role::Owner);
    let owner = f.caller(OWNER).await;
    let member = f.add("m@example.com", Role::Member).await;
    assert!(matches!(
        f.svc
            .create_user(&member, req("n@example.com", Role::Member))
            .await,
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        f.svc
            .create_user(&owner, req("n@example.com", Role::Owner))
            .await,
        Err(AppError::OneOwner)
    ));
    let (admin, _) = f
        .svc
        .create_user(&owner, req("n@example.com", Role::Administrator))
        .await
        .unwrap();
    assert_eq!(admin.role, Role::Administrator);
    assert!(matches!(
        f.svc
            .create_user(&owner, req("N@example.com", Role::Member))
            .await,
        Err(AppError::EmailTaken)
    ));
}

mod first_run_tests {
    use super::*;
    use crate::ServicesConfig;
    use crate::testkit::{OWNER, PASSWORD, fixture, secret};

    #[tokio::test]
    async fn a_first_run_account_that_is_not_the_first_joins_as_administrator() {
        let f = fixture(ServicesConfig::default());
        f.owner().await;
        let outcome = f
            .svc
            .bootstrap(BootstrapRequest {
                username: "second@example.com".into(),
                password: secret(PASSWORD),
                user_token: None,
            })
            .await
            .unwrap();
        let BootstrapOutcome::Joined { user, .. } = outcome else {
            panic!("expected to join, got {outcome:?}");
        };
        let caller = f.caller(user.email.as_str()).await;
        assert_eq!(caller.membership.map(|(_, r)| r), Some(Role::Administrator));
        assert_eq!(
            f.caller(OWNER).await.membership.map(|(_, r)| r),
            Some(Role::Owner)
        );
    }

    #[test]
    fn first_run_values_are_checked_without_storage() {
        let policy = PasswordPolicy::default();
        let req = |user: &str, password: &str, token: Option<&str>| BootstrapRequest {
            username: user.into(),
            password: secret(password),
            user_token: token.map(secret),
        };
        assert!(
            req(OWNER, PASSWORD, Some("tok-12345"))
                .check(&policy)
                .is_ok()
        );
        let from_a_file = format!("{PASSWORD}\n");
        let (_, _, pw) = req(OWNER, &from_a_file, None).check(&policy).unwrap();
        assert_eq!(
            pw.char_count(),
            PASSWORD.len(),
            "the trailing line break is dropped"
        );
        for (r, field) in [
            (req("not-an-email", PASSWORD, None), Field::Username),
            (req(OWNER, PASSWORD, Some("")), Field::Token),
            (req(OWNER, PASSWORD, Some("abcd")), Field::Token),
            (req(OWNER, "short", None), Field::Password),
        ] {
            assert!(
                matches!(r.check(&policy), Err(AppError::Invalid { field: f, .. }) if f == field),
                "{field:?}"
            );
        }
    }
}
