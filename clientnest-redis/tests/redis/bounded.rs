//! No script does unbounded work: after a mass expiry (200,000 delayed jobs due at once, then
//! 200,000 leases expired at once), a `reserve` or `requeue_expired` moves a bounded batch per
//! call, so a PING from another client is answered quickly while they run, and every job still
//! becomes reservable. Runs on a `redis-server` of the test's own: the old unbounded scripts
//! would stall every other test on a shared server.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use clientnest_core::model::{JobLease, NewJob, QueueName, WorkerId};
use clientnest_core::ports::JobQueue;
use clientnest_redis::{RedisConfig, RedisKv};

use crate::common::{OwnRedis, unique_prefix};

/// Jobs due at once: 200,000, far above `MAX_MOVED_PER_CALL`.
const JOBS: usize = 200_000;

/// Tasks enqueueing or reserving concurrently.
const TASKS: usize = 16;

/// The slowest a PING may be answered while the queue catches up after the mass expiry.
const PING_BOUND: StdDuration = StdDuration::from_millis(250);

/// PING the server from a connection of its own every 2 ms until `stop`; returns the slowest
/// answer (a PING that timed out counts with the time it waited).
async fn pinger(own_url: String, stop: Arc<AtomicBool>) -> StdDuration {
    let client = redis::Client::open(own_url).expect("url");
    let mut conn = client.get_multiplexed_async_connection().await.expect("pinger connects");
    let mut slowest = StdDuration::ZERO;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let _: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut conn).await;
        slowest = slowest.max(started.elapsed());
        tokio::time::sleep(StdDuration::from_millis(2)).await;
    }
    slowest
}

/// Run `calls` while a pinger runs; returns what they returned and the slowest PING.
async fn pinged<T>(url: &str, calls: impl Future<Output = T>) -> (T, StdDuration) {
    let stop = Arc::new(AtomicBool::new(false));
    let ping = tokio::spawn(pinger(url.to_owned(), Arc::clone(&stop)));
    tokio::time::sleep(StdDuration::from_millis(50)).await;
    let out = calls.await;
    tokio::time::sleep(StdDuration::from_millis(50)).await;
    stop.store(true, Ordering::Relaxed);
    (out, ping.await.expect("pinger task"))
}

/// Reserve from [`TASKS`] tasks until nothing is ready, each lease for `visibility`; returns
/// every lease taken.
async fn reserve_all(kv: &RedisKv, q: &QueueName, visibility: Duration) -> Vec<JobLease> {
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (kv, q) = (kv.clone(), q.clone());
            tokio::spawn(async move {
                let worker = WorkerId::unique("bounded");
                let mut leases = Vec::new();
                while let Some(r) = kv.reserve(&q, &worker, visibility).await.expect("reserve") {
                    leases.push(r.lease);
                }
                leases
            })
        })
        .collect();
    let mut all = Vec::with_capacity(JOBS);
    for t in tasks {
        all.extend(t.await.expect("reserve task"));
    }
    all
}

/// Bring every lease's expiry to one second from now (`extend` sets it to now + visibility), so
/// they all expire together.
async fn expire_together(kv: &RedisKv, q: &QueueName, leases: Vec<JobLease>) {
    let chunk = leases.len().div_ceil(TASKS);
    let tasks: Vec<_> = leases
        .chunks(chunk)
        .map(|part| {
            let (kv, q, part) = (kv.clone(), q.clone(), part.to_vec());
            tokio::spawn(async move {
                for lease in &part {
                    kv.extend(&q, lease, Duration::seconds(1)).await.expect("extend");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("extend task");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mass_expiry_is_moved_in_bounded_batches() {
    let Some(own) = OwnRedis::start(&[]) else { return };
    let config = RedisConfig::new(own.url()).with_key_prefix(unique_prefix());
    let kv = RedisKv::connect(&config).await.expect("connect");
    let q = QueueName::new("mass-expiry").expect("queue");

    let started = Instant::now();
    let enqueuers: Vec<_> = (0..TASKS)
        .map(|t| {
            let (kv, q) = (kv.clone(), q.clone());
            tokio::spawn(async move {
                for i in (t..JOBS).step_by(TASKS) {
                    let mut job = NewJob::new(format!("job-{i}").into_bytes());
                    job.delay = Some(Duration::seconds(2));
                    kv.enqueue(&q, job).await.expect("enqueue");
                }
            })
        })
        .collect();
    for e in enqueuers {
        e.await.expect("enqueue task");
    }
    println!("enqueued {JOBS} delayed jobs in {:?}", started.elapsed());
    tokio::time::sleep(StdDuration::from_millis(2_100)).await;
    assert_eq!(kv.counts(&q).await.expect("counts").delayed, 0, "every job is due");

    // 200,000 due delayed jobs: the first reserves, while PINGs go on.
    let worker = WorkerId::unique("first");
    let (first, slowest_due) = pinged(&own.url(), async {
        let mut firsts = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            let got = kv.reserve(&q, &worker, Duration::minutes(30)).await.expect("reserve");
            firsts.push((got.map(|r| r.lease), started.elapsed()));
        }
        firsts
    })
    .await;
    let took: Vec<StdDuration> = first.iter().map(|(_, t)| *t).collect();
    println!("200k due delayed jobs: first reserves took {took:?}; slowest PING meanwhile {slowest_due:?}");
    let first: Vec<JobLease> = first.into_iter().filter_map(|(lease, _)| lease).collect();
    assert_eq!(first.len(), 5, "a due job is reserved at once, every time");

    let started = Instant::now();
    // Leases long enough that none expires before every job is reserved, exactly once.
    let mut leases = reserve_all(&kv, &q, Duration::minutes(30)).await;
    println!("reserved the other {} jobs in {:?}", leases.len(), started.elapsed());
    assert_eq!(leases.len() + first.len(), JOBS, "every due job became reservable");

    // 200,000 leases expire at once: reserve and requeue_expired, while PINGs go on.
    let started = Instant::now();
    leases.extend(first);
    expire_together(&kv, &q, leases).await;
    println!("extended the leases to expire together in {:?}", started.elapsed());
    tokio::time::sleep(StdDuration::from_millis(1_100)).await;
    let (requeued, slowest_expired) = pinged(&own.url(), async {
        let again = kv.reserve(&q, &worker, Duration::seconds(60)).await.expect("reserve").is_some();
        let mut requeued = 0u64;
        loop {
            let n = kv.requeue_expired(&q).await.expect("requeue_expired");
            if n == 0 {
                break;
            }
            requeued += n;
        }
        assert!(again, "an expired job is reserved at once");
        requeued
    })
    .await;
    println!("200k expired leases: requeued {requeued} in batches; slowest PING meanwhile {slowest_expired:?}");
    let counts = kv.counts(&q).await.expect("counts");
    assert_eq!((counts.ready, counts.in_flight), (JOBS as u64 - 1, 1), "every expired lease is ready again");
    assert!(slowest_due < PING_BOUND, "PING answered in {slowest_due:?} while due jobs moved (bound {PING_BOUND:?})");
    assert!(
        slowest_expired < PING_BOUND,
        "PING answered in {slowest_expired:?} while expired leases moved (bound {PING_BOUND:?})"
    );
}
