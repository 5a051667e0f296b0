use thiserror::Error;

/// Why a value offered for an account was refused. Messages name the field
/// and never echo a secret.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AccountError {
    #[error("Enter a valid email address.")]
    InvalidEmail,
    #[error("Email addresses are at most 254 characters long.")]
    EmailTooLong,
    #[error("Please enter a password {min}\u{2013}{max} characters in length.")]
    PasswordLength { min: usize, max: usize },
    #[error("This password is too common.")]
    PasswordTooCommon,
    #[error("The password is too similar to the email address.")]
    PasswordSimilarToEmail,
    #[error("The password may not contain NUL characters.")]
    PasswordHasNul,
    #[error("The password may not contain control characters (tabs, line breaks and the like).")]
    PasswordHasControl,
    #[error("The token must be at least {min} characters long.")]
    TokenTooShort { min: usize },
    #[error("The token must be at most {max} characters long.")]
    TokenTooLong { max: usize },
    #[error("The token may contain only visible ASCII characters, without spaces.")]
    TokenCharacters,
    #[error("The username must be 1 to {max} characters, without control characters or spaces.")]
    InvalidUsername { max: usize },
    #[error("The password policy is invalid: {0}")]
    InvalidPolicy(&'static str),
    #[error("The stored password hash could not be read.")]
    CorruptHash,
}
