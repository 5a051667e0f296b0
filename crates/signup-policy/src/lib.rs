//! The sign-up decision: one pure function from the instance's policy and
//! the request to allow or deny, with the reason. Every path that creates an
//! account goes through the use-case that calls it.
//!
//! # Example
//!
//! The caller looks the presented invite up in its own storage, then asks:
//!
//! ```
//! use signup_policy::{Allow, Channel, Decision, Deny, Invite, Mode, Request, decide};
//!
//! // LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK=true: no link, no account.
//! let stranger = Request { channel: Channel::SelfService, invite: Invite::<u64>::Absent };
//! assert_eq!(decide(Mode::InviteOnly, stranger), Decision::Deny(Deny::InviteRequired));
//!
//! // The current link of organization 7: the account joins it.
//! let invited = Request { channel: Channel::SelfService, invite: Invite::Valid(7u64) };
//! assert_eq!(decide(Mode::InviteOnly, invited), Decision::Allow(Allow::JoinByInvite(7)));
//!
//! // A link from before a reset is refused whatever the mode.
//! let stale = Request { channel: Channel::SelfService, invite: Invite::<u64>::Stale };
//! assert!(!decide(Mode::Open, stale).is_allowed());
//!
//! // An administrator creating someone is allowed on purpose.
//! let admin = Request { channel: Channel::AdministratorCreated, invite: Invite::<u64>::Absent };
//! assert_eq!(decide(Mode::InviteOnly, admin), Decision::Allow(Allow::AdministratorCreated));
//! ```
#![forbid(unsafe_code)]

pub mod domains;

/// Who may sign themselves up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Anyone may create an account.
    Open,
    /// `LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK=true`: only with a valid invite link.
    InviteOnly,
}

/// Which path is creating the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The sign-up page or API, used by the person themselves.
    SelfService,
    /// An owner or administrator creating someone (`POST /api/users`, `ls-admin`).
    AdministratorCreated,
    /// The first-run account from `ls-server start --username … --password …`.
    Bootstrap,
    /// A person coming in from an OpenID provider with no account here yet.
    /// The provider vouches for who they are, not for whether they may join:
    /// the same rule as [`Channel::SelfService`] (an invite in invite-only
    /// mode), so a provider is never a way around the policy.
    SingleSignOn,
}

