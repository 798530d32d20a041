//! A buffered analytics writer for hot paths: rows are checked and queued in memory, and one
//! background task writes them to any [`AnalyticsWriter`] in batches per table.
//!
//! - **Bounded.** At most [`BufferConfig::capacity`] rows are held (queued, batched or being
//!   written) at once. When it is full, [`Overflow::DropNewest`] drops the new row and counts
//!   it, [`Overflow::Wait`] makes [`BufferedWriter::record`] wait for room.
//! - **Batched.** A table's rows go out when [`BufferConfig::max_batch_rows`] of them are
//!   waiting, and every table's rows at least every [`BufferConfig::flush_interval`].
//! - **Checked on the way in.** [`BufferedWriter::record`] runs [`AnalyticsRow::checked`]: a
//!   row the backend would refuse is refused to the caller right away, with the
//!   [`Validation`](Error::Validation) error, so it can never make a whole batch fail later.
//! - **Retried, then counted.** A batch the backend refuses as
//!   [`Unavailable`](Error::Unavailable) is retried with exponential backoff
//!   ([`BufferConfig::max_retries`] times, from [`BufferConfig::retry_backoff`]); a batch that
//!   still fails, or fails otherwise, is counted in [`BufferStats::failed_batches`] and
//!   [`BufferStats::failed_rows`] and logged with `tracing::warn!` (table, row count, error;
//!   never the rows' contents). No row is lost without being counted:
//!   `written + dropped + failed_rows + queued` is every row accepted or dropped.
//! - **Flushed on the way out.** [`BufferedWriter::flush`] returns once everything queued
//!   before it was written (or counted as failed); [`BufferedWriter::shutdown`] stops
//!   accepting rows, writes everything and joins the task. When the last handle is dropped
//!   without a shutdown, the task still writes what is queued, in the background (best effort:
//!   a runtime shutting down may cancel it).
//!
//! ```
//! use std::sync::Arc;
//! use chrono::Utc;
//! use clientnest_core::analytics::{AnalyticsWriter, BufferConfig, BufferedWriter, Overflow, Performance};
//! # use async_trait::async_trait;
//! # use clientnest_core::analytics::*;
//! # struct Backend;
//! # #[async_trait]
//! # impl AnalyticsWriter for Backend {
//! #     async fn append_events(&self, rows: Vec<Event>) -> clientnest_core::Result<u64> { Ok(rows.len() as u64) }
//! #     async fn append_metrics(&self, rows: Vec<Metric>) -> clientnest_core::Result<u64> { Ok(rows.len() as u64) }
//! #     async fn append_performance(&self, rows: Vec<Performance>) -> clientnest_core::Result<u64> { Ok(rows.len() as u64) }
//! #     async fn append_engagement(&self, rows: Vec<EngagementSnapshot>) -> clientnest_core::Result<u64> { Ok(rows.len() as u64) }
//! #     async fn append_ai_metrics(&self, rows: Vec<AiMetric>) -> clientnest_core::Result<u64> { Ok(rows.len() as u64) }
//! #     async fn append_costs(&self, rows: Vec<Cost>) -> clientnest_core::Result<u64> { Ok(rows.len() as u64) }
//! # }
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let backend: Arc<dyn AnalyticsWriter> = Arc::new(Backend);
//! let buffer = BufferedWriter::spawn(backend, BufferConfig::default().with_overflow(Overflow::Wait));
//! let row = Performance::new("api", "GET /posts", Utc::now(), std::time::Duration::from_millis(3), 200);
//! buffer.record(row).await?;
//! buffer.shutdown().await;
//! assert_eq!(buffer.stats().written, 1);
//! # Ok::<(), clientnest_core::Error>(())
//! # }).unwrap();
//! ```

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::sync::{Mutex as AsyncMutex, Semaphore, TryAcquireError, mpsc, oneshot};
use tokio::task::JoinHandle;

use super::ports::AnalyticsWriter;
use super::rows::{AiMetric, AnalyticsRow, Cost, EngagementSnapshot, Event, Metric, Performance};
use crate::error::{Error, Result};

/// Rows held at once by default: 10,000.
pub const DEFAULT_CAPACITY: usize = 10_000;
/// Rows of one table written in one call by default: 1,000.
pub const DEFAULT_MAX_BATCH_ROWS: usize = 1_000;
/// Longest wait of a queued row before it is written, by default: one second.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// Retries of a batch refused as `Unavailable`, by default: 3 (so 4 attempts).
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// Wait before the first retry, by default: 100 ms (doubled for each further retry).
pub const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait between two retries, whatever the backoff: 30 seconds.
pub const MAX_RETRY_BACKOFF: Duration = Duration::from_secs(30);
/// The store name the buffer's own errors carry ([`Error::store`]): `analytics_buffer`.
pub const BUFFER_STORE: &str = "analytics_buffer";

