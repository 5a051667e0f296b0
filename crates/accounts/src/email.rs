use crate::AccountError;

/// A syntactically valid email address: trimmed, lower-cased, at most 254
/// characters. The local part is a dot-atom (RFC 5322 without quoted strings
/// or comments); the domain has at least two DNS labels and an alphabetic
/// (or punycode) top-level label, as Django's `EmailValidator` requires.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

/// RFC 5321's limit on a whole address.
const MAX_LEN: usize = 254;
const MAX_LOCAL: usize = 64;
const MAX_LABEL: usize = 63;

impl Email {
    /// Parse what a person typed.
    pub fn parse(raw: &str) -> Result<Self, AccountError> {
        // ASCII only, before trimming and lower-casing: Unicode trimming
        // drops a no-break space and lower-casing folds some characters onto
        // ASCII ones (the Kelvin sign K onto k), either of which would make
        // two mailboxes one address here.
        if !raw.is_ascii() {
            return Err(AccountError::InvalidEmail);
        }
        let trimmed = raw.trim();
        if trimmed.len() > MAX_LEN {
            return Err(AccountError::EmailTooLong);
        }
        let lowered = trimmed.to_ascii_lowercase();
        let (local, domain) = lowered.rsplit_once('@').ok_or(AccountError::InvalidEmail)?;
        if !valid_local(local) || !valid_domain(domain) {
            return Err(AccountError::InvalidEmail);
        }
        Ok(Self(lowered))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or(self.0.as_str(), |(l, _)| l)
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c)
}

fn valid_local(local: &str) -> bool {
    !local.is_empty()
        && local.len() <= MAX_LOCAL
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= MAX_LABEL
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if !labels.iter().all(label_ok) {
        return false;
    }
    let tld = labels.last().copied().unwrap_or_default();
    tld.len() >= 2 && (tld.chars().all(|c| c.is_ascii_alphabetic()) || tld.starts_with("xn--"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_and_normalises() {
        let e = Email::parse("  Alice.Smith+tag@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "alice.smith+tag@example.com");
        assert_eq!(e.local_part(), "alice.smith+tag");
        assert_eq!(e.domain(), "example.com");
    }

    #[test]
    fn refuses_bad_syntax() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a@localhost",
            "a..b@example.com",
            ".a@example.com",
            "a.@example.com",
            "a b@example.com",
            "a@exa mple.com",
            "a@-example.com",
            "a@example-.com",
            "a@example.c",
            "a@example.123",
            "a@@example.com",
            "\"quoted\"@example.com",
            "a@example..com",
            "a\u{0}@example.com",
            "ü@example.com",
        ] {
            assert_eq!(
                Email::parse(bad),
                Err(AccountError::InvalidEmail),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn length_limit() {
        let long = format!(
            "{}@{}.{}.{}.com",
            "a".repeat(64),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(60)
        );
        assert!(long.len() > 254);
        assert_eq!(Email::parse(&long), Err(AccountError::EmailTooLong));
        // Nothing folds onto another mailbox: the Kelvin sign, a no-break space.
        for folded in [
            "\u{212A}im@corp.com",
            "kim@corp.com\u{00A0}",
            "\u{00A0}kim@corp.com",
        ] {
            assert_eq!(
                Email::parse(folded),
                Err(AccountError::InvalidEmail),
                "{folded:?}"
            );
        }
        let ok = format!("{}@{}.com", "a".repeat(64), "b".repeat(60));
        assert!(Email::parse(&ok).is_ok());
        let local_too_long = format!("{}@example.com", "a".repeat(65));
        assert_eq!(
            Email::parse(&local_too_long),
            Err(AccountError::InvalidEmail)
        );
    }

    proptest! {
        #[test]
        fn parse_is_idempotent(raw in "\\PC{0,80}") {
            if let Ok(e) = Email::parse(&raw) {
                let again = Email::parse(e.as_str()).unwrap();
                prop_assert_eq!(&again, &e);
                prop_assert!(e.as_str().len() <= 254);
                prop_assert_eq!(e.as_str().to_lowercase(), e.as_str());
                prop_assert_eq!(e.as_str().trim(), e.as_str());
            }
        }

        #[test]
        fn well_formed_addresses_parse(local in "[a-zA-Z0-9_+-]{1,20}(\\.[a-z0-9]{1,5}){0,2}",
                                       domain in "[a-z0-9]{1,10}(-[a-z0-9]{1,5})?\\.[a-z]{2,6}") {
            let raw = format!("{local}@{domain}");
            let e = Email::parse(&raw).unwrap();
            prop_assert_eq!(e.as_str(), raw.to_lowercase());
        }

        #[test]
        fn case_and_whitespace_do_not_matter(local in "[a-z0-9]{1,20}", domain in "[a-z]{1,10}\\.[a-z]{2,4}",
                                             pad in "[ \t]{0,3}") {
            let lower = Email::parse(&format!("{local}@{domain}")).unwrap();
            let upper = Email::parse(&format!("{pad}{}@{}{pad}", local.to_uppercase(), domain.to_uppercase())).unwrap();
            prop_assert_eq!(lower, upper);
        }
    }
}
