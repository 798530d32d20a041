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