/// What [`BufferedWriter::record`] does when the buffer holds [`BufferConfig::capacity`] rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Wait until the background task has written enough rows to make room. Nothing is
    /// dropped, but a slow or unavailable backend slows the callers down.
    Wait,
    /// Drop the new row and count it ([`BufferStats::dropped`]); the call returns at once
    /// with [`RecordOutcome::Dropped`]. The default: a request path that measures itself
    /// must never wait on its own measurements, and losing a few samples while the backend
    /// is down is better than slowing every request.
    #[default]
    DropNewest,
}

/// How a [`BufferedWriter`] queues and batches; build it from [`BufferConfig::default`] with the
/// `with_*` methods. Values out of range are clamped (documented on each method).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferConfig {
    capacity: usize,
    max_batch_rows: usize,
    flush_interval: Duration,
    overflow: Overflow,
    max_retries: u32,
    retry_backoff: Duration,
}

impl Default for BufferConfig {
    fn default() -> Self {
        Self {
            capacity: DEFAULT_CAPACITY,
            max_batch_rows: DEFAULT_MAX_BATCH_ROWS,
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            overflow: Overflow::default(),
            max_retries: DEFAULT_MAX_RETRIES,
            retry_backoff: DEFAULT_RETRY_BACKOFF,
        }
    }
}

impl BufferConfig {
    /// Rows held at once (queued, batched or being written), at least 1 (default
    /// [`DEFAULT_CAPACITY`]).
    #[must_use]
    pub fn with_capacity(mut self, rows: usize) -> Self {
        self.capacity = rows.clamp(1, Semaphore::MAX_PERMITS);
        self
    }

    /// Rows of one table written in one call, at least 1 and at most the capacity (cut to it
    /// when the buffer is spawned) (default [`DEFAULT_MAX_BATCH_ROWS`]).
    #[must_use]
    pub fn with_max_batch_rows(mut self, rows: usize) -> Self {
        self.max_batch_rows = rows.max(1);
        self
    }

    /// How often every table's waiting rows are written, at least 1 ms (default
    /// [`DEFAULT_FLUSH_INTERVAL`]).
    #[must_use]
    pub fn with_flush_interval(mut self, every: Duration) -> Self {
        self.flush_interval = every.max(Duration::from_millis(1));
        self
    }

    /// What happens when the buffer is full (default [`Overflow::DropNewest`]).
    #[must_use]
    pub fn with_overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// Retries of a batch refused as `Unavailable` before it is counted as failed (default
    /// [`DEFAULT_MAX_RETRIES`]; 0 retries nothing).
    #[must_use]
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Wait before the first retry, doubled for each further one, at most
    /// [`MAX_RETRY_BACKOFF`] (default [`DEFAULT_RETRY_BACKOFF`]).
    #[must_use]
    pub fn with_retry_backoff(mut self, first: Duration) -> Self {
        self.retry_backoff = first.min(MAX_RETRY_BACKOFF);
        self
    }

    /// Rows held at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Rows of one table per write.
    pub fn max_batch_rows(&self) -> usize {
        self.max_batch_rows
    }

    /// How often waiting rows are written.
    pub fn flush_interval(&self) -> Duration {
        self.flush_interval
    }

    /// What happens when the buffer is full.
    pub fn overflow(&self) -> Overflow {
        self.overflow
    }

    /// Retries of an unavailable batch.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// Wait before the first retry.
    pub fn retry_backoff(&self) -> Duration {
        self.retry_backoff
    }

    /// The wait before retry number `retry` (1-based): the backoff doubled `retry - 1` times,
    /// at most [`MAX_RETRY_BACKOFF`].
    fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.retry_backoff.saturating_mul(factor).min(MAX_RETRY_BACKOFF)
    }
}

/// A row of any of the six analytics tables, as the buffer queues it. Each row type converts
/// into it with `From`, so [`BufferedWriter::record`] takes any of them.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyRow {
    /// A row of `events`.
    Event(Event),
    /// A row of `metrics`.
    Metric(Metric),
    /// A row of `performance`.
    Performance(Performance),
    /// A row of `engagement`.
    Engagement(EngagementSnapshot),
    /// A row of `ai_metrics`.
    AiMetric(AiMetric),
    /// A row of `costs`.
    Cost(Cost),
}

