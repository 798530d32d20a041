//! The media conformance suite on the in-memory store, serving its own signed URLs.

use std::sync::Arc;

use clientnest_core::clock::ManualClock;
use clientnest_core::conformance::media::{ServedLocally, WithClient, served_locally};
use clientnest_core::conformance::{Harness, TimeControl};
use clientnest_core::memory::MemoryMediaStore;

async fn harness() -> Harness<WithClient<MemoryMediaStore, ServedLocally<MemoryMediaStore>>> {
    let clock = ManualClock::starting_now();
    let store = MemoryMediaStore::with_clock(Arc::new(clock.clone()));
    Harness { store: Arc::new(served_locally(Arc::new(store))), time: TimeControl::Manual(clock) }
}

clientnest_core::media_conformance!(harness);
