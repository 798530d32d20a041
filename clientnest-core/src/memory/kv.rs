//! The in-memory key-value backend: sessions, caches, the job queue, rate limits and temporary
//! data, with the semantics of the Redis adapter, on an injectable clock.

mod cache;
mod queue;
mod rate;
mod session;
mod temp;
mod ttl;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Duration, Utc};

use crate::clock::{SharedClock, system_clock};

/// Every key-value port ([`SessionStore`](crate::ports::SessionStore),
/// [`Cache`](crate::ports::Cache), [`JobQueue`](crate::ports::JobQueue),
/// [`RateLimiter`](crate::ports::RateLimiter), [`TempStore`](crate::ports::TempStore)) in
/// memory, behaving exactly as the Redis adapter does (the key-value conformance suite checks
/// both).
///
/// Clones share the same data; it is safe to use from many tasks and threads. Time comes from the
/// clock given at construction: an entry is dead from its deadline on (`expires_at <= now`) and
/// is never returned; dead entries are dropped on the next write.
///
/// ```
/// use std::sync::Arc;
/// use chrono::Duration;
/// use clientnest_core::prelude::*;
/// use clientnest_core::memory::MemoryKv;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let clock = ManualClock::starting_now();
/// let kv = MemoryKv::with_clock(Arc::new(clock.clone()));
///
/// let session = kv
///     .create_session(NewSession { user_id: UserId::new(), permissions: vec![], ttl: Duration::minutes(30) })
///     .await?;
/// assert!(kv.get_session(&session.id).await?.is_some());
/// clock.advance(Duration::minutes(31));
/// assert!(kv.get_session(&session.id).await?.is_none(), "expired on the clock");
///
/// kv.put_temp("otp", b"123456".to_vec(), Duration::minutes(5)).await?;
/// assert_eq!(kv.take_temp("otp").await?, Some(b"123456".to_vec()));
/// assert_eq!(kv.take_temp("otp").await?, None, "taken once");
/// # Ok::<(), clientnest_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct MemoryKv {
    inner: Arc<Inner>,
}

/// The shared state, one lock per port so the ports do not contend with each other.
struct Inner {
    clock: SharedClock,
    sessions: Mutex<session::Sessions>,
    cache: Mutex<cache::CacheState>,
    queues: Mutex<queue::Queues>,
    rates: Mutex<ttl::TtlMap<String, i64>>,
    temps: Mutex<ttl::TtlMap<String, Vec<u8>>>,
}

impl MemoryKv {
    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(system_clock())
    }

    /// An empty store on the given clock (e.g. a [`ManualClock`](crate::clock::ManualClock) in
    /// tests).
    pub fn with_clock(clock: SharedClock) -> Self {
        let inner = Inner {
            clock,
            sessions: Mutex::default(),
            cache: Mutex::default(),
            queues: Mutex::default(),
            rates: Mutex::default(),
            temps: Mutex::default(),
        };
        Self { inner: Arc::new(inner) }
    }

    /// The same store keeping dead letters by `retention` instead of the default (7 days,
    /// 10,000 per queue), for every queue; refused when the retention breaks its rules.
    pub fn with_dead_letter_retention(self, retention: crate::ports::DeadLetterRetention) -> crate::Result<Self> {
        retention.check()?;
        lock(&self.inner.queues).1 = retention;
        Ok(self)
    }

    /// The current time of the store's clock.
    fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }
}

impl Default for MemoryKv {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryKv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryKv").field("clock", &self.inner.clock).finish_non_exhaustive()
    }
}

/// Lock a port's state. A panic while holding a lock cannot leave a half-done write behind
/// (every write is a few infallible steps), so a poisoned lock is taken over.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `now + d`, saturating at the largest representable time instead of overflowing.
fn after(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    now.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A fresh random token (122 random bits, 32 hex characters) for locks and leases.
fn random_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
