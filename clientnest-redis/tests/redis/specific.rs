//! Redis-specific checks: scripts come from their files and load, TTLs are Redis' own, keys stay
//! in their hash-tag slot on a Cluster, the GCRA script computes what the core computes, and an
//! unreachable server is `Unavailable`.

use std::collections::HashSet;

use chrono::Duration;
use clientnest_core::Error;
use clientnest_core::ids::UserId;
use clientnest_core::model::{CacheKey, NewJob, NewSession, QueueName, Quota, gcra};
use clientnest_core::ports::{Cache, JobQueue, RateLimiter, SessionStore, TempStore};
use clientnest_redis::keys::{escape, hash_tag};
use clientnest_redis::{RedisConfig, RedisKv, script_hashes};

use crate::common::{Topology, connect};

/// Keys and ids that could break out of a key pattern or a hash tag.
const HOSTILE: &[&str] =
    &["a:b", "{a}", "}{", "a}:{b", "{}", "*", "?[x]", "sp ace", "new\nline", "nul\0", "é🚀", "%7B"];

/// Generates, for each listed `async fn(RedisKv)`, a test on the single node and one on the
/// Cluster (each skipped when its servers are not configured).
macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {
        mod single_node {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(kv) = crate::common::connect(crate::common::Topology::Single).await {
                        super::$name(kv).await;
                    }
                }
            )+
        }
        mod cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(kv) = crate::common::connect(crate::common::Topology::Cluster).await {
                        super::$name(kv).await;
                    }
                }
            )+
        }
    };
}

on_both!(scripts_come_from_their_files_and_load, ttls_are_kept_by_redis, gcra_script_matches_the_core_step);

/// The PTTL of a key, in ms.
async fn pttl(kv: &RedisKv, key: &str) -> i64 {
    kv.command(redis::cmd("PTTL").arg(key)).await.expect("PTTL")
}

/// Assert that a key's PTTL lies within `(low, high]` ms.
async fn assert_pttl(kv: &RedisKv, key: &str, low: i64, high: i64, what: &str) {
    let ms = pttl(kv, key).await;
    assert!(ms > low && ms <= high, "{what}: PTTL {ms} ms not in ({low}, {high}]");
}

/// The text of a file under `lua/`.
fn lua_file(name: &str) -> String {
    std::fs::read_to_string(format!("{}/lua/{name}", env!("CARGO_MANIFEST_DIR"))).expect("the script file")
}

/// Every script's hash is the SHA-1 of its file under `lua/`, after the library its header says
/// it runs after, if any; `load_scripts` puts them all on the server (every master of a
/// Cluster); after a `SCRIPT FLUSH` calls load them again.
async fn scripts_come_from_their_files_and_load(kv: RedisKv) {
    let hashes = script_hashes();
    assert_eq!(hashes.len(), 21, "one script per multi-step operation");
    for (name, hash) in &hashes {
        let text = lua_file(name);
        let library = text.split("Runs after ").nth(1).and_then(|rest| rest.split_once(".lua.")).map(|(l, _)| l);
        let text = match library {
            Some(library) => lua_file(&format!("{library}.lua")) + &text,
            None => text,
        };
        assert_eq!(redis::Script::new(&text).get_hash(), hash, "{name} is loaded from its file");
    }
    kv.load_scripts().await.expect("load the scripts");
    let mut exists = redis::cmd("SCRIPT");
    exists.arg("EXISTS");
    for (_, hash) in &hashes {
        exists.arg(hash);
    }
    let known: Vec<i64> = kv.command(&exists).await.expect("SCRIPT EXISTS");
    assert_eq!(known, vec![1; hashes.len()], "every script is known to the server");

    let _: String = kv.command(redis::cmd("SCRIPT").arg("FLUSH")).await.expect("SCRIPT FLUSH");
    let q = QueueName::new(format!("flushed-{}", uuid::Uuid::new_v4())).expect("queue");
    kv.enqueue(&q, NewJob::new(b"x".to_vec())).await.expect("EVALSHA falls back to loading the script");
    assert_eq!(kv.counts(&q).await.expect("counts").ready, 1);
}

