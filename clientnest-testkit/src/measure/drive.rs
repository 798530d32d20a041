//! Closed-loop load: `n` tasks each call an operation, start the next call when the previous
//! one ends, and time every call.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cpu::own_cpu;
use super::stats::Stats;

/// When a task stops calling.
#[derive(Debug, Clone, Copy)]
enum Until {
    /// Once this much time has passed since the start.
    Elapsed(Duration),
    /// Once this many calls have been made by the task.
    Calls(usize),
}

/// Call `op(task, i)` from `tasks` concurrent tasks (spawned on the current runtime) until
/// `duration` has passed, after an unmeasured warm-up of a tenth of it. Every call counts as
/// one unit; the stats include this process's CPU time per call.
///
/// # Errors
///
/// The first error a call returned (the other tasks finish their current call first).
///
/// # Panics
///
/// When a call panicked (the panic is passed on).
pub async fn for_duration<F, Fut, E>(tasks: usize, duration: Duration, op: F) -> Result<Stats, E>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Send + 'static,
{
    let op = Arc::new(op);
    run(tasks, Until::Elapsed(duration / 10), &op).await?;
    run(tasks, Until::Elapsed(duration), &op).await
}

/// Call `op(task, i)` `total` times, split evenly over `tasks` concurrent tasks (each does
/// `total / tasks`, rounded up). No warm-up: run a short count first when one is needed.
///
/// # Errors
///
/// The first error a call returned.
///
/// # Panics
///
/// When a call panicked (the panic is passed on).
pub async fn for_count<F, Fut, E>(tasks: usize, total: usize, op: F) -> Result<Stats, E>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Send + 'static,
{
    let tasks = tasks.max(1);
    run(tasks, Until::Calls(total.div_ceil(tasks)), &Arc::new(op)).await
}

/// One measured run of `tasks` tasks.
async fn run<F, Fut, E>(tasks: usize, until: Until, op: &Arc<F>) -> Result<Stats, E>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Send + 'static,
{
    let (started, cpu) = (Instant::now(), own_cpu());
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let op = Arc::clone(op);
            tokio::spawn(async move { calls(task, until, started, op.as_ref()).await })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut first_error = None;
    for handle in handles {
        match handle.await {
            Ok(Ok(task_latencies)) => latencies.extend(task_latencies),
            Ok(Err(e)) => first_error = first_error.or(Some(e)),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("a load task was cancelled: {e}"),
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    let (elapsed, cpu) = (started.elapsed(), own_cpu().saturating_sub(cpu));
    Ok(Stats::of(latencies.len(), elapsed, latencies).with_cpu(cpu))
}

/// One task's loop, timing each call.
async fn calls<F, Fut, E>(task: usize, until: Until, started: Instant, op: &F) -> Result<Vec<Duration>, E>
where
    F: Fn(usize, usize) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let mut latencies = Vec::new();
    let mut i = 0;
    while match until {
        Until::Elapsed(d) => started.elapsed() < d,
        Until::Calls(n) => i < n,
    } {
        let start = Instant::now();
        op(task, i).await?;
        latencies.push(start.elapsed());
        i += 1;
    }
    Ok(latencies)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_count_is_split_over_the_tasks() {
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&seen);
        let stats = for_count(3, 10, move |task, _| {
            assert!(task < 3);
            counter.fetch_add(1, Ordering::Relaxed);
            async { Ok::<(), ()>(()) }
        })
        .await
        .unwrap();
        // 10 over 3 tasks: 4 each, rounded up.
        assert_eq!((stats.units, seen.load(Ordering::Relaxed)), (12, 12));
        assert!(stats.per_sec > 0.0 && stats.p50 <= stats.p95);
    }

    #[tokio::test]
    async fn a_duration_runs_until_its_deadline() {
        let started = Instant::now();
        let stats = for_duration(2, Duration::from_millis(100), |_, _| async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            Ok::<(), ()>(())
        })
        .await
        .unwrap();
        assert!(started.elapsed() >= Duration::from_millis(110), "warm-up and run");
        assert!(stats.units >= 2 && stats.p50 >= Duration::from_millis(5));
    }

    #[tokio::test]
    async fn the_first_error_is_returned() {
        let err = for_count(2, 4, |task, i| async move { if task == 1 && i == 1 { Err(i) } else { Ok(()) } }).await;
        assert_eq!(err, Err(1));
    }
}
