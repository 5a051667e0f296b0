//! Real OpenID providers on loopback for the single sign-on tests: the npm
//! package `oidc-provider` (an OpenID-certified provider, `tests/oidc/
//! provider.mjs`) and a deliberately broken one (`tests/oidc/hostile.mjs`,
//! node:http and `jose`: ID tokens signed with another key, `alg: none`,
//! for another audience, expired, from another issuer, with another nonce).
//! Both are installed once with `npm ci` from `tests/oidc/package-lock.json`
//! into `target/oidc-node/`, and print `LISTENING <port>` when ready.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::http::{Client, Response};
pub use crate::nginx::free_port;

pub const CLIENT_ID: &str = "ls-users";
pub const CLIENT_SECRET: &str = "test-client-secret-1";

/// The accounts at the real provider (login name -> claims).
pub fn accounts() -> Value {
    json!({
        // The owner of the test server, verified: links to the existing account.
        "owner": { "sub": "sub-owner", "email": "owner@example.com", "email_verified": true,
                   "name": "Olive Owner", "groups": [] },
        // Another person at the provider given the owner's address, verified
        // (a recycled address): the owner's account is linked to sub-owner.
        "owner2": { "sub": "sub-owner-2", "email": "owner@example.com", "email_verified": true,
                    "name": "Second Owner", "groups": [] },
        // Someone who claims the owner's email without the provider verifying it.
        "mallory": { "sub": "sub-mallory", "email": "OWNER@example.com", "email_verified": false,
                     "name": "Mallory", "groups": [] },
        // Strangers: verified, one of them in the administrators' group.
        "carol": { "sub": "sub-carol", "email": "carol@example.com", "email_verified": true,
                   "name": "Carol Jones", "groups": ["staff"] },
        "dave": { "sub": "sub-dave", "email": "dave@example.com", "email_verified": true,
                  "name": "Dave Admin", "groups": ["staff", "ls-admins"] },
        "erin": { "sub": "sub-erin", "email": "erin@example.com", "email_verified": true,
                  "name": "Erin", "groups": [] },
        "frank": { "sub": "sub-frank", "email": "frank@example.com", "email_verified": true,
                   "name": "Frank", "groups": [] },
        // A stranger whose email the provider has not verified.
        "gina": { "sub": "sub-gina", "email": "gina@example.com", "email_verified": false,
                  "name": "Gina", "groups": [] },
    })
}

fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> -> target
    exe.ancestors().nth(3).unwrap().to_owned()
}

fn oidc_sources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc")
}

/// `target/oidc-node/` with the scripts and their `node_modules`, made
/// with `npm ci` when the lockfile there differs from ours.
pub fn node_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = target_dir().join("oidc-node");
        std::fs::create_dir_all(&dir).unwrap();
        let src = oidc_sources();
        let lock = std::fs::read(src.join("package-lock.json")).unwrap();
        let installed = std::fs::read(dir.join("package-lock.json")).ok();
        for f in ["provider.mjs", "hostile.mjs", "package.json"] {
            std::fs::copy(src.join(f), dir.join(f)).unwrap();
        }
        if installed.as_deref() != Some(&lock[..]) || !dir.join("node_modules").exists() {
            std::fs::write(dir.join("package-lock.json"), &lock).unwrap();
            let out = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--prefer-offline"])
                .current_dir(&dir)
                .output()
                .expect("npm is needed (Node.js 20 and npm come with this machine kind)");
            assert!(
                out.status.success(),
                "npm ci in {} failed:\n{}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        dir
    })
}

