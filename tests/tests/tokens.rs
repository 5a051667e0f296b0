//! Personal access tokens (JWT) over real HTTP: Label Studio's endpoints and
//! shapes, and each of its unsafe behaviours refused.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use accounts::pat::{self, Claims, JwtKey, TokenType};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ls_integration::http::{Client, Response, request};
use ls_integration::server::{OWNER_EMAIL, OWNER_TOKEN, TestApp};
use orgs::Role;
use serde_json::{Value, json};

fn bearer(t: &TestApp, access: &str) -> Client {
    let mut c = Client::new(t.addr);
    c.headers
        .push(("Authorization".into(), format!("Bearer {access}")));
    c
}

fn whoami_bearer(t: &TestApp, access: &str) -> Response {
    bearer(t, access).get("/api/current-user/whoami")
}

fn refresh(t: &TestApp, refresh: &str) -> Response {
    Client::new(t.addr).json("POST", "/api/token/refresh/", &json!({"refresh": refresh}))
}

fn access_for(t: &TestApp, refresh_token: &str) -> String {
    let r = refresh(t, refresh_token);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["access"].as_str().unwrap().to_owned()
}

fn create(c: &mut Client) -> String {
    let r = c.json("POST", "/api/token/", &json!({}));
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["token"].as_str().unwrap().to_owned()
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Tokens of the user not revoked (none expire during a test).
fn live_tokens(t: &TestApp, user_id: i64) -> usize {
    use app::TokenStore as _;
    t.block_on(t.services.store().personal_tokens(user_id, 0))
        .unwrap()
        .len()
}

#[test]
fn create_list_refresh_use_and_revoke() {
    let t = TestApp::start();
    let mut owner = Client::with_token(t.addr, OWNER_TOKEN);
    let r = owner.json("POST", "/api/token/", &json!({}));
    assert_eq!(r.status, 201, "{}", r.body);
    let body = r.json();
    let pat = body["token"].as_str().unwrap().to_owned();
    assert!(pat::looks_like_jwt(&pat));
    assert!(body["created_at"].is_string() && body["expires_at"].is_string());
    let c = claims_of(&pat);
    assert_eq!(c["token_type"], "refresh");
    assert_eq!(c["user_id"], t.owner_id);
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        200 * 24 * 3600
    );

    // One live token at a time, even when asked at once.
    let r = owner.json("POST", "/api/token/", &json!({}));
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json()["detail"],
        "You already have a valid token. Please revoke it before creating a new one."
    );

    // The list never shows a usable token.
    let r = owner.get("/api/token/");
    assert_eq!(r.status, 200);
    let list = r.json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let shown = list[0]["token"].as_str().unwrap();
    assert_eq!(shown.split('.').count(), 2, "no signature: {shown}");
    assert!(pat.starts_with(shown));
    assert!(!shown.contains(pat.rsplit('.').next().unwrap()));

    // Refresh → access → every kind of header that may carry it.
    let access = access_for(&t, &pat);
    let a = claims_of(&access);
    assert_eq!(a["token_type"], "access");
    assert_eq!(a["exp"].as_i64().unwrap() - a["iat"].as_i64().unwrap(), 300);
    let r = whoami_bearer(&t, &access);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["email"], OWNER_EMAIL);
    let r = request(
        t.addr,
        "GET",
        "/api/current-user/whoami",
        &[("X-Api-Key", &access)],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = request(
        t.addr,
        "GET",
        "/api/current-user/whoami",
        &[("Authorization", &format!("bearer {access}"))],
        None,
    );
    assert_eq!(r.status, 200);
    // The legacy key stays hidden from a JWT-authenticated request.
    assert_eq!(
        bearer(&t, &access).get("/api/current-user/token").status,
        404
    );
    // A refresh token is not an access token, in either header.
    assert_eq!(whoami_bearer(&t, &pat).status, 401);
    let r = request(
        t.addr,
        "GET",
        "/api/current-user/whoami",
        &[("X-Api-Key", &pat)],
        None,
    );
    assert_eq!(r.status, 401);
    // Nor is an access token a refresh token.
    assert_eq!(refresh(&t, &access).status, 401);
    // A bad refresh body names its field.
    let r = Client::new(t.addr).json("POST", "/api/token/refresh/", &json!({}));
    assert_eq!(r.status, 400);
    assert!(
        r.json()["validation_errors"]["refresh"].is_array(),
        "{}",
        r.body
    );

    // Revocation stops the access token at the next request, not in 5 minutes.
    let r = owner.json("POST", "/api/token/blacklist/", &json!({"refresh": pat}));
    assert_eq!(r.status, 204, "{}", r.body);
    let r = whoami_bearer(&t, &access);
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["detail"], "Token is invalid or expired");
    assert_eq!(refresh(&t, &pat).status, 401);
    let r = owner.json("POST", "/api/token/blacklist/", &json!({"refresh": pat}));
    assert_eq!(r.status, 404);
    assert_eq!(owner.get("/api/token/").json(), json!([]));
    // Now a new one may be made.
    let second = create(&mut owner);
    assert_ne!(second, pat);
    assert_eq!(live_tokens(&t, t.owner_id), 1);
}

