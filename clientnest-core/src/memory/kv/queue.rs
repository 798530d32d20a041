//! The reliable job queue in memory: per queue, the jobs and one ordered index per state.
//!
//! Rules (the same as the Redis adapter's, checked by the conformance suite):
//! - ready jobs are reserved highest priority first, then in enqueue order;
//! - a delayed job (or a retry waiting for its backoff) is due at `at <= now` and counts as
//!   ready from then on; `reserve` promotes due jobs first, at most
//!   [`MAX_MOVED_PER_CALL`] per call (as it requeues expired leases);
//! - a lease is lost when it expired (`expires_at <= now`) and the job was requeued, by
//!   [`JobQueue::requeue_expired`] or by any `reserve` on the queue; a requeued job keeps its
//!   attempt count and its place in enqueue order;
//! - a failed attempt is retried after `retry.delay_after(attempt)` jittered uniformly in
//!   `[delay / 2, delay]` (microsecond steps), unless it was the last one: then the job is dead
//!   with the clipped error;
//! - an idempotency key is remembered for 24 hours from its enqueue, whatever the job's fate;
//! - dead letters follow the store's [`DeadLetterRetention`] (by age and by count): those past
//!   the age are never listed, counted or replayed, and are deleted when another job dies and
//!   by `requeue_expired`.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rand::Rng;

use super::ttl::TtlMap;
use super::{MemoryKv, after, lock, random_token};
use crate::error::{Entity, Error, Result};
use crate::ids::JobId;
use crate::model::{
    DeadJob, Enqueued, Job, JobFailOutcome, JobLease, NewJob, QueueCounts, QueueName, Reserved, RetryPolicy, WorkerId,
    check_batch, check_batch_len, check_jobs, check_visibility, clip_error,
};
use crate::ports::{DeadLetterRetention, JobQueue, MAX_MOVED_PER_CALL};

/// How long an idempotency key is remembered after its enqueue.
const IDEMPOTENCY_WINDOW_HOURS: i64 = 24;

/// Every queue by name, and the dead-letter retention they share.
#[derive(Debug, Default)]
pub(super) struct Queues(HashMap<QueueName, QueueState>, pub(super) DeadLetterRetention);

/// Where a job is: ready, delayed, in flight under a lease, or dead.
#[derive(Debug, Clone)]
enum State {
    Ready,
    Delayed { at: DateTime<Utc> },
    InFlight { token: String, expires_at: DateTime<Utc> },
    Dead { error: String, died_at: DateTime<Utc> },
}

/// A job with its enqueue sequence number and state.
#[derive(Debug)]
struct Stored {
    job: Job,
    seq: u64,
    state: State,
}

/// One queue: the jobs, an ordered index per state, and the idempotency keys.
#[derive(Debug, Default)]
struct QueueState {
    jobs: HashMap<JobId, Stored>,
    ready: BTreeSet<(Reverse<u8>, u64, JobId)>,
    delayed: BTreeSet<(DateTime<Utc>, u64, JobId)>,
    in_flight: BTreeSet<(DateTime<Utc>, JobId)>,
    dead: BTreeSet<(DateTime<Utc>, u64, JobId)>,
    idempotency: TtlMap<String, JobId>,
    next_seq: u64,
}

impl QueueState {
    /// Add a new job in the given state.
    fn add(&mut self, job: Job, state: State) {
        let id = job.id;
        let seq = self.next_seq;
        self.next_seq += 1;
        self.jobs.insert(id, Stored { job, seq, state });
        self.index(id);
    }

    /// Move a job to another state, keeping the indexes in step.
    fn set_state(&mut self, id: JobId, state: State) {
        self.unindex(id);
        if let Some(stored) = self.jobs.get_mut(&id) {
            stored.state = state;
        }
        self.index(id);
    }

    /// Forget a job entirely: its index entries and its data.
    fn remove(&mut self, id: JobId) {
        self.unindex(id);
        self.jobs.remove(&id);
    }

    /// Enter a job in the index of its state.
    fn index(&mut self, id: JobId) {
        let Some(s) = self.jobs.get(&id) else { return };
        match &s.state {
            State::Ready => self.ready.insert((Reverse(s.job.priority), s.seq, id)),
            State::Delayed { at } => self.delayed.insert((*at, s.seq, id)),
            State::InFlight { expires_at, .. } => self.in_flight.insert((*expires_at, id)),
            State::Dead { died_at, .. } => self.dead.insert((*died_at, s.seq, id)),
        };
    }

