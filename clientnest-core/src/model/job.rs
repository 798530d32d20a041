//! Jobs of the reliable queue (`queue:{name}` in Redis).

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::schedule::RetryPolicy;
use super::session::{MAX_VALUE_BYTES, check_key};
use crate::error::{Entity, Error};
use crate::ids::JobId;
use crate::validate::rule;

/// A queue's name: 1 to 64 characters `[A-Za-z0-9_.-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QueueName(String);

impl QueueName {
    /// Check and wrap a name: 1 to 64 bytes of `[A-Za-z0-9_.-]`, else [`rule::FORMAT`].
    pub fn new(name: impl Into<String>) -> Result<Self, Error> {
        let name = name.into();
        let ok = !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if ok {
            Ok(Self(name))
        } else {
            Err(Error::invalid("queue", rule::FORMAT, "must be 1 to 64 characters [A-Za-z0-9_.-]"))
        }
    }

    /// The name as given, 1 to 64 ASCII characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for QueueName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A job to enqueue; [`NewJob::check`] holds every rule.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// Opaque payload (any bytes, at most 8 MiB).
    pub payload: Vec<u8>,
    /// 0 to 9; higher runs first, ties in enqueue order.
    pub priority: u8,
    /// Run no earlier than this long from now.
    pub delay: Option<Duration>,
    /// Attempts and backoff (jittered between half and all of the computed delay).
    pub retry: RetryPolicy,
    /// A second enqueue with the same key, while the first job is known, is a no-op that
    /// returns the first job's id.
    pub idempotency_key: Option<String>,
}

impl NewJob {
    /// A job with priority 5, no delay, the default retry policy and no idempotency key.
    pub fn new(payload: impl Into<Vec<u8>>) -> Self {
        Self { payload: payload.into(), priority: 5, delay: None, retry: RetryPolicy::default(), idempotency_key: None }
    }

    /// Check the job: payload at most 8 MiB, priority 0 to 9, delay 0 to 366 days, a valid retry
    /// policy of at most 1000 attempts, and a well-formed idempotency key.
    pub fn check(&self) -> Result<(), Error> {
        if self.payload.len() > MAX_VALUE_BYTES {
            return Err(Error::invalid("payload", rule::MAX_LENGTH, "must be at most 8 MiB"));
        }
        if self.priority > 9 {
            return Err(Error::invalid("priority", rule::RANGE, "must be 0 to 9"));
        }
        if let Some(d) = self.delay
            && (d < Duration::zero() || d > Duration::days(366))
        {
            return Err(Error::invalid("delay", rule::RANGE, "must be 0 to 366 days"));
        }
        self.retry.check()?;
        if self.retry.max_attempts > 1000 {
            return Err(Error::invalid("retry_policy", rule::RANGE, "at most 1000 attempts"));
        }
        if let Some(k) = &self.idempotency_key {
            check_key("idempotency_key", k)?;
        }
        Ok(())
    }
}

/// The most payload bytes one batch of jobs may carry, all its jobs together (64 MiB).
pub const MAX_BATCH_PAYLOAD_BYTES: usize = 64 * 1024 * 1024;

/// Check a batch of jobs: 1 to 1000 of them, each valid ([`NewJob::check`]), with at most
/// [`MAX_BATCH_PAYLOAD_BYTES`] of payload in all.
pub fn check_jobs(jobs: &[NewJob]) -> Result<(), Error> {
    super::check_batch_len(jobs.len())?;
    let mut total = 0usize;
    for job in jobs {
        job.check()?;
        total = total.saturating_add(job.payload.len());
    }
    if total > MAX_BATCH_PAYLOAD_BYTES {
        return Err(Error::invalid("payload", rule::MAX_LENGTH, "a batch's payloads must be at most 64 MiB in all"));
    }
    Ok(())
}

