//! The single sign-on use-cases over the in-memory store. The provider
//! here is a stand-in for the port (`IdentityProviders`), answering with
//! the identity the test sets: the protocol itself (discovery, PKCE, the
//! ID token's checks) is `infra`'s, tested against a real OpenID provider
//! in `tests/tests/sso.rs`.

use std::sync::{Arc, Mutex};

use orgs::Role;
use signup_policy::{Deny, Mode};

use super::*;
use crate::testkit::{Fixture, OWNER, fixture};
use crate::{OrgStore as _, ServicesConfig, SsoStore as _, UserStore as _};

const REDIRECT: &str = "http://ls.test/user/sso/company/callback";

#[derive(Debug)]
struct StandIn {
    info: Vec<ProviderInfo>,
    identity: Mutex<Option<VerifiedIdentity>>,
    /// The (verifier, nonce) each exchange was given.
    seen: Mutex<Vec<(String, String)>>,
}

impl IdentityProviders for StandIn {
    fn providers(&self) -> &[ProviderInfo] {
        &self.info
    }
    fn authorize_url<'a>(
        &'a self,
        req: AuthorizeRequest<'a>,
    ) -> BoxFuture<'a, Result<String, ProviderError>> {
        let url = format!("https://id.test/auth?state={}", req.state);
        Box::pin(async move { Ok(url) })
    }
    fn exchange<'a>(
        &'a self,
        req: CodeExchange<'a>,
    ) -> BoxFuture<'a, Result<VerifiedIdentity, ProviderError>> {
        self.seen
            .lock()
            .unwrap()
            .push((req.pkce_verifier.to_owned(), req.nonce.to_owned()));
        let answer = self
            .identity
            .lock()
            .unwrap()
            .clone()
            .ok_or_else(|| ProviderError::Refused("bad signature".into()));
        Box::pin(async move { answer })
    }
    fn end_session_url<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Option<String>> {
        Box::pin(async { None })
    }
}

fn person(sub: &str, email: &str, verified: bool) -> VerifiedIdentity {
    VerifiedIdentity {
        issuer: "https://id.test".into(),
        subject: sub.into(),
        email: Some(email.into()),
        email_verified: verified,
        name: Some("Ann Lee".into()),
        administrator: None,
    }
}

fn setup(mode: Mode) -> (Fixture, Arc<StandIn>) {
    setup_with(ServicesConfig {
        signup_mode: mode,
        ..ServicesConfig::default()
    })
}

fn setup_with(config: ServicesConfig) -> (Fixture, Arc<StandIn>) {
    let p = Arc::new(StandIn {
        info: vec![ProviderInfo {
            name: "company".into(),
            label: "Company".into(),
        }],
        identity: Mutex::new(None),
        seen: Mutex::new(Vec::new()),
    });
    let f = fixture(config).with_identity_providers(p.clone());
    (f, p)
}

/// The browser secret (the cookie) and the state the provider got.
fn split(start: &SsoStart) -> (String, String) {
    let state = start.url.split("state=").nth(1).unwrap().to_owned();
    (start.browser_secret.expose().to_owned(), state)
}

/// Back at the callback with this state and this browser's secret.
async fn complete(f: &Fixture, state: &str, secret: Option<&str>) -> Result<SsoLogin, AppError> {
    f.svc
        .sso_complete(SsoCallback {
            provider: "company",
            code: Some("c"),
            state: Some(state),
            browser_secret: secret,
            redirect_uri: REDIRECT,
            ..SsoCallback::default()
        })
        .await
}

async fn round_trip(f: &Fixture, invite: Option<&str>) -> Result<SsoLogin, AppError> {
    let start = f
        .svc
        .sso_begin("company", invite, Some("/projects".into()), REDIRECT, None)
        .await?;
    let (secret, state) = split(&start);
    complete(f, &state, Some(&secret)).await
}