    /// Take a job out of the index of its state.
    fn unindex(&mut self, id: JobId) {
        let Some(s) = self.jobs.get(&id) else { return };
        match &s.state {
            State::Ready => self.ready.remove(&(Reverse(s.job.priority), s.seq, id)),
            State::Delayed { at } => self.delayed.remove(&(*at, s.seq, id)),
            State::InFlight { expires_at, .. } => self.in_flight.remove(&(*expires_at, id)),
            State::Dead { died_at, .. } => self.dead.remove(&(*died_at, s.seq, id)),
        };
    }

    /// Make delayed jobs due at `now` ready, at most [`MAX_MOVED_PER_CALL`] (earliest first).
    fn promote_due(&mut self, now: DateTime<Utc>) {
        let due: Vec<JobId> = self
            .delayed
            .iter()
            .take_while(|(at, ..)| *at <= now)
            .take(MAX_MOVED_PER_CALL)
            .map(|(.., id)| *id)
            .collect();
        for id in due {
            self.set_state(id, State::Ready);
        }
    }

    /// Make in-flight jobs whose lease expired at `now` ready, at most [`MAX_MOVED_PER_CALL`]
    /// (earliest expiry first); returns how many.
    fn requeue_expired(&mut self, now: DateTime<Utc>) -> u64 {
        let expired: Vec<JobId> = self
            .in_flight
            .iter()
            .take_while(|(at, _)| *at <= now)
            .take(MAX_MOVED_PER_CALL)
            .map(|(_, id)| *id)
            .collect();
        for id in &expired {
            self.set_state(*id, State::Ready);
        }
        u64::try_from(expired.len()).unwrap_or(u64::MAX)
    }

    /// The oldest death time a dead letter may have at `now` and still be kept.
    fn dead_cutoff(now: DateTime<Utc>, retention: &DeadLetterRetention) -> DateTime<Utc> {
        now.checked_sub_signed(retention.max_age).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// Delete dead letters past their age (at most [`MAX_MOVED_PER_CALL`]), then, the oldest
    /// beyond the count (as many).
    fn trim_dead(&mut self, now: DateTime<Utc>, retention: &DeadLetterRetention) {
        let cutoff = Self::dead_cutoff(now, retention);
        let old: Vec<JobId> = self
            .dead
            .iter()
            .take_while(|(died, ..)| *died <= cutoff)
            .take(MAX_MOVED_PER_CALL)
            .map(|(.., id)| *id)
            .collect();
        for id in old {
            self.remove(id);
        }
        let max = usize::try_from(retention.max_count).unwrap_or(usize::MAX);
        let excess = self.dead.len().saturating_sub(max).min(MAX_MOVED_PER_CALL);
        let oldest: Vec<JobId> = self.dead.iter().take(excess).map(|(.., id)| *id).collect();
        for id in oldest {
            self.remove(id);
        }
    }

    /// Reserve the first ready job until `expires_at`.
    /// Enqueue a checked job at `now`, or answer the job its idempotency key names.
    fn enqueue(&mut self, job: NewJob, now: DateTime<Utc>) -> Enqueued {
        self.idempotency.purge(now);
        if let Some(&id) = job.idempotency_key.as_deref().and_then(|key| self.idempotency.get(key, now)) {
            return Enqueued { id, duplicate: true };
        }
        let key = job.idempotency_key.clone();
        let state = match job.delay {
            Some(d) if d > Duration::zero() => State::Delayed { at: after(now, d) },
            _ => State::Ready,
        };
        let stored = new_job(job, now);
        let id = stored.id;
        self.add(stored, state);
        if let Some(key) = key {
            self.idempotency.insert(key, id, after(now, Duration::hours(IDEMPOTENCY_WINDOW_HOURS)));
        }
        Enqueued { id, duplicate: false }
    }

    /// Forget the job `lease` holds; the lease's loss otherwise.
    fn ack(&mut self, lease: &JobLease) -> Result<()> {
        self.leased(lease)?;
        self.remove(lease.job_id);
        Ok(())
    }

    /// Bring back expired leases and due jobs, then take the next ready job until `expires_at`.
    fn reserve_after_housekeeping(&mut self, now: DateTime<Utc>, expires_at: DateTime<Utc>) -> Option<Reserved> {
        self.requeue_expired(now);
        self.promote_due(now);
        self.reserve_next(expires_at)
    }

    fn reserve_next(&mut self, expires_at: DateTime<Utc>) -> Option<Reserved> {
        let &(_, _, id) = self.ready.first()?;
        let token = random_token();
        self.set_state(id, State::InFlight { token: token.clone(), expires_at });
        let stored = self.jobs.get_mut(&id)?;
        stored.job.attempt = stored.job.attempt.saturating_add(1);
        Some(Reserved { job: stored.job.clone(), lease: JobLease { job_id: id, token, expires_at } })
    }

    /// The job a lease holds, if the lease still holds it.
    fn leased(&self, lease: &JobLease) -> Result<&Stored> {
        match self.jobs.get(&lease.job_id) {
            Some(s) if matches!(&s.state, State::InFlight { token, .. } if *token == lease.token) => Ok(s),
            _ => Err(lease.lost()),
        }
    }

    /// How many jobs each state holds at `now` (due delayed jobs count as ready, dead letters
    /// past their age do not count).
    fn counts(&self, now: DateTime<Utc>, retention: &DeadLetterRetention) -> QueueCounts {
        let due = self.delayed.iter().take_while(|(at, ..)| *at <= now).count();
        let cutoff = Self::dead_cutoff(now, retention);
        let expired_dead = self.dead.iter().take_while(|(died, ..)| *died <= cutoff).count();
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        QueueCounts {
            ready: count(self.ready.len() + due),
            delayed: count(self.delayed.len() - due),
            in_flight: count(self.in_flight.len()),
            dead: count(self.dead.len() - expired_dead),
        }
    }
}

/// The wait before retrying a job whose attempt number `attempt` failed:
/// `retry.delay_after(attempt)` jittered uniformly in `[delay / 2, delay]`, so jobs that failed
/// together do not all come back at once.
fn jittered_backoff(retry: &RetryPolicy, attempt: u32) -> Duration {
    let full = retry.delay_after(attempt).num_microseconds().unwrap_or(i64::MAX).max(0);
    Duration::microseconds(rand::thread_rng().gen_range(full / 2..=full))
}

/// A job as first stored: a fresh id, no attempt yet, enqueued at `now`.
fn new_job(job: NewJob, now: DateTime<Utc>) -> Job {
    Job {
        id: JobId::new(),
        payload: job.payload,
        priority: job.priority,
        attempt: 0,
        retry: job.retry,
        enqueued_at: now,
        last_error: None,
    }
}

#[async_trait]
impl JobQueue for MemoryKv {
    async fn enqueue(&self, queue: &QueueName, job: NewJob) -> Result<Enqueued> {
        job.check()?;
        let now = self.now();
        let mut queues = lock(&self.inner.queues);
        Ok(queues.0.entry(queue.clone()).or_default().enqueue(job, now))
    }

