//! The load driver: run one operation from N concurrent tasks and measure throughput and
//! latency percentiles.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clientnest::Result;

/// Throughput and latency of one measured case.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stats {
    /// Operations completed.
    pub(crate) ops: usize,
    /// Completed operations per second of wall time.
    pub(crate) ops_per_sec: f64,
    /// Median latency of one operation.
    pub(crate) p50: Duration,
    /// 95th percentile latency of one operation.
    pub(crate) p95: Duration,
}

/// Run `op` `total` times, split evenly over `concurrency` tasks spawned on the current
/// runtime (a closed loop: each task starts its next operation when the previous one ends).
/// `op` receives the task's index and the operation's index within the task.
pub(crate) async fn drive<F, Fut>(concurrency: usize, total: usize, op: F) -> Result<Stats>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let op = Arc::new(op);
    let per_task = total.div_ceil(concurrency);
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|task| {
            let op = Arc::clone(&op);
            tokio::spawn(async move { run_task(task, per_task, op.as_ref()).await })
        })
        .collect();
    let mut latencies = Vec::with_capacity(per_task * concurrency);
    for task in tasks {
        let task_latencies = task.await.map_err(|e| clientnest::Error::backend("bench", e))??;
        latencies.extend(task_latencies);
    }
    let elapsed = started.elapsed();
    Ok(summarise(latencies, elapsed))
}

/// One task's loop: `count` operations, each timed.
async fn run_task<F, Fut>(task: usize, count: usize, op: &F) -> Result<Vec<Duration>>
where
    F: Fn(usize, usize) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let mut latencies = Vec::with_capacity(count);
    for i in 0..count {
        let start = Instant::now();
        op(task, i).await?;
        latencies.push(start.elapsed());
    }
    Ok(latencies)
}

/// Throughput and percentiles of the recorded latencies.
fn summarise(mut latencies: Vec<Duration>, elapsed: Duration) -> Stats {
    latencies.sort_unstable();
    let ops = latencies.len();
    Stats {
        ops,
        ops_per_sec: ops as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE),
        p50: percentile(&latencies, 50),
        p95: percentile(&latencies, 95),
    }
}

/// The `pct`th percentile (nearest rank) of sorted latencies; zero when there are none.
fn percentile(sorted: &[Duration], pct: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * pct).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// CPU time (user + system) this process has used so far, from `/proc/self/stat` (Linux; 100
/// clock ticks per second). `None` where that file is missing.
pub(crate) fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start with the state, field 3.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |field: usize| fields.get(field - 3)?.parse::<u64>().ok();
    Some(Duration::from_millis((ticks(14)? + ticks(15)?) * 10))
}
