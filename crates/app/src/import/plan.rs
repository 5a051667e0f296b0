//! Label Studio's rows to ours: pure conversions, each refusal a line of
//! the report.

use std::collections::HashMap;

use accounts::legacy::LegacyHashError;
use accounts::{Email, Hotkeys, PasswordHashString, PasswordScheme, Username, pat};
use orgs::{MAX_TOKEN_TTL_DAYS, MIN_TOKEN_TTL_DAYS, Role, TokenSettings};

use super::{
    ImportReport, ImportedMembership, ImportedPersonalToken, ImportedUser, LegacyUser, Skipped,
};
use accounts::SecretDigest;

/// The line of Label Studio's `.env` (in its data directory) that holds the key.
const SECRET_KEY_LINE: &str = "SECRET_KEY";

/// `SECRET_KEY=…` from the text of a `.env` file (`export` and quotes allowed).
pub fn secret_key_from_env_file(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let (name, value) = line.split_once('=')?;
        if name.trim() != SECRET_KEY_LINE {
            return None;
        }
        let value = value.trim();
        let unquoted = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        (!unquoted.is_empty()).then(|| unquoted.to_owned())
    })
}

/// Label Studio's token settings within ours.
pub(super) fn token_settings(ls: Option<TokenSettings>) -> TokenSettings {
    let mut t = ls.unwrap_or_default();
    t.api_token_ttl_days = t
        .api_token_ttl_days
        .clamp(MIN_TOKEN_TTL_DAYS, MAX_TOKEN_TTL_DAYS);
    t
}

/// What converting a user needs to know besides the user.
pub(super) struct Context<'a> {
    /// Label Studio's organization id to ours.
    pub orgs: &'a HashMap<i64, i64>,
    /// Label Studio's organization id to its creator's user id.
    pub creators: &'a HashMap<i64, i64>,
    /// The role an organization's creator gets (owner, or administrator
    /// when merged into an organization that has its owner).
    pub creator_role: Role,
    pub secret_key: Option<&'a [u8]>,
    pub api_digest: &'a dyn Fn(&str) -> SecretDigest,
    pub refresh_digest: &'a dyn Fn(&str) -> SecretDigest,
    pub now: i64,
}

fn skip(kind: &'static str, source_id: impl ToString, reason: impl ToString) -> Skipped {
    Skipped {
        kind,
        source_id: source_id.to_string(),
        reason: reason.to_string(),
    }
}

/// The password field as stored here, counted in the report.
fn password(u: &LegacyUser, report: &mut ImportReport) -> Option<PasswordHashString> {
    match PasswordHashString::from_django(u.password.expose()) {
        Ok(Some(h)) => {
            match PasswordScheme::of(Some(&h)) {
                PasswordScheme::Pbkdf2Sha256 => report.passwords.pbkdf2_sha256 += 1,
                _ => report.passwords.argon2 += 1,
            }
            Some(h)
        }
        Ok(None) => {
            report.passwords.none += 1;
            None
        }
        Err(e) => {
            report.passwords.unsupported += 1;
            let why = match e {
                LegacyHashError::Unsupported(_) => format!(
                    "{e}: imported without a usable password; set one with `ls-admin user \
                     set-password --email {}`",
                    u.email
                ),
                LegacyHashError::Malformed(_) => format!("{e}: imported without a usable password"),
                _ => e.to_string(),
            };
            report.skipped.push(skip("password", u.id, why));
            None
        }
    }
}

/// Label Studio does not keep a person to one membership per organization
/// (and `--merge` maps its organizations onto one); here there is one: a
/// current one before a removed one, then the higher role.
fn one_per_organization(all: Vec<ImportedMembership>) -> Vec<ImportedMembership> {
    let rank = |m: &ImportedMembership| {
        let role = match m.role {
            Role::Owner => 2,
            Role::Administrator => 1,
            _ => 0,
        };
        (m.removed_at.is_none(), role)
    };
    let mut out: Vec<ImportedMembership> = Vec::with_capacity(all.len());
    for m in all {
        match out
            .iter_mut()
            .find(|o| o.organization_id == m.organization_id)
        {
            Some(kept) if rank(&m) > rank(kept) => *kept = m,
            Some(_) => {}
            None => out.push(m),
        }
    }
    out
}

