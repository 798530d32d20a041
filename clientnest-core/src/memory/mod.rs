//! In-memory backends.
//!
//! [`MemoryStore`] implements every repository port with the rules PostgreSQL enforces (unique
//! rules, references, cascades, checks, tenancy, keyset paging), atomically, on an injectable
//! clock. Applications test against it; the conformance suite holds it to the same behaviour
//! as every other backend.

mod accounts;
mod cascade;
mod posts;
mod store;
mod teams;
mod users;

pub use store::MemoryStore;
