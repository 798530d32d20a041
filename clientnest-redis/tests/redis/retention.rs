//! Dead letters follow the configured retention on Redis as in memory: the shared conformance
//! check, on the single node and on the Cluster, with a 2-second age (time is Redis' own).

use std::sync::Arc;

use chrono::Duration;
use clientnest_core::conformance::{Harness, TimeControl};
use clientnest_core::ports::DeadLetterRetention;
use clientnest_redis::RedisKv;

use crate::common::{Topology, config};

/// Three dead letters, two seconds.
fn retention() -> DeadLetterRetention {
    DeadLetterRetention::default().with_max_count(3).with_max_age(Duration::seconds(2))
}

/// A harness with that retention on a topology, or `None` to skip.
async fn harness(topology: Topology) -> Option<Harness<RedisKv>> {
    let config = config(topology)?.with_dead_letter_retention(retention());
    let kv = match topology {
        Topology::Single => RedisKv::connect(&config).await,
        Topology::Cluster => RedisKv::connect_cluster(&config).await,
    }
    .expect("connect");
    assert_eq!(kv.dead_letter_retention(), retention());
    Some(Harness { store: Arc::new(kv), time: TimeControl::Real })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_node_dead_letter_retention() {
    let Some(h) = harness(Topology::Single).await else { return };
    clientnest_core::conformance::kv::queue_dead_letter_retention(&h, retention()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_dead_letter_retention() {
    let Some(h) = harness(Topology::Cluster).await else { return };
    clientnest_core::conformance::kv::queue_dead_letter_retention(&h, retention()).await;
}

#[test]
fn a_bad_retention_is_refused() {
    let bad = DeadLetterRetention::default().with_max_count(0);
    assert!(clientnest_redis::RedisConfig::default().with_dead_letter_retention(bad).check().is_err());
}