macro_rules! any_row {
    ($($variant:ident($ty:ty) => $field:ident, $append:ident;)+) => {
        $(
            impl From<$ty> for AnyRow {
                fn from(row: $ty) -> Self {
                    AnyRow::$variant(row)
                }
            }

            impl Batched for $ty {
                fn append(writer: &dyn AnalyticsWriter, rows: Vec<Self>) -> BoxFuture<'_, Result<u64>> {
                    writer.$append(rows)
                }
            }
        )+

        impl AnyRow {
            /// The table the row goes to (`events`, `metrics`, ...).
            pub fn table(&self) -> &'static str {
                match self {
                    $(AnyRow::$variant(_) => <$ty as AnalyticsRow>::TABLE,)+
                }
            }

            /// The row as it is stored ([`AnalyticsRow::checked`] of the row inside).
            pub fn checked(self) -> Result<Self> {
                match self {
                    $(AnyRow::$variant(row) => row.checked().map(AnyRow::$variant),)+
                }
            }
        }

        /// The rows waiting to be written, one list per table.
        #[derive(Default)]
        struct Batches {
            $($field: Vec<$ty>,)+
        }

        impl Batches {
            /// Add a row; true when its table now holds `max` rows.
            fn push(&mut self, row: AnyRow, max: usize) -> Option<&'static str> {
                match row {
                    $(AnyRow::$variant(row) => {
                        self.$field.push(row);
                        (self.$field.len() >= max).then_some(<$ty as AnalyticsRow>::TABLE)
                    })+
                }
            }

            /// Write one table's rows (by its name).
            async fn write_table(&mut self, table: &'static str, worker: &Worker) {
                $(if table == <$ty as AnalyticsRow>::TABLE {
                    worker.write(std::mem::take(&mut self.$field)).await;
                    return;
                })+
            }

            /// Write every table's rows.
            async fn write_all(&mut self, worker: &Worker) {
                $(worker.write(std::mem::take(&mut self.$field)).await;)+
            }
        }
    };
}

/// A row type the worker writes through its own `append_*` method.
trait Batched: AnalyticsRow + Clone {
    fn append(writer: &dyn AnalyticsWriter, rows: Vec<Self>) -> BoxFuture<'_, Result<u64>>;
}

any_row! {
    Event(Event) => events, append_events;
    Metric(Metric) => metrics, append_metrics;
    Performance(Performance) => performance, append_performance;
    Engagement(EngagementSnapshot) => engagement, append_engagement;
    AiMetric(AiMetric) => ai_metrics, append_ai_metrics;
    Cost(Cost) => costs, append_costs;
}

/// What became of a row the buffer was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOutcome {
    /// The row is queued and will be written (or counted as failed).
    Queued,
    /// The buffer was full: the row was dropped and counted in [`BufferStats::dropped`].
    Dropped,
}

/// The buffer's counters, read with [`BufferedWriter::stats`]. Every row accepted or dropped
/// is in exactly one of `queued`, `written`, `dropped` and `failed_rows`; rows refused by
/// validation never entered and are counted apart in `refused`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BufferStats {
    /// Rows accepted and not yet written or failed (waiting, batched or being written).
    pub queued: u64,
    /// Rows the backend accepted.
    pub written: u64,
    /// Rows dropped because the buffer was full.
    pub dropped: u64,
    /// Rows refused by validation when recorded (returned to the caller as an error).
    pub refused: u64,
    /// Batches that failed for good (after the retries, for `Unavailable`).
    pub failed_batches: u64,
    /// Rows of those batches.
    pub failed_rows: u64,
}

/// The error a buffer that was shut down gives for a new row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the buffered analytics writer is shut down")]
pub struct BufferClosed;

fn closed() -> Error {
    Error::backend(BUFFER_STORE, BufferClosed)
}

/// A writer task panicked while writing a batch.
#[derive(Debug, thiserror::Error)]
#[error("the analytics writer panicked while writing a batch")]
struct WriterPanicked;

#[derive(Default)]
struct Counters {
    queued: AtomicU64,
    written: AtomicU64,
    dropped: AtomicU64,
    refused: AtomicU64,
    failed_batches: AtomicU64,
    failed_rows: AtomicU64,
}

/// What the handles and the task share.
struct Shared {
    counters: Counters,
    /// One permit per row the buffer may still take; a row holds its permit until it is
    /// written or failed.
    room: Semaphore,
    closed: AtomicBool,
}

enum Msg {
    Row(AnyRow),
    Flush(oneshot::Sender<()>),
    Shutdown,
}

/// The handles' side; dropping the last one drops the sender, which ends the task after it has
/// written what is queued.
struct Inner {
    tx: mpsc::UnboundedSender<Msg>,
    task: AsyncMutex<Option<JoinHandle<()>>>,
}

/// A bounded, batching writer in front of any [`AnalyticsWriter`]; see the
/// [module docs](self). Clones share the same buffer and task.
#[derive(Clone)]
pub struct BufferedWriter {
    shared: Arc<Shared>,
    inner: Arc<Inner>,
    overflow: Overflow,
}

impl fmt::Debug for BufferedWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferedWriter").field("overflow", &self.overflow).field("stats", &self.stats()).finish()
    }
}

