//! Personal access tokens: JSON Web Tokens with the claims Label Studio's
//! `rest_framework_simplejwt` issues (`token_type`, `exp`, `iat`, `jti`,
//! `user_id`), so its SDK recognises them, but verified strictly:
//!
//! - only `HS256` with the deployment's key; `alg: none`, any other
//!   algorithm, an unknown header field (`crit`, `jku`, `kid`…) are refused;
//! - the signature is checked, in constant time, before the payload is read;
//! - base64url without padding, canonical; exactly three segments; bounded length;
//! - unknown or duplicate claims are refused; `exp` is required.
//!
//! An access token names the refresh token it was made from (`rjti`), so
//! revoking the refresh token stops its access tokens at the next request.
//! Time is a parameter (seconds since the epoch): this module reads no clock.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use thiserror::Error;

use crate::secret::DigestKey;

/// Longer than any token we issue (about 300 bytes), short enough that a
/// hostile header costs nothing to refuse.
pub const MAX_JWT_LEN: usize = 2048;
/// Random bytes in a `jti`: 128 bits, 32 hex characters (simplejwt's uuid4 hex).
pub const JTI_BYTES: usize = 16;

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// The HS256 key. Derived from the deployment secret for this one purpose;
/// `Debug` never shows it.
#[derive(Clone)]
pub struct JwtKey([u8; 32]);

impl std::fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKey(<redacted>)")
    }
}

impl JwtKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key that signs personal access tokens, derived from the
    /// deployment secret for that one purpose, so a JWT signature never
    /// doubles as a stored digest.
    pub fn derive(key: &DigestKey) -> Self {
        Self(*key.digest("jwt-hs256-key", b"").as_bytes())
    }

    fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Access,
    Refresh,
}

/// What a token says. Field order is the serialisation order, so the same
/// claims always encode to the same text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    pub token_type: TokenType,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub user_id: i64,
    /// Access tokens only: the `jti` of the refresh token they came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rjti: Option<String>,
}

impl Claims {
    pub fn refresh(user_id: i64, jti: [u8; JTI_BYTES], now: i64, ttl_secs: i64) -> Self {
        Self {
            token_type: TokenType::Refresh,
            exp: now.saturating_add(ttl_secs),
            iat: now,
            jti: hex::encode(jti),
            user_id,
            rjti: None,
        }
    }

    /// An access token for this refresh token; it never outlives it.
    pub fn access_for(&self, jti: [u8; JTI_BYTES], now: i64, ttl_secs: i64) -> Self {
        Self {
            token_type: TokenType::Access,
            exp: now.saturating_add(ttl_secs).min(self.exp),
            iat: now,
            jti: hex::encode(jti),
            user_id: self.user_id,
            rjti: Some(self.jti.clone()),
        }
    }
}

/// Why a presented token was refused. The HTTP layer shows one message for
/// all of them; the variants are for tests and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum JwtError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token's algorithm is not HS256")]
    Algorithm,
    #[error("the token's signature does not verify")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is of the wrong type")]
    WrongType,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
}

fn signing_input(claims: &Claims) -> String {
    // Serialising a struct of strings and integers cannot fail.
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(HEADER),
        URL_SAFE_NO_PAD.encode(payload)
    )
}

