//! Who an identity from an OpenID provider is here: the linking rule.
//!
//! A provider vouches for a subject (its `sub`, stable under its issuer) and,
//! perhaps, for an email. An earlier link (issuer + subject, stored) always
//! wins. Otherwise the identity may take over an existing account only by an
//! email the provider says it **verified**: an unverified email is whatever
//! the person typed at the provider, and linking by it would hand anyone
//! the account of the address they typed. A new account too needs a
//! verified email: one made for an unverified address would be waiting for
//! its real owner's first (verified) login to be linked into, with whoever
//! made it still inside. Whether a stranger with a verified email may get a
//! new account is not decided here but by `signup-policy`, as for every path.
//!
//! ```
//! use accounts::sso::{EmailClaim, Linking, Refusal, link};
//!
//! // Known from an earlier login: that account, whatever the email says now.
//! assert_eq!(link(Some(7), Some(9), EmailClaim::Unverified), Linking::Known(7));
//! // A verified email of an existing account links it.
//! assert_eq!(link(None, Some(9), EmailClaim::Verified), Linking::LinkByVerifiedEmail(9));
//! // An unverified one never does.
//! assert_eq!(
//!     link::<i64>(None, Some(9), EmailClaim::Unverified),
//!     Linking::Refuse(Refusal::EmailUnverified)
//! );
//! // Nobody here with that email: a new account, if the sign-up policy allows,
//! // and only for a verified email.
//! assert_eq!(link::<i64>(None, None, EmailClaim::Verified), Linking::SignUp);
//! assert_eq!(
//!     link::<i64>(None, None, EmailClaim::Unverified),
//!     Linking::Refuse(Refusal::NewEmailUnverified)
//! );
//! ```

/// What the provider said about the email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailClaim {
    /// No `email` claim (not in the ID token, nor from userinfo).
    Absent,
    /// An email with `email_verified` false or missing.
    Unverified,
    /// An email with `email_verified` true.
    Verified,
}

/// Why an identity gets no account here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// An account has this email, but the provider has not verified it.
    EmailUnverified,
    /// Nobody here has this email, and the provider has not verified it.
    NewEmailUnverified,
    /// The provider gave no email: an account here needs one.
    NoEmail,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::EmailUnverified => {
                "An account with this email exists here, but your identity provider has not \
                 verified the email: log in with your password, or ask the provider to verify it."
            }
            Refusal::NewEmailUnverified => {
                "Your identity provider has not verified your email address: an account here \
                 needs a verified one."
            }
            Refusal::NoEmail => {
                "Your identity provider did not give an email address: an account here needs one."
            }
        })
    }
}

/// The account an identity logs in to, or what to do instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linking<U> {
    /// Linked before (issuer + subject): this account.
    Known(U),
    /// Not linked yet; this account has the provider's verified email: link
    /// the identity to it, then log in.
    LinkByVerifiedEmail(U),
    /// Nobody here has the (verified) email: a new account, if the sign-up
    /// policy allows.
    SignUp,
    Refuse(Refusal),
}

/// The rule. `by_subject`: the account already linked to this issuer and
/// subject; `by_email`: the account whose email (case-insensitively) is the
/// provider's `email` claim.
pub fn link<U>(by_subject: Option<U>, by_email: Option<U>, email: EmailClaim) -> Linking<U> {
    if let Some(user) = by_subject {
        return Linking::Known(user);
    }
    match (by_email, email) {
        (_, EmailClaim::Absent) => Linking::Refuse(Refusal::NoEmail),
        (Some(user), EmailClaim::Verified) => Linking::LinkByVerifiedEmail(user),
        (Some(_), EmailClaim::Unverified) => Linking::Refuse(Refusal::EmailUnverified),
        (None, EmailClaim::Unverified) => Linking::Refuse(Refusal::NewEmailUnverified),
        (None, EmailClaim::Verified) => Linking::SignUp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_claim() -> impl Strategy<Value = EmailClaim> {
        prop_oneof![
            Just(EmailClaim::Absent),
            Just(EmailClaim::Unverified),
            Just(EmailClaim::Verified)
        ]
    }

    proptest! {
        /// An account is reached through an email only when the provider
        /// verified it; otherwise only through an earlier link.
        #[test]
        fn only_a_verified_email_or_a_link_reaches_an_account(
            by_subject in proptest::option::of(any::<u16>()),
            by_email in proptest::option::of(any::<u16>()),
            claim in any_claim(),
        ) {
            match link(by_subject, by_email, claim) {
                Linking::Known(u) => prop_assert_eq!(Some(u), by_subject),
                Linking::LinkByVerifiedEmail(u) => {
                    prop_assert_eq!(by_subject, None);
                    prop_assert_eq!(Some(u), by_email);
                    prop_assert_eq!(claim, EmailClaim::Verified);
                }
                // A new account never takes an email somebody here has,
                // and only a verified one.
                Linking::SignUp => {
                    prop_assert_eq!(by_subject, None);
                    prop_assert_eq!(by_email, None);
                    prop_assert_eq!(claim, EmailClaim::Verified);
                }
                Linking::Refuse(_) => prop_assert_eq!(by_subject, None),
            }
        }

        /// An earlier link wins over whatever the email says now (a changed
        /// or unverified email at the provider does not move the account).
        #[test]
        fn an_earlier_link_wins(u in any::<u16>(), other in proptest::option::of(any::<u16>()), claim in any_claim()) {
            prop_assert_eq!(link(Some(u), other, claim), Linking::Known(u));
        }
    }
}
