//! What every load generator measures, the same way: closed-loop drivers ([`for_duration`],
//! [`for_count`]), throughput and latency percentiles ([`Stats`]), CPU time of this process and
//! of the clients it ran ([`cpu_times`]), and ratios against a raw baseline measured in the same
//! run ([`ratio`], [`sequence_rate`]).
//!
//! ```no_run
//! use std::time::Duration;
//! use clientnest_testkit::measure::{Stats, for_duration, ratio};
//!
//! # async fn demo() -> Result<(), std::io::Error> {
//! // 4 tasks call the operation in a loop for 5 s (after an unmeasured warm-up of 0.5 s).
//! let ours: Stats = for_duration(4, Duration::from_secs(5), |_task, _i| async { Ok::<(), std::io::Error>(()) }).await?;
//! let baseline_per_sec = 10_000.0; // e.g. what pgbench or redis-benchmark reported
//! println!("{:.0}/s, p95 {:?}, {:.2}x the baseline", ours.per_sec, ours.p95, ratio(ours.per_sec, baseline_per_sec));
//! # Ok(()) }
//! ```

mod cpu;
mod drive;
mod rng;
mod stats;

pub use cpu::{CpuTimes, children_cpu, cpu_times, own_cpu};
pub use drive::{for_count, for_duration};
pub use rng::Rng;
pub use stats::{Stats, per_unit, percentile, rate, ratio, sequence_rate};