#[tokio::test]
async fn a_verified_email_links_the_existing_account_and_later_the_subject_alone() {
    let (f, p) = setup(Mode::Open);
    let owner = f.owner().await;
    *p.identity.lock().unwrap() = Some(person("s-1", OWNER, true));
    let login = round_trip(&f, None).await.unwrap();
    assert_eq!(login.logged_in.user.id, owner.user.id);
    assert!(!login.created);
    assert_eq!(login.next.as_deref(), Some("/projects"));
    // The email at the provider changes: the earlier link still decides.
    *p.identity.lock().unwrap() = Some(person("s-1", "other@example.com", false));
    let again = round_trip(&f, None).await.unwrap();
    assert_eq!(again.logged_in.user.id, owner.user.id);
    assert_eq!(
        f.svc.linked_identities(owner.user.id).await.unwrap().len(),
        1
    );
    // The PKCE verifier and nonce differ from flow to flow.
    let seen = p.seen.lock().unwrap().clone();
    assert_ne!(seen[0], seen[1]);
}

#[tokio::test]
async fn an_unverified_email_never_reaches_an_existing_account() {
    let (f, p) = setup(Mode::Open);
    let owner = f.owner().await;
    *p.identity.lock().unwrap() = Some(person("s-2", &OWNER.to_uppercase(), false));
    let err = round_trip(&f, None).await.unwrap_err();
    assert!(matches!(
        err,
        AppError::SsoRefused(SsoRefusal::Linking(Refusal::EmailUnverified))
    ));
    assert!(
        f.svc
            .linked_identities(owner.user.id)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn invite_only_refuses_a_stranger_and_admits_one_with_the_link() {
    let (f, p) = setup(Mode::InviteOnly);
    let owner = f.owner().await;
    *p.identity.lock().unwrap() = Some(person("s-3", "new@example.com", true));
    let err = round_trip(&f, None).await.unwrap_err();
    assert!(matches!(err, AppError::SignupDenied(Deny::InviteRequired)));
    let stored = f
        .svc
        .store()
        .user_by_email(&Email::parse("new@example.com").unwrap())
        .await
        .unwrap();
    assert!(stored.is_none());
    let (_, token) = f.svc.invite_link(&owner).await.unwrap();
    let login = round_trip(&f, Some(token.expose())).await.unwrap();
    assert!(login.created);
    assert_eq!(login.logged_in.user.first_name, "Ann");
    assert!(login.logged_in.user.password_hash.is_none());
    // A made-up invite is refused before leaving for the provider.
    let err = f
        .svc
        .sso_begin("company", Some("nope"), None, REDIRECT, None)
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::SignupDenied(Deny::InviteInvalid)));
}

#[tokio::test]
async fn a_link_reset_while_away_stops_the_sign_up() {
    let (f, p) = setup(Mode::InviteOnly);
    let owner = f.owner().await;
    *p.identity.lock().unwrap() = Some(person("s-4", "late@example.com", true));
    let (_, token) = f.svc.invite_link(&owner).await.unwrap();
    let start = f
        .svc
        .sso_begin("company", Some(token.expose()), None, REDIRECT, None)
        .await
        .unwrap();
    f.svc.reset_invite(&owner).await.unwrap();
    let (secret, state) = split(&start);
    let err = complete(&f, &state, Some(&secret)).await.unwrap_err();
    assert!(matches!(err, AppError::SignupDenied(Deny::InviteStale)));
}

