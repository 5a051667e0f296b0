//! What the store keeps in memory, and how each entry is never served after
//! a change: API-token lookups while the WAL index header reads the same
//! ([`commits`], SQLite only).

pub(crate) mod commits;
mod tokens;

pub(crate) use tokens::TokenCache;