/// A provider process on loopback.
#[derive(Debug)]
pub struct Provider {
    child: Child,
    pub port: u16,
    pub issuer: String,
    _dir: tempfile::TempDir,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Provider {
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The hostile provider's flaw for the next token responses (`none`:
    /// an honest token), with claims to add or override.
    pub fn set_flaw(&self, flaw: &str, claims: Value) {
        let r = Client::new(self.addr()).json(
            "POST",
            "/flaw",
            &json!({"flaw": flaw, "claims": claims}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
}

fn start(script: &str, config: Value) -> Provider {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, config.to_string()).unwrap();
    let mut child = Command::new("node")
        .arg(node_dir().join(script))
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node is needed");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line
        .trim()
        .strip_prefix("LISTENING ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{script} did not start: {line:?}"));
    Provider {
        child,
        port,
        issuer: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    }
}

/// The real provider on `port`, with our client registered for these
/// redirect URIs (and their servers' login pages after logout).
pub fn real_provider(port: u16, redirect_uris: &[String]) -> Provider {
    let logged_out: Vec<String> = redirect_uris
        .iter()
        .filter_map(|r| r.split("/user/sso/").next())
        .map(|base| format!("{base}/user/login/"))
        .collect();
    start(
        "provider.mjs",
        json!({
            "port": port,
            "clients": [{
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": redirect_uris,
                "post_logout_redirect_uris": logged_out,
            }],
            "accounts": accounts(),
        }),
    )
}

/// The hostile provider on `port`.
pub fn hostile_provider(port: u16, redirect_uri: &str) -> Provider {
    start(
        "hostile.mjs",
        json!({
            "port": port,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uri": redirect_uri,
        }),
    )
}

/// `[[oidc]]` for a provider at `issuer`, with `groups` mapped to roles.
pub fn provider_config(name: &str, issuer: &str) -> infra::config::OidcProvider {
    infra::config::OidcProvider {
        name: name.into(),
        label: format!("Test ID ({name})"),
        issuer: issuer.into(),
        client_id: CLIENT_ID.into(),
        client_secret: Some(app::SecretString::new(CLIENT_SECRET)),
        scopes: vec!["openid".into(), "email".into(), "profile".into()],
        role_claim: Some("groups".into()),
        administrator_values: vec!["ls-admins".into()],
    }
}

/// `(addr, path and query)` of an absolute `http://` URL.
pub fn split_url(url: &str) -> (SocketAddr, String) {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let addr = authority.parse().expect("an IP address and port");
    (
        addr,
        if path.is_empty() {
            "/".into()
        } else {
            path.into()
        },
    )
}

/// Where a "continue" page (our answer to the sign-in button and to a
/// logout that goes on to the provider) sends the browser.
pub fn continue_url(r: &Response) -> String {
    assert_eq!(r.status, 200, "{}", r.body);
    let href = r
        .body
        .split("id=\"continue\" class=\"button\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("not a continue page: {}", r.body));
    // askama escaped it for the attribute: `&#NN;`, `&#xNN;` and `&amp;`.
    let mut out = String::new();
    let mut rest = href.replace("&amp;", "&");
    while let Some(at) = rest.find("&#") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 2..];
        let end = tail.find(';').unwrap();
        let code: u32 = match tail[..end].strip_prefix('x') {
            Some(hex) => u32::from_str_radix(hex, 16).unwrap(),
            None => tail[..end].parse().unwrap(),
        };
        out.push(char::from_u32(code).unwrap());
        rest = tail[end + 1..].to_owned();
    }
    out.push_str(&rest);
    out
}

fn location(r: &Response, base: SocketAddr) -> Option<String> {
    let l = r.header("location")?;
    Some(if l.starts_with('/') {
        format!("http://{base}{l}")
    } else {
        l.to_owned()
    })
}

/// Logs in as `login` on the real provider's own login page, with plain
/// HTTP and the provider's cookies in `at_provider`, starting from the
/// authorization URL our server redirected to. Returns the URL the
/// provider sends the browser back to (our callback, with code and state).
pub fn log_in_at_provider(at_provider: &mut Client, authorize_url: &str, login: &str) -> String {
    let mut url = authorize_url.to_owned();
    for _ in 0..10 {
        let (addr, path) = split_url(&url);
        if addr != at_provider.addr {
            return url;
        }
        let r = at_provider.get(&path);
        if r.status == 200 && r.body.contains("name=\"login\"") {
            let body = format!("prompt=login&login={login}&password=anything");
            let posted = at_provider.send(
                "POST",
                &path,
                &[("Content-Type", "application/x-www-form-urlencoded")],
                Some(body.as_bytes()),
            );
            url = location(&posted, addr).unwrap_or_else(|| {
                panic!("login form answered {}: {}", posted.status, posted.body)
            });
            continue;
        }
        url = location(&r, addr)
            .unwrap_or_else(|| panic!("the provider answered {} at {path}: {}", r.status, r.body));
    }
    panic!("the provider never sent the browser back")
}
