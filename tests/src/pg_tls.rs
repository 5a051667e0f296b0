//! A PostgreSQL server of the test's own, with TLS required: its own CA and
//! server certificate (made with the `openssl` command), `hostssl` only,
//! on a free port; stopped when dropped. Needs Debian's PostgreSQL server
//! binaries and root (the server runs as the `postgres` user).

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug)]
pub struct TlsPostgres {
    pub port: u16,
    /// The CA that signed the server's certificate.
    pub ca: PathBuf,
    /// Another CA, which signed nothing of this server's.
    pub other_ca: PathBuf,
    bin: PathBuf,
    data: PathBuf,
    _dir: tempfile::TempDir,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `tool` of PostgreSQL's server binaries, run as the `postgres` user.
fn as_postgres(bin: &Path, tool: &str) -> Command {
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", "postgres", "--"]).arg(bin.join(tool));
    cmd
}

fn openssl(dir: &Path, args: &[&str]) {
    run(Command::new("openssl").current_dir(dir).args(args));
}

fn make_ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-nodes",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-sha256",
            "-days",
            "30",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
}

/// The server binaries of the newest PostgreSQL installed.
fn server_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's server binaries (/usr/lib/postgresql/*/bin) are needed")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|b| b.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().expect("no initdb under /usr/lib/postgresql")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl TlsPostgres {
    /// Whether this machine can run one: root (the server runs as
    /// `postgres` through `runuser`), Debian's server binaries, `openssl`.
    pub fn available() -> Result<(), String> {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0"));
        if !root {
            return Err("not root (the test's PostgreSQL runs as the postgres user)".into());
        }
        for tool in ["runuser", "openssl"] {
            if !crate::process::has(tool) {
                return Err(format!("{tool} is not installed"));
            }
        }
        if !Path::new("/usr/lib/postgresql").is_dir() {
            return Err(
                "PostgreSQL's server binaries (/usr/lib/postgresql) are not installed".into(),
            );
        }
        Ok(())
    }

    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        make_ca(&root, "ca");
        make_ca(&root, "other-ca");
        openssl(
            &root,
            &[
                "req",
                "-new",
                "-nodes",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-sha256",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
        );
        std::fs::write(
            root.join("server.ext"),
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        openssl(
            &root,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-sha256",
                "-days",
                "30",
                "-extfile",
                "server.ext",
                "-out",
                "server.crt",
            ],
        );
        // The server runs as `postgres`: it owns its directory and key.
        let pg = root.join("pg");
        std::fs::create_dir(&pg).unwrap();
        for f in ["server.crt", "server.key"] {
            std::fs::copy(root.join(f), pg.join(f)).unwrap();
        }
        run(Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&pg));
        run(Command::new("chmod").arg("0600").arg(pg.join("server.key")));
        // Others may pass through the test's directory to reach it.
        run(Command::new("chmod").arg("0755").arg(&root));
        let bin = server_bin();
        let data = pg.join("data");
        run(as_postgres(&bin, "initdb").arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-N",
            "--no-instructions",
        ]));
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n\
             hostnossl all all 127.0.0.1/32 reject\n",
        )
        .unwrap();
        let port = free_port();
        let options = format!(
            "-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} \
             -c ssl=on -c ssl_cert_file={} -c ssl_key_file={} -c fsync=off",
            pg.display(),
            pg.join("server.crt").display(),
            pg.join("server.key").display()
        );
        run(as_postgres(&bin, "pg_ctl")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(pg.join("server.log"))
            .args(["-w", "-o", &options, "start"]));
        Self {
            port,
            ca: root.join("ca.crt"),
            other_ca: root.join("other-ca.crt"),
            bin,
            data,
            _dir: dir,
        }
    }

    /// The URL of its `postgres` database with these query parameters.
    pub fn url(&self, host: &str, query: &str) -> String {
        format!("postgres://postgres@{host}:{}/postgres?{query}", self.port)
    }
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}
