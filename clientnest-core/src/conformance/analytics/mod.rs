//! Conformance tests of the analytics ports ([`analytics`](crate::analytics)): the writer's
//! checks and keys, and every rollup with numbers worked out by hand in each test.
//!
//! Tests never depend on the harness's clock: rows carry fixed times (around 2026-11-02, or
//! the zone changes a test is about), and each test writes under fresh `TeamId`s, so tests
//! never see each other's rows even on a shared database. Service performance is not
//! team-owned: its tests use service names of their own and an hour picked at random.
//!
//! One macro per port turns the functions into `#[tokio::test]`s (see
//! [`registry`](super::registry)); [`analytics_conformance!`](crate::analytics_conformance)
//! expands them all. [`ai_usage_and_ai_metrics_agree`] takes the relational ports too, and each
//! backend calls it itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fixtures;

mod agreement;
mod ai;
mod best_time;
mod costs;
mod engagement;
mod events;
mod maintenance;
mod metrics;
mod performance;
mod writer;

pub use agreement::*;
pub use ai::*;
pub use best_time::*;
pub use costs::*;
pub use engagement::*;
pub use events::*;
pub use maintenance::*;
pub use metrics::*;
pub use performance::*;
pub use writer::*;