impl BufferedWriter {
    /// Start the background task writing to `writer` and return the first handle.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime (it calls `tokio::spawn`).
    pub fn spawn(writer: Arc<dyn AnalyticsWriter>, config: BufferConfig) -> Self {
        let shared = Arc::new(Shared {
            counters: Counters::default(),
            room: Semaphore::new(config.capacity),
            closed: AtomicBool::new(false),
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let overflow = config.overflow;
        // A batch never waits for more rows than the buffer can hold.
        let config = BufferConfig { max_batch_rows: config.max_batch_rows.min(config.capacity), ..config };
        let worker = Worker { writer, config, shared: Arc::clone(&shared) };
        let task = tokio::spawn(worker.run(rx));
        Self { shared, inner: Arc::new(Inner { tx, task: AsyncMutex::new(Some(task)) }), overflow }
    }

    /// Check `row` and queue it. Under [`Overflow::Wait`] a full buffer makes this wait for
    /// room (cancel-safe: a dropped call queues nothing); under [`Overflow::DropNewest`] the row
    /// is dropped and counted and the result is [`RecordOutcome::Dropped`].
    ///
    /// Errors: [`Validation`](Error::Validation) when the row breaks a rule of its table
    /// (nothing queued; counted in [`BufferStats::refused`]); a [`Backend`](Error::Backend)
    /// error of store [`BUFFER_STORE`] with source [`BufferClosed`] after
    /// [`shutdown`](Self::shutdown).
    pub async fn record(&self, row: impl Into<AnyRow>) -> Result<RecordOutcome> {
        let row = self.admit(row.into())?;
        match self.overflow {
            Overflow::Wait => self.shared.room.acquire().await.map_err(|_| closed())?.forget(),
            Overflow::DropNewest => match self.take_room() {
                Ok(true) => {}
                Ok(false) => return Ok(RecordOutcome::Dropped),
                Err(e) => return Err(e),
            },
        }
        self.enqueue(row)
    }

    /// Check `row` and queue it without ever waiting: when the buffer is full the row is
    /// dropped and counted, whatever the [`Overflow`] policy. Errors as [`record`](Self::record).
    pub fn try_record(&self, row: impl Into<AnyRow>) -> Result<RecordOutcome> {
        let row = self.admit(row.into())?;
        if !self.take_room()? {
            return Ok(RecordOutcome::Dropped);
        }
        self.enqueue(row)
    }

    /// Return once every row queued before this call is written (or counted as failed).
    /// After a [`shutdown`](Self::shutdown) there is nothing left to write and it returns at
    /// once.
    pub async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.inner.tx.send(Msg::Flush(ack)).is_ok() {
            // An error means the task ended, which it does only after writing everything.
            let _ = done.await;
        }
    }

    /// Stop accepting rows, write everything queued, and wait for the task to end. Calls
    /// waiting for room under [`Overflow::Wait`] fail with [`BufferClosed`]. Calling it again,
    /// from any clone, waits for the same end.
    pub async fn shutdown(&self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared.room.close();
        let _ = self.inner.tx.send(Msg::Shutdown);
        let mut task = self.inner.task.lock().await;
        if let Some(handle) = task.take()
            && let Err(e) = handle.await
        {
            tracing::warn!(error = %e, "analytics buffer task ended abnormally");
        }
    }

    /// The counters now.
    pub fn stats(&self) -> BufferStats {
        let c = &self.shared.counters;
        BufferStats {
            queued: c.queued.load(Ordering::SeqCst),
            written: c.written.load(Ordering::SeqCst),
            dropped: c.dropped.load(Ordering::SeqCst),
            refused: c.refused.load(Ordering::SeqCst),
            failed_batches: c.failed_batches.load(Ordering::SeqCst),
            failed_rows: c.failed_rows.load(Ordering::SeqCst),
        }
    }

    /// Validate, then refuse when shut down.
    fn admit(&self, row: AnyRow) -> Result<AnyRow> {
        let row = row.checked().inspect_err(|_| {
            self.shared.counters.refused.fetch_add(1, Ordering::SeqCst);
        })?;
        if self.shared.closed.load(Ordering::SeqCst) {
            return Err(closed());
        }
        Ok(row)
    }

    /// Take room for one row without waiting: `false` (and counted) when full.
    fn take_room(&self) -> Result<bool> {
        match self.shared.room.try_acquire() {
            Ok(permit) => {
                permit.forget();
                Ok(true)
            }
            Err(TryAcquireError::NoPermits) => {
                self.shared.counters.dropped.fetch_add(1, Ordering::SeqCst);
                Ok(false)
            }
            Err(TryAcquireError::Closed) => Err(closed()),
        }
    }

    /// Hand a row that holds its room to the task.
    fn enqueue(&self, row: AnyRow) -> Result<RecordOutcome> {
        self.shared.counters.queued.fetch_add(1, Ordering::SeqCst);
        if self.inner.tx.send(Msg::Row(row)).is_err() {
            // The task has ended (shut down): the row was not taken.
            self.shared.counters.queued.fetch_sub(1, Ordering::SeqCst);
            self.shared.room.add_permits(1);
            return Err(closed());
        }
        Ok(RecordOutcome::Queued)
    }
}

/// The background task's state.
struct Worker {
    writer: Arc<dyn AnalyticsWriter>,
    config: BufferConfig,
    shared: Arc<Shared>,
}

impl Worker {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<Msg>) {
        let every = self.config.flush_interval;
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut batches = Batches::default();
        loop {
            tokio::select! {
                // The tick first: it is ready once per interval, so a busy queue cannot keep a
                // quiet table's rows waiting past it.
                biased;
                _ = tick.tick() => batches.write_all(&self).await,
                msg = rx.recv() => match msg {
                    Some(Msg::Row(row)) => self.push(&mut batches, row).await,
                    Some(Msg::Flush(ack)) => {
                        batches.write_all(&self).await;
                        let _ = ack.send(());
                    }
                    Some(Msg::Shutdown) | None => break,
                },
            }
        }
        // Take no new rows, then write everything that was sent before.
        rx.close();
        let mut acks = Vec::new();
        while let Some(msg) = rx.recv().await {
            match msg {
                Msg::Row(row) => self.push(&mut batches, row).await,
                Msg::Flush(ack) => acks.push(ack),
                Msg::Shutdown => {}
            }
        }
        batches.write_all(&self).await;
        for ack in acks {
            let _ = ack.send(());
        }
    }

