//! Organizations: titles, roles, and what each role may do.
//!
//! Architecture invariant: no I/O here; the rules are plain functions.
//!
//! # Example
//!
//! ```
//! use orgs::{Action, OrgTitle, Role, RolePolicy};
//!
//! // Label Studio's default: every member sees the invite link; only the
//! // owner and administrators reset it.
//! let policy = RolePolicy::default();
//! let member = Role::parse("member").unwrap();
//! assert!(policy.may(member, Action::ViewInviteLink));
//! assert!(!policy.may(member, Action::ResetInviteLink));
//! assert!(policy.may(Role::Administrator, Action::ResetInviteLink));
//! // A deployment may keep the link to managers.
//! let strict = RolePolicy { members_see_invite_link: false };
//! assert!(!strict.may(member, Action::ViewInviteLink));
//!
//! assert!(Role::parse("superuser").is_err());
//! assert!(OrgTitle::parse("").is_err());
//! assert_eq!(OrgTitle::parse("Annotators").unwrap().as_str(), "Annotators");
//! ```
#![forbid(unsafe_code)]

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OrgError {
    #[error("The organization title must be 1 to {max} characters, without control characters.")]
    InvalidTitle { max: usize },
    #[error("Unknown role {0:?}: use owner, administrator or member.")]
    UnknownRole(String),
    #[error("Ensure this value is between {min} and {max} days.")]
    TokenTtl { min: u32, max: u32 },
}

/// An organization's API token settings (Label Studio's `JWTSettings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenSettings {
    /// Personal access tokens (JWT) may be created and used.
    pub api_tokens_enabled: bool,
    /// Legacy `Authorization: Token` keys are accepted.
    pub legacy_api_tokens_enabled: bool,
    /// How long a new personal access token lives.
    pub api_token_ttl_days: u32,
}

pub const MIN_TOKEN_TTL_DAYS: u32 = 1;
pub const MAX_TOKEN_TTL_DAYS: u32 = 3650;

impl Default for TokenSettings {
    /// Both kinds enabled, so scripts of either kind keep working.
    fn default() -> Self {
        Self {
            api_tokens_enabled: true,
            legacy_api_tokens_enabled: true,
            api_token_ttl_days: 200,
        }
    }
}

impl TokenSettings {
    pub fn ttl_days(raw: i64) -> Result<u32, OrgError> {
        u32::try_from(raw)
            .ok()
            .filter(|d| (MIN_TOKEN_TTL_DAYS..=MAX_TOKEN_TTL_DAYS).contains(d))
            .ok_or(OrgError::TokenTtl {
                min: MIN_TOKEN_TTL_DAYS,
                max: MAX_TOKEN_TTL_DAYS,
            })
    }

    pub fn ttl_secs(&self) -> i64 {
        i64::from(self.api_token_ttl_days) * 24 * 3600
    }
}

/// The title of the organization that the first account creates.
pub const DEFAULT_ORG_TITLE: &str = "Label Studio";
pub const MAX_TITLE_CHARS: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrgTitle(String);

impl OrgTitle {
    pub fn parse(raw: &str) -> Result<Self, OrgError> {
        let t = raw.trim();
        let n = t.chars().count();
        if n == 0 || n > MAX_TITLE_CHARS || t.chars().any(char::is_control) {
            return Err(OrgError::InvalidTitle {
                max: MAX_TITLE_CHARS,
            });
        }
        Ok(Self(t.to_owned()))
    }

    pub fn default_title() -> Self {
        Self(DEFAULT_ORG_TITLE.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A member's role in one organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Owner,
    Administrator,
    Member,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Administrator, Role::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Administrator => "administrator",
            Role::Member => "member",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, OrgError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "owner" => Ok(Role::Owner),
            "administrator" | "admin" => Ok(Role::Administrator),
            "member" => Ok(Role::Member),
            _ => Err(OrgError::UnknownRole(raw.to_owned())),
        }
    }

