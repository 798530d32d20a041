//! Key-value ports (Redis in production): sessions, caches, the job queue, rate limits and
//! temporary data. Every TTL is kept by the backend; an expired entry is never returned.

use async_trait::async_trait;
use chrono::Duration;

use crate::error::{Entity, Error, Result};
use crate::ids::{JobId, UserId};
use crate::model::*;

/// Sessions (`session:{id}`): who is signed in, until when, with a sliding expiry.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Create a session with a fresh random id; never overwrites an existing one.
    async fn create_session(&self, session: NewSession) -> Result<Session>;
    /// The session if it exists and has not expired; `None` otherwise (never an expired one).
    async fn get_session(&self, id: &SessionId) -> Result<Option<Session>>;
    /// Record activity and push the expiry to now + `ttl` (sliding expiry). `None` when the
    /// session is gone or expired.
    async fn touch_session(&self, id: &SessionId, ttl: Duration) -> Result<Option<Session>>;
    /// End a session; true when it existed.
    async fn delete_session(&self, id: &SessionId) -> Result<bool>;
    /// End every session of a user (password change, account lock); returns how many.
    async fn revoke_user_sessions(&self, user: UserId) -> Result<u64>;
}

/// A byte cache with TTLs, a per-key load lock (for stampede protection) and a per-key
/// generation (so a slow loader cannot store a value older than the last invalidation). Typed
/// access and get-or-load are in [`CacheExt`](crate::cache::CacheExt).
///
/// The generation lives in the backend next to the value (on Redis, in the same slot), so it
/// holds across processes: every [`delete`](Cache::delete) advances it, and
/// [`set_bytes_if_generation`](Cache::set_bytes_if_generation) stores only while it is
/// unchanged. A generation is kept for [`GENERATION_TTL_MS`](crate::cache::GENERATION_TTL_MS)
/// after the key's last delete, then reads as 0 again.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Cache: Send + Sync {
    /// The cached bytes, if present and not expired.
    async fn get_bytes(&self, key: &CacheKey) -> Result<Option<Vec<u8>>>;
    /// Store bytes for `ttl`, whatever the generation.
    async fn set_bytes(&self, key: &CacheKey, value: Vec<u8>, ttl: Duration) -> Result<()>;
    /// Remove a key's value and advance its generation, atomically; true when a value existed.
    async fn delete(&self, key: &CacheKey) -> Result<bool>;
    /// The key's generation: 0 until its first [`delete`](Cache::delete), then one more per
    /// delete; 0 again once [`GENERATION_TTL_MS`](crate::cache::GENERATION_TTL_MS) have passed
    /// since the last delete.
    async fn generation(&self, key: &CacheKey) -> Result<u64>;
    /// Store bytes for `ttl` only if the key's generation is still `generation` (read before
    /// loading the value), atomically; true when stored, false when a delete came in between.
    async fn set_bytes_if_generation(
        &self,
        key: &CacheKey,
        value: Vec<u8>,
        ttl: Duration,
        generation: u64,
    ) -> Result<bool>;
    /// Try to take the load lock of a key for `ttl`; returns a token when taken.
    async fn try_lock(&self, key: &CacheKey, ttl: Duration) -> Result<Option<String>>;
    /// Release a load lock if the token still holds it.
    async fn unlock(&self, key: &CacheKey, token: &str) -> Result<()>;
}

/// The most jobs one `reserve` or `requeue_expired` call moves between states (expired leases
/// back to ready, due delayed jobs to ready, old dead letters out), so one call does bounded
/// work however many jobs expired or came due at once; the rest move on the following calls,
/// oldest (earliest expiry or due time) first. Every backend applies the same bound.
pub const MAX_MOVED_PER_CALL: usize = 1000;

/// How long, and how many, dead letters a queue keeps (each may hold an 8 MiB payload, so they
/// must not pile up forever). Every backend applies it the same way:
/// - a dead letter is gone once `died_at + max_age <= now`: no longer listed, counted or
///   replayable, and its data is deleted by the next `fail`, `reserve` or `requeue_expired`
///   call on the queue (at most [`MAX_MOVED_PER_CALL`] per call);
/// - when a job dies and the queue then holds more than `max_count` dead letters, the oldest
///   are deleted at once.
///
/// Defaults: 7 days, 10,000 per queue. Build with [`Default`] and the `with_*` methods; the
/// backends check it ([`check`](Self::check)) when it is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeadLetterRetention {
    /// How long a dead letter is kept after its death (longer than zero).
    pub max_age: Duration,
    /// How many dead letters a queue keeps at most (1 to 1,000,000).
    pub max_count: u32,
}