/// `header.payload.signature`.
pub fn encode(key: &JwtKey, claims: &Claims) -> String {
    let input = signing_input(claims);
    let mut mac = key.mac();
    mac.update(input.as_bytes());
    let sig = mac.finalize().into_bytes();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// A token Label Studio signed (HS256 with its `SECRET_KEY`), whole, from
/// the `header.payload` it stores; one stored whole is checked instead.
/// `None` when it is neither, or its signature is not the key's.
pub fn complete_foreign(secret_key: &[u8], stored: &str) -> Option<String> {
    let mut parts = stored.split('.');
    let (Some(h), Some(p)) = (parts.next(), parts.next()) else {
        return None;
    };
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret_key).ok()?;
    mac.update(format!("{h}.{p}").as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    let whole = format!("{h}.{p}.{sig}");
    let given_sig = parts.next();
    if parts.next().is_some() || given_sig.is_some_and(|g| g != sig) {
        return None;
    }
    looks_like_jwt(&whole).then_some(whole)
}

/// `header.payload` without the signature: what a token list may show.
pub fn unsigned(claims: &Claims) -> String {
    signing_input(claims)
}

/// Three non-empty base64url segments, the first an encoded JSON object.
/// Says nothing about validity: it only sorts JWTs from legacy keys.
pub fn looks_like_jwt(s: &str) -> bool {
    let mut parts = s.split('.');
    let shaped = parts.by_ref().take(3).all(|p| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    shaped && s.split('.').count() == 3 && s.starts_with("eyJ")
}

/// A JSON object (serde would also fill a struct from an array), with no
/// repeated key (serde refuses those for structs).
fn object<T: serde::de::DeserializeOwned>(json: &[u8]) -> Result<T, JwtError> {
    if json.first() != Some(&b'{') {
        return Err(JwtError::Malformed);
    }
    serde_json::from_slice(json).map_err(|_| JwtError::Malformed)
}

/// Verifies and reads a token of the `expected` type at time `now`.
pub fn decode(
    key: &JwtKey,
    token: &str,
    expected: TokenType,
    now: i64,
) -> Result<Claims, JwtError> {
    if token.len() > MAX_JWT_LEN {
        return Err(JwtError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(h64), Some(p64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header = URL_SAFE_NO_PAD
        .decode(h64)
        .map_err(|_| JwtError::Malformed)?;
    let header: Header = object(&header)?;
    if header.alg != "HS256" {
        return Err(JwtError::Algorithm);
    }
    if header.typ.as_deref().is_some_and(|t| t != "JWT") {
        return Err(JwtError::Malformed);
    }
    let sig = URL_SAFE_NO_PAD
        .decode(s64)
        .map_err(|_| JwtError::Malformed)?;
    let mut mac = key.mac();
    mac.update(h64.as_bytes());
    mac.update(b".");
    mac.update(p64.as_bytes());
    // Constant-time comparison; also refuses a signature of the wrong length.
    mac.verify_slice(&sig).map_err(|_| JwtError::Signature)?;
    let payload = URL_SAFE_NO_PAD
        .decode(p64)
        .map_err(|_| JwtError::Malformed)?;
    let claims: Claims = object(&payload)?;
    let jti_ok = |j: &str| j.len() == 2 * JTI_BYTES && j.bytes().all(|b| b.is_ascii_hexdigit());
    if !jti_ok(&claims.jti) || !claims.rjti.as_deref().is_none_or(jti_ok) {
        return Err(JwtError::Malformed);
    }
    let type_ok = match expected {
        TokenType::Access => claims.token_type == TokenType::Access && claims.rjti.is_some(),
        TokenType::Refresh => claims.token_type == TokenType::Refresh && claims.rjti.is_none(),
    };
    if !type_ok {
        return Err(JwtError::WrongType);
    }
    if claims.exp <= now {
        return Err(JwtError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {

    /// Label Studio 1.23.2's own: the SQLite fixture's personal access
    /// token, its stored half and the `SECRET_KEY` it ran with.
    #[test]
    fn a_label_studio_token_is_completed_with_its_key() {
        let stored = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCIsImV4cCI6ODEwMzM1NDQ5OSwiaWF0IjoxNzk2MTU0NDk5LCJqdGkiOiJiNDQzMzJlYmM0NDc0MzM0YTkxY2FjYWM3YjA2MTQzZSIsInVzZXJfaWQiOiIzIn0";
        let key = b"fixture-fnmosujfizuezpwzxqdconyvrcpkcdzdgvyvdfav";
        let whole = complete_foreign(key, stored).unwrap();
        assert!(whole.ends_with(".Rqlx2giZBh_0ipJ3FZt5m53JEMeltlfZIoUJSpwo308"));
        assert_eq!(complete_foreign(key, &whole), Some(whole.clone()));
        assert_eq!(complete_foreign(b"another key", &whole), None);
        assert_eq!(complete_foreign(key, "nonsense"), None);
        assert_eq!(complete_foreign(key, &format!("{whole}.x")), None);
    }
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_800_000_000;

    fn key() -> JwtKey {
        JwtKey::from_bytes([7; 32])
    }

    fn refresh() -> Claims {
        Claims::refresh(42, [1; JTI_BYTES], NOW, 3600)
    }

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    /// A token with any header and payload, signed with `key` as HS256.
    fn forge(key: &JwtKey, header: &str, payload: &str) -> String {
        let input = format!("{}.{}", b64(header), b64(payload));
        let mut mac = key.mac();
        mac.update(input.as_bytes());
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    #[test]
    fn round_trip_and_shape() {
        let c = refresh();
        let t = encode(&key(), &c);
        assert!(looks_like_jwt(&t));
        assert!(t.starts_with(&unsigned(&c)));
        assert_eq!(decode(&key(), &t, TokenType::Refresh, NOW), Ok(c.clone()));
        let a = c.access_for([2; JTI_BYTES], NOW, 300);
        assert_eq!(a.rjti.as_deref(), Some(c.jti.as_str()));
        let at = encode(&key(), &a);
        assert_eq!(decode(&key(), &at, TokenType::Access, NOW), Ok(a));
        // The payload is what simplejwt (and so the SDK) reads.
        let payload = URL_SAFE_NO_PAD
            .decode(t.split('.').nth(1).unwrap())
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(v["token_type"], "refresh");
        assert_eq!(v["user_id"], 42);
        assert_eq!(v["exp"], NOW + 3600);
    }

    #[test]
    fn types_expiry_and_keys_are_enforced() {
        let c = refresh();
        let t = encode(&key(), &c);
        assert_eq!(
            decode(&key(), &t, TokenType::Access, NOW),
            Err(JwtError::WrongType)
        );
        assert_eq!(
            decode(&key(), &t, TokenType::Refresh, NOW + 3600),
            Err(JwtError::Expired)
        );
        assert_eq!(
            decode(&JwtKey::from_bytes([8; 32]), &t, TokenType::Refresh, NOW),
            Err(JwtError::Signature)
        );
        // An access token never outlives its refresh token.
        let a = c.access_for([2; JTI_BYTES], NOW + 3500, 300);
        assert_eq!(a.exp, c.exp);
    }

    #[test]
    fn other_algorithms_and_headers_are_refused() {
        let payload = serde_json::to_string(&refresh()).unwrap();
        // alg none, with and without a signature.
        let none = format!(
            "{}.{}.",
            b64(r#"{"alg":"none","typ":"JWT"}"#),
            b64(&payload)
        );
        assert_eq!(
            decode(&key(), &none, TokenType::Refresh, NOW),
            Err(JwtError::Algorithm)
        );
        let none_signed = forge(&key(), r#"{"alg":"none"}"#, &payload);
        assert_eq!(
            decode(&key(), &none_signed, TokenType::Refresh, NOW),
            Err(JwtError::Algorithm)
        );
        for alg in ["HS384", "HS512", "RS256", "ES256", "hs256", "None"] {
            let t = forge(&key(), &format!(r#"{{"alg":"{alg}"}}"#), &payload);
            assert_eq!(
                decode(&key(), &t, TokenType::Refresh, NOW),
                Err(JwtError::Algorithm),
                "{alg}"
            );
        }
        for header in [
            r#"{"alg":"HS256","crit":["exp"]}"#,
            r#"{"alg":"HS256","kid":"../../dev/null"}"#,
            r#"{"alg":"HS256","typ":"JWE"}"#,
            r#"{"alg":"HS256","alg":"none"}"#,
            r#"["HS256"]"#,
        ] {
            let t = forge(&key(), header, &payload);
            assert!(
                decode(&key(), &t, TokenType::Refresh, NOW).is_err(),
                "{header}"
            );
        }
        // Our own header without typ is fine (simplejwt omits nothing, but others may).
        let t = forge(&key(), r#"{"alg":"HS256"}"#, &payload);
        assert!(decode(&key(), &t, TokenType::Refresh, NOW).is_ok());
    }

    #[test]
    fn claims_are_strict() {
        let good = serde_json::to_value(refresh()).unwrap();
        let mut cases = Vec::new();
        for drop in ["exp", "jti", "user_id", "token_type"] {
            let mut v = good.clone();
            v.as_object_mut().unwrap().remove(drop);
            cases.push(v.to_string());
        }
        let mut extra = good.clone();
        extra["is_superuser"] = true.into();
        cases.push(extra.to_string());
        let mut short = good.clone();
        short["jti"] = "abc".into();
        cases.push(short.to_string());
        let mut float = good.clone();
        float["user_id"] = 1.5.into();
        cases.push(float.to_string());
        cases.push(format!(
            r#"["refresh",{},1,"{}",1]"#,
            NOW + 10,
            "a".repeat(32)
        ));
        cases.push(format!(
            r#"{{"token_type":"refresh","exp":{},"iat":1,"jti":"{}","user_id":1,"user_id":2}}"#,
            NOW + 10,
            "a".repeat(32)
        ));
        for payload in cases {
            let t = forge(&key(), HEADER, &payload);
            assert_eq!(
                decode(&key(), &t, TokenType::Refresh, NOW),
                Err(JwtError::Malformed),
                "{payload}"
            );
        }
        // A refresh-typed token carrying rjti, or an access token without it.
        let mut r = refresh();
        r.rjti = Some("b".repeat(32));
        let t = encode(&key(), &r);
        assert_eq!(
            decode(&key(), &t, TokenType::Refresh, NOW),
            Err(JwtError::WrongType)
        );
        let mut a = refresh();
        a.token_type = TokenType::Access;
        let t = encode(&key(), &a);
        assert_eq!(
            decode(&key(), &t, TokenType::Access, NOW),
            Err(JwtError::WrongType)
        );
    }

    #[test]
    fn encodings_are_canonical() {
        let t = encode(&key(), &refresh());
        let padded = t.replacen('.', "=.", 1);
        assert!(decode(&key(), &padded, TokenType::Refresh, NOW).is_err());
        let std_alphabet = t.replace('-', "+").replace('_', "/");
        if std_alphabet != t {
            assert!(decode(&key(), &std_alphabet, TokenType::Refresh, NOW).is_err());
        }
        assert!(decode(&key(), &format!("{t}.x"), TokenType::Refresh, NOW).is_err());
        assert!(
            decode(
                &key(),
                &"e".repeat(MAX_JWT_LEN + 1),
                TokenType::Refresh,
                NOW
            )
            .is_err()
        );
        assert!(!looks_like_jwt("0123456789abcdef0123456789abcdef01234567"));
        assert!(!looks_like_jwt("eyJ.a.b.c"));
    }

    proptest! {
        #[test]
        fn decode_never_panics(s in "\\PC{0,400}") {
            let _ = decode(&key(), &s, TokenType::Access, NOW);
            let _ = looks_like_jwt(&s);
        }

        /// Changing any one character of a valid token makes it invalid
        /// (or, in the last character's spare bits, non-canonical).
        #[test]
        fn any_single_change_is_refused(i in 0usize..200, c in "[A-Za-z0-9_.-]") {
            let t = encode(&key(), &refresh());
            let i = i % t.len();
            let mut bytes = t.clone().into_bytes();
            let c = c.as_bytes()[0];
            prop_assume!(bytes[i] != c);
            bytes[i] = c;
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(decode(&key(), &changed, TokenType::Refresh, NOW).is_err());
        }
    }
}
