//! The conformance suite: async functions that take any implementation of the ports and assert
//! the behaviour every backend must share. The in-memory backends and every adapter run the same
//! functions, generated as `#[tokio::test]`s by the registration macros of [`registry`].
//!
//! # One macro per port
//! Each function asks only for the ports it calls: a session test takes a [`Harness<S>`] with
//! `S: SessionStore + ?Sized`, a post test one with
//! `S: UserRepository + TeamRepository + PostRepository + ?Sized` (users and teams to write
//! under), and so on. Each port has its macro, registering that port's functions, so a backend
//! implementing one port runs that port's tests alone:
//!
//! - key-value side: [`session_conformance!`](crate::session_conformance),
//!   [`cache_conformance!`](crate::cache_conformance), [`queue_conformance!`](crate::queue_conformance),
//!   [`rate_limit_conformance!`](crate::rate_limit_conformance),
//!   [`temp_conformance!`](crate::temp_conformance), and
//!   [`kv_cross_port_conformance!`](crate::kv_cross_port_conformance) for tests over several
//!   key-value ports; the umbrella [`kv_conformance!`](crate::kv_conformance) expands all six;
//! - relational side: [`user_conformance!`](crate::user_conformance),
//!   [`team_conformance!`](crate::team_conformance), [`account_conformance!`](crate::account_conformance),
//!   [`post_conformance!`](crate::post_conformance), [`comment_conformance!`](crate::comment_conformance),
//!   [`template_conformance!`](crate::template_conformance),
//!   [`schedule_conformance!`](crate::schedule_conformance),
//!   [`automation_conformance!`](crate::automation_conformance),
//!   [`webhook_conformance!`](crate::webhook_conformance),
//!   [`ai_usage_conformance!`](crate::ai_usage_conformance),
//!   [`billing_conformance!`](crate::billing_conformance),
//!   [`notification_conformance!`](crate::notification_conformance), and
//!   [`relational_cross_port_conformance!`](crate::relational_cross_port_conformance) (tenancy,
//!   paging every list, cascades, membership); the umbrella
//!   [`relational_conformance!`](crate::relational_conformance) expands all thirteen;
//! - analytics side: [`analytics_writer_conformance!`](crate::analytics_writer_conformance),
//!   [`engagement_conformance!`](crate::engagement_conformance),
//!   [`performance_conformance!`](crate::performance_conformance),
//!   [`ai_metrics_conformance!`](crate::ai_metrics_conformance),
//!   [`cost_conformance!`](crate::cost_conformance), [`event_conformance!`](crate::event_conformance),
//!   [`metric_conformance!`](crate::metric_conformance) and
//!   [`analytics_maintenance_conformance!`](crate::analytics_maintenance_conformance) (retention,
//!   refresh, limits); the umbrella [`analytics_conformance!`](crate::analytics_conformance)
//!   expands all eight;
//! - apart: [`reseal_conformance!`](crate::reseal_conformance), the optional re-seal sweep.
//!
//! Every function is registered in exactly one macro; each macro's names are also a `pub const`
//! list in [`registry`] (e.g. [`registry::SESSION_TESTS`]), made from the same tokens, and a core
//! test checks that no public function of the suite is left out. The few that take more than a
//! harness are listed in [`registry::OUTSIDE_MACROS`] and called by each backend itself.
//!
//! An adapter's test file supplies a factory: an `async fn` returning a fresh [`Harness`]
//! (its own database, schema or key prefix), or `Option<Harness>` where `None` skips, so tests
//! run in parallel. A store of sessions only:
//!
//! ```no_run
//! use clientnest_core::clock::ManualClock;
//! use clientnest_core::conformance::{Harness, TimeControl};
//! use clientnest_core::memory::MemoryKv;
//! use std::sync::Arc;
//!
//! // Any `SessionStore` will do; `MemoryKv` implements every key-value port.
//! async fn harness() -> Harness<MemoryKv> {
//!     let clock = ManualClock::starting_now();
//!     Harness { store: Arc::new(MemoryKv::with_clock(Arc::new(clock.clone()))), time: TimeControl::Manual(clock) }
//! }
//!
//! // One #[tokio::test] per session conformance function, and nothing else.
//! clientnest_core::session_conformance!(harness);
//! # fn main() {}
//! ```
//!
//! A full relational backend, every port at once:
//!
//! ```no_run
//! use clientnest_core::clock::ManualClock;
//! use clientnest_core::conformance::{Harness, TimeControl};
//! use clientnest_core::memory::MemoryStore;
//! use std::sync::Arc;
//!
//! // A fresh backend per test: for PostgreSQL a fresh schema, for Redis a fresh key prefix.
//! async fn harness() -> Harness<MemoryStore> {
//!     let clock = ManualClock::starting_now();
//!     Harness { store: Arc::new(MemoryStore::with_clock(Arc::new(clock.clone()))), time: TimeControl::Manual(clock) }
//! }
//!
//! // One #[tokio::test] per relational conformance function: every per-port macro.
//! clientnest_core::relational_conformance!(harness);
//! # fn main() {}
//! ```

use std::sync::Arc;

use chrono::Duration;

use crate::clock::ManualClock;

pub mod analytics;
pub mod hostile;
pub mod kv;
pub mod media;
pub mod registry;
pub mod relational;

/// How a test moves time forward.
#[derive(Debug, Clone)]
pub enum TimeControl {
    /// The backend reads this clock: advancing it is instant.
    Manual(ManualClock),
    /// The backend reads real time (e.g. Redis `TIME`): advancing sleeps.
    Real,
}

impl TimeControl {
    /// Let `by` pass for the backend.
    pub async fn advance(&self, by: Duration) {
        match self {
            TimeControl::Manual(c) => c.advance(by),
            TimeControl::Real => {
                let ms = u64::try_from(by.num_milliseconds()).unwrap_or(0);
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            }
        }
    }

    /// Whether time is manual (tests may then use long durations freely).
    pub fn is_manual(&self) -> bool {
        matches!(self, TimeControl::Manual(_))
    }
}

/// What every conformance test receives: a fresh backend and control of its time.
#[derive(Debug)]
pub struct Harness<S: ?Sized> {
    /// The backend under test, fresh for each test (no rows of another test).
    pub store: Arc<S>,
    /// How the test moves the backend's time: a manual clock, or real time that sleeps.
    pub time: TimeControl,
}

impl<S: ?Sized> Clone for Harness<S> {
    fn clone(&self) -> Self {
        Self { store: Arc::clone(&self.store), time: self.time.clone() }
    }
}

/// What a conformance factory returns: a [`Harness`], or `Option<Harness>` where `None` skips
/// the test (an adapter whose service is absent; its factory says so loudly).
pub trait IntoHarness<S: ?Sized> {
    /// The harness, or `None` to skip.
    fn into_harness(self) -> Option<Harness<S>>;
}

impl<S: ?Sized> IntoHarness<S> for Harness<S> {
    fn into_harness(self) -> Option<Harness<S>> {
        Some(self)
    }
}

impl<S: ?Sized> IntoHarness<S> for Option<Harness<S>> {
    fn into_harness(self) -> Option<Harness<S>> {
        self
    }
}

/// Every key-value port in one bound, re-exported from [`ports`](crate::ports): what a full
/// key-value backend implements, and what [`kv_conformance!`](crate::kv_conformance) needs.
pub use crate::ports::KvStores;