impl Default for DeadLetterRetention {
    fn default() -> Self {
        Self { max_age: Duration::days(7), max_count: 10_000 }
    }
}

impl DeadLetterRetention {
    /// The most dead letters a queue may be set to keep.
    pub const MAX_COUNT: u32 = 1_000_000;

    /// The same retention with another maximum age.
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// The same retention with another maximum count.
    pub fn with_max_count(mut self, max_count: u32) -> Self {
        self.max_count = max_count;
        self
    }

    /// Check the rules: a positive age of at most 10 years, a count of 1 to [`Self::MAX_COUNT`].
    pub fn check(&self) -> std::result::Result<(), crate::Error> {
        use crate::validate::rule;
        if self.max_age <= Duration::zero() || self.max_age > Duration::days(3650) {
            return Err(crate::Error::invalid("max_age", rule::RANGE, "must be longer than zero and at most 10 years"));
        }
        if self.max_count == 0 || self.max_count > Self::MAX_COUNT {
            return Err(crate::Error::invalid("max_count", rule::RANGE, "must be between 1 and 1000000"));
        }
        Ok(())
    }
}

/// A reliable job queue: at-least-once delivery with visibility timeouts, retries with
/// backoff and dead letters, per named queue (`queue:{name}`).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Enqueue a job (ready now, or delayed).
    async fn enqueue(&self, queue: &QueueName, job: NewJob) -> Result<Enqueued>;
    /// Enqueue 1 to 1000 jobs in one call (a fan-out, an import), in order, each as
    /// [`enqueue`](Self::enqueue) would: one answer per job. A job whose idempotency key is
    /// remembered, or was given to an earlier job of the same batch, answers that job's id as a
    /// duplicate. The whole batch is checked first ([`check_jobs`]): one invalid job refuses
    /// it and nothing is enqueued. Never re-sent after a lost reply unless every job has an
    /// idempotency key.
    ///
    /// The default checks the batch, then runs `enqueue` on each job in turn.
    async fn enqueue_batch(&self, queue: &QueueName, jobs: Vec<NewJob>) -> Result<Vec<Enqueued>> {
        check_jobs(&jobs)?;
        let mut enqueued = Vec::with_capacity(jobs.len());
        for job in jobs {
            enqueued.push(self.enqueue(queue, job).await?);
        }
        Ok(enqueued)
    }
    /// Reserve the next ready job (highest priority, then oldest) until now + `visibility`.
    /// First makes ready up to [`MAX_MOVED_PER_CALL`] jobs whose lease expired and as many due
    /// delayed jobs (earliest first): after a mass expiry, a due job still waiting its turn to
    /// move may be passed by a ready job of lower priority.
    async fn reserve(&self, queue: &QueueName, worker: &WorkerId, visibility: Duration) -> Result<Option<Reserved>>;
    /// Reserve up to `max` ready jobs at once (1 to 1000), each under a lease of its own until
    /// now + `visibility`: the jobs `max` calls of [`reserve`](Self::reserve) would return, in
    /// the same order (highest priority, then oldest), after the same housekeeping, done once.
    /// Fewer (or none) when fewer are ready. Each job's lease is acked, failed or extended on
    /// its own. Like `reserve`, never re-sent after a lost reply.
    async fn reserve_batch(
        &self,
        queue: &QueueName,
        worker: &WorkerId,
        max: u32,
        visibility: Duration,
    ) -> Result<Vec<Reserved>>;
    /// Acknowledge a finished job; `InvalidState` when the lease was lost.
    async fn ack(&self, queue: &QueueName, lease: &JobLease) -> Result<()>;
    /// Acknowledge finished jobs at once (1 to 1000 leases, e.g. those of a
    /// [`reserve_batch`](Self::reserve_batch)): one answer per lease, in order, `true` when
    /// acked, `false` when its lease was lost (as [`ack`](Self::ack) would refuse it; a lease
    /// given twice is acked once). Fewer than 1 or more than 1000 leases are refused, and
    /// nothing is acked. Like `ack`, never re-sent after a lost reply.
    ///
    /// The default runs [`ack`](Self::ack) on each lease in turn.
    async fn ack_batch(&self, queue: &QueueName, leases: &[JobLease]) -> Result<Vec<bool>> {
        check_batch_len(leases.len())?;
        let mut acked = Vec::with_capacity(leases.len());
        for lease in leases {
            acked.push(match self.ack(queue, lease).await {
                Ok(()) => true,
                Err(Error::InvalidState { entity: Entity::Job, .. }) => false,
                Err(e) => return Err(e),
            });
        }
        Ok(acked)
    }
    /// Acknowledge a finished job, then reserve the next ready job as [`reserve`](Self::reserve)
    /// does: a worker's loop (finish one, take the next) in one call, so one round trip on a
    /// networked backend. When the lease was lost it fails with `InvalidState`, as `ack` does,
    /// and reserves nothing; a `visibility` outside 1 s to 1 day is refused before the ack.
    /// Like `reserve`, never re-sent after a lost reply.
    ///
    /// The default runs [`ack`](Self::ack) then [`reserve`](Self::reserve).
    async fn ack_and_reserve(
        &self,
        queue: &QueueName,
        lease: &JobLease,
        worker: &WorkerId,
        visibility: Duration,
    ) -> Result<Option<Reserved>> {
        check_visibility(visibility)?;
        self.ack(queue, lease).await?;
        self.reserve(queue, worker, visibility).await
    }
    /// Report a failed attempt: retried after a jittered exponential backoff, or dead-lettered
    /// with the error after the last attempt (then the [`DeadLetterRetention`] applies).
    async fn fail(&self, queue: &QueueName, lease: &JobLease, error: &str) -> Result<JobFailOutcome>;
    /// Extend a lease (heartbeat) to now + `visibility`.
    async fn extend(&self, queue: &QueueName, lease: &JobLease, visibility: Duration) -> Result<JobLease>;
    /// Make jobs whose lease expired ready again, at most [`MAX_MOVED_PER_CALL`] (earliest
    /// expiry first); returns how many. Call again while it returns the maximum.
    async fn requeue_expired(&self, queue: &QueueName) -> Result<u64>;
    /// Dead letters, oldest first (those past their [`DeadLetterRetention`] age are gone).
    async fn dead_letters(&self, queue: &QueueName, limit: u32) -> Result<Vec<DeadJob>>;
    /// Move a dead job back to ready with its attempts reset.
    async fn replay_dead(&self, queue: &QueueName, id: JobId) -> Result<()>;
    /// How many jobs the queue holds in each state (ready, delayed, in flight, dead).
    async fn counts(&self, queue: &QueueName) -> Result<QueueCounts>;
}

/// Rate limiting (GCRA).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Count one request of `subject` (a user id, an API key, any 1 to 1024 bytes) against the
    /// quota, and say whether it may go ahead.
    async fn check_rate(&self, subject: &str, quota: &Quota) -> Result<RateDecision>;
}

/// Temporary data with a TTL.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TempStore: Send + Sync {
    /// Store a value for `ttl`, replacing any earlier one.
    async fn put_temp(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<()>;
    /// The value, if present and not expired; `None` otherwise.
    async fn get_temp(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Get and delete atomically: of concurrent takers, one gets the value.
    async fn take_temp(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Store a value for `ttl` only when the key holds no live value (set-if-absent); true when
    /// stored. Of concurrent callers on one key, exactly one gets true. Used as a once-only
    /// marker, e.g. the webhook replay guard.
    async fn put_temp_if_absent(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<bool>;
    /// Delete; true when it existed.
    async fn delete_temp(&self, key: &str) -> Result<bool>;
}

/// Every key-value port at once: what a full key-value backend (Redis, `MemoryKv`) implements.
pub trait KvStores: SessionStore + Cache + JobQueue + RateLimiter + TempStore {}

impl<T> KvStores for T where T: SessionStore + Cache + JobQueue + RateLimiter + TempStore {}