/// One of Label Studio's people as the import writes them, or why not.
pub(super) fn user(
    u: &LegacyUser,
    keep_id: bool,
    ctx: &Context<'_>,
    report: &mut ImportReport,
) -> Option<ImportedUser> {
    let email = match Email::parse(&u.email) {
        Ok(e) => e,
        Err(e) => {
            report
                .skipped
                .push(skip("user", u.id, format!("email: {e}")));
            return None;
        }
    };
    let username = match Username::parse(&u.username) {
        Ok(n) => n.as_str().to_owned(),
        Err(e) => {
            let fallback = Username::from_email(&email);
            report.skipped.push(skip(
                "username",
                u.id,
                format!("{e} Imported as {:?}.", fallback.as_str()),
            ));
            fallback.as_str().to_owned()
        }
    };
    let custom_hotkeys = match u.custom_hotkeys.as_deref() {
        None | Some("") | Some("null") => "{}".to_owned(),
        Some(text) => match serde_json::from_str(text)
            .map_err(|e| e.to_string())
            .and_then(|v| Hotkeys::parse(&v).map_err(|e| e.to_string()))
        {
            Ok(h) => h.to_stored(),
            Err(e) => {
                report.skipped.push(skip(
                    "hotkeys",
                    u.id,
                    format!("{e}: imported without hotkeys"),
                ));
                "{}".to_owned()
            }
        },
    };
    let memberships: Vec<ImportedMembership> = u
        .memberships
        .iter()
        .filter_map(|m| {
            let Some(&org) = ctx.orgs.get(&m.organization_id) else {
                report.skipped.push(skip(
                    "membership",
                    format!("{}:{}", m.organization_id, u.id),
                    "its organization was not imported",
                ));
                return None;
            };
            let role = if ctx.creators.get(&m.organization_id) == Some(&u.id) {
                ctx.creator_role
            } else {
                Role::Member
            };
            Some(ImportedMembership {
                organization_id: org,
                role,
                created_at: m.created_at,
                removed_at: m.removed_at,
            })
        })
        .collect();
    let memberships = one_per_organization(memberships);
    let active_organization = u
        .active_organization
        .and_then(|o| ctx.orgs.get(&o).copied())
        .or_else(|| {
            memberships
                .iter()
                .find(|m| m.removed_at.is_none())
                .map(|m| m.organization_id)
        });
    let api_token = u
        .api_token
        .as_ref()
        .filter(|(key, _)| !key.expose().is_empty())
        .map(|(key, created)| ((ctx.api_digest)(key.expose()), *created));
    let mut personal_tokens = Vec::new();
    for t in &u.personal_tokens {
        let live = t.blacklisted_at.is_none() && t.expires_at > ctx.now;
        let Some(key) = ctx.secret_key else {
            if live {
                report.personal_tokens_to_recreate.push(email.to_string());
            }
            continue;
        };
        // Within our longest lifetime from its making (Label Studio's
        // default outlives a century).
        let longest = i64::from(MAX_TOKEN_TTL_DAYS) * 86_400 * 1_000_000;
        match pat::complete_foreign(key, t.token.expose()) {
            Some(whole) => personal_tokens.push(ImportedPersonalToken {
                jti: t.jti.clone(),
                created_at: t.created_at,
                expires_at: t.expires_at.min(t.created_at.saturating_add(longest)),
                revoked_at: t.blacklisted_at,
                legacy_digest: (ctx.refresh_digest)(&whole),
            }),
            None => report.skipped.push(skip(
                "personal_token",
                &t.jti,
                "not a token signed with the given SECRET_KEY",
            )),
        }
    }
    Some(ImportedUser {
        id: keep_id.then_some(u.id),
        email,
        username,
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        phone: u.phone.clone(),
        password_hash: password(u, report),
        is_active: u.is_active,
        date_joined: u.date_joined,
        last_activity: u.last_activity,
        allow_newsletters: u.allow_newsletters,
        custom_hotkeys,
        active_organization,
        memberships,
        api_token,
        personal_tokens,
    })
}

