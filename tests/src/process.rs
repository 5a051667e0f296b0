//! Running the real binaries. They are found beside the test executable
//! (`target/<profile>/`); `cargo test --workspace` builds them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Whether `tool` is on the PATH.
pub fn has(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Path of a workspace binary.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo test --workspace` (it builds the binaries)",
        path.display()
    );
    path
}

/// A command with a clean environment: none of the developer's LS_*,
/// LABEL_STUDIO_* or DATABASE_URL, a throw-away HOME.
pub fn command(name: &str, home: &Path) -> Command {
    let mut cmd = Command::new(bin(name));
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("LS_")
            || k.starts_with("LABEL_STUDIO_")
            || k == "DATABASE_URL"
            || k == "RUST_LOG"
        {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", home).env_remove("XDG_DATA_HOME");
    cmd
}

/// `ls-server --data-dir DATA start` on a free port, with the first-run
/// owner `owner@example.com`, password `owner-password-1`, token `owner-token-1`.
pub fn owner_server(home: &Path, data: &Path) -> Command {
    let mut cmd = command("ls-server", home);
    cmd.arg("--data-dir").arg(data).args(FIRST_RUN_START);
    cmd
}

/// [`owner_server`] on the PostgreSQL database at `url`, with the
/// deployment secret `secret` (`LS_SECRET_KEY`).
pub fn owner_server_on(home: &Path, url: &str, secret: &str) -> Command {
    let mut cmd = command("ls-server", home);
    cmd.env("LS_SECRET_KEY", secret)
        .arg("--database-url")
        .arg(url)
        .args(FIRST_RUN_START);
    cmd
}

/// `start` on a free port with the first-run owner.
const FIRST_RUN_START: [&str; 9] = [
    "start",
    "-p",
    "0",
    "--username",
    "owner@example.com",
    "--password",
    "owner-password-1",
    "--user-token",
    "owner-token-1",
];

/// `ls-admin --data-dir DATA ARGS…` with `home` as its home.
pub fn admin(home: &Path, data: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = command("ls-admin", home);
    cmd.arg("--data-dir").arg(data).args(args);
    run(cmd, stdin)
}

/// [`admin`], which must succeed: its standard output.
pub fn admin_ok(home: &Path, data: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let out = admin(home, data, args, stdin);
    assert_eq!(out.code, Some(0), "ls-admin {args:?}: {out:?}");
    out.stdout
}

/// For tests of something else that legitimately make many logins,
/// sign-ups or token resets from one address: every throttle off.
pub fn without_throttling(cmd: &mut Command) -> &mut Command {
    cmd.env("LS_LOGIN_ATTEMPTS_PER_ACCOUNT", "0")
        .env("LS_LOGIN_ATTEMPTS_PER_CLIENT", "0")
        .env("LS_SIGNUPS_PER_CLIENT", "0")
        .env("LS_TOKEN_RESETS_PER_USER", "0")
}

#[derive(Debug)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Run to completion, feeding `stdin`.
pub fn run(mut cmd: Command, stdin: Option<&str>) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Run a command that should stop by itself (a refusal, say), for at most
/// `limit`: one still running then is killed and its `code` is `None`, so a
/// server that starts when it should have refused fails the test instead of
/// hanging it.
pub fn run_limited(mut cmd: Command, limit: Duration) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (dir.path().join("out"), dir.path().join("err"));
    cmd.stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + limit;
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        code,
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
    }
}

/// A running `ls-server`, its log captured.
/// The address in the server's "listening" line, as text
/// (`address=…`) or JSON (`"address":"…"`) logs write it.
fn listening_address(line: &str) -> Option<&str> {
    if let Some(rest) = line.split("\"address\":\"").nth(1) {
        return rest.split('"').next();
    }
    line.split_whitespace()
        .find_map(|w| w.strip_prefix("address="))
}

#[derive(Debug)]
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Start and wait until it listens; `Err` with its output if it exits first.
    pub fn start(mut cmd: Command) -> Result<Server, Output> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("listening")
                    && let Some(addr) = listening_address(&line)
                    && let Ok(a) = addr.parse()
                {
                    let _ = tx.send(a);
                }
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let stdout = child.stdout.take().unwrap();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = BufReader::new(stdout).read_to_string(&mut s);
            sink.lock().unwrap().push_str(&s);
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(addr) = rx.recv_timeout(Duration::from_millis(50)) {
                return Ok(Server { child, addr, log });
            }
            if let Some(status) = child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                let log = log.lock().unwrap().clone();
                return Err(Output {
                    code: status.code(),
                    stdout: String::new(),
                    stderr: log,
                });
            }
            assert!(
                Instant::now() < deadline,
                "server did not start: {}",
                log.lock().unwrap()
            );
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The server's process id (for its memory in /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `GET path` with extra header lines; (status, body).
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        http_get(self.addr, path, headers)
    }

    /// SIGTERM, then wait: (exit code, log).
    pub fn stop(self) -> (Option<i32>, String) {
        self.signal("-TERM")
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.log()
    }

    /// SIGINT (Ctrl-C), then wait: (exit code, log).
    pub fn interrupt(self) -> (Option<i32>, String) {
        self.signal("-INT")
    }

    fn signal(mut self, which: &str) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args([which, &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break self.child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        std::thread::sleep(Duration::from_millis(100));
        (status.code(), self.log())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 GET.
pub fn http_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
