//! The account lifecycle (issue 17): a password changed by its owner
//! (`passwords`), one-time reset links made by an owner, an administrator or
//! the operator (`reset_links`), and what an owner or administrator does to
//! members beyond roles: ownership moving and deactivation (`members`).
//!
//! Rights over another person's account (a reset link, deactivation) are
//! rights over the whole account, which may belong to several
//! organizations: the actor must outrank the person in every organization
//! the person is a current member of ([`Services::outranks_everywhere`]).

mod forgot;
mod members;
mod passwords;
mod reset_links;
#[cfg(test)]
mod tests;

pub use passwords::PasswordChangeRequest;
pub use reset_links::{RESET_PATH, ResetLink};

use orgs::Role;

use crate::error::AppError;
use crate::services::Services;
use crate::store::Store;

impl<S: Store> Services<S> {
    /// `Forbidden` unless `actor` holds a higher role than `target` in every
    /// organization `target` is a current member of (owner above
    /// administrator above member), and is not `target`.
    pub(crate) async fn outranks_everywhere(
        &self,
        actor: i64,
        target: i64,
    ) -> Result<(), AppError> {
        if actor == target {
            return Err(AppError::Forbidden);
        }
        for org in self.store.organizations_of(target).await? {
            let Some(theirs) = self.current_membership(target, org.id).await? else {
                continue;
            };
            let mine = self.current_membership(actor, org.id).await?;
            if !mine.is_some_and(|m| outranks(m.role, theirs.role)) {
                return Err(AppError::Forbidden);
            }
        }
        Ok(())
    }
}

/// Owner above administrator above member.
pub(crate) fn outranks(mine: Role, theirs: Role) -> bool {
    let rank = |r| match r {
        Role::Owner => 3,
        Role::Administrator => 2,
        Role::Member => 1,
    };
    rank(mine) > rank(theirs)
}
