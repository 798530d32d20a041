//! A server whose `maxmemory-policy` may evict keys is refused at connect with a typed
//! `UnsafeEvictionPolicy`, unless the config opts in. Runs on `redis-server`s of the test's own
//! (the shared one's policy is never changed).

use clientnest_core::Error;
use clientnest_redis::{RedisConfig, RedisKv, UnsafeEvictionPolicy};

use crate::common::{OwnRedis, unique_prefix};

/// The policy an outcome refused, if it is the typed refusal.
fn refused_policy(outcome: &clientnest_core::Result<RedisKv>) -> Option<String> {
    match outcome {
        Err(e @ Error::Backend { .. }) => std::error::Error::source(e)
            .and_then(|s| s.downcast_ref::<UnsafeEvictionPolicy>())
            .map(|p| p.policy.clone()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evicting_policies_are_refused_unless_allowed() {
    let Some(own) = OwnRedis::start(&["--maxmemory-policy", "allkeys-lru"]) else { return };
    let config = RedisConfig::new(own.url()).with_key_prefix(unique_prefix());
    let outcome = RedisKv::connect(&config).await;
    assert_eq!(refused_policy(&outcome).as_deref(), Some("allkeys-lru"), "allkeys-lru refused: {outcome:?}");
    let shown = outcome.expect_err("refused").to_string();
    assert!(shown.contains("with_eviction_allowed"), "the error says how to opt in: {shown}");
    let kv = RedisKv::connect(&config.clone().with_eviction_allowed(true)).await.expect("allowed when opted in");
    kv.ping().await.expect("ping");

    let mut admin = own.admin().await;
    for (policy, refused) in [("volatile-lru", true), ("allkeys-lfu", true), ("noeviction", false)] {
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("maxmemory-policy")
            .arg(policy)
            .query_async(&mut admin)
            .await
            .expect("CONFIG SET on the own server");
        let outcome = RedisKv::connect(&config).await;
        if refused {
            assert_eq!(refused_policy(&outcome).as_deref(), Some(policy), "{policy} refused: {outcome:?}");
        } else {
            outcome.expect("noeviction is accepted");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evicting_cluster_master_is_refused() {
    let Some(own) = OwnRedis::start_cluster().await else { return };
    let mut admin = own.admin().await;
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("allkeys-random")
        .query_async(&mut admin)
        .await
        .expect("CONFIG SET");
    let config = RedisConfig::new(own.url()).with_key_prefix(unique_prefix());
    let outcome = RedisKv::connect_cluster(&config).await;
    assert_eq!(refused_policy(&outcome).as_deref(), Some("allkeys-random"), "refused: {outcome:?}");
    RedisKv::connect_cluster(&config.with_eviction_allowed(true)).await.expect("allowed when opted in");
}
