//! Resilience on a single node (`REDIS_URL`): a path cut mid-run through a chaos proxy gives the
//! retryable `Unavailable` and heals once the path is back; 8 consumers, some killed while they
//! hold a job, complete every one of 100,000 jobs, with the duplicates at-least-once allows
//! counted.
//!
//! The Cluster is left out here: its nodes redirect clients to their own addresses, past a proxy.
//! The queue's behaviour on a Cluster is covered by the conformance suite.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use clientnest_core::ids::UserId;
use clientnest_core::model::{CacheKey, NewJob, NewSession, QueueCounts, QueueName, Quota, WorkerId};
use clientnest_core::ports::{Cache, JobQueue, RateLimiter, SessionStore, TempStore};
use clientnest_core::{Error, Result};
use clientnest_redis::RedisKv;
use clientnest_testkit::proxy::ChaosProxy;
use tokio::task::JoinHandle;

use crate::common::{Topology, config};

/// Timeouts of the handle behind the proxy: short, so a cut path fails fast.
const SHORT: StdDuration = StdDuration::from_millis(500);

/// How long a single call may take before the test calls it hung (a guard against a hang, far
/// above the configured timeouts; not a performance assertion).
const HANG_GUARD: StdDuration = StdDuration::from_secs(60);

/// The upstream address of a `redis://[user@]host[:port][/db]` URL, and the same URL pointed at
/// `via` instead.
fn reroute(url: &str, via: SocketAddr) -> (SocketAddr, String) {
    let rest = url.strip_prefix("redis://").expect("REDIS_URL is a redis:// URL");
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let (userinfo, hostport) = authority.rsplit_once('@').map_or(("", authority), |(u, h)| (u, h));
    let hostport = if hostport.contains(':') { hostport.to_owned() } else { format!("{hostport}:6379") };
    let upstream = hostport.to_socket_addrs().expect("resolve REDIS_URL").next().expect("an address");
    let userinfo = if userinfo.is_empty() { String::new() } else { format!("{userinfo}@") };
    let path = if path.is_empty() { String::new() } else { format!("/{path}") };
    (upstream, format!("redis://{userinfo}{via}{path}"))
}

/// A handle on the single node through a fresh chaos proxy, with short timeouts and one
/// reconnect try; `None` (skipped loudly) without `REDIS_URL`.
async fn behind_proxy() -> Option<(ChaosProxy, RedisKv)> {
    let config = config(Topology::Single)?;
    let url = config.urls().first().expect("one URL").clone();
    let (upstream, _) = reroute(&url, SocketAddr::from(([127, 0, 0, 1], 0)));
    let proxy = ChaosProxy::start(upstream).await.expect("start the chaos proxy");
    let (_, via) = reroute(&url, proxy.addr());
    let config =
        config.with_urls([via]).with_connect_timeout(SHORT).with_response_timeout(SHORT).with_reconnect_retries(1);
    let kv = RedisKv::connect(&config).await.expect("connect through the proxy");
    Some((proxy, kv))
}

/// Await a call, failing the test if it hangs.
async fn guarded<T>(what: &str, call: impl Future<Output = T>) -> T {
    match tokio::time::timeout(HANG_GUARD, call).await {
        Ok(v) => v,
        Err(_) => panic!("{what} hung for {HANG_GUARD:?} although the timeouts are {SHORT:?}"),
    }
}

/// Assert that a call's error is the retryable `Unavailable`.
fn assert_unavailable<T: std::fmt::Debug>(what: &str, outcome: Result<T>) {
    match outcome {
        Err(e @ Error::Unavailable { .. }) => assert!(e.is_retryable(), "{what}: Unavailable is retryable"),
        other => panic!("{what} while the path is cut: expected Unavailable, got {other:?}"),
    }
}

/// Assert that the error of a call that is never re-sent says the path failed: `Unavailable`
/// when nothing left the client, `OutcomeUnknown` when the request may have reached the server.
fn assert_failed_once<T: std::fmt::Debug>(what: &str, outcome: Result<T>) {
    match outcome {
        Err(e @ Error::Unavailable { .. }) => assert!(e.is_retryable(), "{what}: Unavailable is retryable"),
        Err(Error::OutcomeUnknown { .. }) => {}
        other => panic!("{what} while the path is cut: expected Unavailable or OutcomeUnknown, got {other:?}"),
    }
}

