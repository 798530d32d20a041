//! Redis load benchmark: the adapter's hot paths (session get, session touch, rate-limit check,
//! enqueue + reserve + ack) at concurrency 1 and 8, each beside `redis-benchmark` running the
//! closest raw command (or command sequence) against the same server in the same run.
//!
//! Our side: `N` tokio tasks sharing one `RedisKv` (one multiplexed connection), closed loop.
//! `redis-benchmark`: `-c N` connections, no pipelining. Run it with `scripts/bench-redis`
//! (release build); it reads `REDIS_URL` (default `redis://127.0.0.1:6379`),
//! `BENCH_REDIS_OPS` (operations per case, default 20000), `BENCH_REDIS_ROUNDS` (rounds per case,
//! the best kept, default 3) and `BENCH_REDIS_THREADS` (tokio worker threads, default 1).

use std::process::ExitCode;
use std::sync::Arc;

use chrono::Duration;
use clientnest::prelude::*;
use clientnest::redis::{RedisConfig, RedisKv, script_hashes};
use clientnest::{Error, Result};
use tokio::runtime::Runtime;

#[path = "redis_load/baseline.rs"]
mod baseline;
#[path = "redis_load/measure.rs"]
mod measure;

use baseline::{Server, redis_benchmark, sequence_rate};
use measure::{Stats, drive};

/// A small job payload (32 bytes).
const PAYLOAD: &[u8] = b"{\"post\":\"0190c0de\",\"try\":1}....";

/// One line of the result table.
struct Row {
    op: &'static str,
    concurrency: usize,
    ours: Stats,
    baseline: &'static str,
    baseline_ops: f64,
}

