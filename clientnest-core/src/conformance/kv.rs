//! Conformance tests of the key-value ports: sessions, the cache, the job queue, the rate limiter
//! and temporary data. Each function asks only for the ports it calls (`S: SessionStore`,
//! `S: Cache`...); a few cover several ports at once.
//!
//! These functions are the precise specification of the key-value backends: the in-memory
//! [`MemoryKv`](crate::memory::MemoryKv) and the Redis adapter (single node and Cluster) pass all
//! of them. Each takes a fresh [`Harness`] and asserts one behaviour.
//!
//! - Every key, subject, queue name and user a test touches contains a fresh random UUID, so the
//!   tests can share one store (one Redis prefix) and run in parallel.
//! - Time moves only through [`TimeControl::advance`](super::TimeControl::advance). On real time
//!   (Redis) that sleeps, so the tests use TTLs of about a second and wait at most ~2 s each;
//!   long waits (the 24-hour idempotency window) run only on a manual clock.
//! - An entry is dead from its deadline on; the tests never probe the exact instant, so a
//!   backend whose expiry is a millisecond late (Redis) still passes.
//!
//! One macro per port turns its functions into `#[tokio::test]`s (see
//! [`registry`](super::registry)); [`kv_conformance!`](crate::kv_conformance) expands them all.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cache;
mod cache_aside;
mod hostile;
mod queue;
mod rate;
mod replay;
mod session;
mod temp;

pub use cache::*;
pub use cache_aside::*;
pub use hostile::*;
pub use queue::*;
pub use rate::*;
pub use replay::*;
pub use session::*;
pub use temp::*;

use std::fmt::Debug;

use chrono::Duration;

use super::Harness;
use crate::error::{Entity, Error, Result};
use crate::model::{QueueName, WorkerId};

/// A string no other test (or run) uses: `label` and a random UUID.
fn unique(label: &str) -> String {
    format!("{label}-{}", uuid::Uuid::new_v4())
}

/// A fresh queue of its own: `<label>-<random uuid>`, so tests never share one.
fn unique_queue(label: &str) -> QueueName {
    QueueName::new(unique(label)).expect("a valid queue name")
}

/// A fresh worker id: `conformance-<uuid v7>`.
fn worker() -> WorkerId {
    WorkerId::unique("conformance")
}

/// `n` milliseconds as a `chrono` duration.
fn ms(n: i64) -> Duration {
    Duration::milliseconds(n)
}

/// `n` seconds as a `chrono` duration.
fn secs(n: i64) -> Duration {
    Duration::seconds(n)
}

/// How far apart two backend times may be beyond what the test waited: nothing on a manual
/// clock, a second on real time (round trips, a busy machine).
fn slack<S: ?Sized>(h: &Harness<S>) -> Duration {
    if h.time.is_manual() { Duration::zero() } else { secs(1) }
}

/// Assert that a call was refused with [`Error::Validation`].
#[track_caller]
fn assert_validation<T: Debug>(result: Result<T>, what: &str) {
    match result {
        Err(Error::Validation(_)) => {}
        other => panic!("{what}: expected Error::Validation, got {other:?}"),
    }
}

/// Assert that a job operation was refused with [`Error::InvalidState`] on [`Entity::Job`].
#[track_caller]
fn assert_lease_refused<T: Debug>(result: Result<T>, what: &str) {
    match result {
        Err(Error::InvalidState { entity: Entity::Job, .. }) => {}
        other => panic!("{what}: expected Error::InvalidState for a job, got {other:?}"),
    }
}

/// Assert that a call failed with [`Error::NotFound`] on [`Entity::Job`].
#[track_caller]
fn assert_job_not_found<T: Debug>(result: Result<T>, what: &str) {
    match result {
        Err(Error::NotFound { entity: Entity::Job, .. }) => {}
        other => panic!("{what}: expected Error::NotFound for a job, got {other:?}"),
    }
}
