//! Closed-loop load: `n` tasks repeat an operation until a deadline; throughput and latency
//! percentiles of what they did.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::BenchResult;

/// Throughput, latency and client CPU of one measured case.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Stats {
    /// Units of work (operations, rows, schedules...) per second of wall time.
    pub(crate) per_sec: f64,
    /// Median latency of one call.
    pub(crate) p50: Duration,
    /// 95th percentile latency of one call.
    pub(crate) p95: Duration,
    /// CPU time of this process (every thread) per unit of work.
    pub(crate) cpu_per_unit: Duration,
    units: usize,
}

impl Stats {
    /// Stats of `units` of work done in `elapsed` by calls that took `latencies`.
    pub(crate) fn of(units: usize, elapsed: Duration, mut latencies: Vec<Duration>) -> Stats {
        latencies.sort_unstable();
        Stats {
            per_sec: units as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE),
            p50: percentile(&latencies, 50),
            p95: percentile(&latencies, 95),
            cpu_per_unit: Duration::ZERO,
            units,
        }
    }

    /// The same, with the process CPU time the work took.
    pub(crate) fn with_cpu(mut self, cpu: Duration) -> Stats {
        self.cpu_per_unit = cpu / u32::try_from(self.units.max(1)).unwrap_or(u32::MAX);
        self
    }
}

/// Linux's `/proc` clock ticks per second (`USER_HZ`, 100 on every mainstream architecture).
const TICKS_PER_SEC: u64 = 100;

/// CPU time (user + system) used so far by this process, and by the children it waited for
/// (pgbench, psql), from `/proc/self/stat`; zero where that file does not exist.
pub(crate) fn cpu_times() -> (Duration, Duration) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at field 3 (`state`).
    let fields: Vec<u64> =
        stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
    let ticks = |i: usize| fields.get(i).copied().unwrap_or(0);
    let to_time = |t: u64| Duration::from_millis(t * 1000 / TICKS_PER_SEC);
    (to_time(ticks(11) + ticks(12)), to_time(ticks(13) + ticks(14)))
}

/// This process's CPU time so far.
pub(crate) fn own_cpu() -> Duration {
    cpu_times().0
}

/// The CPU time of the children waited for so far.
pub(crate) fn children_cpu() -> Duration {
    cpu_times().1
}

/// The `pct`th percentile (nearest rank) of sorted latencies; zero when there are none.
pub(crate) fn percentile(sorted: &[Duration], pct: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * pct).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// Run `op(task, i)` from `tasks` concurrent tasks until `duration` has passed (after a warm-up
/// of a tenth of it, not measured); each call counts as one unit.
pub(crate) async fn for_duration<F, Fut>(tasks: usize, duration: Duration, op: F) -> BenchResult<Stats>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = BenchResult<()>> + Send + 'static,
{
    let op = Arc::new(op);
    let warm_up = Instant::now() + duration / 10;
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let op = Arc::clone(&op);
            tokio::spawn(async move { until(task, warm_up, op.as_ref()).await })
        })
        .collect();
    for h in handles {
        h.await??;
    }
    let (started, cpu) = (Instant::now(), own_cpu());
    let deadline = started + duration;
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let op = Arc::clone(&op);
            tokio::spawn(async move { until(task, deadline, op.as_ref()).await })
        })
        .collect();
    let mut latencies = Vec::new();
    for h in handles {
        latencies.extend(h.await??);
    }
    let (elapsed, cpu) = (started.elapsed(), own_cpu().saturating_sub(cpu));
    Ok(Stats::of(latencies.len(), elapsed, latencies).with_cpu(cpu))
}

/// One task's loop: call `op` until `deadline`, timing each call.
async fn until<F, Fut>(task: usize, deadline: Instant, op: &F) -> BenchResult<Vec<Duration>>
where
    F: Fn(usize, usize) -> Fut,
    Fut: Future<Output = BenchResult<()>>,
{
    let mut latencies = Vec::new();
    let mut i = 0;
    while Instant::now() < deadline {
        let start = Instant::now();
        op(task, i).await?;
        latencies.push(start.elapsed());
        i += 1;
    }
    Ok(latencies)
}

/// A small, fast, seeded generator (SplitMix64): the load needs spread, not cryptography.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `pct` percent.
    pub(crate) fn percent(&mut self, pct: u64) -> bool {
        self.next_u64() % 100 < pct
    }
}
