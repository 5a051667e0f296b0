//! `[[oidc]]`: the OpenID providers to log in with (issue 18), checked
//! when the configuration loads, each mistake naming its provider and key.

use std::path::PathBuf;

use app::SecretString;
use serde::Deserialize;

use super::{ConfigError, invalid};

/// One `[[oidc]]` table as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProvider {
    name: String,
    label: Option<String>,
    issuer: String,
    client_id: String,
    client_secret: Option<SecretString>,
    client_secret_file: Option<PathBuf>,
    scopes: Option<Vec<String>>,
    role_claim: Option<String>,
    #[serde(default)]
    administrator_values: Vec<String>,
}

/// A provider, validated.
#[derive(Debug, Clone)]
pub struct OidcProvider {
    /// `[a-z0-9-]+`: the redirect URI is `<public URL>/user/sso/<name>/callback`.
    pub name: String,
    /// The button says "Log in with" and the label.
    pub label: String,
    /// Where discovery starts (`<issuer>/.well-known/openid-configuration`);
    /// the ID token's `iss` must be exactly this.
    pub issuer: String,
    pub client_id: String,
    /// From `client_secret` or the first line of `client_secret_file`;
    /// none for a public client (PKCE alone).
    pub client_secret: Option<SecretString>,
    pub scopes: Vec<String>,
    /// A claim (a string or a list of strings) whose values decide the role.
    pub role_claim: Option<String>,
    /// Values of `role_claim` that make an administrator; any other, a member.
    pub administrator_values: Vec<String>,
}

const MAX_NAME: usize = 40;
const MAX_LABEL: usize = 80;

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `https://host[:port][/path]` (plain `http` only on a loopback address,
/// for a provider on the same machine), exactly as given: discovery and the
/// ID token's `iss` must match it to the character (Authentik's ends in `/`).
fn issuer_url(key: &str, raw: &str) -> Result<String, ConfigError> {
    let raw = raw.trim();
    let bad = || {
        invalid(
            key,
            "expected the provider's issuer URL, such as https://id.example.com/realms/main \
             (plain http only on a loopback address)",
        )
    };
    let (scheme, rest) = raw.split_once("://").ok_or_else(bad)?;
    let authority = rest.split('/').next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host.rfind(':') {
        Some(i) if !host.ends_with(']') => &host[..i],
        _ => host,
    };
    let secure = scheme == "https" || (scheme == "http" && is_loopback(host));
    if !secure
        || host.is_empty()
        || authority.contains('@')
        || raw.contains(['?', '#'])
        || raw.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(bad());
    }
    Ok(raw.to_owned())
}