    async fn push(&self, batches: &mut Batches, row: AnyRow) {
        if let Some(full) = batches.push(row, self.config.max_batch_rows) {
            batches.write_table(full, self).await;
        }
    }

    /// Write one batch, retrying `Unavailable`; count the outcome and give the room back.
    async fn write<R: Batched>(&self, mut rows: Vec<R>) {
        if rows.is_empty() {
            return;
        }
        let n = rows.len();
        let mut retries = 0;
        let outcome = loop {
            // The last attempt hands the batch over; earlier ones keep it for a retry.
            let last = retries >= self.config.max_retries;
            let attempt = if last { std::mem::take(&mut rows) } else { rows.clone() };
            let result = AssertUnwindSafe(R::append(self.writer.as_ref(), attempt))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Err(Error::backend(BUFFER_STORE, WriterPanicked)));
            match result {
                Err(e) if e.is_retryable() && !last => {
                    retries += 1;
                    tokio::time::sleep(self.config.backoff(retries)).await;
                }
                other => break other,
            }
        };
        let c = &self.shared.counters;
        let rows_u64 = u64::try_from(n).unwrap_or(u64::MAX);
        match outcome {
            Ok(_) => {
                c.written.fetch_add(rows_u64, Ordering::SeqCst);
            }
            Err(e) => {
                tracing::warn!(
                    table = R::TABLE,
                    rows = n,
                    attempts = retries + 1,
                    error = %e,
                    "analytics batch failed; its rows are counted as failed"
                );
                c.failed_batches.fetch_add(1, Ordering::SeqCst);
                c.failed_rows.fetch_add(rows_u64, Ordering::SeqCst);
            }
        }
        c.queued.fetch_sub(rows_u64, Ordering::SeqCst);
        self.shared.room.add_permits(n);
    }
}

