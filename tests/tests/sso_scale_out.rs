//! Single sign-on across two `ls-server` instances on one PostgreSQL
//! behind nginx: the flow is kept in the database, so a login that leaves
//! from one instance returns to the other, and its callback is taken once
//! even when it reaches both at the same moment.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::net::SocketAddr;
use std::path::Path;

use ls_integration::http::Client;
use ls_integration::nginx::{free_port, nginx};
use ls_integration::oidc::{
    CLIENT_ID, CLIENT_SECRET, continue_url, log_in_at_provider, real_provider, split_url,
};
use ls_integration::process::{Server, command};

const SECRET: &str = "1f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn instance(home: &Path, config: &Path, url: &str, public: &str, bootstrap: bool) -> Server {
    let mut cmd = command("ls-server", home);
    cmd.env("LS_SECRET_KEY", SECRET)
        .env("LABEL_STUDIO_HOST", public)
        .arg("--config")
        .arg(config)
        .arg("--database-url")
        .arg(url)
        .args(["start", "-p", "0"]);
    if bootstrap {
        cmd.args([
            "--username",
            "owner@example.com",
            "--password",
            "owner-password-1",
        ]);
    }
    Server::start(cmd).unwrap()
}

/// The login page's "Log in with" button: a POST with the CSRF token.
fn press_button(browser: &mut Client, query: &str) -> ls_integration::http::Response {
    browser.get("/user/login/");
    browser.form(&format!("/user/sso/local/login{query}"), &[])
}

/// Our path on `addr`, with the browser's cookies.
fn on(addr: SocketAddr, cookies: &[(String, String)]) -> Client {
    let mut c = Client::new(addr);
    c.cookies = cookies.to_vec();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_leaves_from_one_instance_and_returns_to_the_other_once() {
    let db = ls_integration::pg::PgDatabase::create("sso_scale").await;
    let home = tempfile::tempdir().unwrap();
    let lb_port = free_port();
    let public = format!("http://127.0.0.1:{lb_port}");
    let provider_port = free_port();
    let config = home.path().join("ls.toml");
    std::fs::write(
        &config,
        format!(
            "[[oidc]]\nname = \"local\"\nlabel = \"Local ID\"\nissuer = \"http://127.0.0.1:{provider_port}\"\n\
             client_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n"
        ),
    )
    .unwrap();
    let a = instance(&home.path().join("a"), &config, &db.url, &public, true);
    let b = instance(&home.path().join("b"), &config, &db.url, &public, false);
    let lb_dir = home.path().join("nginx");
    std::fs::create_dir_all(&lb_dir).unwrap();
    let _lb = nginx(&lb_dir, lb_port, &[a.addr, b.addr]);
    let lb: SocketAddr = format!("127.0.0.1:{lb_port}").parse().unwrap();
    let provider = real_provider(
        provider_port,
        &[format!("{public}/user/sso/local/callback")],
    );
    let mut at_provider = Client::new(provider.addr());

    // Leaves from A; the provider sends the browser back to the public URL,
    // which the test delivers to B.
    let mut start = Client::new(a.addr);
    let r = press_button(&mut start, "");
    let back = log_in_at_provider(&mut at_provider, &continue_url(&r), "owner");
    let (to, path) = split_url(&back);
    assert_eq!(to, lb, "the redirect URI is the balancer's");
    let r = on(b.addr, &start.cookies).get(&path);
    assert_eq!(
        r.status, 302,
        "the callback on the other instance: {}",
        r.body
    );
    let sid = r.cookie("sessionid").unwrap();
    for instance in [a.addr, b.addr] {
        let mut c = on(instance, &[("sessionid".into(), sid.clone())]);
        let me = c.get("/api/current-user/whoami");
        assert_eq!(me.status, 200, "{}", me.body);
        assert_eq!(me.json()["email"], "owner@example.com");
    }
    // Replayed on A: the flow was taken on B.
    let r = on(a.addr, &start.cookies).get(&path);
    assert_eq!(r.status, 400, "a replay on the first instance: {}", r.body);
    assert!(
        r.body.contains("already used"),
        "refused by our flow, not by the provider: {}",
        r.body
    );
    assert!(r.cookie("sessionid").is_none());

    // One callback reaching both instances at the same moment: one session.
    let mut start = Client::new(b.addr);
    let r = press_button(&mut start, "");
    let back = log_in_at_provider(&mut at_provider, &continue_url(&r), "owner");
    let (_, path) = split_url(&back);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let racers: Vec<_> = [a.addr, b.addr]
        .into_iter()
        .map(|addr| {
            let (cookies, path, barrier) = (start.cookies.clone(), path.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                on(addr, &cookies).get(&path)
            })
        })
        .collect();
    let answers: Vec<_> = racers.into_iter().map(|t| t.join().unwrap()).collect();
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 302).count(),
        1,
        "exactly one instance takes the flow: {statuses:?} {:?}",
        answers.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    // The other found no flow (had both taken it, the provider would have
    // refused the second exchange of the code instead).
    let loser = answers.iter().find(|r| r.status != 302).unwrap();
    assert_eq!(loser.status, 400, "{}", loser.body);
    assert!(loser.body.contains("already used"), "{}", loser.body);

    // The whole login through the balancer (round robin between the two).
    let mut browser = Client::new(lb);
    let r = press_button(&mut browser, "?next=/user/account/");
    let back = log_in_at_provider(&mut at_provider, &continue_url(&r), "owner");
    let r = browser.get(&split_url(&back).1);
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(r.header("location"), Some("/user/account/"));
    for _ in 0..4 {
        assert_eq!(browser.get("/api/current-user/whoami").status, 200);
    }
    drop((a, b));
    db.drop_database().await;
}
