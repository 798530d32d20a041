//! The key-value conformance suite on [`MemoryKv`]: on a manual clock, and once more on the
//! system clock with real waiting, as the Redis adapter runs it (this keeps the suite honest
//! about real time: short TTLs, margins, no exact-instant checks).

use std::sync::Arc;

use clientnest_core::clock::ManualClock;
use clientnest_core::conformance::{Harness, TimeControl};
use clientnest_core::memory::MemoryKv;

/// A fresh store on its own manual clock.
async fn harness() -> Harness<MemoryKv> {
    let clock = ManualClock::starting_now();
    let store = MemoryKv::with_clock(Arc::new(clock.clone()));
    Harness { store: Arc::new(store), time: TimeControl::Manual(clock) }
}

clientnest_core::kv_conformance!(harness);

/// The same suite on the system clock, time passing for real.
mod real_time {
    use std::sync::Arc;

    use clientnest_core::conformance::{Harness, TimeControl};
    use clientnest_core::memory::MemoryKv;

    /// A fresh store on the system clock.
    async fn harness() -> Harness<MemoryKv> {
        Harness { store: Arc::new(MemoryKv::new()), time: TimeControl::Real }
    }

    clientnest_core::kv_conformance!(harness);
}
