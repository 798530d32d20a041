//! The analytics conformance suite on [`MemoryAnalytics`], and the agreement of `ai_usage` and
//! `ai_metrics` on [`MemoryStore`] + [`MemoryAnalytics`].

use std::sync::Arc;

use clientnest_core::analytics::Analytics;
use clientnest_core::clock::ManualClock;
use clientnest_core::conformance::{Harness, TimeControl};
use clientnest_core::memory::{MemoryAnalytics, MemoryStore};

/// Fresh, empty tables (the tests use fixed times, not the harness's clock).
async fn harness() -> Harness<MemoryAnalytics> {
    Harness { store: Arc::new(MemoryAnalytics::new()), time: TimeControl::Real }
}

clientnest_core::analytics_conformance!(harness);

/// The same suite through `dyn Analytics`, as applications hold a backend behind a trait object.
mod as_trait_object {
    use super::*;

    async fn harness() -> Harness<dyn Analytics> {
        let store: Arc<dyn Analytics> = Arc::new(MemoryAnalytics::new());
        Harness { store, time: TimeControl::Real }
    }

    clientnest_core::analytics_conformance!(harness);
}

#[tokio::test]
async fn ai_usage_and_ai_metrics_agree_in_memory() {
    let clock = ManualClock::starting_now();
    let store = MemoryStore::with_clock(Arc::new(clock.clone()));
    let repos = Harness { store: Arc::new(store), time: TimeControl::Manual(clock) };
    clientnest_core::conformance::analytics::ai_usage_and_ai_metrics_agree(&repos, &MemoryAnalytics::new()).await;
}
