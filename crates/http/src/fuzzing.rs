//! Entry points for the fuzz targets in `fuzz/` and for the test that
//! replays their corpus (`tests/fuzz_corpus.rs`): each feeds arbitrary bytes
//! to the code that parses untrusted input, which must never panic, and
//! checks the invariants that must hold whatever the input.
//! Not an API: hidden from the documentation, stable for no one.

use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri};

use crate::auth::{Presented, check_csrf, cookie, presented_credential};
use crate::body::{Fields, parse_object};
use crate::client_ip::{client_address, parse_trusted};
use crate::state::PublicUrl;

fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// Email, username, password policy, API token, invite token, title, role,
/// digest hex: the domain's value parsers.
pub fn domain_values(data: &[u8]) {
    let s = text(data);
    let s = s.as_ref();
    if let Ok(e) = accounts::Email::parse(s) {
        // Normal form is stable and bounded.
        let again = accounts::Email::parse(e.as_str()).map(|x| x.as_str().to_owned());
        assert_eq!(again.as_deref(), Ok(e.as_str()));
        assert!(e.as_str().len() <= 254);
    }
    let _ = accounts::Username::parse(s);
    let policy = accounts::PasswordPolicy::default();
    let email = accounts::Email::parse("someone@example.com").ok();
    if policy.check(s, email.as_ref()).is_ok() {
        assert!(!s.contains('\0'), "a password with NUL is refused");
    }
    let _ = accounts::Password::for_login(s);
    if let Ok(t) = accounts::UserToken::parse_given(s) {
        assert_eq!(t.expose(), s);
    }
    if let Ok(t) = invites::InviteToken::parse_presented(s) {
        assert_eq!(t.expose(), s, "an invite token is taken exactly as given");
    }
    let _ = orgs::OrgTitle::parse(s);
    let _ = orgs::Role::parse(s);
    let _ = accounts::SecretDigest::from_hex(s);
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data)
        && let Ok(h) = accounts::Hotkeys::parse(&v)
    {
        assert_eq!(accounts::Hotkeys::from_stored(&h.to_stored()), h);
    }
}

/// Personal access tokens: nothing but our own signature verifies.
pub fn jwt(data: &[u8]) {
    use accounts::pat::{JwtKey, TokenType, decode, looks_like_jwt};
    let s = text(data);
    let key = JwtKey::from_bytes([42; 32]);
    let _ = looks_like_jwt(&s);
    for kind in [TokenType::Access, TokenType::Refresh] {
        if let Ok(claims) = decode(&key, &s, kind, 1_800_000_000) {
            // Only possible if the fuzzer forged our HMAC: re-encoding must agree.
            assert_eq!(accounts::pat::encode(&key, &claims), s);
        }
    }
}

/// Authorization, X-Api-Key, Cookie, Origin, X-CSRFToken and
/// X-Forwarded-For, from NUL-separated parts of the input.
pub fn headers(data: &[u8]) {
    let names = [
        "authorization",
        "x-api-key",
        "cookie",
        "origin",
        "x-csrftoken",
        "x-forwarded-for",
    ];
    let mut map = HeaderMap::new();
    for (i, part) in data.split(|b| *b == 0).enumerate() {
        let name = HeaderName::from_static(names[i % names.len()]);
        if let Ok(v) = HeaderValue::from_bytes(part) {
            map.append(name, v);
        }
    }
    match presented_credential(&map) {
        Ok(Some(Presented::Legacy(k) | Presented::Jwt(k))) => {
            assert!(!k.is_empty() && !k.contains(' '));
        }
        Ok(None) | Err(_) => {}
    }
    let _ = cookie(&map, "sessionid");
    let _ = cookie(&map, "csrftoken");
    let url = PublicUrl::parse("http://127.0.0.1:8080");
    if check_csrf(&map, &url, None).is_ok() {
        assert!(cookie(&map, "csrftoken").is_some());
    }
    let xff: Vec<&str> = map
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let proxies = [parse_trusted("127.0.0.0/8").unwrap_or_else(|_| unreachable!())];
    let untrusted: IpAddr = [203, 0, 113, 1].into();
    assert_eq!(client_address(untrusted, &xff, &proxies), untrusted);
    let _ = client_address([127, 0, 0, 1].into(), &xff, &proxies);
    let _ = parse_trusted(&text(data));
}

/// A form body and a query string (the invite token and `next`).
pub fn form(data: &[u8]) {
    let fields: Vec<(String, String)> = form_urlencoded::parse(data).into_owned().collect();
    let _ = crate::pages::forms::field(&fields, "email");
    let q = text(data);
    if let Ok(uri) = format!("/user/signup/?{q}").parse::<Uri>() {
        if let Some(t) = crate::pages::forms::presented_invite(&uri) {
            // Repeated or array forms are never resolved to one of them.
            let count = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                .filter(|(k, _)| k == "token")
                .count();
            assert!(count == 1 || t.is_empty());
        }
        let next = crate::pages::forms::query_next(&uri);
        let safe = crate::pages::forms::safe_next(next.as_deref(), "");
        assert!(safe.starts_with('/') && !safe.starts_with("//") && !safe.contains("://"));
    }
}

/// A JSON body: the object parser and the typed field readers.
pub fn json(data: &[u8]) {
    for is_json in [Some(true), None] {
        if let Ok(map) = parse_object(data, is_json) {
            let mut f = Fields::default();
            let _ = f.string(&map, "email");
            let _ = f.required_string(&map, "refresh");
            let _ = f.nullable_string(&map, "contact_info");
            let _ = f.boolean(&map, "api_tokens_enabled");
            let _ = f.integer(&map, "api_token_ttl_days");
            f.refuse(&map, &["id", "is_superuser"]);
            f.only(&map, &["custom_hotkeys"]);
            let _ = f.finish();
            if let Some(v) = map.get("custom_hotkeys") {
                let _ = accounts::Hotkeys::parse(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_points_take_anything() {
        for input in [
            &b""[..],
            b"\0\0\0",
            b"Token abc\0eyJ.eyJ.x\0sessionid=1; csrftoken=2\0http://x\0two\x00198.51.100.4, 10.0.0.1",
            b"token=a&token=b&next=//evil",
            br#"{"custom_hotkeys": {"a": "b"}, "email": 1}"#,
            b"\xff\xfe",
        ] {
            domain_values(input);
            jwt(input);
            headers(input);
            form(input);
            json(input);
        }
    }
}
