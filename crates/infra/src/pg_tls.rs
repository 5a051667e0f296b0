//! TLS to PostgreSQL: the URL's `sslmode` and `sslrootcert` as libpq reads
//! them, on sqlx's rustls. Checked when the configuration is loaded, so
//! that a typo is a start-up error naming the parameter.
//!
//! One libpq rule sqlx does not follow is applied here: `sslmode=require`
//! with an `sslrootcert` verifies the server's certificate against it (as
//! `verify-ca`); sqlx alone would encrypt without checking anything.
//!
//! One difference remains, and is warned about at start: sqlx trusts the
//! system's roots *and* the `sslrootcert`, where libpq trusts only the
//! latter. `verify-full` is unaffected (the name must match too); with
//! `verify-ca` any publicly trusted certificate passes.

/// libpq's modes.
const MODES: &[&str] = &[
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let v = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `url` with libpq's TLS rules applied, and warnings for the log; or
/// what is wrong with its TLS parameters (never the URL itself: it may
/// hold a password).
pub(crate) fn libpq_rules(url: &str) -> Result<(String, Vec<String>), String> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), Vec::new()));
    };
    let mut mode: Option<(usize, String)> = None;
    let mut root_cert = None;
    let params: Vec<&str> = query.split('&').collect();
    for (i, p) in params.iter().enumerate() {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        match k {
            "sslmode" | "ssl-mode" => {
                let v = decode(v);
                if !MODES.contains(&v.as_str()) {
                    return Err(format!(
                        "sslmode={v} is not a mode: use one of {}",
                        MODES.join(", ")
                    ));
                }
                mode = Some((i, v));
            }
            "sslrootcert" | "ssl-root-cert" | "ssl-ca" => {
                let path = decode(v);
                if let Err(e) = std::fs::read(&path) {
                    return Err(format!("sslrootcert: cannot read {path}: {e}"));
                }
                root_cert = Some(path);
            }
            _ => {}
        }
    }
    let ca_only = "database_url: sslmode=verify-ca (or require with an sslrootcert) checks \
        the certificate's chain but not its name, and the system's trusted roots count as \
        well as sslrootcert: a certificate from any public CA passes. Use sslmode=verify-full"
        .to_owned();
    match (mode, root_cert) {
        (Some((i, m)), Some(_)) if m == "require" => {
            let mut params: Vec<String> = params.iter().map(|p| (*p).to_owned()).collect();
            params[i] = "sslmode=verify-ca".into();
            Ok((format!("{base}?{}", params.join("&")), vec![ca_only]))
        }
        (Some((_, m)), _) if m == "verify-ca" => Ok((url.to_owned(), vec![ca_only])),
        _ => Ok((url.to_owned(), Vec::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_root_certs() {
        let u = "postgres://u:p@h/db";
        assert_eq!(libpq_rules(u).unwrap(), (u.to_owned(), vec![]));
        let prefer = format!("{u}?sslmode=prefer&application_name=x");
        assert_eq!(libpq_rules(&prefer).unwrap(), (prefer, vec![]));
        let e = libpq_rules(&format!("{u}?sslmode=verify_full")).unwrap_err();
        assert!(e.contains("verify-full") && !e.contains("u:p"), "{e}");
        let e =
            libpq_rules(&format!("{u}?sslmode=require&sslrootcert=/no/such/ca.crt")).unwrap_err();
        assert!(e.contains("/no/such/ca.crt"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca dir.crt");
        std::fs::write(&ca, "x").unwrap();
        let enc = ca.display().to_string().replace(' ', "%20");
        let (url, warned) = libpq_rules(&format!("{u}?sslmode=require&sslrootcert={enc}")).unwrap();
        assert_eq!(url, format!("{u}?sslmode=verify-ca&sslrootcert={enc}"));
        assert!(warned[0].contains("verify-full"));
        let full = format!("{u}?sslrootcert={enc}&sslmode=verify-full");
        assert_eq!(libpq_rules(&full).unwrap(), (full, vec![]));
    }
}