/// What the background load saw: successes before the cut, `Unavailable` errors, successes
/// after the restore, and any other error (none expected).
#[derive(Default)]
struct LoadTally {
    ok: AtomicU64,
    unavailable: AtomicU64,
    other: std::sync::Mutex<Vec<String>>,
    stop: AtomicBool,
}

/// A stream of writes and reads until told to stop, tallying the outcomes.
async fn background_load(kv: RedisKv, tally: Arc<LoadTally>) {
    let mut i = 0u64;
    while !tally.stop.load(Ordering::Relaxed) {
        i += 1;
        let key = format!("load-{}", i % 64);
        let outcome = match i % 3 {
            0 => kv.put_temp(&key, i.to_be_bytes().to_vec(), Duration::seconds(60)).await,
            1 => kv.get_temp(&key).await.map(drop),
            _ => kv.check_rate(&key, &Quota::per(1_000_000, Duration::seconds(1))).await.map(drop),
        };
        match outcome {
            Ok(()) => tally.ok.fetch_add(1, Ordering::Relaxed),
            // check_rate is never re-sent: a lost reply is OutcomeUnknown.
            Err(Error::Unavailable { .. } | Error::OutcomeUnknown { .. }) => {
                tally.unavailable.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(StdDuration::from_millis(5)).await;
                0
            }
            Err(e) => {
                tally.other.lock().expect("tally").push(format!("{e:?}"));
                0
            }
        };
    }
}

/// Wait until `counter` exceeds `above` (checking every 10 ms, at most `HANG_GUARD`).
async fn wait_above(what: &str, counter: &AtomicU64, above: u64) {
    guarded(what, async {
        while counter.load(Ordering::Relaxed) <= above {
            tokio::time::sleep(StdDuration::from_millis(10)).await;
        }
    })
    .await;
}