/// Expiry is Redis' own: PTTL shows every TTL the ports were given, a touch pushes a session's
/// TTL, the bucket index lives as long as its sessions, queue sets never expire, and an
/// idempotency key lives 24 hours.
async fn ttls_are_kept_by_redis(kv: RedisKv) {
    let keys = kv.keys().clone();
    let user = UserId::new();
    let session = kv
        .create_session(NewSession { user_id: user, permissions: vec![], ttl: Duration::seconds(60) })
        .await
        .expect("create a session");
    assert_pttl(&kv, &keys.session(&session.id), 55_000, 60_000, "a new session").await;
    kv.touch_session(&session.id, Duration::seconds(120)).await.expect("touch").expect("live");
    assert_pttl(&kv, &keys.session(&session.id), 115_000, 120_000, "a touched session").await;
    assert_pttl(&kv, &keys.session_index_of_user(user), 115_000, 120_001, "the bucket index").await;

    let cache_key = CacheKey::new("user", "ttl-check").expect("key");
    kv.set_bytes(&cache_key, b"v".to_vec(), Duration::seconds(30)).await.expect("set");
    assert_pttl(&kv, &keys.cache(&cache_key), 25_000, 30_000, "a cached value").await;
    let token = kv.try_lock(&cache_key, Duration::seconds(10)).await.expect("lock").expect("free");
    assert_pttl(&kv, &keys.cache_lock(&cache_key), 5_000, 10_000, "a load lock").await;
    kv.unlock(&cache_key, &token).await.expect("unlock");
    assert_eq!(pttl(&kv, &keys.cache_lock(&cache_key)).await, -2, "an unlocked lock is gone");

    kv.put_temp("otp", b"1".to_vec(), Duration::seconds(5)).await.expect("put");
    assert_pttl(&kv, &keys.temp("otp"), 1_000, 5_000, "a temp value").await;
    kv.check_rate("subject", &Quota::per(10, Duration::minutes(1))).await.expect("rate");
    assert_pttl(&kv, &keys.rate("subject"), 1_000, 6_000, "a limiter lives until its TAT").await;

    let q = QueueName::new("ttl").expect("queue");
    kv.enqueue(&q, NewJob { idempotency_key: Some("k:{1}".to_owned()), ..NewJob::new(b"x".to_vec()) })
        .await
        .expect("enqueue");
    let qk = keys.queue(&q);
    assert_pttl(&kv, &qk.idempotency("k:{1}"), 86_000_000, 86_400_000, "an idempotency key").await;
    assert_eq!(pttl(&kv, &qk.ready()).await, -1, "queue sets never expire");
    let kind: String = kv.command(redis::cmd("TYPE").arg(qk.jobs())).await.expect("TYPE");
    assert_eq!(kind, "hash", "job data is one hash per queue");
}

/// The GCRA script, with its time pinned, gives exactly the core's `gcra` step for the state it
/// holds, over random quotas and arrival times.
async fn gcra_script_matches_the_core_step(kv: RedisKv) {
    let text = std::fs::read_to_string(format!("{}/lua/rate_gcra.lua", env!("CARGO_MANIFEST_DIR"))).expect("file");
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |bound: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % bound.max(1)
    };
    let time: (String, String) = kv.command(&redis::cmd("TIME")).await.expect("TIME");
    let start = time.0.parse::<i64>().expect("secs") * 1_000_000 + time.1.parse::<i64>().expect("µs");
    for case in 0..40 {
        let period = Duration::milliseconds(1 + i64::try_from(next(3_600_000)).expect("small"));
        let count = 1 + u32::try_from(next(1000)).expect("small");
        let quota = Quota::per(count, period).with_burst(1 + u32::try_from(next(50)).expect("small"));
        if quota.check().is_err() {
            continue;
        }
        let key = kv.keys().rate(&format!("gcra-{case}"));
        let t = quota.emission_interval_us();
        let tau = t.saturating_mul(i64::from(quota.burst));
        let mut now = start;
        for _ in 0..30 {
            now += i64::try_from(next(u64::try_from(2 * t).unwrap_or(1))).expect("small");
            let stored: Option<i64> = kv.command(redis::cmd("GET").arg(&key)).await.expect("GET");
            let (expected, new_tat) = gcra(&quota, stored, now);
            let (allowed, remaining, reset_us, retry_us): (i64, i64, i64, i64) = kv
                .command(redis::cmd("EVAL").arg(&text).arg(1).arg(&key).arg(t).arg(tau).arg(quota.burst).arg(now))
                .await
                .expect("EVAL");
            assert_eq!(allowed == 1, expected.allowed, "{quota:?} at {now}");
            assert_eq!(remaining, i64::from(expected.remaining), "remaining, {quota:?}");
            assert_eq!(reset_us, expected.reset_after.num_microseconds().expect("µs"), "reset, {quota:?}");
            let retry = expected.retry_after.map_or(-1, |d| d.num_microseconds().expect("µs"));
            assert_eq!(retry_us, retry, "retry-after, {quota:?}");
            if let Some(tat) = new_tat {
                let after: Option<i64> = kv.command(redis::cmd("GET").arg(&key)).await.expect("GET");
                assert_eq!(after, Some(tat), "the stored TAT");
            }
        }
    }
}

