use orgs::Role;

use super::PasswordChangeRequest;
use crate::testkit::{Fixture, OWNER, PASSWORD, fixture, secret};
use crate::{AppError, Caller, Credential, ServicesConfig};

const NEW: &str = "a-brand-new-passphrase";

fn change<'a>(
    current: &'a crate::SecretString,
    new: &'a crate::SecretString,
) -> PasswordChangeRequest<'a> {
    PasswordChangeRequest {
        current,
        new,
        session: None,
        device: None,
        new_api_token: false,
    }
}

fn field(r: Result<impl std::fmt::Debug, AppError>) -> &'static str {
    match r {
        Err(AppError::Validation(v)) => v[0].0,
        other => panic!("expected a field error, got {other:?}"),
    }
}

async fn logs_in(f: &Fixture, email: &str, password: &str) -> bool {
    f.svc.login(email, &secret(password)).await.is_ok()
}

#[tokio::test]
async fn a_password_change_needs_the_current_one_and_ends_everything_else() {
    let f = fixture(ServicesConfig::default());
    let owner = f.owner().await;
    let here = f.svc.start_session(owner.user.id).await.unwrap();
    let elsewhere = f.svc.start_session(owner.user.id).await.unwrap();
    let pat = f.svc.create_personal_token(&owner).await.unwrap();
    let old_token = f.svc.reset_token(owner.user.id).await.unwrap();

    let wrong = secret("not-the-password");
    let new = secret(NEW);
    assert_eq!(
        field(
            f.svc
                .change_own_password(&owner, change(&wrong, &new))
                .await
        ),
        "current_password"
    );
    let current = secret(PASSWORD);
    let short = secret("short");
    assert_eq!(
        field(
            f.svc
                .change_own_password(&owner, change(&current, &short))
                .await
        ),
        "new_password"
    );
    assert!(
        logs_in(&f, OWNER, PASSWORD).await,
        "refusals change nothing"
    );

    let req = PasswordChangeRequest {
        session: Some(here.expose()),
        ..change(&current, &new)
    };
    let token = f.svc.change_own_password(&owner, req).await.unwrap();
    assert!(token.is_none(), "the API token stays unless asked");
    assert!(
        f.svc.session_user(here.expose()).await.unwrap().is_some(),
        "this session stays"
    );
    assert!(
        f.svc
            .session_user(elsewhere.expose())
            .await
            .unwrap()
            .is_none(),
        "the other ends"
    );
    assert!(
        f.svc.personal_tokens(&owner).await.unwrap().is_empty(),
        "personal access tokens are revoked"
    );
    assert!(f.svc.refresh_access(&pat.token).await.is_err());
    assert!(
        f.svc
            .token_caller(Credential::Legacy(old_token.expose()))
            .await
            .is_ok()
    );
    assert!(!logs_in(&f, OWNER, PASSWORD).await);
    assert!(logs_in(&f, OWNER, NEW).await);

    // Asked for, the API token is replaced too.
    let owner = f.caller(OWNER).await;
    let (current, newer) = (secret(NEW), secret("yet-another-passphrase"));
    let req = PasswordChangeRequest {
        new_api_token: true,
        ..change(&current, &newer)
    };
    let token = f
        .svc
        .change_own_password(&owner, req)
        .await
        .unwrap()
        .unwrap();
    assert!(
        f.svc
            .token_caller(Credential::Legacy(old_token.expose()))
            .await
            .is_err()
    );
    assert!(
        f.svc
            .token_caller(Credential::Legacy(token.expose()))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn wrong_current_passwords_count_as_failed_logins() {
    let f = fixture(ServicesConfig::default());
    let owner = f.owner().await;
    let (wrong, new) = (secret("not-the-password"), secret(NEW));
    let mut throttled = false;
    for _ in 0..20 {
        if let Err(AppError::Throttled { .. }) = f
            .svc
            .change_own_password(&owner, change(&wrong, &new))
            .await
        {
            throttled = true;
            break;
        }
    }
    assert!(throttled, "guessing the current password is throttled");
    let current = secret(PASSWORD);
    assert!(matches!(
        f.svc
            .change_own_password(&owner, change(&current, &new))
            .await,
        Err(AppError::Throttled { .. })
    ));
}

fn forbidden<T>(r: &Result<T, AppError>) -> bool {
    matches!(r, Err(AppError::Forbidden))
}

async fn team(f: &Fixture) -> (Caller, Caller, Caller, i64) {
    let owner = f.owner().await;
    let org = owner.active().unwrap().0;
    let admin = f.add("admin@example.com", Role::Administrator).await;
    let member = f.add("member@example.com", Role::Member).await;
    (owner, admin, member, org)
}

#[tokio::test]
async fn reset_links_work_once_and_die_with_a_newer_one_or_their_time() {
    let f = fixture(ServicesConfig::default());
    let (owner, admin, member, org) = team(&f).await;
    let session = f.svc.start_session(member.user.id).await.unwrap();

    let first = f
        .svc
        .make_reset_link(&admin.user, org, member.user.id)
        .await
        .unwrap();
    assert!(first.path().starts_with("/user/reset-password/?token="));
    let second = f
        .svc
        .make_reset_link(&owner.user, org, member.user.id)
        .await
        .unwrap();
    let new = secret(NEW);
    assert!(
        matches!(
            f.svc.reset_password(first.token.expose(), &new).await,
            Err(AppError::ResetLinkInvalid)
        ),
        "a newer link kills the older"
    );
    assert!(matches!(
        f.svc.reset_password("guess", &new).await,
        Err(AppError::ResetLinkInvalid)
    ));
    let short = secret("short");
    assert_eq!(
        field(f.svc.reset_password(second.token.expose(), &short).await),
        "password"
    );

    let user = f
        .svc
        .reset_password(second.token.expose(), &new)
        .await
        .unwrap();
    assert_eq!(user.id, member.user.id);
    assert!(
        f.svc
            .session_user(session.expose())
            .await
            .unwrap()
            .is_none(),
        "sessions end"
    );
    assert!(logs_in(&f, "member@example.com", NEW).await);
    assert!(
        matches!(
            f.svc
                .reset_password(second.token.expose(), &secret("again-a-password"))
                .await,
            Err(AppError::ResetLinkInvalid)
        ),
        "once only"
    );

    // Expiry: an hour by default.
    let third = f
        .svc
        .operator_reset_link("member@example.com")
        .await
        .unwrap();
    f.advance(3601);
    assert!(matches!(
        f.svc.reset_link_user(third.token.expose()).await,
        Err(AppError::ResetLinkInvalid)
    ));

    // A password changed otherwise kills the link.
    let fourth = f
        .svc
        .operator_reset_link("member@example.com")
        .await
        .unwrap();
    f.svc
        .set_password("member@example.com", &secret("changed-by-operator"))
        .await
        .unwrap();
    assert!(matches!(
        f.svc.reset_link_user(fourth.token.expose()).await,
        Err(AppError::ResetLinkInvalid)
    ));
}

#[tokio::test]
async fn only_those_who_outrank_someone_everywhere_make_their_links_or_deactivate_them() {
    let f = fixture(ServicesConfig::default());
    let (owner, admin, member, org) = team(&f).await;
    let other_admin = f.add("admin2@example.com", Role::Administrator).await;
    assert!(forbidden(
        &f.svc
            .make_reset_link(&member.user, org, admin.user.id)
            .await
    ));
    assert!(forbidden(
        &f.svc
            .make_reset_link(&admin.user, org, other_admin.user.id)
            .await
    ));
    assert!(forbidden(
        &f.svc.make_reset_link(&admin.user, org, owner.user.id).await
    ));
    assert!(forbidden(
        &f.svc.make_reset_link(&owner.user, org, owner.user.id).await
    ));
    assert!(
        f.svc
            .make_reset_link(&owner.user, org, other_admin.user.id)
            .await
            .is_ok()
    );

    assert!(forbidden(
        &f.svc
            .set_member_active(&admin.user, org, other_admin.user.id, false)
            .await
    ));
    let off = f
        .svc
        .set_member_active(&admin.user, org, member.user.id, false)
        .await
        .unwrap();
    assert!(!off.is_active);
    assert!(!logs_in(&f, "member@example.com", PASSWORD).await);
    f.svc
        .set_member_active(&admin.user, org, member.user.id, true)
        .await
        .unwrap();
    assert!(logs_in(&f, "member@example.com", PASSWORD).await);
}

#[tokio::test]
async fn ownership_moves_whole_and_the_owner_never_just_leaves() {
    let f = fixture(ServicesConfig::default());
    let (owner, admin, member, org) = team(&f).await;
    assert!(matches!(
        f.svc
            .transfer_ownership(&admin.user, org, member.user.id)
            .await,
        Err(AppError::Forbidden)
    ));
    f.svc
        .set_member_active(&owner.user, org, member.user.id, false)
        .await
        .unwrap();
    assert!(matches!(
        f.svc
            .transfer_ownership(&owner.user, org, member.user.id)
            .await,
        Err(AppError::InactiveOwner)
    ));
    f.svc
        .transfer_ownership(&owner.user, org, admin.user.id)
        .await
        .unwrap();
    assert_eq!(
        f.svc.role_in(admin.user.id, org).await.unwrap(),
        Role::Owner
    );
    assert_eq!(
        f.svc.role_in(owner.user.id, org).await.unwrap(),
        Role::Administrator
    );
    assert!(
        matches!(
            f.svc
                .transfer_ownership(&owner.user, org, admin.user.id)
                .await,
            Err(AppError::Forbidden)
        ),
        "the former owner is an administrator now"
    );

    // The operator: the owner is not demoted or deleted, only replaced.
    assert!(matches!(
        f.svc
            .operator_set_role("admin@example.com", Role::Member)
            .await,
        Err(AppError::LastOwner)
    ));
    assert!(matches!(
        f.svc.operator_delete_user("admin@example.com").await,
        Err(AppError::LastOwner)
    ));
    f.svc.operator_set_role(OWNER, Role::Owner).await.unwrap();
    assert_eq!(
        f.svc.role_in(owner.user.id, org).await.unwrap(),
        Role::Owner
    );
    assert_eq!(
        f.svc.role_in(admin.user.id, org).await.unwrap(),
        Role::Administrator
    );
    f.svc
        .operator_set_role("admin@example.com", Role::Member)
        .await
        .unwrap();
    assert_eq!(
        f.svc.role_in(admin.user.id, org).await.unwrap(),
        Role::Member
    );
    f.svc
        .operator_delete_user("admin@example.com")
        .await
        .unwrap();
    assert!(matches!(
        f.svc.find_user("admin@example.com").await,
        Err(AppError::NotFound(_))
    ));
}

#[tokio::test]
async fn an_administrator_cannot_demote_remove_then_take_over_another() {
    let f = fixture(ServicesConfig::default());
    let (owner, admin, _, org) = team(&f).await;
    let other = f.add("admin2@example.com", Role::Administrator).await;
    assert!(forbidden(
        &f.svc
            .change_role(&admin.user, org, other.user.id, Role::Member)
            .await
    ));
    assert!(forbidden(
        &f.svc.remove_member(&admin.user, org, other.user.id).await
    ));
    assert!(forbidden(
        &f.svc.make_reset_link(&admin.user, org, other.user.id).await
    ));
    assert_eq!(
        f.svc.role_in(other.user.id, org).await.unwrap(),
        Role::Administrator
    );
    // The owner may.
    f.svc
        .change_role(&owner.user, org, other.user.id, Role::Member)
        .await
        .unwrap();
}
