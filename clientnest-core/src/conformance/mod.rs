//! The conformance suite: async functions that take any implementation of the ports and assert
//! the behaviour every backend must share. The in-memory backends and every adapter run the same
//! functions, generated as `#[tokio::test]`s by [`relational_conformance!`](crate::relational_conformance)
//! and [`kv_conformance!`](crate::kv_conformance).
//!
//! An adapter's test file supplies a factory: an `async fn` returning a fresh [`Harness`]
//! (its own database, schema or key prefix), so tests run in parallel.
//!
//! ```ignore
//! async fn harness() -> Harness<PgStore> { /* a fresh schema */ }
//! clientnest_core::relational_conformance!(harness);
//! ```

use std::sync::Arc;

use chrono::Duration;

use crate::clock::ManualClock;

pub mod kv;
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
    /// The backend under test.
    pub store: Arc<S>,
    /// Its time.
    pub time: TimeControl,
}

impl<S: ?Sized> Clone for Harness<S> {
    fn clone(&self) -> Self {
        Self { store: Arc::clone(&self.store), time: self.time.clone() }
    }
}

/// Expands to one `#[tokio::test]` per listed conformance function of `$module`, each calling
/// `$factory().await` for a fresh harness.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($module:ident, $factory:path; $($name:ident),+ $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let harness = $factory().await;
                $crate::conformance::$module::$name(&harness).await;
            }
        )+
    };
}
