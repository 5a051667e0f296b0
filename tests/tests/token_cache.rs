//! On SQLite the server keeps token lookups in memory while nothing is
//! committed to the database, which it learns from the WAL index header
//! without a query. Whatever commits a change — `ls-admin` in another
//! process, another connection writing SQL, the server itself — the very
//! next request sees it: a cache that can never serve a revoked token.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;

use ls_integration::process::{Server, admin_ok, owner_server};
use sea_orm::{ConnectionTrait, Statement};

fn admin(home: &Path, data: &Path, args: &[&str]) -> String {
    admin_ok(home, data, args, None).trim().to_owned()
}

#[test]
fn every_commit_elsewhere_shows_on_the_next_request() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let server = Server::start(owner_server(home.path(), &data)).unwrap();
    let whoami = |token: &str| {
        server
            .get(
                "/api/current-user/whoami",
                &[("Authorization", &format!("Token {token}"))],
            )
            .0
    };
    let warm = |token: &str| {
        for _ in 0..50 {
            assert_eq!(whoami(token), 200);
        }
    };

    // Token resets by ls-admin, one after another: the old token is refused
    // by the first request after each, the new one accepted.
    let mut token = "owner-token-1".to_owned();
    for _ in 0..10 {
        warm(&token);
        let new = admin(
            home.path(),
            &data,
            &["token", "reset", "--email", "owner@example.com"],
        );
        let new = new.lines().last().unwrap().trim().to_owned();
        assert_ne!(new, token);
        assert_eq!(whoami(&token), 401, "the reset token still worked");
        assert_eq!(whoami(&new), 200);
        token = new;
    }

    // Deactivation and reactivation by ls-admin.
    warm(&token);
    admin(
        home.path(),
        &data,
        &["user", "deactivate", "--email", "owner@example.com"],
    );
    assert_eq!(whoami(&token), 401);
    admin(
        home.path(),
        &data,
        &["user", "activate", "--email", "owner@example.com"],
    );
    assert_eq!(whoami(&token), 200);

    // Plain SQL from another connection, as an operator's sqlite3 would.
    warm(&token);
    let url = format!("sqlite://{}", data.join("ls-users.sqlite3").display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = sea_orm::Database::connect(&url).await.unwrap();
        db.execute_raw(Statement::from_string(
            db.get_database_backend(),
            "UPDATE users SET is_active = 0 WHERE email = 'owner@example.com'",
        ))
        .await
        .unwrap();
        db.close().await.unwrap();
    });
    assert_eq!(whoami(&token), 401, "a deactivation by SQL was not seen");

    // The server's own writes: a reset through the API.
    rt.block_on(async {
        let db = sea_orm::Database::connect(&url).await.unwrap();
        db.execute_raw(Statement::from_string(
            db.get_database_backend(),
            "UPDATE users SET is_active = 1 WHERE email = 'owner@example.com'",
        ))
        .await
        .unwrap();
        db.close().await.unwrap();
    });
    warm(&token);
    let reset = ls_integration::http::request(
        server.addr,
        "POST",
        "/api/current-user/reset-token",
        &[("Authorization", &format!("Token {token}"))],
        None,
    );
    assert_eq!(reset.status, 201, "{}", reset.body);
    assert_eq!(whoami(&token), 401);
}
