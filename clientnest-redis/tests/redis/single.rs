//! The key-value conformance suite on a single Redis node (`REDIS_URL`).

use clientnest_core::conformance::Harness;
use clientnest_redis::RedisKv;

use crate::common::{Topology, harness as connect};

/// A fresh harness on the single node, or `None` to skip.
async fn harness() -> Option<Harness<RedisKv>> {
    connect(Topology::Single).await
}

clientnest_core::kv_conformance!(harness);
