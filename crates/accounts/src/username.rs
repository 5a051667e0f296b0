use crate::{AccountError, Email};

/// A display username. Label Studio does not make usernames unique (the
/// email is the login); sign-up sets it to the email's local part.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Username(String);

/// Label Studio's column is 256 characters; Django's default is 150.
pub const MAX_USERNAME_CHARS: usize = 150;

impl Username {
    pub fn parse(raw: &str) -> Result<Self, AccountError> {
        let trimmed = raw.trim();
        let count = trimmed.chars().count();
        if count == 0
            || count > MAX_USERNAME_CHARS
            || trimmed.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(AccountError::InvalidUsername {
                max: MAX_USERNAME_CHARS,
            });
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// What sign-up uses: the part of the email before `@`.
    pub fn from_email(email: &Email) -> Self {
        // A valid email's local part is 1..=64 visible ASCII characters.
        Self(email.local_part().to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn from_email_is_local_part() {
        let e = Email::parse("Jo.Doe@example.org").unwrap();
        assert_eq!(Username::from_email(&e).as_str(), "jo.doe");
    }

    #[test]
    fn refuses_empty_spaces_and_long() {
        assert!(Username::parse("  ").is_err());
        assert!(Username::parse("a b").is_err());
        assert!(Username::parse("a\u{7}").is_err());
        assert!(Username::parse(&"x".repeat(151)).is_err());
        assert_eq!(Username::parse(" ok ").unwrap().as_str(), "ok");
    }

    proptest! {
        #[test]
        fn any_email_gives_a_valid_username(local in "[a-z0-9._+-]{1,30}") {
            if let Ok(e) = Email::parse(&format!("{local}@example.com")) {
                let u = Username::from_email(&e);
                prop_assert!(Username::parse(u.as_str()).is_ok());
            }
        }
    }
}
