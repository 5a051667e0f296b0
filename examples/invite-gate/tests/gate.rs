//! The example's own test: its sign-up is closed without the current link.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use invite_gate::{Gate, app};
use serde_json::{Value, json};
use tower::ServiceExt as _;

fn gate() -> Gate {
    // Cheap argon2 parameters for the test.
    Gate::new(
        [3u8; 32],
        "admin-key",
        accounts::PasswordHasher::new(1024, 1, 1).unwrap(),
    )
}

async fn call(gate: &Gate, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("x-admin-key", "admin-key");
    let body = match body {
        Some(b) => {
            req = req.header("content-type", "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    let resp = app(gate.clone())
        .oneshot(req.body(body).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn person(email: &str) -> Option<Value> {
    Some(json!({"email": email, "password": "a long enough passphrase"}))
}

#[tokio::test]
async fn sign_up_needs_the_current_invite_link() {
    let g = gate();
    // No link, a made-up one: refused, nothing stored.
    let (s, body) = call(&g, "POST", "/signup", person("a@example.com")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(body["detail"].as_str().unwrap().contains("invite link"));
    let fake = "A".repeat(43);
    let (s, _) = call(
        &g,
        "POST",
        &format!("/signup?token={fake}"),
        person("a@example.com"),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(g.user_count(), 0);

    // The current link: in.
    let (_, link) = call(&g, "GET", "/invite", None).await;
    let token = link["token"].as_str().unwrap().to_owned();
    assert_eq!(link["path"], format!("/user/signup/?token={token}"));
    let (s, body) = call(
        &g,
        "POST",
        &format!("/signup?token={token}"),
        person("a@example.com"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    // Bad input names the field; the same email twice is a conflict.
    let (s, body) = call(
        &g,
        "POST",
        &format!("/signup?token={token}"),
        person("not-an-email"),
    )
    .await;
    assert_eq!(
        (s, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("email"))
    );
    let weak = Some(json!({"email": "b@example.com", "password": "short"}));
    let (s, body) = call(&g, "POST", &format!("/signup?token={token}"), weak).await;
    assert_eq!(
        (s, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("password"))
    );
    let (s, _) = call(
        &g,
        "POST",
        &format!("/signup?token={token}"),
        person("a@example.com"),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(g.user_count(), 1);

    // Reset Link: the old one is stale, the new one works.
    let (s, new) = call(&g, "POST", "/invite/reset", None).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, body) = call(
        &g,
        "POST",
        &format!("/signup?token={token}"),
        person("c@example.com"),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        body["detail"].as_str().unwrap().contains("no longer valid"),
        "{body}"
    );
    let new = new["token"].as_str().unwrap();
    let (s, _) = call(
        &g,
        "POST",
        &format!("/signup?token={new}"),
        person("c@example.com"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(g.user_count(), 2);
}

#[tokio::test]
async fn the_link_endpoints_need_the_admin_key() {
    let g = gate();
    let req = Request::builder()
        .uri("/invite")
        .body(Body::empty())
        .unwrap();
    let resp = app(g).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}