/// On the Cluster, every key a port builds hashes to the slot of its intended tag, whatever the
/// input; a user's sessions share their index's slot; and users spread over many slots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_keys_stay_in_their_tag_slot() {
    let Some(kv) = connect(Topology::Cluster).await else { return };
    let keys = kv.keys().clone();
    let slot = |key: String| {
        let kv = kv.clone();
        async move { kv.command::<i64>(redis::cmd("CLUSTER").arg("KEYSLOT").arg(key)).await.expect("KEYSLOT") }
    };
    for input in HOSTILE {
        let prefix = hash_tag(&keys.temp(input)).split(':').next().expect("prefix").to_owned();
        let tag = format!("{prefix}:temp:{}", escape(input));
        assert_eq!(slot(keys.temp(input)).await, slot(tag).await, "temp key of {input:?}");
        let ck = CacheKey::new("api", *input).expect("key");
        assert_eq!(slot(keys.cache(&ck)).await, slot(keys.cache_lock(&ck)).await, "value and lock of {input:?}");
        let q = keys.queue(&QueueName::new("q").expect("queue"));
        assert_eq!(slot(q.idempotency(input)).await, slot(q.ready()).await, "idempotency key of {input:?}");
    }
    let mut index_slots = HashSet::new();
    for _ in 0..20 {
        let user = UserId::new();
        let s = kv
            .create_session(NewSession { user_id: user, permissions: vec![], ttl: Duration::seconds(60) })
            .await
            .expect("create");
        let index_slot = slot(keys.session_index_of_user(user)).await;
        assert_eq!(slot(keys.session(&s.id)).await, index_slot, "a session shares its user's index slot");
        index_slots.insert(index_slot);
        assert_eq!(kv.revoke_user_sessions(user).await.expect("revoke in one slot"), 1);
    }
    assert!(index_slots.len() > 10, "users spread over slots: {}", index_slots.len());
}

/// A server that does not answer gives the retryable `Unavailable`, on either topology.
#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    let config = RedisConfig::default()
        .with_urls(["redis://127.0.0.1:1"])
        .with_connect_timeout(std::time::Duration::from_millis(300))
        .with_reconnect_retries(0);
    let single = RedisKv::connect(&config).await.expect_err("nothing listens on port 1");
    assert!(single.is_retryable(), "single node: {single:?}");
    let cluster = RedisKv::connect_cluster(&config).await.expect_err("nothing listens on port 1");
    assert!(cluster.is_retryable(), "cluster: {cluster:?}");
}

/// A bad configuration is refused before connecting.
#[tokio::test]
async fn a_bad_configuration_is_a_validation_error() {
    let bad_prefix = RedisConfig::default().with_key_prefix("a{b}");
    assert!(matches!(RedisKv::connect(&bad_prefix).await, Err(Error::Validation(_))));
    let two_urls = RedisConfig::default().with_urls(["redis://127.0.0.1:6379", "redis://127.0.0.1:6380"]);
    assert!(matches!(RedisKv::connect(&two_urls).await, Err(Error::Validation(_))), "one node takes one URL");
}
