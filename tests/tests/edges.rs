//! The edges a hostile newcomer finds (issue 15), over the real binaries:
//! each test fails without its fix.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::time::Duration;

use ls_integration::process::{Output, command, run_limited};

/// Long enough for a refusal; a server that starts instead is killed.
fn refused(cmd: std::process::Command) -> Output {
    run_limited(cmd, Duration::from_secs(15))
}

/// `ls-server --data-dir DATA start -p 0` and `ls-admin --data-dir DATA user list`.
fn both(home: &std::path::Path, data: &std::path::Path) -> [std::process::Command; 2] {
    let mut server = command("ls-server", home);
    server
        .arg("--data-dir")
        .arg(data)
        .args(["start", "-p", "0"]);
    let mut admin = command("ls-admin", home);
    admin.arg("--data-dir").arg(data).args(["user", "list"]);
    [server, admin]
}

/// A misspelt key in the config file, a variable in our prefix that is no
/// setting, and a log filter that is no filter stop both binaries with exit
/// code 2 and a message naming the key, where it came from, and the key that
/// was meant.
#[test]
fn misspelt_settings_stop_start_up_and_name_what_was_meant() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let file = home.path().join("ls.toml");
    type Case<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a [&'a str]);
    let cases: [Case; 5] = [
        (
            "prot = 18417\n",
            None,
            &["prot", "ls.toml", "did you mean `port`?"],
        ),
        (
            "body_limt = 10\n",
            None,
            &["body_limt", "did you mean `body_limit`?"],
        ),
        (
            "",
            Some(("LS_NO_SUCH", "1")),
            &["LS_NO_SUCH", "not a setting"],
        ),
        (
            "log = \"nonsense[[[\"\n",
            None,
            &["log", "not a log filter"],
        ),
        (
            "",
            Some(("LS_LOG", "=[[[")),
            &["LS_LOG", "not a log filter"],
        ),
    ];
    for (toml, var, expected) in cases {
        std::fs::write(&file, toml).unwrap();
        for mut cmd in both(home.path(), &data) {
            cmd.arg("--config").arg(&file);
            if let Some((k, v)) = var {
                cmd.env(k, v);
            }
            let out = refused(cmd);
            assert_eq!(out.code, Some(2), "{toml}{var:?}: {}", out.stderr);
            for e in expected {
                assert!(
                    out.stderr.contains(e),
                    "{toml}{var:?}: {e:?} not in {}",
                    out.stderr
                );
            }
        }
    }
    // What is not ours is left alone: GNU ls's colours.
    std::fs::write(&file, "").unwrap();
    let [_, mut admin] = both(home.path(), &data);
    admin.arg("--config").arg(&file).env("LS_COLORS", "di=34");
    let out = refused(admin);
    assert!(!out.stderr.contains("LS_COLORS"), "{}", out.stderr);
}

/// An empty first-run token is refused as a short one is, not silently
/// replaced by a generated one.
#[test]
fn an_empty_first_run_token_is_refused() {
    let home = tempfile::tempdir().unwrap();
    for (flag, var) in [(true, false), (false, true)] {
        let [mut server, _] = both(home.path(), &home.path().join("data"));
        server.args([
            "--username",
            "admin@example.com",
            "--password",
            "long-enough-pass-1",
        ]);
        if flag {
            server.args(["--user-token", ""]);
        }
        if var {
            server.env("LABEL_STUDIO_USER_TOKEN", "");
        }
        let out = refused(server);
        assert_eq!(out.code, Some(2), "{}", out.stderr);
        assert!(out.stderr.contains("token"), "{}", out.stderr);
    }
}