#[test]
fn racing_creates_make_one_token() {
    let t = TestApp::start();
    let addr = t.addr;
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                s.spawn(move || {
                    Client::with_token(addr, OWNER_TOKEN)
                        .json("POST", "/api/token/", &json!({}))
                        .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        15,
        "{statuses:?}"
    );
    assert_eq!(live_tokens(&t, t.owner_id), 1);
}

#[test]
fn rotate_replaces_the_token_and_stops_its_access_tokens() {
    let t = TestApp::start();
    let mut owner = Client::with_token(t.addr, OWNER_TOKEN);
    let old = create(&mut owner);
    let old_access = access_for(&t, &old);
    let r = owner.json("POST", "/api/token/rotate/", &json!({"refresh": old}));
    assert_eq!(r.status, 200, "{}", r.body);
    let new = r.json()["refresh"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(whoami_bearer(&t, &old_access).status, 401);
    assert_eq!(refresh(&t, &old).status, 401);
    let new_access = access_for(&t, &new);
    assert_eq!(whoami_bearer(&t, &new_access).status, 200);
    // Rotating the old one again: it is gone.
    let r = owner.json("POST", "/api/token/rotate/", &json!({"refresh": old}));
    assert_eq!(r.status, 404);
    assert_eq!(live_tokens(&t, t.owner_id), 1);
}

/// Label Studio lets anyone revoke a token from its unsigned half and
/// rotate another user's; ours refuses both and verifies every signature.
#[test]
fn label_studios_unsafe_behaviours_are_refused() {
    let t = TestApp::start();
    let mut owner = Client::with_token(t.addr, OWNER_TOKEN);
    let owner_pat = create(&mut owner);
    let (member_id, member_key) = t.add_user("member@example.com", Role::Member, None);
    let mut member = Client::with_token(t.addr, &member_key);
    let member_pat = create(&mut member);

    // Another user's token: neither revoked nor rotated, and still working.
    for path in ["/api/token/blacklist/", "/api/token/rotate/"] {
        let r = member.json("POST", path, &json!({"refresh": owner_pat}));
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        // Not even the owner organisation's administrator may.
        let r = owner.json("POST", path, &json!({"refresh": member_pat}));
        assert_eq!(r.status, 403, "{path}: {}", r.body);
    }
    assert_eq!(whoami_bearer(&t, &access_for(&t, &owner_pat)).status, 200);
    assert_eq!(whoami_bearer(&t, &access_for(&t, &member_pat)).status, 200);
    assert_eq!(live_tokens(&t, t.owner_id), 1);
    assert_eq!(live_tokens(&t, member_id), 1);

    // The unsigned half (what the list shows), a bad signature, another key.
    let unsigned = owner.get("/api/token/").json()[0]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let claims: Claims = serde_json::from_value(claims_of(&owner_pat)).unwrap();
    let other_key = pat::encode(&JwtKey::from_bytes([0; 32]), &claims);
    let flipped = {
        let mut s = owner_pat.clone();
        let last = s.pop().unwrap();
        s.push(if last == 'A' { 'B' } else { 'A' });
        s
    };
    let header_none = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = owner_pat.split('.').nth(1).unwrap();
    let alg_none = format!("{header_none}.{payload}.");
    let header_512 = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS512","typ":"JWT"}"#);
    let sig = owner_pat.rsplit('.').next().unwrap();
    let alg_512 = format!("{header_512}.{payload}.{sig}");
    let forged_access = {
        let mut a = claims.access_for([9; 16], claims.iat, 300);
        a.user_id = member_id;
        pat::encode(&JwtKey::from_bytes([0; 32]), &a)
    };
    for bad in [
        unsigned.as_str(),
        &format!("{unsigned}."),
        &other_key,
        &flipped,
        &alg_none,
        &alg_512,
    ] {
        for path in ["/api/token/blacklist/", "/api/token/rotate/"] {
            let r = owner.json("POST", path, &json!({"refresh": bad}));
            assert_eq!(r.status, 401, "{path} {bad}: {}", r.body);
        }
        assert_eq!(refresh(&t, bad).status, 401, "{bad}");
        assert_eq!(whoami_bearer(&t, bad).status, 401, "{bad}");
    }
    assert_eq!(whoami_bearer(&t, &forged_access).status, 401);
    // An access token with alg none and the real claims of a real one.
    let access = access_for(&t, &owner_pat);
    let access_none = format!("{header_none}.{}.", access.split('.').nth(1).unwrap());
    assert_eq!(whoami_bearer(&t, &access_none).status, 401);
    // Nothing was revoked by any of it.
    assert_eq!(live_tokens(&t, t.owner_id), 1);
    assert_eq!(whoami_bearer(&t, &access).status, 200);
    // The decoder is the domain's: the same verdicts there.
    assert!(
        pat::decode(
            &JwtKey::from_bytes([0; 32]),
            &owner_pat,
            TokenType::Refresh,
            0
        )
        .is_err()
    );
}

#[test]
fn organization_settings_follow_the_roles_and_bind_both_kinds() {
    let t = TestApp::start();
    let mut owner = Client::with_token(t.addr, OWNER_TOKEN);
    let (_, admin_key) = t.add_user("admin@example.com", Role::Administrator, None);
    let (_, member_key) = t.add_user("member@example.com", Role::Member, None);
    let mut admin = Client::with_token(t.addr, &admin_key);
    let mut member = Client::with_token(t.addr, &member_key);
    let defaults = json!({"api_tokens_enabled": true, "legacy_api_tokens_enabled": true, "api_token_ttl_days": 200});
    for path in ["/api/jwt/settings", "/api/jwt/settings/"] {
        let r = member.get(path);
        assert_eq!((r.status, r.json()), (200, defaults.clone()), "{path}");
    }
    // A member may not change them; not even invalid input is looked at.
    for body in [
        json!({"legacy_api_tokens_enabled": false}),
        json!({"api_token_ttl_days": "x"}),
    ] {
        let r = member.json("POST", "/api/jwt/settings", &body);
        assert_eq!(r.status, 403, "{}", r.body);
    }
    assert_eq!(owner.get("/api/jwt/settings").json(), defaults);
    // Bad input names the field and changes nothing.
    for (body, field) in [
        (json!({"api_token_ttl_days": 0}), "api_token_ttl_days"),
        (json!({"api_token_ttl_days": 3651}), "api_token_ttl_days"),
        (json!({"api_token_ttl_days": 1.5}), "api_token_ttl_days"),
        (json!({"api_tokens_enabled": "yes"}), "api_tokens_enabled"),
        (json!({"token_secret": "x"}), "token_secret"),
    ] {
        let r = admin.json("POST", "/api/jwt/settings", &body);
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(
            r.json()["validation_errors"][field].is_array(),
            "{}",
            r.body
        );
    }
    assert_eq!(owner.get("/api/jwt/settings").json(), defaults);

    // Shorter lifetime for new tokens.
    let r = admin.json(
        "POST",
        "/api/jwt/settings",
        &json!({"api_token_ttl_days": 30}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["api_token_ttl_days"], 30);
    let member_pat = create(&mut member);
    let c = claims_of(&member_pat);
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        30 * 86400
    );
    let member_access = access_for(&t, &member_pat);

    // Legacy keys off: legacy refused with Label Studio's message, PAT works.
    let r = owner.json(
        "POST",
        "/api/jwt/settings",
        &json!({"legacy_api_tokens_enabled": false}),
    );
    assert_eq!(r.status, 200);
    let r = member.get("/api/current-user/whoami");
    assert_eq!(r.status, 401);
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("legacy token authentication has been disabled")
    );
    assert_eq!(whoami_bearer(&t, &member_access).status, 200);
    // The owner turns them back on with a PAT of their own.
    let owner_pat = create(&mut signed_in_owner(&t));
    let owner_access = access_for(&t, &owner_pat);
    let r = bearer(&t, &owner_access).json(
        "POST",
        "/api/jwt/settings",
        &json!({"legacy_api_tokens_enabled": true, "api_tokens_enabled": false}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // PATs off: access tokens, refresh and creation all refused; legacy works.
    let r = whoami_bearer(&t, &member_access);
    assert_eq!(r.status, 401);
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("personal access tokens have been disabled")
    );
    assert_eq!(refresh(&t, &member_pat).status, 401);
    let r = admin.json("POST", "/api/token/", &json!({}));
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(member.get("/api/current-user/whoami").status, 200);
}

/// The owner signed in through the login page (sessions are not API keys,
/// so the organization's key settings do not bind them), ready for JSON.
fn signed_in_owner(t: &TestApp) -> Client {
    let mut c = Client::new(t.addr);
    assert_eq!(c.get("/user/login/").status, 200);
    let r = c.form(
        "/user/login/",
        &[
            ("email", OWNER_EMAIL),
            ("password", ls_integration::server::OWNER_PASSWORD),
        ],
    );
    assert_eq!(r.status, 302, "{}", r.body);
    let csrf = c.cookie("csrftoken").unwrap();
    c.headers.push(("X-CSRFToken".into(), csrf));
    c
}

#[test]
fn deactivation_removal_and_password_change() {
    let t = TestApp::start();
    let (member_id, member_key) =
        t.add_user("m@example.com", Role::Member, Some("member-password-1"));
    let mut member = Client::with_token(t.addr, &member_key);
    let pat = create(&mut member);
    let access = access_for(&t, &pat);

    // Password change: sessions end; both kinds of key keep working (policy).
    t.block_on(t.services.set_password(
        "m@example.com",
        &app::SecretString::new("another-password-2"),
    ))
    .unwrap();
    assert_eq!(member.get("/api/current-user/whoami").status, 200);
    assert_eq!(whoami_bearer(&t, &access).status, 200);

    // Deactivation: both refused at once, refresh too.
    t.block_on(t.services.set_active("m@example.com", false))
        .unwrap();
    let r = member.get("/api/current-user/whoami");
    assert_eq!(
        (r.status, r.json()["detail"].clone()),
        (401, json!("User inactive or deleted."))
    );
    let r = whoami_bearer(&t, &access);
    assert_eq!(
        (r.status, r.json()["detail"].clone()),
        (401, json!("User inactive or deleted."))
    );
    assert_eq!(refresh(&t, &pat).status, 401);
    t.block_on(t.services.set_active("m@example.com", true))
        .unwrap();
    assert_eq!(whoami_bearer(&t, &access).status, 200);

    // Removal from the organization: both still say who the user is, and
    // both lose the organization at once.
    let org = Client::with_token(t.addr, OWNER_TOKEN)
        .get("/api/current-user/whoami")
        .json()["active_organization"]
        .as_i64()
        .unwrap();
    let r = Client::with_token(t.addr, OWNER_TOKEN).send(
        "DELETE",
        &format!("/api/organizations/{org}/memberships/{member_id}"),
        &[],
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    for mut c in [member, bearer(&t, &access)] {
        assert_eq!(c.get("/api/current-user/whoami").status, 200);
        assert_eq!(c.get(&format!("/api/organizations/{org}")).status, 404);
        assert_eq!(c.get("/api/users").status, 404);
    }

    // Deleting a user deletes their token with them.
    let (gone_id, gone_key) = t.add_user("d@example.com", Role::Member, None);
    let gone_pat = create(&mut Client::with_token(t.addr, &gone_key));
    let gone_access = access_for(&t, &gone_pat);
    assert_eq!(whoami_bearer(&t, &gone_access).status, 200);
    let r = Client::with_token(t.addr, OWNER_TOKEN).send(
        "DELETE",
        &format!("/api/users/{gone_id}"),
        &[],
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(whoami_bearer(&t, &gone_access).status, 401);
    assert_eq!(refresh(&t, &gone_pat).status, 401);
    assert_eq!(live_tokens(&t, gone_id), 0);
}

#[test]
fn hotkeys_are_validated_and_kept() {
    let t = TestApp::start();
    let mut owner = Client::with_token(t.addr, OWNER_TOKEN);
    for path in ["/api/current-user/hotkeys", "/api/current-user/hotkeys/"] {
        let r = owner.get(path);
        assert_eq!((r.status, r.json()), (200, json!({"custom_hotkeys": {}})));
    }
    let keys = json!({"annotation:submit": {"key": "ctrl+enter", "active": true}, "regions:delete": "backspace"});
    let r = owner.json(
        "PATCH",
        "/api/current-user/hotkeys/",
        &json!({"custom_hotkeys": keys}),
    );
    assert_eq!((r.status, r.json()), (200, json!({"custom_hotkeys": keys})));
    assert_eq!(
        owner.get("/api/current-user/hotkeys/").json()["custom_hotkeys"],
        keys
    );
    assert_eq!(
        owner.get("/api/current-user/whoami").json()["custom_hotkeys"],
        keys
    );
    let many: serde_json::Map<String, Value> =
        (0..201).map(|i| (format!("k{i}"), json!("a"))).collect();
    for body in [
        json!({"custom_hotkeys": []}),
        json!({"custom_hotkeys": {"bad name": "a"}}),
        json!({"custom_hotkeys": {"a": "x".repeat(65)}}),
        json!({"custom_hotkeys": {"a": {"key": "k", "run": "rm -rf /"}}}),
        json!({"custom_hotkeys": many}),
        json!({}),
        json!({"custom_hotkeys": {}, "email": "x@example.com"}),
    ] {
        let r = owner.json("PATCH", "/api/current-user/hotkeys/", &body);
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        let errors = r.json()["validation_errors"].clone();
        assert!(
            errors.is_object() && !errors.as_object().unwrap().is_empty(),
            "{}",
            r.body
        );
    }
    assert_eq!(
        owner.get("/api/current-user/hotkeys/").json()["custom_hotkeys"],
        keys
    );
    let r = owner.get("/api/current-user/hotkeys/?project=3");
    assert_eq!(r.status, 400);
    assert!(r.json()["validation_errors"]["project"].is_array());
    assert_eq!(
        request(t.addr, "GET", "/api/current-user/hotkeys/", &[], None).status,
        401
    );
}

#[test]
fn version_has_the_fields_the_sdk_reads() {
    let t = TestApp::start();
    let v = request(t.addr, "GET", "/api/version/", &[], None).json();
    assert_eq!(v["edition"], "Community");
    assert!(v["release"].is_string());
    for k in [
        "backend",
        "dm2",
        "label-studio-converter",
        "label-studio-frontend",
        "label-studio-os-backend",
        "label-studio-os-package",
        "lsf",
    ] {
        assert!(v.get(k).is_some(), "{k}: {v}");
    }
}
