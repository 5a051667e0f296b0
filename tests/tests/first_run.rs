//! `ls-server start --username U --password P [--user-token T]`, run for real.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use ls_integration::process::{Server, command, run};
use serde_json::Value;

fn start_cmd(
    data: &std::path::Path,
    home: &std::path::Path,
    extra: &[&str],
) -> std::process::Command {
    let mut cmd = command("ls-server", home);
    cmd.arg("--data-dir")
        .arg(data)
        .args(["start", "-p", "0"])
        .args(extra);
    cmd
}

fn whoami(server: &Server, token: &str) -> (u16, Value) {
    let (status, body) = server.get(
        "/api/current-user/whoami",
        &[("Authorization", &format!("Token {token}"))],
    );
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

async fn can_log_in(data: &std::path::Path, email: &str, password: &str) -> bool {
    let common = infra::CommonArgs {
        data_dir: Some(data.to_owned()),
        ..Default::default()
    };
    let settings = infra::config::load_common(&common).unwrap();
    let services = infra::services(&settings).await.unwrap();
    services
        .login(email, &app::SecretString::new(password))
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_twice_changes_nothing_about_the_account() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let first = [
        "--username",
        "Admin@Example.com",
        "--password",
        "first-password-1",
        "--user-token",
        "token-one-111",
    ];
    let server = Server::start(start_cmd(&data, home.path(), &first)).unwrap();
    let (status, body) = server.get("/health", &[]);
    assert_eq!((status, body.as_str()), (200, r#"{"status":"UP"}"#));
    let (status, me) = whoami(&server, "token-one-111");
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "admin@example.com");
    assert_eq!(me["username"], "admin");
    assert_eq!(me["active_organization_meta"]["title"], "Label Studio");
    assert_eq!(me["active_organization_meta"]["email"], "admin@example.com");
    let (code, log) = server.stop();
    assert_eq!(code, Some(0), "graceful stop on SIGTERM: {log}");
    assert!(log.contains("created the first-run account"), "{log}");
    assert!(
        !log.contains("first-password-1") && !log.contains("token-one-111"),
        "secrets in the log: {log}"
    );

    let second = [
        "--username",
        "admin@example.com",
        "--password",
        "second-password-2",
        "--user-token",
        "token-two-222",
    ];
    let server = Server::start(start_cmd(&data, home.path(), &second)).unwrap();
    assert_eq!(
        whoami(&server, "token-one-111").0,
        200,
        "the first token still works"
    );
    assert_eq!(
        whoami(&server, "token-two-222").0,
        401,
        "the second token was not installed"
    );
    let (_, log) = server.stop();
    assert!(log.contains("already exists"), "{log}");
    assert!(
        !log.contains("second-password-2") && !log.contains("token-two-222"),
        "{log}"
    );

    assert!(can_log_in(&data, "admin@example.com", "first-password-1").await);
    assert!(!can_log_in(&data, "admin@example.com", "second-password-2").await);
}

#[test]
fn a_four_character_token_exits_2_without_printing_it() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let out = run(
        start_cmd(
            &data,
            home.path(),
            &[
                "--username",
                "a@example.com",
                "--password",
                "good-password-1",
                "--user-token",
                "wxyz",
            ],
        ),
        None,
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("at least 5 characters"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("wxyz") && !out.stdout.contains("wxyz"),
        "{out:?}"
    );

    // The same through Label Studio's variables.
    let mut cmd = start_cmd(&data, home.path(), &[]);
    cmd.env("LABEL_STUDIO_USERNAME", "a@example.com")
        .env("LABEL_STUDIO_PASSWORD", "good-password-1")
        .env("LABEL_STUDIO_USER_TOKEN", "wxyz");
    let out = run(cmd, None);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        !out.stderr.contains("wxyz") && !out.stdout.contains("wxyz"),
        "{out:?}"
    );
}

#[test]
fn bad_first_run_values_exit_2_with_a_clear_message() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &[
                "--username",
                "not-an-email",
                "--password",
                "good-password-1",
            ],
            "username",
            "Enter a valid email address.",
        ),
        (
            &["--username", "a@example.com", "--password", "short"],
            "password",
            "8\u{2013}128",
        ),
        (
            &["--username", "a@example.com", "--password", "password123"],
            "password",
            "too common",
        ),
        (
            &["--username", "a@example.com"],
            "both --username and --password",
            "",
        ),
    ];
    for (args, field, message) in cases {
        let out = run(start_cmd(&data, home.path(), args), None);
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        assert!(
            out.stderr.contains(field) && out.stderr.contains(message),
            "{args:?}: {}",
            out.stderr
        );
        assert!(
            !out.stderr.contains("short\n") && !out.stderr.contains("password123"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn a_bad_setting_names_its_variable() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = start_cmd(&home.path().join("data"), home.path(), &[]);
    cmd.env("LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK", "perhaps");
    let out = run(cmd, None);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr
            .contains("LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK"),
        "{}",
        out.stderr
    );
}

#[test]
fn label_studio_variables_create_the_account_with_a_generated_token() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let mut cmd = start_cmd(&data, home.path(), &[]);
    cmd.env("LABEL_STUDIO_USERNAME", "env@example.com")
        .env("LABEL_STUDIO_PASSWORD", "env-password-1")
        .env("LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK", "yes");
    let server = Server::start(cmd).unwrap();
    assert_eq!(server.get("/api/current-user/whoami", &[]).0, 401);
    let (status, body) = server.get("/api/nothing-here", &[]);
    assert_eq!(status, 404);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status_code"], 404);
    let (_, log) = server.stop();
    assert!(
        log.contains("ls-admin token reset"),
        "tells how to get a token: {log}"
    );

    // The generated token is usable only after a reset, which prints it once.
    let mut admin = command("ls-admin", home.path());
    admin
        .arg("--data-dir")
        .arg(&data)
        .args(["token", "reset", "--email", "env@example.com"]);
    let out = run(admin, None);
    assert_eq!(out.code, Some(0), "{out:?}");
    let token = out.stdout.trim();
    assert_eq!(token.len(), 40);
    assert!(
        token
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
}

#[test]
fn ctrl_c_stops_the_server_gracefully() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(start_cmd(&home.path().join("data"), home.path(), &[])).unwrap();
    assert_eq!(server.get("/health/", &[]).0, 200);
    let (code, log) = server.interrupt();
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("stopped"), "{log}");
}