/// Adds a written user's rows to the report's counts.
pub(super) fn count(u: &ImportedUser, report: &mut ImportReport) {
    report.users_imported += 1;
    for m in &u.memberships {
        report.memberships_imported += 1;
        if m.removed_at.is_some() {
            report.removed_memberships_imported += 1;
        }
    }
    report.api_tokens_imported += u64::from(u.api_token.is_some());
    for t in &u.personal_tokens {
        report.personal_tokens_imported += 1;
        report.personal_tokens_revoked += u64::from(t.revoked_at.is_some());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretString;
    use crate::import::{LegacyMembership, LegacyPersonalToken};

    fn ls_user() -> LegacyUser {
        LegacyUser {
            id: 7,
            email: "kdszbs.1@labels.example.com".into(),
            username: "kdszbs.1".into(),
            first_name: "Yoqse".into(),
            last_name: "Hdeanie".into(),
            phone: "+1938975973".into(),
            password: SecretString::new(
                "pbkdf2_sha256$1000$s$yyKaDtDt4MQBliaR+v00YE+a4pPbjw4MkI8GterTpxs=",
            ),
            is_active: true,
            date_joined: 1,
            last_activity: Some(2),
            allow_newsletters: false,
            custom_hotkeys: Some(r#"{"editor:undo": {"key": "ctrl+z", "active": true}}"#.into()),
            active_organization: Some(1),
            memberships: vec![LegacyMembership {
                organization_id: 1,
                created_at: 3,
                removed_at: Some(4),
            }],
            api_token: Some((
                SecretString::new("3a9ae11158f948e19444a7ea1df88b9b192e01aa"),
                5,
            )),
            personal_tokens: vec![LegacyPersonalToken {
                jti: "b44332ebc4474334a91cacac7b06143e".into(),
                token: SecretString::new(
                    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCIsImV4cCI6ODEwMzM1NDQ5OSwiaWF0IjoxNzk2MTU0NDk5LCJqdGkiOiJiNDQzMzJlYmM0NDc0MzM0YTkxY2FjYWM3YjA2MTQzZSIsInVzZXJfaWQiOiIzIn0",
                ),
                created_at: 6,
                expires_at: i64::MAX,
                blacklisted_at: None,
            }],
        }
    }

    fn convert(u: &LegacyUser, key: Option<&[u8]>) -> (Option<ImportedUser>, ImportReport) {
        let orgs = HashMap::from([(1, 1)]);
        let creators = HashMap::from([(1, 1)]);
        let digest = |s: &str| accounts::DigestKey::from_bytes([1; 32]).digest("t", s.as_bytes());
        let ctx = Context {
            orgs: &orgs,
            creators: &creators,
            creator_role: Role::Owner,
            secret_key: key,
            api_digest: &digest,
            refresh_digest: &digest,
            now: 10,
        };
        let mut report = ImportReport::default();
        let out = user(u, true, &ctx, &mut report);
        (out, report)
    }

    #[test]
    fn everything_carries_over() {
        let (u, report) = convert(
            &ls_user(),
            Some(b"fixture-fnmosujfizuezpwzxqdconyvrcpkcdzdgvyvdfav"),
        );
        let u = u.unwrap();
        assert_eq!(u.id, Some(7));
        assert_eq!(u.phone, "+1938975973");
        assert!(u.custom_hotkeys.contains("ctrl+z"));
        assert_eq!(u.memberships[0].role, Role::Member);
        assert_eq!(u.memberships[0].removed_at, Some(4));
        assert_eq!(u.personal_tokens.len(), 1);
        assert_eq!(report.passwords.pbkdf2_sha256, 1);
        assert!(report.skipped.is_empty(), "{:?}", report.skipped);
        assert!(report.personal_tokens_to_recreate.is_empty());
    }

    #[test]
    fn one_membership_per_organization() {
        let mut u = ls_user();
        u.memberships.push(LegacyMembership {
            organization_id: 1,
            created_at: 9,
            removed_at: None,
        });
        u.memberships.push(LegacyMembership {
            organization_id: 1,
            created_at: 11,
            removed_at: Some(12),
        });
        let (out, _) = convert(&u, None);
        let m = &out.unwrap().memberships;
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].created_at, m[0].removed_at), (9, None));
    }

    #[test]
    fn what_cannot_be_carried_is_reported() {
        let (_, report) = convert(&ls_user(), None);
        assert_eq!(
            report.personal_tokens_to_recreate,
            ["kdszbs.1@labels.example.com"]
        );
        // A token stored whole whose signature is not the key's.
        let mut signed = ls_user();
        signed.personal_tokens[0].token = SecretString::new(format!(
            "{}.c2lnbmF0dXJl",
            signed.personal_tokens[0].token.expose()
        ));
        let (_, report) = convert(&signed, Some(b"another key"));
        assert_eq!(report.skipped[0].kind, "personal_token");
        let mut u = ls_user();
        u.password = SecretString::new("bcrypt_sha256$$2b$12$x");
        u.custom_hotkeys = Some("[1]".into());
        let (out, report) = convert(&u, None);
        assert_eq!(out.unwrap().password_hash, None);
        assert_eq!(report.passwords.unsupported, 1);
        let kinds: Vec<_> = report.skipped.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, ["hotkeys", "password"]);
        u.email = "not an email".into();
        let (out, report) = convert(&u, None);
        assert!(out.is_none());
        assert_eq!(report.skipped[0].kind, "user");
    }

    #[test]
    fn the_env_file_gives_the_key() {
        for text in [
            "SECRET_KEY=abc\n",
            "# comment\nOTHER=1\nexport SECRET_KEY=\"abc\"\n",
            "SECRET_KEY = 'abc'",
        ] {
            assert_eq!(
                secret_key_from_env_file(text).as_deref(),
                Some("abc"),
                "{text}"
            );
        }
        assert_eq!(secret_key_from_env_file("SECRET_KEY=\nX=1"), None);
        assert_eq!(secret_key_from_env_file("NOT_SECRET_KEY=abc"), None);
    }
}
