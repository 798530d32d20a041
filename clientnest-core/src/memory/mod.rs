//! In-memory backends.
//!
//! [`MemoryStore`] implements every repository port with the rules PostgreSQL enforces (unique
//! rules, references, cascades, checks, tenancy, keyset paging), atomically, on an injectable
//! clock. Applications test against it; the conformance suite holds it to the same behaviour
//! as every other backend.

// The relational store (`MemoryStore`) and the analytics tables (`MemoryAnalytics`).
mod accounts;
mod ai_usage;
mod analytics;
mod automations;
mod billing;
mod cascade;
mod comments;
mod notifications;
mod posts;
mod schedules;
mod store;
mod teams;
mod templates;
mod users;
mod webhooks;

#[cfg(test)]
mod tests;

mod kv;
mod media;

pub use analytics::MemoryAnalytics;
pub use kv::MemoryKv;
pub use media::MemoryMediaStore;
pub use store::MemoryStore;
