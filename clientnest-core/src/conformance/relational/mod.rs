//! Conformance tests of the repository ports. Each function asks only for the repositories it
//! calls (a post test: users, teams and posts); tenancy, paging, cascades and membership cover
//! [`Repositories`](crate::ports::Repositories) whole.
//!
//! Every function takes a fresh [`Harness`](super::Harness) and asserts one behaviour of
//! `docs/backend-rules.md`: unique rules, checks, references, cascades, tenancy, paging, the
//! aggregates' own rules and the schedule claim protocol. Each test creates its own users and
//! teams (unique emails) and assumes nothing else about the store, so the PostgreSQL adapter
//! runs the very same functions, each on a fresh schema.
//!
//! One macro per repository turns its functions into `#[tokio::test]`s (see
//! [`registry`](super::registry)); [`relational_conformance!`](crate::relational_conformance)
//! expands them all.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fixtures;

mod accounts;
mod ai_usage;
mod automations;
mod billing;
mod cascades;
mod comments;
mod membership;
mod notifications;
mod paging;
mod posts;
mod reseal;
mod schedules;
mod secrets;
mod teams;
mod templates;
mod tenancy;
mod users;
mod webhooks;

pub use accounts::*;
pub use ai_usage::*;
pub use automations::*;
pub use billing::*;
pub use cascades::*;
pub use comments::*;
pub use membership::*;
pub use notifications::*;
pub use paging::*;
pub use posts::*;
pub use reseal::*;
pub use schedules::*;
pub use secrets::*;
pub use teams::*;
pub use templates::*;
pub use tenancy::*;
pub use users::*;
pub use webhooks::*;