#[tokio::test]
async fn a_flow_is_taken_once_by_its_own_browser_before_it_expires() {
    let (f, p) = setup(Mode::Open);
    f.owner().await;
    *p.identity.lock().unwrap() = Some(person("s-5", "five@example.com", true));
    let start = f
        .svc
        .sso_begin("company", None, None, REDIRECT, None)
        .await
        .unwrap();
    let (secret, state) = split(&start);
    // Another browser: no cookie, another flow's secret, or the state
    // itself as the cookie (what someone who saw the redirect back has).
    let other = split(
        &f.svc
            .sso_begin("company", None, None, REDIRECT, None)
            .await
            .unwrap(),
    )
    .0;
    for browser in [None, Some(other), Some(state.clone())] {
        let err = complete(&f, &state, browser.as_deref()).await.unwrap_err();
        assert!(matches!(err, AppError::SsoRefused(SsoRefusal::Flow)));
    }
    complete(&f, &state, Some(&secret)).await.unwrap();
    // Replayed: refused.
    let err = complete(&f, &state, Some(&secret)).await.unwrap_err();
    assert!(matches!(err, AppError::SsoRefused(SsoRefusal::Flow)));
    // Expired: refused, and gone.
    let (late_secret, late) = split(
        &f.svc
            .sso_begin("company", None, None, REDIRECT, None)
            .await
            .unwrap(),
    );
    f.advance(601);
    let err = complete(&f, &late, Some(&late_secret)).await.unwrap_err();
    assert!(matches!(err, AppError::SsoRefused(SsoRefusal::Flow)));
    let digest = f.svc.key.digest(STATE, late.as_bytes());
    assert!(
        f.svc
            .store()
            .take_sso_flow(&digest, 0)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_refused_token_or_a_deactivated_account_gets_no_session() {
    let (f, p) = setup(Mode::Open);
    f.owner().await;
    let err = round_trip(&f, None).await.unwrap_err();
    assert!(matches!(err, AppError::SsoRefused(SsoRefusal::Provider)));
    f.add("member@example.com", Role::Member).await;
    f.svc.set_active("member@example.com", false).await.unwrap();
    *p.identity.lock().unwrap() = Some(person("s-6", "member@example.com", true));
    let err = round_trip(&f, None).await.unwrap_err();
    assert!(matches!(err, AppError::SsoRefused(SsoRefusal::Inactive)));
    let member = f.svc.find_user("member@example.com").await.unwrap();
    assert!(f.svc.linked_identities(member.id).await.unwrap().is_empty());
    assert_eq!(f.svc.store().session_count(), 0);
}

#[tokio::test]
async fn the_role_claim_promotes_and_demotes_but_never_touches_the_owner() {
    let (f, p) = setup(Mode::Open);
    let owner = f.owner().await;
    let mut admin = person("s-7", "seven@example.com", true);
    admin.administrator = Some(true);
    *p.identity.lock().unwrap() = Some(admin.clone());
    let login = round_trip(&f, None).await.unwrap();
    let org = owner.active().unwrap().0;
    let store = f.svc.store();
    let role = |id| async move { store.membership(id, org).await.unwrap().unwrap().role };
    assert_eq!(role(login.logged_in.user.id).await, Role::Administrator);
    admin.administrator = Some(false);
    *p.identity.lock().unwrap() = Some(admin);
    round_trip(&f, None).await.unwrap();
    assert_eq!(role(login.logged_in.user.id).await, Role::Member);
    let mut boss = person("s-8", OWNER, true);
    boss.administrator = Some(false);
    *p.identity.lock().unwrap() = Some(boss);
    round_trip(&f, None).await.unwrap();
    assert_eq!(role(owner.user.id).await, Role::Owner);
}

#[tokio::test]
async fn the_last_way_in_cannot_be_unlinked() {
    let (f, p) = setup(Mode::Open);
    f.owner().await;
    *p.identity.lock().unwrap() = Some(person("s-9", "nine@example.com", true));
    let login = round_trip(&f, None).await.unwrap();
    let user = login.logged_in.user;
    let linked = f.svc.linked_identities(user.id).await.unwrap();
    let err = f
        .svc
        .unlink_identity(&user, linked[0].id)
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::SsoRefused(SsoRefusal::LastWayIn)));
    // Someone else's identity id is not found.
    let owner = f.svc.find_user(OWNER).await.unwrap();
    let err = f
        .svc
        .unlink_identity(&owner, linked[0].id)
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::NotFound(_)));
    // With a password it can go.
    f.svc
        .set_password(
            "nine@example.com",
            &crate::testkit::secret("another-pass-99"),
        )
        .await
        .unwrap();
    let user = f.svc.find_user("nine@example.com").await.unwrap();
    f.svc.unlink_identity(&user, linked[0].id).await.unwrap();
    assert!(f.svc.linked_identities(user.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_state_verifier_and_nonce_come_from_the_browser_secret_under_the_key() {
    let (f, p) = setup(Mode::Open);
    f.owner().await;
    *p.identity.lock().unwrap() = Some(person("s-10", "ten@example.com", true));
    let start = f
        .svc
        .sso_begin("company", None, None, REDIRECT, None)
        .await
        .unwrap();
    let (secret, state) = split(&start);
    // The state is the keyed digest of the secret, not the secret, nor an
    // unkeyed hash of it.
    assert_eq!(
        state,
        f.svc.key.digest(STATE_OF, secret.as_bytes()).to_hex()
    );
    let other_key = accounts::DigestKey::from_bytes([8; 32]);
    assert_ne!(
        state,
        other_key.digest(STATE_OF, secret.as_bytes()).to_hex()
    );
    complete(&f, &state, Some(&secret)).await.unwrap();
    // The exchange got the verifier and nonce of the secret (not of the
    // state, which the provider's redirect shows to whoever sees it).
    let (verifier, nonce) = p.seen.lock().unwrap()[0].clone();
    assert_eq!(verifier, f.svc.key.digest(PKCE, secret.as_bytes()).to_hex());
    assert_eq!(nonce, f.svc.key.digest(NONCE, secret.as_bytes()).to_hex());
    assert_ne!(verifier, f.svc.key.digest(PKCE, state.as_bytes()).to_hex());
}

#[tokio::test]
async fn unfinished_starts_lock_the_address_until_an_operator_unlocks_it() {
    let limit = accounts::throttle::Limit {
        max_events: 2,
        window_secs: 900,
        lockout_secs: 900,
    };
    let (f, _) = setup_with(ServicesConfig {
        throttle: crate::ThrottleConfig {
            login_per_client: limit,
            ..crate::ThrottleConfig::default()
        },
        ..ServicesConfig::default()
    });
    f.owner().await;
    let ip: std::net::IpAddr = "192.0.2.7".parse().unwrap();
    let start = || f.svc.sso_begin("company", None, None, REDIRECT, Some(ip));
    start().await.unwrap();
    start().await.unwrap();
    assert!(matches!(
        start().await.unwrap_err(),
        AppError::Throttled { .. }
    ));
    // Another address is not held by this one's count.
    let other: std::net::IpAddr = "198.51.100.1".parse().unwrap();
    f.svc
        .sso_begin("company", None, None, REDIRECT, Some(other))
        .await
        .unwrap();
    // `ls-admin user unlock --address` forgets it.
    assert!(f.svc.unlock(OWNER, Some(ip)).await.unwrap());
    start().await.unwrap();
}

#[tokio::test]
async fn domain_rules_hold_on_single_sign_on_and_the_first_run_account() {
    use signup_policy::domains::{DomainPattern, DomainRefusal, DomainRules};
    let config = ServicesConfig {
        signup_domains: DomainRules {
            allowed: vec![DomainPattern::parse("example.com").unwrap()],
            blocked: vec![],
        },
        ..ServicesConfig::default()
    };
    let (f, p) = setup_with(config);
    f.owner().await;
    *p.identity.lock().unwrap() = Some(person("s-d", "guest@example.org", true));
    let err = round_trip(&f, None).await.unwrap_err();
    assert!(
        matches!(err, AppError::EmailDomain(DomainRefusal::NotAllowed)),
        "{err:?}"
    );
    assert!(
        f.svc.find_user("guest@example.org").await.is_err(),
        "nothing stored"
    );
    *p.identity.lock().unwrap() = Some(person("s-e", "staff@example.com", true));
    round_trip(&f, None).await.unwrap();

    let err = f
        .svc
        .bootstrap(crate::BootstrapRequest {
            username: "root@example.org".into(),
            password: crate::testkit::secret("a-long-password-1"),
            user_token: None,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, AppError::EmailDomain(DomainRefusal::NotAllowed)),
        "{err:?}"
    );
}