/// Wait until a PING goes through again; returns how many calls failed meanwhile.
async fn wait_until_back(kv: &RedisKv) -> u32 {
    guarded("reconnecting after the restore", async {
        let mut failures = 0;
        while let Err(e) = kv.ping().await {
            assert!(e.is_retryable(), "while reconnecting: {e:?}");
            failures += 1;
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
        failures
    })
    .await
}

/// Every port's calls fail with `Unavailable` while the path is cut (or, for the calls that are
/// never re-sent, `OutcomeUnknown` when the request may have left); returns the slowest
/// failure's time.
async fn every_call_is_unavailable(kv: &RedisKv, session: &clientnest_core::model::SessionId) -> StdDuration {
    let q = QueueName::new("resilience").expect("queue");
    let key = CacheKey::new("user", "cut").expect("key");
    let worker = WorkerId::unique("cut");
    let mut slowest = StdDuration::ZERO;
    macro_rules! cut_call {
        ($what:literal, $call:expr) => {{
            let started = Instant::now();
            assert_unavailable($what, guarded($what, $call).await);
            slowest = slowest.max(started.elapsed());
        }};
    }
    macro_rules! cut_once {
        ($what:literal, $call:expr) => {{
            let started = Instant::now();
            assert_failed_once($what, guarded($what, $call).await);
            slowest = slowest.max(started.elapsed());
        }};
    }
    cut_call!("ping", kv.ping());
    cut_call!("get_session", kv.get_session(session));
    cut_call!("touch_session", kv.touch_session(session, Duration::minutes(5)));
    let new_session = NewSession { user_id: UserId::new(), permissions: vec![], ttl: Duration::minutes(5) };
    cut_once!("create_session", kv.create_session(new_session));
    cut_call!("put_temp", kv.put_temp("cut", b"x".to_vec(), Duration::seconds(60)));
    cut_call!("get_temp", kv.get_temp("before"));
    cut_once!("take_temp", kv.take_temp("before"));
    cut_call!("set_bytes", kv.set_bytes(&key, b"x".to_vec(), Duration::seconds(60)));
    cut_call!("get_bytes", kv.get_bytes(&key));
    cut_once!("check_rate", kv.check_rate("cut", &Quota::per(10, Duration::seconds(1))));
    cut_once!("enqueue", kv.enqueue(&q, NewJob::new(b"during the cut".to_vec())));
    cut_once!("reserve", kv.reserve(&q, &worker, Duration::seconds(30)));
    cut_call!("counts", kv.counts(&q));
    slowest
}

/// Cut the path mid-run: every call fails with `Unavailable` in bounded time, a background load
/// sees only `Unavailable`, and once the path is back the calls succeed again and the data
/// written before the cut is all there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_path_is_unavailable_then_heals() {
    let Some((proxy, kv)) = behind_proxy().await else { return };
    let user = UserId::new();
    let session = kv
        .create_session(NewSession { user_id: user, permissions: vec!["posts:write".into()], ttl: Duration::hours(1) })
        .await
        .expect("create a session");
    kv.put_temp("before", b"kept".to_vec(), Duration::minutes(5)).await.expect("put");
    let q = QueueName::new("resilience").expect("queue");
    kv.enqueue(&q, NewJob::new(b"queued before the cut".to_vec())).await.expect("enqueue");

    let tally = Arc::new(LoadTally::default());
    let load = tokio::spawn(background_load(kv.clone(), Arc::clone(&tally)));
    wait_above("the load before the cut", &tally.ok, 50).await;

    proxy.cut().await;
    let ok_at_cut = tally.ok.load(Ordering::Relaxed);
    let slowest = every_call_is_unavailable(&kv, &session.id).await;
    wait_above("the load failing during the cut", &tally.unavailable, 0).await;
    let ok_during_cut = tally.ok.load(Ordering::Relaxed) - ok_at_cut;

    proxy.restore();
    let failed_while_reconnecting = wait_until_back(&kv).await;
    let ok_at_restore = tally.ok.load(Ordering::Relaxed);
    wait_above("the load after the restore", &tally.ok, ok_at_restore + 50).await;
    tally.stop.store(true, Ordering::Relaxed);
    load.await.expect("the load task");
    println!(
        "cut: slowest failing call {slowest:?} (timeouts {SHORT:?}); load: {} ok, {} Unavailable, {ok_during_cut} ok \
         while cut (in flight at the cut); {failed_while_reconnecting} pings failed while reconnecting",
        tally.ok.load(Ordering::Relaxed),
        tally.unavailable.load(Ordering::Relaxed),
    );
    let other = tally.other.lock().expect("tally").clone();
    assert!(other.is_empty(), "the load saw errors other than Unavailable: {other:?}");

    let back = kv.get_session(&session.id).await.expect("get after the restore").expect("the session survived");
    assert_eq!(back.user_id, user);
    assert_eq!(kv.touch_session(&session.id, Duration::hours(1)).await.expect("touch").map(|s| s.id), Some(session.id));
    assert_eq!(kv.take_temp("before").await.expect("take"), Some(b"kept".to_vec()), "temp data survived");
    let reserved = kv.reserve(&q, &WorkerId::unique("after"), Duration::seconds(30)).await.expect("reserve");
    let reserved = reserved.expect("the job queued before the cut is still there");
    assert_eq!(reserved.job.payload, b"queued before the cut");
    kv.ack(&q, &reserved.lease).await.expect("ack");
    assert_eq!(kv.counts(&q).await.expect("counts"), QueueCounts::default(), "nothing enqueued during the cut");
    let _: i64 = kv.command(redis::cmd("DEL").arg(kv.keys().queue(&q).seq())).await.expect("DEL the sequence");
}

/// Jobs in the killed-consumers run.
const JOBS: usize = 100_000;
/// Consumers alive at any time.
const CONSUMERS: usize = 8;
/// Tasks enqueueing the jobs, concurrently with the consumers.
const ENQUEUERS: usize = 8;
/// The visibility timeout (the shortest the port allows): a dropped job comes back after it.
const VISIBILITY_SECS: i64 = 1;

/// What the consumers did, shared by all of them.
struct Consumed {
    /// Completions per job index: processed, then acked or found its lease lost.
    completions: Vec<AtomicU32>,
    /// Jobs completed at least once.
    distinct: AtomicUsize,
    /// Reservations, all consumers together.
    deliveries: AtomicU64,
    /// Reservations dropped by a consumer that died holding the job, before processing it.
    dropped: AtomicU64,
    /// Acks refused because the lease was lost (the job went back and another worker got it).
    lost_acks: AtomicU64,
}