/// What the request carried as an invite, after the caller looked it up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invite<O> {
    /// No token at all.
    Absent,
    /// The current token of organization `O`.
    Valid(O),
    /// A token that was valid once, before a reset.
    Stale,
    /// Well-formed but nobody's, or malformed, repeated, padded…
    Invalid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<O> {
    pub channel: Channel,
    pub invite: Invite<O>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allow<O> {
    /// Sign-up is open and no invite was presented.
    OpenSignup,
    /// The invite of organization `O`: the account joins it.
    JoinByInvite(O),
    /// Explicitly allowed: the operator started the server with this account.
    Bootstrap,
    /// Explicitly allowed: an owner or administrator is creating it.
    AdministratorCreated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deny {
    /// Sign-up is restricted and no invite was presented.
    InviteRequired,
    /// The invite link was reset since this one was issued.
    InviteStale,
    /// The invite link is not one of ours.
    InviteInvalid,
}

impl std::fmt::Display for Deny {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Deny::InviteRequired => "Sign-up on this instance needs an invite link.",
            Deny::InviteStale => "This invite link is no longer valid: ask for a new one.",
            Deny::InviteInvalid => "This invite link is not valid.",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision<O> {
    Allow(Allow<O>),
    Deny(Deny),
}

impl<O> Decision<O> {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow(_))
    }
}

/// The whole rule. A presented invite that is not valid is refused whatever
/// the mode (as in Label Studio); the administrator paths are allowed on
/// purpose and say so.
pub fn decide<O>(mode: Mode, request: Request<O>) -> Decision<O> {
    match request.channel {
        Channel::Bootstrap => Decision::Allow(Allow::Bootstrap),
        Channel::AdministratorCreated => Decision::Allow(Allow::AdministratorCreated),
        Channel::SelfService | Channel::SingleSignOn => match (request.invite, mode) {
            (Invite::Valid(org), _) => Decision::Allow(Allow::JoinByInvite(org)),
            (Invite::Stale, _) => Decision::Deny(Deny::InviteStale),
            (Invite::Invalid, _) => Decision::Deny(Deny::InviteInvalid),
            (Invite::Absent, Mode::Open) => Decision::Allow(Allow::OpenSignup),
            (Invite::Absent, Mode::InviteOnly) => Decision::Deny(Deny::InviteRequired),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use Channel::*;
    use Mode::*;

    /// The decision table, row by row.
    #[test]
    fn table() {
        let cases: &[(Mode, Channel, Invite<u8>, Decision<u8>)] = &[
            (
                Open,
                SelfService,
                Invite::Absent,
                Decision::Allow(Allow::OpenSignup),
            ),
            (
                Open,
                SelfService,
                Invite::Valid(7),
                Decision::Allow(Allow::JoinByInvite(7)),
            ),
            (
                Open,
                SelfService,
                Invite::Stale,
                Decision::Deny(Deny::InviteStale),
            ),
            (
                Open,
                SelfService,
                Invite::Invalid,
                Decision::Deny(Deny::InviteInvalid),
            ),
            (
                InviteOnly,
                SelfService,
                Invite::Absent,
                Decision::Deny(Deny::InviteRequired),
            ),
            (
                InviteOnly,
                SelfService,
                Invite::Valid(7),
                Decision::Allow(Allow::JoinByInvite(7)),
            ),
            (
                InviteOnly,
                SelfService,
                Invite::Stale,
                Decision::Deny(Deny::InviteStale),
            ),
            (
                InviteOnly,
                SelfService,
                Invite::Invalid,
                Decision::Deny(Deny::InviteInvalid),
            ),
            (
                InviteOnly,
                Bootstrap,
                Invite::Absent,
                Decision::Allow(Allow::Bootstrap),
            ),
            (
                InviteOnly,
                AdministratorCreated,
                Invite::Absent,
                Decision::Allow(Allow::AdministratorCreated),
            ),
            (
                Open,
                Bootstrap,
                Invite::Absent,
                Decision::Allow(Allow::Bootstrap),
            ),
            (
                Open,
                AdministratorCreated,
                Invite::Absent,
                Decision::Allow(Allow::AdministratorCreated),
            ),
        ];
        for &(mode, channel, invite, expected) in cases {
            assert_eq!(
                decide(mode, Request { channel, invite }),
                expected,
                "{mode:?} {channel:?} {invite:?}"
            );
        }
    }

    fn any_mode() -> impl Strategy<Value = Mode> {
        prop_oneof![Just(Open), Just(InviteOnly)]
    }
    fn any_channel() -> impl Strategy<Value = Channel> {
        prop_oneof![
            Just(SelfService),
            Just(AdministratorCreated),
            Just(Bootstrap),
            Just(SingleSignOn)
        ]
    }
    fn any_invite() -> impl Strategy<Value = Invite<u32>> {
        prop_oneof![
            Just(Invite::Absent),
            any::<u32>().prop_map(Invite::Valid),
            Just(Invite::Stale),
            Just(Invite::Invalid)
        ]
    }

    proptest! {
        /// Invite-only means invite-only: a self-service sign-up is allowed
        /// only with a valid invite, and then joins that invite's organization.
        #[test]
        fn invite_only_needs_a_valid_invite(invite in any_invite(), sso in any::<bool>()) {
            let channel = if sso { SingleSignOn } else { SelfService };
            let d = decide(InviteOnly, Request { channel, invite });
            match invite {
                Invite::Valid(o) => prop_assert_eq!(d, Decision::Allow(Allow::JoinByInvite(o))),
                _ => prop_assert!(!d.is_allowed()),
            }
        }

        /// Single sign-on is held to exactly the self-service rule: a provider
        /// is never a way around invite-only sign-up.
        #[test]
        fn single_sign_on_is_self_service(mode in any_mode(), invite in any_invite()) {
            prop_assert_eq!(
                decide(mode, Request { channel: SingleSignOn, invite }),
                decide(mode, Request { channel: SelfService, invite })
            );
        }

        /// A bad invite is never waved through, in any mode.
        #[test]
        fn bad_invites_are_refused_in_every_mode(mode in any_mode(), stale in any::<bool>()) {
            let invite = if stale { Invite::Stale } else { Invite::<u32>::Invalid };
            let d = decide(mode, Request { channel: SelfService, invite });
            prop_assert!(!d.is_allowed());
        }

        /// The operator's paths are always allowed, and say why.
        #[test]
        fn operator_paths_are_explicit(mode in any_mode(), invite in any_invite()) {
            prop_assert_eq!(decide(mode, Request { channel: Bootstrap, invite }), Decision::Allow(Allow::Bootstrap));
            prop_assert_eq!(
                decide(mode, Request { channel: AdministratorCreated, invite }),
                Decision::Allow(Allow::AdministratorCreated)
            );
        }

        /// Opening sign-up never denies what invite-only allows.
        #[test]
        fn open_is_a_superset(channel in any_channel(), invite in any_invite()) {
            if decide(InviteOnly, Request { channel, invite }).is_allowed() {
                let d = decide(Open, Request { channel, invite });
                prop_assert!(d.is_allowed());
            }
        }
    }
}
