//! Writes that are not safe to send twice (reserve, fail, enqueue without an idempotency key)
//! are never re-sent by the client after a timeout or a dropped connection: they fail with
//! `Error::OutcomeUnknown`, and the server applies them at most once. Reads are still retried.
//!
//! The server is held with `CLIENT PAUSE` (so a request is on the server, unanswered, when the
//! client gives up) and connections are dropped with `CLIENT KILL` or the chaos proxy. Pauses
//! and kills would reach every other test on a shared server, so these run on servers of their
//! own: a `redis-server` for the single node, and a one-node Cluster (every slot on one node)
//! for the Cluster client.

use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use clientnest_core::model::{NewJob, QueueName, WorkerId};
use clientnest_core::ports::{JobQueue, TempStore};
use clientnest_core::{Error, Result};
use clientnest_redis::{RedisConfig, RedisKv};
use clientnest_testkit::proxy::ChaosProxy;

use crate::common::{OwnRedis, unique_prefix};

/// The response timeout of the handles under test.
const TIMEOUT: StdDuration = StdDuration::from_millis(300);

/// How long a pause holds the server: well past [`TIMEOUT`], so the client gives up first.
const PAUSE_MS: u64 = 1_200;

/// Assert an outcome is `OutcomeUnknown` (not retryable: the caller must check before acting).
fn assert_unknown<T: std::fmt::Debug>(what: &str, outcome: Result<T>) {
    match outcome {
        Err(e @ Error::OutcomeUnknown { .. }) => assert!(!e.is_retryable(), "{what}: not blindly retryable"),
        other => panic!("{what}: expected OutcomeUnknown, got {other:?}"),
    }
}

/// `CLIENT PAUSE <ms> <mode>` on every given server.
async fn pause(admins: &mut [redis::aio::MultiplexedConnection], ms: u64, mode: &str) {
    for admin in admins.iter_mut() {
        let _: () = redis::cmd("CLIENT").arg("PAUSE").arg(ms).arg(mode).query_async(admin).await.expect("CLIENT PAUSE");
    }
}

/// `CLIENT UNPAUSE` on every given server.
async fn unpause(admins: &mut [redis::aio::MultiplexedConnection]) {
    for admin in admins.iter_mut() {
        let _: () = redis::cmd("CLIENT").arg("UNPAUSE").query_async(admin).await.expect("CLIENT UNPAUSE");
    }
}

/// Drop every normal client connection but the admin's own, on every given server.
async fn kill_clients(admins: &mut [redis::aio::MultiplexedConnection]) {
    for admin in admins.iter_mut() {
        let _: i64 = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("TYPE")
            .arg("normal")
            .arg("SKIPME")
            .arg("yes")
            .query_async(admin)
            .await
            .expect("CLIENT KILL");
    }
}

/// Run `call` while the servers are paused for writes, then unpause them and give any request a
/// client may have re-sent the time to run.
async fn while_paused<T>(
    admins: &mut [redis::aio::MultiplexedConnection],
    call: impl Future<Output = Result<T>>,
) -> (Result<T>, StdDuration) {
    pause(admins, PAUSE_MS, "WRITE").await;
    let started = Instant::now();
    let outcome = call.await;
    let took = started.elapsed();
    unpause(admins).await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    (outcome, took)
}

/// Enqueue, reserve, fail and reserve_batch, each timing out on a paused server: each says
/// `OutcomeUnknown` and was applied at most once; a read on a paused server is retried and answers.
async fn writes_time_out_once(kv: &RedisKv, admins: &mut [redis::aio::MultiplexedConnection]) {
    // Scripts loaded first: an EVALSHA of an unknown script held by the pause would run nothing.
    kv.load_scripts().await.expect("load the scripts");
    let q = QueueName::new("outcome").expect("queue");
    let (outcome, took) = while_paused(admins, kv.enqueue(&q, NewJob::new(b"one".to_vec()))).await;
    println!("enqueue on a paused server failed after {took:?}");
    assert_unknown("enqueue without an idempotency key", outcome);
    let counts = kv.counts(&q).await;
    assert_eq!(counts.expect("counts").ready, 1, "the enqueue ran once, never twice");

    kv.enqueue(&q, NewJob::new(b"two".to_vec())).await.expect("enqueue");
    let worker = WorkerId::unique("outcome");
    let (outcome, _) = while_paused(admins, kv.reserve(&q, &worker, Duration::seconds(60))).await;
    assert_unknown("reserve", outcome);
    let counts = kv.counts(&q).await.expect("counts");
    assert_eq!((counts.ready, counts.in_flight), (1, 1), "the reserve ran once, never twice");

    // The other job, reserved normally, then failed while the server is paused.
    let reserved = kv.reserve(&q, &worker, Duration::seconds(60)).await.expect("reserve").expect("a job");
    let (outcome, _) = while_paused(admins, kv.fail(&q, &reserved.lease, "boom")).await;
    assert_unknown("fail", outcome);
    let counts = kv.counts(&q).await.expect("counts");
    assert_eq!(counts.in_flight, 1, "the fail ran once: only the job whose reserve timed out is in flight");

    // A batch reserve timing out: taken once, never re-sent to take more.
    for payload in [b"three", b"four!"] {
        kv.enqueue(&q, NewJob::new(payload.to_vec())).await.expect("enqueue");
    }
    let (outcome, _) = while_paused(admins, kv.reserve_batch(&q, &worker, 10, Duration::seconds(60))).await;
    assert_unknown("reserve_batch", outcome);
    let counts = kv.counts(&q).await.expect("counts");
    assert_eq!((counts.ready, counts.in_flight), (0, 3), "the batch reserve ran once, never twice");

    // An idempotent read is retried past a pause shorter than two timeouts.
    kv.put_temp("read", b"r".to_vec(), Duration::minutes(1)).await.expect("put");
    pause(admins, 450, "ALL").await;
    let read = kv.get_temp("read").await;
    unpause(admins).await;
    assert_eq!(read.expect("a read is retried after a timeout"), Some(b"r".to_vec()));
}

