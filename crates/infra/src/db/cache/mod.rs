//! What the store keeps in memory, and how each entry is never served after
//! a change: API-token lookups while the WAL index header reads the same
//! ([`commits`], SQLite only), and each organization's member order while
//! its `members_version` is the one it was read at.

pub(crate) mod commits;
mod member_orders;
mod tokens;

pub(crate) use member_orders::MemberOrders;
pub(crate) use tokens::TokenCache;