/// Everything the cases share: the adapter, the server, and the keys set up for them.
struct Bench {
    runtime: Runtime,
    kv: RedisKv,
    server: Server,
    ops: usize,
    rounds: usize,
    session: Session,
    session_key: String,
    session_index: String,
    session_sized: String,
    list: String,
    list_done: String,
    quota: Quota,
    subject: String,
    queue: QueueName,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("redis_load: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Set up, run every case at concurrency 1 and 8, print the table, clean up.
fn run() -> Result<()> {
    let bench = Bench::setup()?;
    let mut rows = Vec::new();
    for concurrency in [1, 8] {
        rows.extend(bench.best_of(|| bench.session_get(concurrency))?);
        rows.extend(bench.best_of(|| bench.session_touch(concurrency))?);
        rows.extend(bench.best_of(|| bench.rate_check(concurrency))?);
        rows.extend(bench.best_of(|| bench.queue_cycle(concurrency))?);
    }
    print_table(&bench, &rows);
    bench.cleanup()
}

/// An environment variable parsed as a number, or a default.
fn env_number(name: &str, default: usize) -> Result<usize> {
    match std::env::var(name) {
        Ok(v) => v.parse().map_err(|_| Error::backend(format!("{name}={v:?} is not a number"))),
        Err(_) => Ok(default),
    }
}

/// The SHA-1 of one of the adapter's scripts.
fn script_sha(file: &str) -> Result<String> {
    script_hashes()
        .into_iter()
        .find(|(name, _)| *name == file)
        .map(|(_, sha)| sha)
        .ok_or_else(|| Error::backend(format!("the adapter has no script {file}")))
}

impl Bench {
    /// Connect, load the scripts and create the session, keys and queue the cases use.
    fn setup() -> Result<Self> {
        let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
        let threads = env_number("BENCH_REDIS_THREADS", 1)?.max(1);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
            .map_err(Error::backend)?;
        let prefix = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let config = RedisConfig::default().with_urls([url.as_str()]).with_key_prefix(prefix.as_str());
        let kv = runtime.block_on(RedisKv::connect(&config))?;
        runtime.block_on(kv.load_scripts())?;
        let session = runtime.block_on(kv.create_session(NewSession {
            user_id: UserId::new(),
            permissions: ["posts:read", "posts:write", "comments:reply", "analytics:view"].map(String::from).to_vec(),
            ttl: Duration::hours(1),
        }))?;
        let session_key = kv.keys().session(&session.id);
        let session_index = kv.keys().session_index_of_id(&session.id);
        let base = format!("{{{prefix}:bench}}");
        let bench = Self {
            server: Server::from_url(&url)?,
            ops: env_number("BENCH_REDIS_OPS", 20_000)?.max(8),
            rounds: env_number("BENCH_REDIS_ROUNDS", 3)?.max(1),
            session,
            session_key,
            session_index,
            session_sized: format!("{base}:session-sized"),
            list: format!("{base}:list"),
            list_done: format!("{base}:list-done"),
            quota: Quota::per(1_000_000, Duration::seconds(1)),
            subject: "user-bench".to_owned(),
            queue: QueueName::new("bench")?,
            runtime,
            kv,
        };
        bench.runtime.block_on(bench.store_session_sized_value())?;
        Ok(bench)
    }

    /// Store a string as large as the session hash (field names and values), for the GET
    /// baseline; returns its size.
    async fn store_session_sized_value(&self) -> Result<usize> {
        let hash: std::collections::HashMap<String, String> =
            self.kv.command(&redis_cmd(&["HGETALL", &self.session_key])).await?;
        let size: usize = hash.iter().map(|(k, v)| k.len() + v.len()).sum();
        let value = "s".repeat(size);
        let _: () = self.kv.command(&redis_cmd(&["SET", &self.session_sized, &value])).await?;
        Ok(size)
    }

    /// Run a case `rounds` times, ours and the baseline alternating, and keep the best round of
    /// each side (the machine is shared: the best round is the least disturbed one).
    fn best_of(&self, mut case: impl FnMut() -> Result<Vec<Row>>) -> Result<Vec<Row>> {
        let mut best = case()?;
        for _ in 1..self.rounds {
            for (b, r) in best.iter_mut().zip(case()?) {
                if r.ours.ops_per_sec > b.ours.ops_per_sec {
                    b.ours = r.ours;
                }
                b.baseline_ops = b.baseline_ops.max(r.baseline_ops);
            }
        }
        Ok(best)
    }

    /// Run one of our cases: a short warm-up, then `ops` measured operations.
    fn measure<F, Fut>(&self, concurrency: usize, op: F) -> Result<Stats>
    where
        F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<()>> + Send + 'static,
    {
        let op = Arc::new(op);
        let warm = Arc::clone(&op);
        self.runtime.block_on(drive(concurrency, (self.ops / 10).min(2_000), move |t, i| warm(t, i)))?;
        self.runtime.block_on(drive(concurrency, self.ops, move |t, i| op(t, i)))
    }

    /// `redis-benchmark` of one command at this concurrency, with as many requests as our side.
    fn raw(&self, concurrency: usize, command: &[&str]) -> Result<f64> {
        redis_benchmark(&self.server, concurrency, self.ops, command)
    }

    /// `get_session` against GET of a session-sized string and HGETALL of the session hash.
    fn session_get(&self, concurrency: usize) -> Result<Vec<Row>> {
        let (kv, id) = (self.kv.clone(), self.session.id.clone());
        let ours = self.measure(concurrency, move |_, _| {
            let (kv, id) = (kv.clone(), id.clone());
            async move {
                kv.get_session(&id).await?.ok_or_else(|| Error::backend("the bench session is gone"))?;
                Ok(())
            }
        })?;
        let get = self.raw(concurrency, &["GET", &self.session_sized])?;
        let hgetall = self.raw(concurrency, &["HGETALL", &self.session_key])?;
        Ok(vec![
            Row { op: "session get", concurrency, ours, baseline: "GET (session-sized value)", baseline_ops: get },
            Row { op: "session get", concurrency, ours, baseline: "HGETALL (the session hash)", baseline_ops: hgetall },
        ])
    }

    /// `touch_session` against the raw command sequence of a touch and against EVALSHA of the
    /// adapter's own touch script.
    fn session_touch(&self, concurrency: usize) -> Result<Vec<Row>> {
        let (kv, id) = (self.kv.clone(), self.session.id.clone());
        let ours = self.measure(concurrency, move |_, _| {
            let (kv, id) = (kv.clone(), id.clone());
            async move {
                kv.touch_session(&id, Duration::hours(1)).await?.ok_or_else(|| Error::backend("session gone"))?;
                Ok(())
            }
        })?;
        let expires = self.session.expires_at + Duration::hours(1);
        let (us, ms) = (expires.timestamp_micros().to_string(), expires.timestamp_millis().to_string());
        let member = format!("{}|{}", self.session.user_id, self.session.id.expose());
        let raw = [
            self.raw(concurrency, &["HSET", &self.session_key, "e", &us, "l", &us])?,
            self.raw(concurrency, &["PEXPIREAT", &self.session_key, &ms])?,
            self.raw(concurrency, &["ZADD", &self.session_index, &us, &member])?,
            self.raw(concurrency, &["HMGET", &self.session_key, "u", "p", "c", "e", "l"])?,
        ];
        let sha = script_sha("session_touch.lua")?;
        let ttl_us = Duration::hours(1).num_microseconds().unwrap_or(i64::MAX).to_string();
        let args = ["EVALSHA", &sha, "2", &self.session_key, &self.session_index, &ttl_us, self.session.id.expose()];
        let evalsha = self.raw(concurrency, &args)?;
        Ok(vec![
            Row {
                op: "session touch",
                concurrency,
                ours,
                baseline: "HSET+PEXPIREAT+ZADD+HMGET",
                baseline_ops: sequence_rate(&raw),
            },
            Row {
                op: "session touch",
                concurrency,
                ours,
                baseline: "EVALSHA session_touch.lua",
                baseline_ops: evalsha,
            },
        ])
    }

    /// `check_rate` against EVALSHA of the adapter's GCRA script with the same key and quota.
    fn rate_check(&self, concurrency: usize) -> Result<Vec<Row>> {
        let (kv, subject, quota) = (self.kv.clone(), self.subject.clone(), self.quota);
        let ours = self.measure(concurrency, move |_, _| {
            let (kv, subject) = (kv.clone(), subject.clone());
            async move {
                let decision = kv.check_rate(&subject, &quota).await?;
                if decision.allowed { Ok(()) } else { Err(Error::backend("the bench quota refused a request")) }
            }
        })?;
        let sha = script_sha("rate_gcra.lua")?;
        let t = self.quota.emission_interval_us();
        let tau = t * i64::from(self.quota.burst);
        let key = self.kv.keys().rate(&self.subject);
        let (t, tau, burst) = (t.to_string(), tau.to_string(), self.quota.burst.to_string());
        let evalsha = self.raw(concurrency, &["EVALSHA", &sha, "1", &key, &t, &tau, &burst, ""])?;
        Ok(vec![Row { op: "rate check", concurrency, ours, baseline: "EVALSHA rate_gcra.lua", baseline_ops: evalsha }])
    }

    /// One enqueue, one reserve and one ack per operation, against the classic raw reliable
    /// queue: LPUSH, LMOVE to a processing list, LREM from it.
    fn queue_cycle(&self, concurrency: usize) -> Result<Vec<Row>> {
        let (kv, queue) = (self.kv.clone(), self.queue.clone());
        let workers: Arc<Vec<WorkerId>> = Arc::new((0..concurrency).map(|_| WorkerId::unique("bench")).collect());
        let ours = self.measure(concurrency, move |task, _| {
            let (kv, queue, workers) = (kv.clone(), queue.clone(), Arc::clone(&workers));
            async move {
                kv.enqueue(&queue, NewJob::new(PAYLOAD)).await?;
                let worker = &workers[task % workers.len()];
                let reserved = kv.reserve(&queue, worker, Duration::seconds(30)).await?;
                let reserved = reserved.ok_or_else(|| Error::backend("reserve found no job after an enqueue"))?;
                kv.ack(&queue, &reserved.lease).await
            }
        })?;
        let payload = String::from_utf8_lossy(PAYLOAD).into_owned();
        let raw = [
            self.raw(concurrency, &["LPUSH", &self.list, &payload])?,
            self.raw(concurrency, &["LMOVE", &self.list, &self.list_done, "RIGHT", "LEFT"])?,
            self.raw(concurrency, &["LREM", &self.list_done, "1", &payload])?,
        ];
        Ok(vec![Row {
            op: "enqueue+reserve+ack",
            concurrency,
            ours,
            baseline: "LPUSH+LMOVE+LREM",
            baseline_ops: sequence_rate(&raw),
        }])
    }

    /// Delete every key the run made.
    fn cleanup(&self) -> Result<()> {
        let q = self.kv.keys().queue(&self.queue);
        let keys = [
            self.session_key.clone(),
            self.session_index.clone(),
            self.session_sized.clone(),
            self.list.clone(),
            self.list_done.clone(),
            self.kv.keys().rate(&self.subject),
            q.ready(),
            q.delayed(),
            q.inflight(),
            q.dead(),
            q.jobs(),
            q.seq(),
        ];
        for key in keys {
            let _: i64 = self.runtime.block_on(self.kv.command(&redis_cmd(&["DEL", &key])))?;
        }
        Ok(())
    }
}

/// A raw command from its words.
fn redis_cmd(words: &[&str]) -> redis::Cmd {
    let (name, args) = words.split_first().unwrap_or((&"PING", &[]));
    let mut cmd = redis::cmd(name);
    for word in args {
        cmd.arg(*word);
    }
    cmd
}

/// Print the result table.
fn print_table(bench: &Bench, rows: &[Row]) {
    println!(
        "Redis load (ours: N tasks on one multiplexed connection, {} tokio worker thread(s); redis-benchmark: -c N connections, -P 1; {} ops per case, best of {} rounds)",
        bench.runtime.metrics().num_workers(),
        bench.ops,
        bench.rounds
    );
    println!(
        "{:<20} {:>4} {:>10} {:>9} {:>9}  {:<28} {:>12} {:>6}",
        "op", "conc", "ops/s", "p50 µs", "p95 µs", "redis-benchmark runs", "raw ops/s", "ratio"
    );
    for r in rows {
        println!(
            "{:<20} {:>4} {:>10.0} {:>9.1} {:>9.1}  {:<28} {:>12.0} {:>5.2}x",
            r.op,
            r.concurrency,
            r.ours.ops_per_sec,
            r.ours.p50.as_secs_f64() * 1e6,
            r.ours.p95.as_secs_f64() * 1e6,
            r.baseline,
            r.baseline_ops,
            r.ours.ops_per_sec / r.baseline_ops,
        );
    }
}
