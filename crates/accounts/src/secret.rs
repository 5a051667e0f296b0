use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The deployment's secret key for digests. `Debug` never shows it.
#[derive(Clone)]
pub struct DigestKey([u8; 32]);

impl std::fmt::Debug for DigestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DigestKey(<redacted>)")
    }
}

impl DigestKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// HMAC-SHA256 over `purpose ‖ 0 ‖ value`. The purpose separates token
    /// kinds, so a session id can never be replayed as an API token. Keyed,
    /// so a database dump alone does not allow guessing short tokens offline.
    pub fn digest(&self, purpose: &str, value: &[u8]) -> SecretDigest {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value);
        SecretDigest(mac.finalize().into_bytes().into())
    }
}

/// What storage keeps instead of a secret.
#[derive(Clone, Copy, Eq)]
pub struct SecretDigest([u8; 32]);

impl PartialEq for SecretDigest {
    /// Constant time, so a lookup cannot be timed byte by byte.
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

/// For in-memory lookups keyed by digest (`PartialEq` stays constant-time).
impl std::hash::Hash for SecretDigest {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl std::fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretDigest({}…)", &self.to_hex()[..8])
    }
}

impl SecretDigest {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Self(out))
    }

    /// The digest's bytes, for keys derived from it.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn purpose_and_key_separate_digests() {
        let k1 = DigestKey::from_bytes([1; 32]);
        let k2 = DigestKey::from_bytes([2; 32]);
        assert_ne!(k1.digest("api-token", b"abc"), k1.digest("session", b"abc"));
        assert_ne!(
            k1.digest("api-token", b"abc"),
            k2.digest("api-token", b"abc")
        );
        assert_eq!(
            k1.digest("api-token", b"abc"),
            k1.digest("api-token", b"abc")
        );
        assert!(!format!("{k1:?}").contains('1'));
    }

    proptest! {
        #[test]
        fn hex_round_trip(bytes in any::<[u8; 32]>()) {
            let d = DigestKey::from_bytes(bytes).digest("x", &bytes);
            prop_assert_eq!(SecretDigest::from_hex(&d.to_hex()), Some(d));
        }

        #[test]
        fn from_hex_never_panics(s in "\\PC{0,70}") {
            let _ = SecretDigest::from_hex(&s);
        }
    }
}