pub(super) fn validate(raw: Vec<RawProvider>) -> Result<Vec<OidcProvider>, ConfigError> {
    let mut out: Vec<OidcProvider> = Vec::with_capacity(raw.len());
    for (i, p) in raw.into_iter().enumerate() {
        let key = |k: &str| format!("oidc[{i}].{k}");
        let name = p.name.trim().to_owned();
        if name.is_empty()
            || name.len() > MAX_NAME
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(invalid(
                &key("name"),
                format!(
                    "expected 1 to {MAX_NAME} of a-z, 0-9 and -: it is part of the redirect URI"
                ),
            ));
        }
        if out.iter().any(|o| o.name == name) {
            return Err(invalid(
                &key("name"),
                format!("{name:?} is used by another provider"),
            ));
        }
        let label = p.label.unwrap_or_else(|| name.clone()).trim().to_owned();
        if label.is_empty()
            || label.chars().count() > MAX_LABEL
            || label.chars().any(char::is_control)
        {
            return Err(invalid(
                &key("label"),
                format!("expected 1 to {MAX_LABEL} characters, no control characters"),
            ));
        }
        let issuer = issuer_url(&key("issuer"), &p.issuer)?;
        let client_id = p.client_id.trim().to_owned();
        if client_id.is_empty() || client_id.chars().any(char::is_control) {
            return Err(invalid(&key("client_id"), "must not be empty"));
        }
        let client_secret = match (p.client_secret, p.client_secret_file) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    &key("client_secret"),
                    "give client_secret or client_secret_file, not both",
                ));
            }
            (Some(s), None) if s.expose().trim().is_empty() => {
                return Err(invalid(&key("client_secret"), "must not be empty"));
            }
            (Some(s), None) => Some(s),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    invalid(
                        &key("client_secret_file"),
                        format!("{}: {e}", path.display()),
                    )
                })?;
                let first = text.lines().next().unwrap_or("").trim().to_owned();
                if first.is_empty() {
                    return Err(invalid(
                        &key("client_secret_file"),
                        format!("{} is empty", path.display()),
                    ));
                }
                Some(SecretString::new(first))
            }
            (None, None) => None,
        };
        let scopes = p
            .scopes
            .unwrap_or_else(|| vec!["openid".into(), "email".into(), "profile".into()]);
        if !scopes.iter().any(|s| s == "openid")
            || scopes
                .iter()
                .any(|s| s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(invalid(
                &key("scopes"),
                "expected a list of scope names that includes \"openid\"",
            ));
        }
        let role_claim = p
            .role_claim
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty());
        if role_claim.is_some() && p.administrator_values.is_empty() {
            return Err(invalid(
                &key("administrator_values"),
                "role_claim is set: list the claim's values that make an administrator",
            ));
        }
        out.push(OidcProvider {
            name,
            label,
            issuer,
            client_id,
            client_secret,
            scopes,
            role_claim,
            administrator_values: p.administrator_values,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(name: &str, issuer: &str) -> RawProvider {
        RawProvider {
            name: name.into(),
            label: None,
            issuer: issuer.into(),
            client_id: "ls".into(),
            client_secret: Some(SecretString::new("s3cret")),
            client_secret_file: None,
            scopes: None,
            role_claim: None,
            administrator_values: vec![],
        }
    }

    fn message(r: Result<Vec<OidcProvider>, ConfigError>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn providers_are_checked_and_named_in_every_refusal() {
        let ok = validate(vec![raw("company", "https://id.example.com/realms/main/")]).unwrap();
        assert_eq!(ok[0].issuer, "https://id.example.com/realms/main/");
        assert_eq!(ok[0].label, "company");
        assert_eq!(ok[0].scopes, ["openid", "email", "profile"]);
        validate(vec![raw("local", "http://127.0.0.1:9000")]).unwrap();
        validate(vec![raw("local", "http://[::1]:9000")]).unwrap();
        assert!(
            message(validate(vec![raw("Company", "https://id.example.com")]))
                .contains("oidc[0].name")
        );
        assert!(
            message(validate(vec![raw("a b", "https://id.example.com")])).contains("oidc[0].name")
        );
        assert!(
            message(validate(vec![raw("c", "http://id.example.com")])).contains("oidc[0].issuer")
        );
        assert!(
            message(validate(vec![raw("c", "https://u@id.example.com")]))
                .contains("oidc[0].issuer")
        );
        assert!(message(validate(vec![raw("c", "id.example.com")])).contains("oidc[0].issuer"));
        let twice = vec![raw("c", "https://a.example"), raw("c", "https://b.example")];
        assert!(message(validate(twice)).contains("oidc[1].name"));
        let mut no_openid = raw("c", "https://a.example");
        no_openid.scopes = Some(vec!["email".into()]);
        assert!(message(validate(vec![no_openid])).contains("oidc[0].scopes"));
        let mut roles = raw("c", "https://a.example");
        roles.role_claim = Some("groups".into());
        assert!(message(validate(vec![roles])).contains("administrator_values"));
        let mut both = raw("c", "https://a.example");
        both.client_secret_file = Some("/nonexistent".into());
        assert!(message(validate(vec![both])).contains("not both"));
        let mut missing = raw("c", "https://a.example");
        missing.client_secret = None;
        missing.client_secret_file = Some("/nonexistent/secret".into());
        assert!(message(validate(vec![missing])).contains("oidc[0].client_secret_file"));
    }
}