    /// Owner and administrators manage the organization.
    pub fn is_manager(self) -> bool {
        matches!(self, Role::Owner | Role::Administrator)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What someone may do inside their own organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    ViewOrganization,
    ViewMembers,
    ViewInviteLink,
    ResetInviteLink,
    EditOrganization,
    CreateUser,
    ChangeRole,
    RemoveMember,
    DeleteUser,
    ChangeTokenSettings,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::ViewOrganization,
        Action::ViewMembers,
        Action::ViewInviteLink,
        Action::ResetInviteLink,
        Action::EditOrganization,
        Action::CreateUser,
        Action::ChangeRole,
        Action::RemoveMember,
        Action::DeleteUser,
        Action::ChangeTokenSettings,
    ];
}

/// Instance-wide switches that change the role rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RolePolicy {
    /// Label Studio lets every member see the invite link; a deployment may
    /// limit it to owner and administrators.
    pub members_see_invite_link: bool,
}

impl Default for RolePolicy {
    fn default() -> Self {
        Self {
            members_see_invite_link: true,
        }
    }
}

impl RolePolicy {
    pub fn may(&self, role: Role, action: Action) -> bool {
        match action {
            Action::ViewOrganization | Action::ViewMembers => true,
            Action::ViewInviteLink => role.is_manager() || self.members_see_invite_link,
            Action::ResetInviteLink
            | Action::EditOrganization
            | Action::CreateUser
            | Action::ChangeRole
            | Action::RemoveMember
            | Action::DeleteUser
            | Action::ChangeTokenSettings => role.is_manager(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn titles() {
        assert_eq!(OrgTitle::parse("  Acme ").unwrap().as_str(), "Acme");
        assert!(OrgTitle::parse("").is_err());
        assert!(OrgTitle::parse("a\nb").is_err());
        assert!(OrgTitle::parse(&"x".repeat(1001)).is_err());
        assert_eq!(OrgTitle::default_title().as_str(), "Label Studio");
    }

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Ok(r));
        }
        assert_eq!(Role::parse("Admin"), Ok(Role::Administrator));
        assert!(Role::parse("root").is_err());
    }

    #[test]
    fn role_table() {
        let p = RolePolicy::default();
        assert!(p.may(Role::Member, Action::ViewInviteLink));
        assert!(!p.may(Role::Member, Action::ResetInviteLink));
        assert!(p.may(Role::Administrator, Action::ResetInviteLink));
        let strict = RolePolicy {
            members_see_invite_link: false,
        };
        assert!(!strict.may(Role::Member, Action::ViewInviteLink));
        assert!(strict.may(Role::Owner, Action::ViewInviteLink));
    }

    #[test]
    fn token_ttl_bounds() {
        assert_eq!(TokenSettings::ttl_days(1), Ok(1));
        assert_eq!(TokenSettings::ttl_days(3650), Ok(3650));
        for bad in [0, -1, 3651, i64::MAX, i64::MIN] {
            assert!(TokenSettings::ttl_days(bad).is_err(), "{bad}");
        }
        assert!(!RolePolicy::default().may(Role::Member, Action::ChangeTokenSettings));
        assert!(RolePolicy::default().may(Role::Administrator, Action::ChangeTokenSettings));
    }

    proptest! {
        #[test]
        fn managers_may_do_everything_members_may(
            a in prop::sample::select(Action::ALL.to_vec()),
            see in any::<bool>(),
        ) {
            let p = RolePolicy { members_see_invite_link: see };
            if p.may(Role::Member, a) {
                prop_assert!(p.may(Role::Administrator, a));
            }
            prop_assert_eq!(p.may(Role::Owner, a), p.may(Role::Administrator, a));
        }

        #[test]
        fn title_parse_never_panics_and_is_idempotent(raw in "\\PC{0,50}") {
            if let Ok(t) = OrgTitle::parse(&raw) {
                prop_assert_eq!(OrgTitle::parse(t.as_str()).unwrap(), t);
            }
        }
    }
}