/// A recording [`AnalyticsWriter`] for this module's tests and the decorator's: every row in a
/// list, every call's table and size, failures and a gate on demand.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    use async_trait::async_trait;
    use tokio::sync::{RwLock, RwLockWriteGuard};

    use super::AnyRow;
    use crate::analytics::ports::AnalyticsWriter;
    use crate::analytics::rows::{AiMetric, AnalyticsRow, Cost, EngagementSnapshot, Event, Metric, Performance};
    use crate::error::{Error, Result};

    /// Rows and calls seen, plus failures and a gate the test controls.
    #[derive(Default)]
    pub(crate) struct Recording {
        rows: Mutex<Vec<AnyRow>>,
        calls: Mutex<Vec<(&'static str, usize)>>,
        /// The next this-many calls fail as `Unavailable`.
        unavailable_next: AtomicU32,
        /// Every call for this table fails: `Unavailable` when true, `Backend` when false.
        failing_table: Mutex<Option<(&'static str, bool)>>,
        gate: RwLock<()>,
    }

    impl Recording {
        pub(crate) fn rows(&self) -> Vec<AnyRow> {
            self.rows.lock().unwrap_or_else(|p| p.into_inner()).clone()
        }

        pub(crate) fn calls(&self) -> Vec<(&'static str, usize)> {
            self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
        }

        pub(crate) fn fail_next_unavailable(&self, calls: u32) {
            self.unavailable_next.store(calls, Ordering::SeqCst);
        }

        pub(crate) fn fail_table(&self, table: &'static str, retryable: bool) {
            *self.failing_table.lock().unwrap_or_else(|p| p.into_inner()) = Some((table, retryable));
        }

        /// Every write waits while the guard lives.
        pub(crate) async fn hold(&self) -> RwLockWriteGuard<'_, ()> {
            self.gate.write().await
        }

        async fn store<R: AnalyticsRow + Into<AnyRow>>(&self, rows: Vec<R>) -> Result<u64> {
            let _open = self.gate.read().await;
            self.calls.lock().unwrap_or_else(|p| p.into_inner()).push((R::TABLE, rows.len()));
            if self.unavailable_next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
                return Err(Error::unavailable("test", "down for now"));
            }
            match *self.failing_table.lock().unwrap_or_else(|p| p.into_inner()) {
                Some((table, true)) if table == R::TABLE => return Err(Error::unavailable("test", "down")),
                Some((table, false)) if table == R::TABLE => return Err(Error::backend("test", "broken")),
                _ => {}
            }
            let n = rows.len() as u64;
            self.rows.lock().unwrap_or_else(|p| p.into_inner()).extend(rows.into_iter().map(Into::into));
            Ok(n)
        }
    }

    #[async_trait]
    impl AnalyticsWriter for Recording {
        async fn append_events(&self, rows: Vec<Event>) -> Result<u64> {
            self.store(rows).await
        }
        async fn append_metrics(&self, rows: Vec<Metric>) -> Result<u64> {
            self.store(rows).await
        }
        async fn append_performance(&self, rows: Vec<Performance>) -> Result<u64> {
            self.store(rows).await
        }
        async fn append_engagement(&self, rows: Vec<EngagementSnapshot>) -> Result<u64> {
            self.store(rows).await
        }
        async fn append_ai_metrics(&self, rows: Vec<AiMetric>) -> Result<u64> {
            self.store(rows).await
        }
        async fn append_costs(&self, rows: Vec<Cost>) -> Result<u64> {
            self.store(rows).await
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use chrono::Utc;
    use rust_decimal::Decimal;

    use super::testing::Recording;
    use super::*;
    use crate::ids::TeamId;

    fn event(team: TeamId, n: u64) -> Event {
        let mut e = Event::new(team, "post_published", Utc::now());
        e.event_data = serde_json::json!({ "n": n });
        e
    }

    fn cost(team: TeamId) -> Cost {
        Cost::new(team, "ai", Decimal::new(125, 2), "EUR", "2026-11", Utc::now())
    }

    fn buffer(config: BufferConfig) -> (Arc<Recording>, BufferedWriter) {
        let backend = Arc::new(Recording::default());
        let writer = BufferedWriter::spawn(backend.clone(), config);
        (backend, writer)
    }

    /// Let the background task run until it waits again (time is paused in these tests, so a
    /// short sleep runs every ready task first).
    async fn settle() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    fn accounted(s: BufferStats) -> u64 {
        s.written + s.dropped + s.failed_rows + s.queued
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_batch_is_written_without_waiting_for_the_interval() {
        let config = BufferConfig::default().with_max_batch_rows(5).with_flush_interval(Duration::from_secs(3600));
        let (backend, buffer) = buffer(config);
        let team = TeamId::new();
        for n in 0..12 {
            assert_eq!(buffer.record(event(team, n)).await.unwrap_or_else(|e| panic!("{e}")), RecordOutcome::Queued);
        }
        settle().await;
        assert_eq!(backend.calls(), [("events", 5), ("events", 5)]);
        let s = buffer.stats();
        assert_eq!((s.written, s.queued), (10, 2));
        buffer.shutdown().await;
        assert_eq!(backend.calls(), [("events", 5), ("events", 5), ("events", 2)]);
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_rows_are_written_on_the_interval() {
        let config = BufferConfig::default().with_max_batch_rows(100).with_flush_interval(Duration::from_secs(1));
        let (backend, buffer) = buffer(config);
        let team = TeamId::new();
        for n in 0..3 {
            buffer.record(event(team, n)).await.unwrap_or_else(|e| panic!("{e}"));
        }
        buffer.record(cost(team)).await.unwrap_or_else(|e| panic!("{e}"));
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert!(backend.calls().is_empty(), "nothing is written before the interval");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(backend.calls(), [("events", 3), ("costs", 1)]);
        assert_eq!(buffer.stats().written, 4);
        assert_eq!(buffer.stats().queued, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn flush_writes_everything_recorded_before_it() {
        let config = BufferConfig::default().with_flush_interval(Duration::from_secs(3600));
        let (backend, buffer) = buffer(config);
        let team = TeamId::new();
        let rows: Vec<Event> = (0..4).map(|n| event(team, n)).collect();
        for row in rows.clone() {
            buffer.record(row).await.unwrap_or_else(|e| panic!("{e}"));
        }
        buffer.flush().await;
        let stored = backend.rows();
        let expected: Vec<AnyRow> =
            rows.into_iter().map(|r| AnyRow::from(r).checked().unwrap_or_else(|e| panic!("{e}"))).collect();
        assert_eq!(stored, expected, "the rows as checked, in order");
    }

    #[tokio::test(start_paused = true)]
    async fn wait_blocks_while_full_and_resumes_when_rows_are_written() {
        let config = BufferConfig::default().with_capacity(2).with_max_batch_rows(1).with_overflow(Overflow::Wait);
        let (backend, buffer) = buffer(config);
        let team = TeamId::new();
        let gate = backend.hold().await;
        buffer.record(event(team, 0)).await.unwrap_or_else(|e| panic!("{e}"));
        buffer.record(event(team, 1)).await.unwrap_or_else(|e| panic!("{e}"));
        let third = tokio::spawn({
            let buffer = buffer.clone();
            async move { buffer.record(event(team, 2)).await }
        });
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(!third.is_finished(), "the third row waits for room");
        assert_eq!(buffer.stats().queued, 2);
        drop(gate);
        let outcome = third.await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(outcome, RecordOutcome::Queued);
        buffer.flush().await;
        assert_eq!(backend.rows().len(), 3);
        assert_eq!(buffer.stats().dropped, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn drop_newest_drops_and_counts_what_does_not_fit() {
        let config = BufferConfig::default().with_capacity(3).with_max_batch_rows(1);
        assert_eq!(config.overflow(), Overflow::DropNewest, "the default for hot paths");
        let (backend, buffer) = buffer(config);
        let team = TeamId::new();
        let gate = backend.hold().await;
        let mut outcomes = Vec::new();
        for n in 0..5 {
            outcomes.push(buffer.record(event(team, n)).await.unwrap_or_else(|e| panic!("{e}")));
        }
        outcomes.push(buffer.try_record(event(team, 5)).unwrap_or_else(|e| panic!("{e}")));
        use RecordOutcome::{Dropped, Queued};
        assert_eq!(outcomes, [Queued, Queued, Queued, Dropped, Dropped, Dropped]);
        assert_eq!(buffer.stats().dropped, 3);
        drop(gate);
        buffer.shutdown().await;
        let s = buffer.stats();
        assert_eq!((s.written, s.dropped, s.queued), (3, 3, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn try_record_never_waits_even_under_wait() {
        let config = BufferConfig::default().with_capacity(1).with_overflow(Overflow::Wait);
        let (backend, buffer) = buffer(config);
        let gate = backend.hold().await;
        let team = TeamId::new();
        assert_eq!(buffer.try_record(event(team, 0)).unwrap_or_else(|e| panic!("{e}")), RecordOutcome::Queued);
        assert_eq!(buffer.try_record(event(team, 1)).unwrap_or_else(|e| panic!("{e}")), RecordOutcome::Dropped);
        drop(gate);
        buffer.shutdown().await;
        assert_eq!(backend.rows().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_writes_everything_and_refuses_new_rows() {
        let config = BufferConfig::default().with_flush_interval(Duration::from_secs(3600));
        let (backend, buffer) = buffer(config);
        let team = TeamId::new();
        for n in 0..7 {
            buffer.record(event(team, n)).await.unwrap_or_else(|e| panic!("{e}"));
        }
        buffer.record(cost(team)).await.unwrap_or_else(|e| panic!("{e}"));
        let other = buffer.clone();
        buffer.shutdown().await;
        assert_eq!(backend.rows().len(), 8);
        let s = buffer.stats();
        assert_eq!((s.written, s.queued), (8, 0));
        // Every clone sees the end; a second shutdown returns at once.
        other.shutdown().await;
        let err = other.record(event(team, 8)).await.err().unwrap_or_else(|| panic!("accepted after shutdown"));
        assert_eq!(err.store(), Some(BUFFER_STORE));
        assert!(std::error::Error::source(&err).is_some_and(|s| s.is::<BufferClosed>()));
        assert!(other.try_record(event(team, 9)).is_err());
        other.flush().await;
        assert_eq!(backend.rows().len(), 8);
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_the_last_handle_writes_what_is_queued() {
        let config = BufferConfig::default().with_flush_interval(Duration::from_secs(3600));
        let (backend, buffer) = buffer(config);
        let team = TeamId::new();
        for n in 0..3 {
            buffer.record(event(team, n)).await.unwrap_or_else(|e| panic!("{e}"));
        }
        drop(buffer);
        settle().await;
        assert_eq!(backend.rows().len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_bad_row_is_refused_to_its_caller_and_spoils_no_batch() {
        let (backend, buffer) = buffer(BufferConfig::default());
        let team = TeamId::new();
        buffer.record(event(team, 0)).await.unwrap_or_else(|e| panic!("{e}"));
        let bad = Event::new(team, "", Utc::now());
        let err = buffer.record(bad.clone()).await.err().unwrap_or_else(|| panic!("blank event type accepted"));
        assert!(err.validation().is_some_and(|v| v.has("event_type", crate::validate::rule::REQUIRED)), "{err}");
        assert!(buffer.try_record(bad).is_err());
        buffer.record(event(team, 1)).await.unwrap_or_else(|e| panic!("{e}"));
        buffer.flush().await;
        assert_eq!(backend.calls(), [("events", 2)]);
        let s = buffer.stats();
        assert_eq!((s.written, s.refused, s.failed_rows), (2, 2, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn an_unavailable_backend_is_retried_with_backoff() {
        let config = BufferConfig::default().with_max_retries(3).with_retry_backoff(Duration::from_millis(100));
        let (backend, buffer) = buffer(config);
        backend.fail_next_unavailable(2);
        let team = TeamId::new();
        buffer.record(event(team, 0)).await.unwrap_or_else(|e| panic!("{e}"));
        let started = tokio::time::Instant::now();
        buffer.flush().await;
        assert_eq!(backend.calls().len(), 3, "two refusals, then the write");
        assert!(started.elapsed() >= Duration::from_millis(300), "100 ms, then 200 ms");
        let s = buffer.stats();
        assert_eq!((s.written, s.failed_batches, s.failed_rows), (1, 0, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_failing_for_good_is_counted_not_lost() {
        let config = BufferConfig::default().with_max_retries(2);
        let (backend, buffer) = buffer(config);
        backend.fail_table("costs", true);
        let team = TeamId::new();
        buffer.record(cost(team)).await.unwrap_or_else(|e| panic!("{e}"));
        buffer.record(cost(team)).await.unwrap_or_else(|e| panic!("{e}"));
        buffer.record(event(team, 0)).await.unwrap_or_else(|e| panic!("{e}"));
        buffer.flush().await;
        assert_eq!(backend.calls().iter().filter(|c| c.0 == "costs").count(), 3, "one try and two retries");
        let s = buffer.stats();
        assert_eq!((s.written, s.failed_batches, s.failed_rows, s.queued), (1, 1, 2, 0));

        // Not retryable: counted after one try.
        backend.fail_table("costs", false);
        buffer.record(cost(team)).await.unwrap_or_else(|e| panic!("{e}"));
        buffer.flush().await;
        assert_eq!(backend.calls().iter().filter(|c| c.0 == "costs").count(), 4);
        assert_eq!(buffer.stats().failed_batches, 2);
        assert_eq!(buffer.stats().failed_rows, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn the_counters_account_for_every_row() {
        let config = BufferConfig::default().with_capacity(5).with_max_retries(1);
        let (backend, buffer) = buffer(config);
        backend.fail_table("costs", false);
        let team = TeamId::new();
        let gate = backend.hold().await;
        let mut recorded = 0;
        for n in 0..4 {
            buffer.record(event(team, n)).await.unwrap_or_else(|e| panic!("{e}"));
            recorded += 1;
        }
        for _ in 0..3 {
            buffer.record(cost(team)).await.unwrap_or_else(|e| panic!("{e}"));
            recorded += 1;
        }
        let s = buffer.stats();
        assert_eq!((s.queued, s.dropped), (5, 2));
        assert_eq!(accounted(s), recorded);
        drop(gate);
        buffer.flush().await;
        let s = buffer.stats();
        assert_eq!((s.written, s.failed_rows, s.dropped, s.queued), (4, 1, 2, 0));
        assert_eq!(accounted(s), recorded);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn many_tasks_recording_at_once_lose_nothing_under_wait() {
        let config = BufferConfig::default()
            .with_capacity(16)
            .with_max_batch_rows(7)
            .with_flush_interval(Duration::from_millis(5))
            .with_overflow(Overflow::Wait);
        let (backend, buffer) = buffer(config);
        let team = TeamId::new();
        let tasks: Vec<_> = (0..8u64)
            .map(|t| {
                let buffer = buffer.clone();
                tokio::spawn(async move {
                    let mut ids = Vec::new();
                    for n in 0..250 {
                        let row = event(team, t * 1_000 + n);
                        ids.push(row.id);
                        let outcome = buffer.record(row).await.unwrap_or_else(|e| panic!("{e}"));
                        assert_eq!(outcome, RecordOutcome::Queued);
                    }
                    ids
                })
            })
            .collect();
        let mut sent = HashSet::new();
        for task in tasks {
            sent.extend(task.await.unwrap_or_else(|e| panic!("{e}")));
        }
        buffer.shutdown().await;
        let stored: HashSet<_> = backend
            .rows()
            .into_iter()
            .map(|r| match r {
                AnyRow::Event(e) => e.id,
                other => panic!("unexpected row {other:?}"),
            })
            .collect();
        assert_eq!(sent.len(), 2_000);
        assert_eq!(stored, sent);
        assert_eq!(backend.rows().len(), 2_000, "each row once");
        assert!(backend.calls().iter().all(|c| c.1 <= 7), "batches stay within the limit");
        let s = buffer.stats();
        assert_eq!((s.written, s.dropped, s.queued, s.failed_rows), (2_000, 0, 0, 0));
    }

    #[test]
    fn config_values_are_clamped() {
        let c = BufferConfig::default()
            .with_capacity(0)
            .with_max_batch_rows(0)
            .with_flush_interval(Duration::ZERO)
            .with_retry_backoff(Duration::from_secs(3_600));
        assert_eq!((c.capacity(), c.max_batch_rows()), (1, 1));
        assert_eq!(c.flush_interval(), Duration::from_millis(1));
        assert_eq!(c.retry_backoff(), MAX_RETRY_BACKOFF);
        let d = BufferConfig::default();
        assert_eq!((d.capacity(), d.max_batch_rows(), d.flush_interval()), (10_000, 1_000, Duration::from_secs(1)));
        assert_eq!(d.backoff(1), Duration::from_millis(100));
        assert_eq!(d.backoff(3), Duration::from_millis(400));
        assert_eq!(d.backoff(40), MAX_RETRY_BACKOFF);
    }
}