    async fn enqueue_batch(&self, queue: &QueueName, jobs: Vec<NewJob>) -> Result<Vec<Enqueued>> {
        check_jobs(&jobs)?;
        let now = self.now();
        let mut queues = lock(&self.inner.queues);
        let q = queues.0.entry(queue.clone()).or_default();
        Ok(jobs.into_iter().map(|job| q.enqueue(job, now)).collect())
    }

    async fn reserve(&self, queue: &QueueName, worker: &WorkerId, visibility: Duration) -> Result<Option<Reserved>> {
        check_visibility(visibility)?;
        let now = self.now();
        let mut queues = lock(&self.inner.queues);
        let Some(q) = queues.0.get_mut(queue) else { return Ok(None) };
        let reserved = q.reserve_after_housekeeping(now, after(now, visibility));
        if let Some(r) = &reserved {
            tracing::trace!(queue = %queue, worker = %worker, job = %r.job.id, attempt = r.job.attempt, "reserved");
        }
        Ok(reserved)
    }

    async fn reserve_batch(
        &self,
        queue: &QueueName,
        worker: &WorkerId,
        max: u32,
        visibility: Duration,
    ) -> Result<Vec<Reserved>> {
        check_batch(max)?;
        check_visibility(visibility)?;
        let now = self.now();
        let mut queues = lock(&self.inner.queues);
        let Some(q) = queues.0.get_mut(queue) else { return Ok(Vec::new()) };
        q.requeue_expired(now);
        q.promote_due(now);
        let expires_at = after(now, visibility);
        let reserved: Vec<Reserved> = (0..max).map_while(|_| q.reserve_next(expires_at)).collect();
        tracing::trace!(queue = %queue, worker = %worker, jobs = reserved.len(), "reserved a batch");
        Ok(reserved)
    }

    async fn ack(&self, queue: &QueueName, lease: &JobLease) -> Result<()> {
        let mut queues = lock(&self.inner.queues);
        queues.0.get_mut(queue).ok_or_else(|| lease.lost())?.ack(lease)
    }

    async fn ack_batch(&self, queue: &QueueName, leases: &[JobLease]) -> Result<Vec<bool>> {
        check_batch_len(leases.len())?;
        let mut queues = lock(&self.inner.queues);
        let Some(q) = queues.0.get_mut(queue) else { return Ok(vec![false; leases.len()]) };
        Ok(leases.iter().map(|lease| q.ack(lease).is_ok()).collect())
    }

