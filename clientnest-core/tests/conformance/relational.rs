//! The relational conformance suite on [`MemoryStore`], on a manual clock (the PostgreSQL
//! adapter runs the same functions on its own clock-reading store).

use std::sync::Arc;

use clientnest_core::clock::ManualClock;
use clientnest_core::conformance::{Harness, TimeControl};
use clientnest_core::memory::MemoryStore;

/// A fresh, empty store on its own manual clock.
async fn harness() -> Harness<MemoryStore> {
    let clock = ManualClock::starting_now();
    let store = MemoryStore::with_clock(Arc::new(clock.clone()));
    Harness { store: Arc::new(store), time: TimeControl::Manual(clock) }
}

clientnest_core::relational_conformance!(harness);

// The re-seal sweep, an optional ability apart from `relational_conformance!`.
clientnest_core::reseal_conformance!(harness);

/// The same suite through `dyn Repositories`, as applications hold a store behind a trait
/// object.
mod as_trait_object {
    use std::sync::Arc;

    use clientnest_core::clock::ManualClock;
    use clientnest_core::conformance::{Harness, TimeControl};
    use clientnest_core::memory::MemoryStore;
    use clientnest_core::ports::Repositories;

    /// A fresh store behind `Arc<dyn Repositories>`.
    async fn harness() -> Harness<dyn Repositories> {
        let clock = ManualClock::starting_now();
        let store: Arc<dyn Repositories> = Arc::new(MemoryStore::with_clock(Arc::new(clock.clone())));
        Harness { store, time: TimeControl::Manual(clock) }
    }

    clientnest_core::relational_conformance!(harness);
}

/// The same suite through [`Measured`](clientnest_core::analytics::Measured): the decorator
/// records each call and changes nothing the store does. (The key-value side runs here too,
/// so the decorator's every port is checked in one module.)
mod measured {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use async_trait::async_trait;
    use clientnest_core::Result;
    use clientnest_core::analytics::{
        AiMetric, AnalyticsWriter, BufferConfig, BufferedWriter, Cost, EngagementSnapshot, Event, Measured, Metric,
        Performance,
    };
    use clientnest_core::clock::ManualClock;
    use clientnest_core::conformance::{Harness, TimeControl};
    use clientnest_core::memory::{MemoryKv, MemoryStore};

    /// Counts the performance rows it is given; refuses other tables (the decorator writes
    /// none).
    #[derive(Default)]
    struct Counting(AtomicU64);

    impl Counting {
        fn take<T>(&self, rows: &[T]) -> Result<u64> {
            let n = rows.len() as u64;
            self.0.fetch_add(n, Ordering::Relaxed);
            Ok(n)
        }
    }

    fn not_performance() -> clientnest_core::Error {
        clientnest_core::Error::backend("test", "the decorator writes performance rows only")
    }

    #[async_trait]
    impl AnalyticsWriter for Counting {
        async fn append_events(&self, _: Vec<Event>) -> Result<u64> {
            Err(not_performance())
        }
        async fn append_metrics(&self, _: Vec<Metric>) -> Result<u64> {
            Err(not_performance())
        }
        async fn append_performance(&self, rows: Vec<Performance>) -> Result<u64> {
            self.take(&rows)
        }
        async fn append_engagement(&self, _: Vec<EngagementSnapshot>) -> Result<u64> {
            Err(not_performance())
        }
        async fn append_ai_metrics(&self, _: Vec<AiMetric>) -> Result<u64> {
            Err(not_performance())
        }
        async fn append_costs(&self, _: Vec<Cost>) -> Result<u64> {
            Err(not_performance())
        }
    }

    fn buffer() -> BufferedWriter {
        BufferedWriter::spawn(Arc::new(Counting::default()), BufferConfig::default())
    }

    /// A fresh measured store on its own manual clock (the rows' times come from it too).
    async fn harness() -> Harness<Measured<MemoryStore>> {
        let clock = ManualClock::starting_now();
        let store = MemoryStore::with_clock(Arc::new(clock.clone()));
        let measured = Measured::new(store, buffer()).with_clock(Arc::new(clock.clone()));
        Harness { store: Arc::new(measured), time: TimeControl::Manual(clock) }
    }

    clientnest_core::relational_conformance!(harness);

    mod kv_ports {
        use super::*;

        /// A fresh measured key-value store on its own manual clock.
        async fn harness() -> Harness<Measured<MemoryKv>> {
            let clock = ManualClock::starting_now();
            let store = MemoryKv::with_clock(Arc::new(clock.clone()));
            let measured = Measured::new(store, buffer()).with_clock(Arc::new(clock.clone()));
            Harness { store: Arc::new(measured), time: TimeControl::Manual(clock) }
        }

        clientnest_core::kv_conformance!(harness);
    }
}
