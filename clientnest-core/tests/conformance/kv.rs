//! The key-value conformance suite on [`MemoryKv`]: on a manual clock, and once more on the
//! system clock with real waiting, as the Redis adapter runs it (this keeps the suite honest
//! about real time: short TTLs, margins, no exact-instant checks).

use std::sync::Arc;

use clientnest_core::clock::ManualClock;
use clientnest_core::conformance::{Harness, TimeControl};
use clientnest_core::memory::MemoryKv;
use clientnest_core::ports::DeadLetterRetention;

/// A fresh store on its own manual clock.
async fn harness() -> Harness<MemoryKv> {
    let clock = ManualClock::starting_now();
    let store = MemoryKv::with_clock(Arc::new(clock.clone()));
    Harness { store: Arc::new(store), time: TimeControl::Manual(clock) }
}

clientnest_core::kv_conformance!(harness);

/// Dead letters kept by a retention of 3 and one hour, on the manual clock.
#[tokio::test]
async fn queue_dead_letter_retention() {
    let clock = ManualClock::starting_now();
    let retention = DeadLetterRetention::default().with_max_count(3).with_max_age(chrono::Duration::hours(1));
    let store = MemoryKv::with_clock(Arc::new(clock.clone())).with_dead_letter_retention(retention).expect("retention");
    let h = Harness { store: Arc::new(store), time: TimeControl::Manual(clock) };
    clientnest_core::conformance::kv::queue_dead_letter_retention(&h, retention).await;
}

#[test]
fn dead_letter_retention_rules_are_checked() {
    let zero_count = DeadLetterRetention::default().with_max_count(0);
    assert!(MemoryKv::new().with_dead_letter_retention(zero_count).is_err());
    let no_age = DeadLetterRetention::default().with_max_age(chrono::Duration::zero());
    assert!(MemoryKv::new().with_dead_letter_retention(no_age).is_err());
    assert!(DeadLetterRetention::default().check().is_ok());
}

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