/// A queued job as a worker sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The job's id, fixed at enqueue; the same on every attempt.
    pub id: JobId,
    /// The payload as enqueued, at most 8 MiB of opaque bytes.
    pub payload: Vec<u8>,
    /// Priority 0 to 9; higher runs first.
    pub priority: u8,
    /// Attempts started so far, this one included.
    pub attempt: u32,
    /// Retry policy given at enqueue; decides the backoff and when the job dies.
    pub retry: RetryPolicy,
    /// Enqueue time (UTC); kept across retries.
    pub enqueued_at: DateTime<Utc>,
    /// The previous attempt's error.
    pub last_error: Option<String>,
}

/// Proof of a reservation: only its holder can ack, fail or extend it, and only until the
/// lease is lost (expired and requeued).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobLease {
    /// The reserved job, with its id.
    pub job_id: JobId,
    /// Random token of this reservation.
    pub token: String,
    /// When the job becomes visible again unless acked or extended.
    pub expires_at: DateTime<Utc>,
}

/// Why an ack, fail or extend is refused: the lease no longer holds its job.
pub const LEASE_LOST: &str = "the lease is lost (acknowledged, failed, or expired and requeued)";

impl JobLease {
    /// The refusal of an ack, fail or extend whose lease no longer holds the job:
    /// `InvalidState` [`LEASE_LOST`], naming the job.
    pub fn lost(&self) -> Error {
        Error::InvalidState { entity: Entity::Job, id: self.job_id.to_string(), reason: LEASE_LOST }
    }

    /// `Ok` when the backend found the job still held by this lease (`held`), else
    /// [`JobLease::lost`].
    pub fn ensure_held(&self, held: bool) -> Result<(), Error> {
        if held { Ok(()) } else { Err(self.lost()) }
    }
}

/// A reserved job and its lease.
#[derive(Debug, Clone, PartialEq)]
pub struct Reserved {
    /// The reserved job, its `attempt` counting this reservation.
    pub job: Job,
    /// The lease proving the reservation; pass it to ack, fail or extend.
    pub lease: JobLease,
}

/// What an enqueue did: a new job, or the earlier one with the same idempotency key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    /// The job's id (the earlier job's, for a duplicate idempotency key).
    pub id: JobId,
    /// Whether an earlier job with the same idempotency key was found.
    pub duplicate: bool,
}

/// What a failure report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobFailOutcome {
    /// Delayed for another attempt.
    Retrying {
        /// When it is ready again (UTC): now plus the jittered backoff.
        at: DateTime<Utc>,
    },
    /// Out of attempts: moved to the dead letters.
    DeadLettered,
}

/// A dead job, with its last error.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadJob {
    /// The job as it was on its last attempt.
    pub job: Job,
    /// The error of its last attempt, as [`clip_error`] keeps it (at most 2000 characters).
    pub error: String,
    /// When it was moved to the dead letters (UTC).
    pub died_at: DateTime<Utc>,
}

/// How many jobs a queue holds in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueCounts {
    /// Ready to reserve now, their delay or backoff over.
    pub ready: u64,
    /// Waiting for a delay or backoff.
    pub delayed: u64,
    /// Reserved by a worker under a lease not yet acked or failed.
    pub in_flight: u64,
    /// Dead letters: out of attempts, kept with their last error.
    pub dead: u64,
}

/// The longest error message kept with a job or schedule; longer ones are cut at a character
/// boundary and marked with `…`.
pub const MAX_JOB_ERROR_CHARS: usize = 2000;

/// The form in which every backend keeps a worker's error message: at most
/// [`MAX_JOB_ERROR_CHARS`] characters (longer ones end in `…`), NUL bytes replaced by U+FFFD
/// (PostgreSQL text cannot hold NUL). A failure report is never refused for its message.
pub fn clip_error(e: &str) -> String {
    let e = e.replace('\0', "\u{FFFD}");
    if e.chars().count() <= MAX_JOB_ERROR_CHARS {
        e
    } else {
        let mut s: String = e.chars().take(MAX_JOB_ERROR_CHARS - 1).collect();
        s.push('…');
        s
    }
}

/// A visibility timeout between 1 second and 1 day.
pub fn check_visibility(v: Duration) -> Result<(), Error> {
    if v < Duration::seconds(1) || v > Duration::days(1) {
        return Err(Error::invalid("visibility_timeout", rule::RANGE, "must be 1 second to 1 day"));
    }
    Ok(())
}