    async fn ack_and_reserve(
        &self,
        queue: &QueueName,
        lease: &JobLease,
        worker: &WorkerId,
        visibility: Duration,
    ) -> Result<Option<Reserved>> {
        check_visibility(visibility)?;
        let now = self.now();
        let mut queues = lock(&self.inner.queues);
        let q = queues.0.get_mut(queue).ok_or_else(|| lease.lost())?;
        q.ack(lease)?;
        let reserved = q.reserve_after_housekeeping(now, after(now, visibility));
        if let Some(r) = &reserved {
            tracing::trace!(queue = %queue, worker = %worker, job = %r.job.id, attempt = r.job.attempt, "reserved");
        }
        Ok(reserved)
    }

    async fn fail(&self, queue: &QueueName, lease: &JobLease, error: &str) -> Result<JobFailOutcome> {
        let now = self.now();
        let mut queues = lock(&self.inner.queues);
        let retention = queues.1;
        let q = queues.0.get_mut(queue).ok_or_else(|| lease.lost())?;
        let (attempt, retry) = {
            let stored = q.leased(lease)?;
            (stored.job.attempt, stored.job.retry)
        };
        let error = clip_error(error);
        if let Some(stored) = q.jobs.get_mut(&lease.job_id) {
            stored.job.last_error = Some(error.clone());
        }
        if attempt >= retry.max_attempts {
            q.set_state(lease.job_id, State::Dead { error, died_at: now });
            q.trim_dead(now, &retention);
            return Ok(JobFailOutcome::DeadLettered);
        }
        let at = after(now, jittered_backoff(&retry, attempt));
        let state = if at <= now { State::Ready } else { State::Delayed { at } };
        q.set_state(lease.job_id, state);
        Ok(JobFailOutcome::Retrying { at })
    }

    async fn extend(&self, queue: &QueueName, lease: &JobLease, visibility: Duration) -> Result<JobLease> {
        check_visibility(visibility)?;
        let now = self.now();
        let mut queues = lock(&self.inner.queues);
        let q = queues.0.get_mut(queue).ok_or_else(|| lease.lost())?;
        q.leased(lease)?;
        let expires_at = after(now, visibility);
        q.set_state(lease.job_id, State::InFlight { token: lease.token.clone(), expires_at });
        Ok(JobLease { job_id: lease.job_id, token: lease.token.clone(), expires_at })
    }

    async fn requeue_expired(&self, queue: &QueueName) -> Result<u64> {
        let now = self.now();
        let mut queues = lock(&self.inner.queues);
        let retention = queues.1;
        Ok(queues.0.get_mut(queue).map_or(0, |q| {
            q.trim_dead(now, &retention);
            q.requeue_expired(now)
        }))
    }

    async fn dead_letters(&self, queue: &QueueName, limit: u32) -> Result<Vec<DeadJob>> {
        check_batch(limit)?;
        let now = self.now();
        let queues = lock(&self.inner.queues);
        let cutoff = QueueState::dead_cutoff(now, &queues.1);
        let Some(q) = queues.0.get(queue) else { return Ok(Vec::new()) };
        let take = usize::try_from(limit).unwrap_or(usize::MAX);
        let dead =
            q.dead.iter().filter(|(died, ..)| *died > cutoff).filter_map(|(.., id)| q.jobs.get(id)).filter_map(|s| {
                match &s.state {
                    State::Dead { error, died_at } => {
                        Some(DeadJob { job: s.job.clone(), error: error.clone(), died_at: *died_at })
                    }
                    _ => None,
                }
            });
        Ok(dead.take(take).collect())
    }

    async fn replay_dead(&self, queue: &QueueName, id: JobId) -> Result<()> {
        let now = self.now();
        let mut queues = lock(&self.inner.queues);
        let cutoff = QueueState::dead_cutoff(now, &queues.1);
        let q = queues.0.get_mut(queue).ok_or_else(|| Error::not_found(Entity::Job, id))?;
        match q.jobs.get_mut(&id) {
            Some(stored) if matches!(stored.state, State::Dead { died_at, .. } if died_at > cutoff) => {
                stored.job.attempt = 0;
            }
            _ => return Err(Error::not_found(Entity::Job, id)),
        }
        q.set_state(id, State::Ready);
        Ok(())
    }

    async fn counts(&self, queue: &QueueName) -> Result<QueueCounts> {
        let now = self.now();
        let queues = lock(&self.inner.queues);
        Ok(queues.0.get(queue).map_or_else(QueueCounts::default, |q| q.counts(now, &queues.1)))
    }
}
