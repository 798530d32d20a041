//! Connecting the tests: environment, skip rules, a fresh key prefix per test.

use std::io::Write;
use std::sync::Arc;

use clientnest_core::conformance::{Harness, TimeControl};
use clientnest_redis::{RedisConfig, RedisKv};

/// Which deployment a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Topology {
    /// One node, from `REDIS_URL`.
    Single,
    /// A Cluster, from `REDIS_CLUSTER_URLS`.
    Cluster,
}

impl Topology {
    /// The environment variable naming the servers.
    fn variable(self) -> &'static str {
        match self {
            Topology::Single => "REDIS_URL",
            Topology::Cluster => "REDIS_CLUSTER_URLS",
        }
    }
}

/// Whether an absent service fails the test instead of skipping it.
fn required() -> bool {
    std::env::var("CLIENTNEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// A key prefix no other test or run uses.
pub(crate) fn unique_prefix() -> String {
    format!("t-{}", uuid::Uuid::new_v4().simple())
}

/// The configuration of a topology under a fresh prefix, or `None` (with a loud message) when
/// its variable is not set.
pub(crate) fn config(topology: Topology) -> Option<RedisConfig> {
    let var = topology.variable();
    match std::env::var(var) {
        Ok(urls) if !urls.trim().is_empty() => {
            Some(RedisConfig::default().with_url_list(&urls).with_key_prefix(unique_prefix()))
        }
        _ if required() => panic!("{var} is not set and CLIENTNEST_REQUIRE_SERVICES=1: Redis is required"),
        _ => {
            // Straight to stderr, past the test harness' capture, so the skip is seen.
            let _ = writeln!(
                std::io::stderr(),
                "*** SKIPPED: {var} is not set, so this Redis test did not run ({topology:?}) ***"
            );
            None
        }
    }
}

/// A fresh handle on a topology, or `None` when it is not configured.
pub(crate) async fn connect(topology: Topology) -> Option<RedisKv> {
    let config = config(topology)?;
    let kv = match topology {
        Topology::Single => RedisKv::connect(&config).await,
        Topology::Cluster => RedisKv::connect_cluster(&config).await,
    };
    Some(kv.unwrap_or_else(|e| panic!("connect to Redis ({topology:?}, {config:?}): {e}")))
}

/// A conformance harness on a topology: real time (Redis `TIME`).
pub(crate) async fn harness(topology: Topology) -> Option<Harness<RedisKv>> {
    let kv = connect(topology).await?;
    Some(Harness { store: Arc::new(kv), time: TimeControl::Real })
}
