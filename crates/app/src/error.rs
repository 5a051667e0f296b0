use accounts::AccountError;
use accounts::sso::Refusal;
use orgs::OrgError;
use signup_policy::Deny;
use thiserror::Error;

use crate::store::StoreError;

/// The input field a validation error is about (for the API's
/// `validation_errors` and the CLI's messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Email,
    Username,
    Password,
    Token,
    Title,
    Role,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Email => "email",
            Field::Username => "username",
            Field::Password => "password",
            Field::Token => "token",
            Field::Title => "title",
            Field::Role => "role",
        }
    }
}

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AppError {
    #[error("{}: {source}", field.as_str())]
    Invalid { field: Field, source: AccountError },
    #[error("{}: {source}", field.as_str())]
    InvalidOrg { field: Field, source: OrgError },
    #[error("User with this email already exists")]
    EmailTaken,
    #[error("{0}")]
    SignupDenied(Deny),
    /// An API credential that stands for no one, and why.
    #[error("{0}")]
    Unauthenticated(Unauthenticated),
    #[error("Personal access tokens are disabled for this organization.")]
    PersonalTokensDisabled,
    #[error("You already have a valid token. Please revoke it before creating a new one.")]
    PersonalTokenExists,
    #[error("Token is already blacklisted.")]
    PersonalTokenRevoked,
    #[error("You can revoke or rotate only your own tokens.")]
    NotTokenOwner,
    #[error("Request was throttled. Expected available in {retry_after_secs} seconds.")]
    Throttled { retry_after_secs: i64 },
    #[error("The email and password you entered don't match.")]
    BadCredentials,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("You do not have permission to perform this action.")]
    Forbidden,
    /// Several fields refused at once: (field, message).
    #[error("Validation error")]
    Validation(Vec<(&'static str, String)>),
    #[error("The organization owner cannot be deleted")]
    OwnerUndeletable,
    #[error("Only the organization owner can delete users")]
    OnlyOwnerDeletes,
    #[error("User cannot soft delete self")]
    CannotRemoveSelf,
    #[error("Member not found")]
    MemberNotFound,
    #[error("Invalid page.")]
    InvalidPage,
    #[error("Creating organizations over the API is disabled on this instance")]
    OrgCreationDisabled,
    #[error("An organization has one owner: choose administrator or member.")]
    OneOwner,
    #[error(
        "no organization exists yet: start the server with --username/--password or sign up first"
    )]
    NoOrganization,
    #[error("the operating system's random generator failed")]
    Random,
    #[error("password hashing failed")]
    Hashing,
    /// Too much work waiting (the hashing queue is full): try again shortly.
    #[error("The server is busy. Try again in {retry_after_secs} seconds.")]
    Busy { retry_after_secs: i64 },
    /// A single sign-on refused, and why.
    #[error("{0}")]
    SsoRefused(SsoRefusal),
    #[error("The identity provider cannot be reached now. Try again shortly.")]
    ProviderUnavailable,
    #[error("Logging in with a password is turned off here: use your organization's sign-in.")]
    PasswordLoginDisabled,
    /// The email's domain may not have an account here
    /// (`signup_allowed_domains` / `signup_blocked_domains`).
    #[error("email: {0}")]
    EmailDomain(signup_policy::domains::DomainRefusal),
    #[error(
        "This invitation is not valid: it was used already, revoked, replaced by a newer one, or it expired. Ask for a new one."
    )]
    InvitationInvalid,
    #[error("This invitation is for another email address: use the address it was sent to.")]
    InvitationForAnother,
    /// A reset link that is unknown, used, replaced by a newer one, or expired.
    #[error(
        "This password reset link is not valid: it was used already, a newer one was made, or it expired. Ask for a new one."
    )]
    ResetLinkInvalid,
    /// The organization's owner cannot leave it, be demoted or be deleted
    /// until ownership moves to someone else.
    #[error(
        "The organization's owner cannot be demoted, removed or deleted: transfer the ownership to another member first."
    )]
    LastOwner,
    #[error("A deactivated account cannot own the organization: re-activate it first.")]
    InactiveOwner,
    /// A race lost: the owner changed while the transfer was being made.
    #[error("The organization's ownership changed meanwhile: reload and try again.")]
    OwnershipMoved,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a presented API credential stands for no one. The HTTP layer words
/// each as Label Studio does (exhaustively: a new reason must be worded there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Unauthenticated {
    #[error("no user has this API token")]
    UnknownToken,
    #[error("the user is inactive or deleted")]
    Inactive,
    #[error("the access token is invalid or expired, or its personal access token is not live")]
    InvalidOrExpired,
    #[error("legacy API tokens are disabled for the user's organization")]
    LegacyTokensDisabled,
    #[error("personal access tokens are disabled for the user's organization")]
    PersonalTokensDisabled,
}

/// Why a single sign-on was refused (each is a plain page for the person;
/// the details go to the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoRefusal {
    /// No flow for this state, one another browser started, one used or
    /// expired already.
    Flow,
    /// The provider said no (the person cancelled), or its answer failed a check.
    Provider,
    /// The identity reaches no account here (see `accounts::sso`).
    Linking(Refusal),
    /// The account is deactivated.
    Inactive,
    /// Unlinking would leave the account no way to log in.
    LastWayIn,
    /// The account with this email is linked to another identity at the
    /// same provider (an address given to someone else there, say).
    LinkedElsewhere,
}

impl std::fmt::Display for SsoRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SsoRefusal::Flow => f.write_str(
                "This sign-in has expired or was already used, or it was started in another \
                 browser: start again from the login page.",
            ),
            SsoRefusal::Provider => f.write_str(
                "The identity provider did not confirm who you are: start again from the login page.",
            ),
            SsoRefusal::Linking(r) => r.fmt(f),
            SsoRefusal::Inactive => f.write_str("This account is deactivated."),
            SsoRefusal::LinkedElsewhere => f.write_str(
                "The account with this email is linked to another identity at this provider: \
                 log in with that one, or ask an administrator.",
            ),
            SsoRefusal::LastWayIn => f.write_str(
                "This is the account's only way to log in: set a password or link another identity first.",
            ),
        }
    }
}

impl AppError {
    pub(crate) fn invalid(field: Field) -> impl FnOnce(AccountError) -> AppError {
        move |source| AppError::Invalid { field, source }
    }
}
