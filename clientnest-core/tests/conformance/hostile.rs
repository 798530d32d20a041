//! The hostile-input list on [`MemoryStore`]: the same cases, with the same expectations, as
//! the PostgreSQL adapter runs them, so both backends agree.

use std::sync::Arc;

use clientnest_core::clock::ManualClock;
use clientnest_core::conformance::hostile::{self, Expect};
use clientnest_core::conformance::{Harness, TimeControl};
use clientnest_core::memory::MemoryStore;
use clientnest_core::validate::HostPolicy;

/// A fresh store on its own manual clock.
fn harness() -> Harness<MemoryStore> {
    let clock = ManualClock::starting_now();
    let store = MemoryStore::with_clock(Arc::new(clock.clone()));
    Harness { store: Arc::new(store), time: TimeControl::Manual(clock) }
}

#[tokio::test]
async fn hostile_inputs_round_trip_or_are_rejected_whole() {
    hostile::hostile_inputs(&harness()).await;
}

#[tokio::test]
async fn private_hosts_are_taken_after_opting_in() {
    let store = MemoryStore::new().with_host_policy(HostPolicy::AllowPrivate);
    assert_eq!(store.host_policy(), HostPolicy::AllowPrivate);
    assert_eq!(MemoryStore::new().host_policy(), HostPolicy::PublicOnly, "refusing is the default");
    hostile::private_hosts_when_opted_in(&store).await;
}

#[test]
fn the_list_is_long_and_covers_both_outcomes() {
    let cases = hostile::cases();
    assert!(cases.len() >= 30, "only {} hostile cases", cases.len());
    let rejected = cases.iter().filter(|c| matches!(c.expect, Expect::Rejected { .. })).count();
    let exact = cases.iter().filter(|c| c.expect == Expect::Exact).count();
    assert!(rejected >= 15 && exact >= 15, "{exact} exact and {rejected} rejected cases");
}
