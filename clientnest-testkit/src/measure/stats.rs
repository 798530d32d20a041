//! Throughput, latency percentiles and ratios.

use std::time::Duration;

/// Throughput, latency and client CPU of one measured case.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    /// Units of work done (operations, rows, schedules...).
    pub units: usize,
    /// Units per second of wall time.
    pub per_sec: f64,
    /// Median latency of one call (nearest rank).
    pub p50: Duration,
    /// 95th percentile latency of one call (nearest rank).
    pub p95: Duration,
    /// CPU time of this process (every thread) per unit; zero until [`with_cpu`](Self::with_cpu).
    pub cpu_per_unit: Duration,
}

impl Stats {
    /// `units` of work done in `elapsed` by calls that took `latencies` (in any order; one
    /// call may do several units, e.g. a batch of rows).
    pub fn of(units: usize, elapsed: Duration, mut latencies: Vec<Duration>) -> Stats {
        latencies.sort_unstable();
        Stats {
            units,
            per_sec: rate(units, elapsed),
            p50: percentile(&latencies, 50),
            p95: percentile(&latencies, 95),
            cpu_per_unit: Duration::ZERO,
        }
    }

    /// The same, with `cpu`, the process CPU time the work took, spread over its units.
    pub fn with_cpu(mut self, cpu: Duration) -> Stats {
        self.cpu_per_unit = per_unit(cpu, self.units);
        self
    }

    /// The better of two measurements of the same case: the one with more units per second
    /// (on a shared machine the fastest round is the least disturbed one).
    pub fn best(self, other: Stats) -> Stats {
        if other.per_sec > self.per_sec { other } else { self }
    }
}

/// `units` per second of `elapsed` (an empty duration counts as the smallest positive one, so
/// the rate is huge, never a division by zero).
pub fn rate(units: usize, elapsed: Duration) -> f64 {
    units as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
}

/// `total` spread over `units` (all of it when there are none).
pub fn per_unit(total: Duration, units: usize) -> Duration {
    total / u32::try_from(units.max(1)).unwrap_or(u32::MAX)
}

/// The `pct`th percentile (nearest rank) of `sorted` latencies; zero when there are none.
pub fn percentile(sorted: &[Duration], pct: usize) -> Duration {
    let rank = (sorted.len() * pct).div_ceil(100).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or(Duration::ZERO)
}

/// Our throughput as a share of the baseline's (`1.0`: as fast as the raw server path).
pub fn ratio(ours_per_sec: f64, baseline_per_sec: f64) -> f64 {
    ours_per_sec / baseline_per_sec.max(f64::MIN_POSITIVE)
}

/// The rate of a sequence of steps done one after the other, each measured on its own at
/// `rates` per second: `1 / Σ 1/rate` (zero when a step has no rate).
pub fn sequence_rate(rates: &[f64]) -> f64 {
    if rates.is_empty() || rates.iter().any(|r| *r <= 0.0) {
        return 0.0;
    }
    1.0 / rates.iter().map(|r| 1.0 / r).sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let sorted: Vec<Duration> = (1..=100).map(ms).collect();
        assert_eq!(percentile(&sorted, 50), ms(50));
        assert_eq!(percentile(&sorted, 95), ms(95));
        assert_eq!(percentile(&sorted, 100), ms(100));
        assert_eq!(percentile(&[ms(7)], 95), ms(7));
        assert_eq!(percentile(&[], 50), Duration::ZERO);
    }

    #[test]
    fn stats_sort_their_latencies_and_spread_cpu() {
        let stats = Stats::of(20, Duration::from_secs(2), vec![ms(3), ms(1), ms(2)]).with_cpu(ms(40));
        assert_eq!((stats.units, stats.per_sec), (20, 10.0));
        assert_eq!((stats.p50, stats.p95), (ms(2), ms(3)));
        assert_eq!(stats.cpu_per_unit, ms(2));
        let faster = Stats { per_sec: 11.0, ..stats };
        assert_eq!(stats.best(faster), faster);
        assert_eq!(faster.best(stats), faster);
    }

    #[test]
    fn ratios_and_sequences() {
        assert_eq!(ratio(50.0, 100.0), 0.5);
        assert!(ratio(1.0, 0.0).is_finite());
        assert_eq!(sequence_rate(&[100.0, 100.0]), 50.0);
        assert_eq!(sequence_rate(&[100.0, 0.0]), 0.0);
        assert_eq!(sequence_rate(&[]), 0.0);
        assert!(rate(10, Duration::ZERO) > 0.0, "no division by zero");
        assert_eq!(per_unit(ms(10), 0), ms(10));
    }
}
