//! Sign-up email-domain rules (`signup_allowed_domains`,
//! `signup_blocked_domains`): which email domains may have accounts made
//! here, on every path that makes one (the operator can waive them for one
//! account, `ls-admin user create --force`).
//!
//! A pattern is a domain (`example.com`: that domain only) or a wildcard
//! (`*.example.com`: any domain below it, at any depth, but not
//! `example.com` itself: list both for both). Matching ignores case. A
//! blocked pattern wins over an allowed one; with allowed patterns, a
//! domain must match one of them.
//!
//! ```
//! use signup_policy::domains::{DomainPattern, DomainRefusal, DomainRules};
//!
//! let rules = DomainRules {
//!     allowed: vec![DomainPattern::parse("example.com").unwrap(), DomainPattern::parse("*.example.com").unwrap()],
//!     blocked: vec![DomainPattern::parse("contractors.example.com").unwrap()],
//! };
//! assert_eq!(rules.check("example.com"), Ok(()));
//! assert_eq!(rules.check("Lab.Example.com"), Ok(()));
//! assert_eq!(rules.check("contractors.example.com"), Err(DomainRefusal::Blocked));
//! assert_eq!(rules.check("example.org"), Err(DomainRefusal::NotAllowed));
//! ```

/// One pattern, lower-cased and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainPattern {
    domain: String,
    wildcard: bool,
}

/// Why a pattern is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError(pub String);

impl std::fmt::Display for PatternError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PatternError {}

impl DomainPattern {
    /// `example.com` or `*.example.com`: ASCII labels of letters, digits and
    /// hyphens (IDN domains in their `xn--` form), at least two labels, no
    /// other wildcard.
    pub fn parse(raw: &str) -> Result<Self, PatternError> {
        let text = raw.trim().to_ascii_lowercase();
        let (wildcard, domain) = match text.strip_prefix("*.") {
            Some(rest) => (true, rest.to_owned()),
            None => (false, text.clone()),
        };
        let bad = |why: &str| Err(PatternError(format!("{raw:?}: {why}")));
        if domain.is_empty() || domain.len() > 253 {
            return bad("not a domain (write example.com or *.example.com)");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return bad("a domain has at least two labels (example.com)");
        }
        for label in labels {
            let ok = !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-');
            if !ok {
                return bad(
                    "labels are letters, digits and inner hyphens; a wildcard is only a leading *.",
                );
            }
        }
        Ok(Self { domain, wildcard })
    }

    /// Whether `domain` (any case) matches.
    pub fn matches(&self, domain: &str) -> bool {
        let domain = domain.to_ascii_lowercase();
        if self.wildcard {
            domain
                .strip_suffix(&self.domain)
                .is_some_and(|head| head.len() > 1 && head.ends_with('.'))
        } else {
            domain == self.domain
        }
    }
}

impl std::fmt::Display for DomainPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.wildcard {
            write!(f, "*.{}", self.domain)
        } else {
            f.write_str(&self.domain)
        }
    }
}

/// The instance's rules; empty lists allow every domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainRules {
    pub allowed: Vec<DomainPattern>,
    pub blocked: Vec<DomainPattern>,
}

/// Why an email's domain may not have an account here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainRefusal {
    /// It matches `signup_blocked_domains`.
    Blocked,
    /// `signup_allowed_domains` is set and it matches none of them.
    NotAllowed,
}

impl std::fmt::Display for DomainRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DomainRefusal::Blocked => "Accounts with this email domain cannot be made here.",
            DomainRefusal::NotAllowed => {
                "Accounts here are for the organization's own email domains: use your address there."
            }
        })
    }
}

impl DomainRules {
    /// The rule for one email domain (the part after `@`).
    pub fn check(&self, domain: &str) -> Result<(), DomainRefusal> {
        if self.blocked.iter().any(|p| p.matches(domain)) {
            return Err(DomainRefusal::Blocked);
        }
        if !self.allowed.is_empty() && !self.allowed.iter().any(|p| p.matches(domain)) {
            return Err(DomainRefusal::NotAllowed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> DomainPattern {
        DomainPattern::parse(s).unwrap()
    }

    #[test]
    fn patterns_are_domains_or_leading_wildcards() {
        for bad in [
            "",
            "com",
            "*.com",
            "*example.com",
            "ex*.com",
            "a..b",
            "-a.com",
            "a-.com",
            "a b.com",
            "é.com",
            "a.*.com",
            "@x.com",
        ] {
            assert!(DomainPattern::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(p(" *.Example.COM ").to_string(), "*.example.com");
        assert_eq!(
            p("xn--bcher-kva.example").to_string(),
            "xn--bcher-kva.example"
        );
    }

    #[test]
    fn a_wildcard_is_below_its_domain_only() {
        let w = p("*.example.com");
        assert!(w.matches("a.example.com") && w.matches("b.a.EXAMPLE.com"));
        assert!(!w.matches("example.com"));
        assert!(!w.matches("badexample.com"), "a suffix is not a subdomain");
        assert!(!w.matches("example.com.evil.org"));
        assert!(p("example.com").matches("EXAMPLE.com"));
        assert!(!p("example.com").matches("a.example.com"));
    }

    fn label() -> impl Strategy<Value = String> {
        "[a-z0-9]{1,8}"
    }

    fn domain() -> impl Strategy<Value = String> {
        prop::collection::vec(label(), 2..4).prop_map(|l| l.join("."))
    }

    proptest! {
        #[test]
        fn no_rules_allow_every_domain(d in domain()) {
            prop_assert_eq!(DomainRules::default().check(&d), Ok(()));
        }

        #[test]
        fn a_block_wins_over_any_allowance(d in domain(), sub in label()) {
            let rules = DomainRules {
                allowed: vec![p(&d), p(&format!("*.{d}"))],
                blocked: vec![p(&d), p(&format!("*.{d}"))],
            };
            prop_assert_eq!(rules.check(&d), Err(DomainRefusal::Blocked));
            prop_assert_eq!(rules.check(&format!("{sub}.{d}")), Err(DomainRefusal::Blocked));
        }

        #[test]
        fn with_allowances_only_matching_domains_pass(d in domain(), other in domain(), sub in label()) {
            let rules = DomainRules { allowed: vec![p(&format!("*.{d}"))], blocked: vec![] };
            prop_assert_eq!(rules.check(&format!("{sub}.{d}")), Ok(()));
            prop_assert_eq!(rules.check(&d.to_uppercase()), Err(DomainRefusal::NotAllowed));
            if other != d && !other.ends_with(&format!(".{d}")) {
                prop_assert_eq!(rules.check(&other), Err(DomainRefusal::NotAllowed));
            }
        }

        #[test]
        fn matching_ignores_case(d in domain()) {
            prop_assert!(p(&d).matches(&d.to_uppercase()));
            prop_assert!(p(&d.to_uppercase()).matches(&d));
        }
    }
}
