//! The key-value conformance suite on a three-master Redis Cluster (`REDIS_CLUSTER_URLS`).

use clientnest_core::conformance::Harness;
use clientnest_redis::RedisKv;

use crate::common::{Topology, harness as connect};

/// A fresh harness on the Cluster, or `None` to skip.
async fn harness() -> Option<Harness<RedisKv>> {
    connect(Topology::Cluster).await
}

clientnest_core::kv_conformance!(harness);
