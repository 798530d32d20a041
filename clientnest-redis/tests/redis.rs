//! Integration tests of clientnest-redis against real servers: the key-value conformance suite
//! on a single node (`REDIS_URL`) and on a Redis Cluster (`REDIS_CLUSTER_URLS`, comma-separated),
//! and Redis-specific checks (hash tags and slots, scripts, TTLs, errors).
//!
//! Without the variables the tests say so and skip, unless `CLIENTNEST_REQUIRE_SERVICES=1`.
//! Every test runs under a key prefix of its own, so they run in parallel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "redis/common.rs"]
mod common;

#[path = "redis/single.rs"]
mod single;

#[path = "redis/cluster.rs"]
mod cluster;

#[path = "redis/specific.rs"]
mod specific;

#[path = "redis/resilience.rs"]
mod resilience;

#[path = "redis/hostile.rs"]
mod hostile;

#[path = "redis/outcome.rs"]
mod outcome;

#[path = "redis/bounded.rs"]
mod bounded;

#[path = "redis/secrets.rs"]
mod secrets;

#[path = "redis/eviction.rs"]
mod eviction;

#[path = "redis/retention.rs"]
mod retention;

#[path = "redis/user_cache.rs"]
mod user_cache;

#[path = "redis/restart.rs"]
mod restart;