/// A dropped connection while a reserve waits on a paused server: `OutcomeUnknown`, and the
/// reserve is not re-sent on a new connection.
async fn dropped_reserve_is_not_resent(kv: &RedisKv, admins: &mut [redis::aio::MultiplexedConnection]) {
    kv.load_scripts().await.expect("load the scripts");
    let q = QueueName::new("outcome-dropped").expect("queue");
    for i in 0..2u8 {
        kv.enqueue(&q, NewJob::new(vec![i])).await.expect("enqueue");
    }
    pause(admins, PAUSE_MS, "WRITE").await;
    let worker = WorkerId::unique("dropped");
    let call = kv.reserve(&q, &worker, Duration::seconds(60));
    let kill = async {
        tokio::time::sleep(StdDuration::from_millis(100)).await;
        kill_clients(admins).await;
    };
    let (outcome, ()) = tokio::join!(call, kill);
    tokio::time::sleep(StdDuration::from_millis(PAUSE_MS)).await;
    unpause(admins).await;
    assert_unknown("reserve on a dropped connection", outcome);
    let counts = kv.counts(&q).await.expect("counts");
    assert!(counts.in_flight <= 1, "the reserve was not re-sent on a new connection: {counts:?}");
}

/// A handle on a one-node Cluster of the test's own with the given response timeout, and a
/// plain connection to its node.
async fn on_own_cluster(timeout: StdDuration) -> Option<(OwnRedis, RedisKv, Vec<redis::aio::MultiplexedConnection>)> {
    let own = OwnRedis::start_cluster().await?;
    let admins = vec![own.admin().await];
    let config = RedisConfig::new(own.url()).with_key_prefix(unique_prefix()).with_response_timeout(timeout);
    let kv = RedisKv::connect_cluster(&config).await.expect("connect to the own cluster");
    assert!(kv.is_cluster());
    Some((own, kv, admins))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_writes_that_time_out_are_not_resent() {
    let Some((_own, kv, mut admins)) = on_own_cluster(TIMEOUT).await else { return };
    writes_time_out_once(&kv, &mut admins).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_reserve_on_a_dropped_connection_is_not_resent() {
    // A long response timeout: the dropped connection, not a timeout, ends the call.
    let Some((_own, kv, mut admins)) = on_own_cluster(StdDuration::from_secs(5)).await else { return };
    dropped_reserve_is_not_resent(&kv, &mut admins).await;
}

/// A handle on a `redis-server` of the test's own, with short timeouts.
async fn on_own_server() -> Option<(OwnRedis, RedisKv, Vec<redis::aio::MultiplexedConnection>)> {
    let own = OwnRedis::start(&[])?;
    let admins = vec![own.admin().await];
    let config = RedisConfig::new(own.url()).with_key_prefix(unique_prefix()).with_response_timeout(TIMEOUT);
    let kv = RedisKv::connect(&config).await.expect("connect to the own server");
    Some((own, kv, admins))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_node_writes_that_time_out_are_not_resent() {
    let Some((_own, kv, mut admins)) = on_own_server().await else { return };
    writes_time_out_once(&kv, &mut admins).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_node_reserve_on_a_dropped_connection_is_not_resent() {
    let Some((own, _, mut admins)) = on_own_server().await else { return };
    let config = RedisConfig::new(own.url()).with_key_prefix(unique_prefix());
    let kv = RedisKv::connect(&config).await.expect("connect");
    dropped_reserve_is_not_resent(&kv, &mut admins).await;
}

/// The chaos proxy cuts the path while a reserve waits on a paused server: `OutcomeUnknown`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_node_reserve_cut_by_the_proxy_is_outcome_unknown() {
    let Some(own) = OwnRedis::start(&[]) else { return };
    let mut admins = vec![own.admin().await];
    let proxy = ChaosProxy::start(own.addr()).await.expect("start the chaos proxy");
    let config = RedisConfig::new(format!("redis://{}", proxy.addr()))
        .with_key_prefix(unique_prefix())
        .with_response_timeout(StdDuration::from_secs(5))
        .with_reconnect_retries(1);
    let kv = RedisKv::connect(&config).await.expect("connect through the proxy");
    kv.load_scripts().await.expect("load the scripts");
    let q = QueueName::new("outcome-cut").expect("queue");
    kv.enqueue(&q, NewJob::new(b"job".to_vec())).await.expect("enqueue");
    pause(&mut admins, PAUSE_MS, "WRITE").await;
    let worker = WorkerId::unique("cut");
    let call = kv.reserve(&q, &worker, Duration::seconds(60));
    let cut = async {
        tokio::time::sleep(StdDuration::from_millis(100)).await;
        proxy.cut().await;
    };
    let (outcome, ()) = tokio::join!(call, cut);
    unpause(&mut admins).await;
    assert_unknown("reserve cut by the proxy", outcome);
    proxy.restore();
}
