//! Accounts: the first-run account, sign-up, the invite link, user creation.

use super::*;

pub(super) async fn bootstrap_is_idempotent(db: Db) {
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

pub(super) async fn open_signup_first_owns_then_members_join(db: Db) {
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

pub(super) async fn invite_only_and_reset_link(db: Db) {
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
    let (org, link) = svc.operator_invite_link().await.unwrap();
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

    let (_, new_link) = svc.operator_reset_invite().await.unwrap();
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
    assert_eq!(svc.operator_invite_link().await.unwrap().1, new_link);
    db.drop_pg().await;
}

pub(super) async fn racing_signups_make_one_account_and_one_org(db: Db) {
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

pub(super) async fn administrator_creation_rules(db: Db) {
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
        .operator_create_user(req("first@example.com", Role::Administrator))
        .await
        .unwrap();
    assert_eq!(first.role, Role::Owner);
    let (admin, _) = svc
        .operator_create_user(req("admin@example.com", Role::Administrator))
        .await
        .unwrap();
    assert_eq!(admin.role, Role::Administrator);
    assert!(admin.user.password_hash.is_none());
    assert!(svc.login("admin@example.com", &s("")).await.is_err());
    assert!(matches!(
        svc.operator_create_user(req("two@example.com", Role::Owner))
            .await,
        Err(AppError::OneOwner)
    ));
    let member = Caller {
        user: admin.user.clone(),
        membership: Some((admin.organization_id, Role::Member)),
        org_meta: None,
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
    let manager = Caller {
        user: admin.user.clone(),
        membership: Some((admin.organization_id, Role::Administrator)),
        org_meta: None,
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

/// Ten Reset Links at once make ten generations, each once, and only the
/// last link registers anyone.
pub(super) async fn concurrent_resets_never_reuse_a_generation(db: Db) {
    let svc = std::sync::Arc::new(services(&db, Mode::InviteOnly).await);
    bootstrap_owner(&svc).await;
    let (org, _) = svc.operator_invite_link().await.unwrap();
    let start = org.invite.generation();
    let resets: Vec<_> = (0..10)
        .map(|_| {
            let svc = std::sync::Arc::clone(&svc);
            tokio::spawn(async move { svc.operator_reset_invite().await.unwrap() })
        })
        .collect();
    let mut generations = Vec::new();
    for r in resets {
        let (org, _) = r.await.unwrap();
        generations.push(org.invite.generation());
    }
    generations.sort_unstable();
    let expected: Vec<u64> = (1..=10).map(|i| start + i).collect();
    assert_eq!(generations, expected, "a generation was made twice");
    let (_, link) = svc.operator_invite_link().await.unwrap();
    svc.sign_up(signup(
        "n@example.com",
        "n-good-password",
        Some(link.expose()),
    ))
    .await
    .unwrap();
    db.drop_pg().await;
}

/// Two managers changing different token settings at once: both changes
/// hold (each is applied to the settings as read inside its write), so
/// legacy tokens, once disabled, are never switched back on by a change to
/// another setting. Thirty rounds, each with both changes in parallel.
pub(super) async fn concurrent_token_settings_changes_both_hold(db: Db) {
    use app::TokenSettingsPatch;
    let svc = std::sync::Arc::new(services(&db, Mode::Open).await);
    bootstrap_owner(&svc).await;
    let owner = svc.find_user("owner@example.com").await.unwrap();
    let owner = svc.caller(owner).await.unwrap();
    let admin = svc
        .operator_create_user(CreateUserRequest {
            email: "admin@example.com".into(),
            username: None,
            first_name: String::new(),
            last_name: String::new(),
            password: None,
            role: Role::Administrator,
        })
        .await
        .unwrap();
    let admin = svc.caller(admin.0.user).await.unwrap();
    for round in 0..30 {
        svc.set_token_settings(
            &owner,
            TokenSettingsPatch {
                api_tokens_enabled: Some(true),
                legacy_api_tokens_enabled: Some(true),
                api_token_ttl_days: None,
            },
        )
        .await
        .unwrap();
        let (a, b) = (std::sync::Arc::clone(&svc), std::sync::Arc::clone(&svc));
        let (owner2, admin2) = (owner.clone(), admin.clone());
        let legacy_off = tokio::spawn(async move {
            a.set_token_settings(
                &owner2,
                TokenSettingsPatch {
                    legacy_api_tokens_enabled: Some(false),
                    ..TokenSettingsPatch::default()
                },
            )
            .await
            .unwrap()
        });
        let pat_off = tokio::spawn(async move {
            b.set_token_settings(
                &admin2,
                TokenSettingsPatch {
                    api_tokens_enabled: Some(false),
                    ..TokenSettingsPatch::default()
                },
            )
            .await
            .unwrap()
        });
        legacy_off.await.unwrap();
        pat_off.await.unwrap();
        let now = svc.token_settings(&owner).await.unwrap();
        assert!(
            !now.legacy_api_tokens_enabled && !now.api_tokens_enabled,
            "round {round}: a change was lost: {now:?}"
        );
    }
    db.drop_pg().await;
}

/// The first-run owner, owner@example.com.
async fn bootstrap_owner(svc: &Services<SeaStore>) {
    svc.bootstrap(BootstrapRequest {
        username: "owner@example.com".into(),
        password: s("owner-password-1"),
        user_token: None,
    })
    .await
    .unwrap();
}