impl Consumed {
    fn new() -> Self {
        Self {
            completions: (0..JOBS).map(|_| AtomicU32::new(0)).collect(),
            distinct: AtomicUsize::new(0),
            deliveries: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            lost_acks: AtomicU64::new(0),
        }
    }

    /// Record one completion of job `index`.
    fn complete(&self, index: usize) {
        if self.completions[index].fetch_add(1, Ordering::Relaxed) == 0 {
            self.distinct.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Completions beyond the first, over every job.
    fn duplicates(&self) -> u64 {
        self.completions.iter().map(|c| u64::from(c.load(Ordering::Relaxed).saturating_sub(1))).sum()
    }

    /// Indices of the jobs never completed (empty when every job finished).
    fn missing(&self) -> Vec<usize> {
        (0..JOBS).filter(|&i| self.completions[i].load(Ordering::Relaxed) == 0).collect()
    }
}

/// The payload of job `index`, and back.
fn payload(index: usize) -> Vec<u8> {
    format!("job-{index}").into_bytes()
}

fn job_index(payload: &[u8]) -> usize {
    std::str::from_utf8(payload)
        .ok()
        .and_then(|s| s.strip_prefix("job-"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a payload this test did not enqueue: {payload:?}"))
}

/// Enqueue every job whose index is `first` modulo `step`.
async fn enqueue_share(kv: RedisKv, q: QueueName, first: usize, step: usize) -> Result<()> {
    for index in (first..JOBS).step_by(step) {
        kv.enqueue(&q, NewJob::new(payload(index))).await?;
    }
    Ok(())
}

/// A consumer under a fresh worker id: reserve, process (record the completion), ack, until it
/// dies: after `dies_after` jobs it reserves one more and returns without processing or acking
/// it, as a crashed process would. It may also be aborted at any await point.
async fn consumer(kv: RedisKv, q: QueueName, consumed: Arc<Consumed>, dies_after: u32) -> Result<()> {
    let worker = WorkerId::unique("consumer");
    let visibility = Duration::seconds(VISIBILITY_SECS);
    let mut done = 0;
    loop {
        let Some(reserved) = kv.reserve(&q, &worker, visibility).await? else {
            tokio::time::sleep(StdDuration::from_millis(5)).await;
            continue;
        };
        consumed.deliveries.fetch_add(1, Ordering::Relaxed);
        if done == dies_after {
            consumed.dropped.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        consumed.complete(job_index(&reserved.job.payload));
        match kv.ack(&q, &reserved.lease).await {
            Ok(()) => {}
            Err(Error::InvalidState { .. }) => {
                consumed.lost_acks.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => return Err(e),
        }
        done += 1;
    }
}

/// The consumers and how they died.
struct Crew {
    kv: RedisKv,
    q: QueueName,
    consumed: Arc<Consumed>,
    slots: Vec<JoinHandle<Result<()>>>,
    started: u64,
    aborted: u64,
    died: u64,
    rng: u64,
}

impl Crew {
    fn new(kv: RedisKv, q: QueueName, consumed: Arc<Consumed>) -> Self {
        let mut crew = Self { kv, q, consumed, slots: Vec::new(), started: 0, aborted: 0, died: 0, rng: 0x2545_f491 };
        for _ in 0..CONSUMERS {
            let handle = crew.spawn();
            crew.slots.push(handle);
        }
        crew
    }

    /// A small deterministic random number below `bound`.
    fn random(&mut self, bound: u64) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % bound
    }

    /// Start a consumer that dies holding a job after 20 to 619 jobs (unless killed before).
    fn spawn(&mut self) -> JoinHandle<Result<()>> {
        self.started += 1;
        let dies_after = 20 + u32::try_from(self.random(600)).expect("small");
        tokio::spawn(consumer(self.kv.clone(), self.q.clone(), Arc::clone(&self.consumed), dies_after))
    }

    /// Replace consumers that died by themselves (a consumer's error fails the test).
    async fn replace_the_dead(&mut self) {
        for slot in 0..self.slots.len() {
            if self.slots[slot].is_finished() {
                let fresh = self.spawn();
                let dead = std::mem::replace(&mut self.slots[slot], fresh);
                dead.await.expect("consumer task").expect("a consumer failed");
                self.died += 1;
            }
        }
    }

    /// Kill a random consumer wherever it is (mid-reserve, mid-ack, holding a job) and start
    /// a replacement under a new worker id.
    fn kill_one(&mut self) {
        let slot = usize::try_from(self.random(CONSUMERS as u64)).expect("small");
        let fresh = self.spawn();
        std::mem::replace(&mut self.slots[slot], fresh).abort();
        self.aborted += 1;
    }

    /// Stop every consumer by aborting its task.
    fn stop(&mut self) {
        for handle in self.slots.drain(..) {
            handle.abort();
        }
    }
}

/// Whether a queue is empty in every state.
fn is_empty(counts: &QueueCounts) -> bool {
    *counts == QueueCounts::default()
}

/// 8 consumers, killed at random and replaced under new worker ids, some dying while they hold a
/// job, process 100,000 jobs enqueued concurrently: in the end every job was completed and the
/// queue is empty in every state; the duplicates at-least-once delivery allows are counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_consumers_lose_no_job() {
    let Some(config) = config(Topology::Single) else { return };
    let kv = RedisKv::connect(&config).await.expect("connect");
    let q = QueueName::new("killed-consumers").expect("queue");
    let started = Instant::now();
    let enqueuers: Vec<_> =
        (0..ENQUEUERS).map(|first| tokio::spawn(enqueue_share(kv.clone(), q.clone(), first, ENQUEUERS))).collect();
    let consumed = Arc::new(Consumed::new());
    let mut crew = Crew::new(kv.clone(), q.clone(), Arc::clone(&consumed));

    let mut enqueuers = Some(enqueuers);
    let mut enqueued_in = StdDuration::ZERO;
    let mut last_progress = (Instant::now(), 0usize, QueueCounts::default());
    let mut tick = 0u64;
    loop {
        tokio::time::sleep(StdDuration::from_millis(25)).await;
        tick += 1;
        if enqueuers.as_ref().is_some_and(|e| e.iter().all(JoinHandle::is_finished)) {
            for e in enqueuers.take().into_iter().flatten() {
                e.await.expect("enqueuer task").expect("enqueue");
            }
            enqueued_in = started.elapsed();
        }
        crew.replace_the_dead().await;
        if tick.is_multiple_of(4) {
            crew.kill_one();
        }
        // Counts first: a job acked before they were read was completed before, so counted.
        let counts = kv.counts(&q).await.expect("counts");
        let distinct = consumed.distinct.load(Ordering::Relaxed);
        if enqueuers.is_none() && distinct == JOBS && is_empty(&counts) {
            break;
        }
        if enqueuers.is_none() && is_empty(&counts) {
            panic!("the queue is empty but {} jobs were never completed", consumed.missing().len());
        }
        if (distinct, counts) != (last_progress.1, last_progress.2) {
            last_progress = (Instant::now(), distinct, counts);
        }
        assert!(
            last_progress.0.elapsed() < HANG_GUARD,
            "no progress for {HANG_GUARD:?}: {distinct} of {JOBS} completed, counts {counts:?}"
        );
    }
    crew.stop();
    let elapsed = started.elapsed();

    assert!(consumed.missing().is_empty(), "every job is completed");
    assert_eq!(kv.counts(&q).await.expect("counts"), QueueCounts::default(), "nothing left in any state");
    let deliveries = consumed.deliveries.load(Ordering::Relaxed);
    let dropped = consumed.dropped.load(Ordering::Relaxed);
    let duplicates = consumed.duplicates();
    assert!(crew.died > 0 && dropped > 0, "some consumers died holding a job");
    assert!(crew.aborted > 0, "some consumers were killed");
    assert!(deliveries >= JOBS as u64 + dropped, "dropped jobs were delivered again");
    println!(
        "killed consumers: {JOBS} jobs completed by {} consumers ({CONSUMERS} at a time; {} killed at random, {} \
         died holding a job) in {elapsed:.1?} (enqueued in {enqueued_in:.1?}); {deliveries} deliveries, {duplicates} \
         duplicate completions, {} acks refused for a lost lease",
        crew.started,
        crew.aborted,
        crew.died,
        consumed.lost_acks.load(Ordering::Relaxed),
    );
    let _: i64 = kv.command(redis::cmd("DEL").arg(kv.keys().queue(&q).seq())).await.expect("DEL the sequence");
}
