//! [`JobQueue`] on Redis: a reliable queue with at-least-once delivery.
//!
//! Per queue, all in the queue's slot: a ready zset scored by priority then enqueue order, a
//! delayed zset by due time, an in-flight zset by lease expiry, a dead zset by death time, one
//! hash of job data, a sequence counter and the idempotency keys (kept 24 hours). Every state
//! change is one script, so a job is always in exactly one of the four sets: a worker that dies
//! holding a job only delays it until its lease expires, and the next `reserve` (or
//! `requeue_expired`) makes it ready again.
//!
//! The hot path is lean, as each call inside a script costs the server more than the same
//! command sent alone: a cycle (enqueue, reserve, ack) makes 12 calls in three scripts, or in
//! two with [`ack_and_reserve`](JobQueue::ack_and_reserve). A job in flight is the member
//! `<id>|<token>` of the in-flight zset, so that member alone proves the lease (ack, fail and
//! extend remove or look it up) and a reserve writes nothing to the job's data. A job is at most
//! three fields of the hash: `<id>:d`, written once at enqueue, `<ready score>|<enqueued
//! µs>|<priority and retry policy>|<payload>` (the policy stored once, read by `fail`); `<id>:a`,
//! the attempts that ended without an ack (written by `fail` and when a lease expires, absent
//! before); `<id>:e`, the last error. A job's `enqueued_at` is the enqueuing process's clock;
//! due times and lease expiries are the server's (`TIME`).

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeDelta, Utc};
use clientnest_core::ids::JobId;
use clientnest_core::model::{
    DeadJob, Enqueued, Job, JobFailOutcome, JobLease, NewJob, QueueCounts, QueueName, Reserved, RetryPolicy, WorkerId,
    check_batch, check_batch_len, check_jobs, check_visibility, clip_error,
};
use clientnest_core::ports::{JobQueue, MAX_MOVED_PER_CALL};
use clientnest_core::{Entity, Error, Result};

use crate::cache::random_token;
use crate::error::{bad_data, bad_reply};
use crate::keys::QueueKeys;
use crate::scripts::{
    QUEUE_ACK, QUEUE_ACK_BATCH, QUEUE_ACK_RESERVE, QUEUE_COUNTS, QUEUE_DEAD_LETTERS, QUEUE_ENQUEUE,
    QUEUE_ENQUEUE_BATCH, QUEUE_EXTEND, QUEUE_FAIL, QUEUE_REPLAY, QUEUE_REQUEUE, QUEUE_RESERVE, QUEUE_RESERVE_BATCH,
};
use crate::store::RedisKv;
use crate::time::{from_micros, micros, parse_micros};

/// How long an idempotency key is remembered after its enqueue, in ms (24 hours).
const IDEMPOTENCY_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// The fields of a job that never change, as stored: `priority|max_attempts|base s|base ns|max s|max ns`.
fn encode_fixed(priority: u8, retry: &RetryPolicy) -> String {
    format!(
        "{priority}|{}|{}|{}|{}|{}",
        retry.max_attempts,
        retry.base_delay.num_seconds(),
        retry.base_delay.subsec_nanos(),
        retry.max_delay.num_seconds(),
        retry.max_delay.subsec_nanos()
    )
}

/// A job's enqueue time (µs) and fixed fields, as the enqueue scripts store them:
/// `<enqueued µs>|<fixed fields>` ([`encode_fixed`]).
fn enqueued_fields(now: DateTime<Utc>, job: &NewJob) -> String {
    format!("{}|{}", now.timestamp_micros(), encode_fixed(job.priority, &job.retry))
}

/// The priority and retry policy back from [`encode_fixed`].
fn decode_fixed(s: &str) -> Result<(u8, RetryPolicy)> {
    let bad = || bad_data("job fields");
    let parts: Vec<&str> = s.split('|').collect();
    let [priority, attempts, base_s, base_ns, max_s, max_ns] = parts.as_slice() else {
        return Err(bad());
    };
    let duration = |secs: &str, nanos: &str| -> Result<Duration> {
        TimeDelta::new(secs.parse().map_err(|_| bad())?, nanos.parse().map_err(|_| bad())?).ok_or_else(bad)
    };
    let retry = RetryPolicy {
        max_attempts: attempts.parse().map_err(|_| bad())?,
        base_delay: duration(base_s, base_ns)?,
        max_delay: duration(max_s, max_ns)?,
    };
    Ok((priority.parse().map_err(|_| bad())?, retry))
}

/// A job id from its stored text.
fn parse_id(s: &str) -> Result<JobId> {
    s.parse().map_err(|_| bad_data("job id is not a uuid"))
}

/// Text from stored bytes; bytes that are not UTF-8 are a backend error (bad data).
fn text(bytes: &[u8]) -> Result<&str> {
    std::str::from_utf8(bytes).map_err(|_| bad_data("stored text is not UTF-8"))
}

/// A job's data field (`<id>:d`, written once by `queue_enqueue.lua`):
/// `<ready score>|<enqueued µs>|<fixed fields>|<payload>`, the fixed fields being six
/// `|`-separated parts (see [`encode_fixed`]); the payload, last, may hold any byte.
fn job_from_data(id: JobId, data: &[u8], attempt: u32, last_error: Option<String>) -> Result<Job> {
    // The header is the text before the eighth `|`.
    let bad = || bad_data("job data");
    let mut bars = data.iter().enumerate().filter(|(_, b)| **b == b'|').map(|(i, _)| i);
    let (after_score, after_enqueued) = (bars.next().ok_or_else(bad)?, bars.next().ok_or_else(bad)?);
    let end = bars.nth(5).ok_or_else(bad)?;
    let header = text(&data[..end])?;
    let (priority, retry) = decode_fixed(&header[after_enqueued + 1..])?;
    Ok(Job {
        id,
        payload: data[end + 1..].to_vec(),
        priority,
        attempt,
        retry,
        enqueued_at: parse_micros(&header[after_score + 1..after_enqueued])?,
        last_error,
    })
}

/// The reply of `queue_reserve.lua`: id, data, attempt, last error, lease expiry.
type ReserveReply = Option<(String, Vec<u8>, u32, Option<String>, i64)>;

/// A call of a script that reserves after `queue_lib.lua`'s housekeeping: the queue's ready,
/// delayed, in-flight and job keys, then the visibility, the new lease's token and the most
/// jobs to move (the script's own arguments follow).
fn reserving<'a>(
    script: &'a redis::Script,
    keys: &QueueKeys,
    visibility: Duration,
    token: &str,
) -> redis::ScriptInvocation<'a> {
    let mut call = script.key(keys.ready());
    call.key(keys.delayed()).key(keys.inflight()).key(keys.jobs());
    call.arg(micros(visibility)).arg(token).arg(MAX_MOVED_PER_CALL);
    call
}

/// The job a reserve script took, under the lease `token`.
fn decode_reserve(reply: ReserveReply, token: String) -> Result<Option<Reserved>> {
    let Some((id, data, attempt, last_error, expires_us)) = reply else {
        return Ok(None);
    };
    let job_id = parse_id(&id)?;
    let job = job_from_data(job_id, &data, attempt, last_error)?;
    Ok(Some(Reserved { job, lease: JobLease { job_id, token, expires_at: from_micros(expires_us)? } }))
}

/// One dead letter from five fields of `queue_dead_letters.lua`.
fn decode_dead(row: &[Option<Vec<u8>>]) -> Result<DeadJob> {
    let field = |i: usize| row.get(i).and_then(Option::as_deref).ok_or_else(|| bad_reply("dead letter field"));
    let died: f64 = text(field(1)?)?.parse().map_err(|_| bad_data("dead letter score"))?;
    let error = text(field(4)?)?.to_owned();
    let attempt = text(field(3)?)?.parse().map_err(|_| bad_data("job attempt"))?;
    let job = job_from_data(parse_id(text(field(0)?)?)?, field(2)?, attempt, Some(error.clone()))?;
    // Scores are integers below 2^53: the cast is exact.
    Ok(DeadJob { job, error, died_at: from_micros(died as i64)? })
}

/// One reserved job from four fields of `queue_reserve_batch.lua` (id, data, attempt, last
/// error), under the lease `token` until `expires_at`.
fn decode_reserved(row: &[Option<Vec<u8>>], token: String, expires_at: DateTime<Utc>) -> Result<Reserved> {
    let field = |i: usize| row.get(i).and_then(Option::as_deref).ok_or_else(|| bad_reply("reserved job field"));
    let last_error = match row.get(3) {
        Some(Some(e)) => Some(text(e)?.to_owned()),
        Some(None) => None,
        None => return Err(bad_reply("reserved job field")),
    };
    let job_id = parse_id(text(field(0)?)?)?;
    let attempt = text(field(2)?)?.parse().map_err(|_| bad_data("job attempt"))?;
    let job = job_from_data(job_id, field(1)?, attempt, last_error)?;
    Ok(Reserved { job, lease: JobLease { job_id, token, expires_at } })
}

impl RedisKv {
    /// The dead-letter retention age in µs.
    fn dead_age_us(&self) -> i64 {
        micros(self.dead_letter_retention().max_age)
    }

    /// Run a lease-checked script returning `{status, µs}`; a status of 0 is a lost lease.
    /// `resend` says whether the script is safe to run twice (see [`RedisKv`]'s table).
    async fn leased_call(
        &self,
        lease: &JobLease,
        call: &redis::ScriptInvocation<'_>,
        resend: bool,
    ) -> Result<(i64, DateTime<Utc>)> {
        let (status, at): (i64, Option<i64>) =
            if resend { self.eval_retried(call).await? } else { self.eval_once(call).await? };
        lease.ensure_held(status != 0)?;
        Ok((status, from_micros(at.ok_or_else(|| bad_reply("lease script time"))?)?))
    }
}

#[async_trait]
impl JobQueue for RedisKv {
    #[tracing::instrument(level = "debug", skip_all, fields(queue = %queue))]
    async fn enqueue(&self, queue: &QueueName, job: NewJob) -> Result<Enqueued> {
        job.check()?;
        let keys = self.keys().queue(queue);
        let id = JobId::new();
        let mut call = QUEUE_ENQUEUE.key(keys.ready());
        call.key(keys.delayed()).key(keys.jobs()).key(keys.seq());
        if let Some(k) = &job.idempotency_key {
            call.key(keys.idempotency(k));
        }
        call.arg(id.to_string())
            .arg(&job.payload)
            .arg(job.priority)
            .arg(job.delay.map_or(0, micros).max(0))
            .arg(enqueued_fields(Utc::now(), &job))
            .arg(IDEMPOTENCY_WINDOW_MS);
        // With an idempotency key a second run returns the first job: safe to re-send.
        let (stored_id, duplicate): (String, i64) =
            if job.idempotency_key.is_some() { self.eval_retried(&call).await? } else { self.eval_once(&call).await? };
        Ok(Enqueued { id: parse_id(&stored_id)?, duplicate: duplicate == 1 })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(queue = %queue, jobs = jobs.len()))]
    async fn enqueue_batch(&self, queue: &QueueName, jobs: Vec<NewJob>) -> Result<Vec<Enqueued>> {
        check_jobs(&jobs)?;
        let keys = self.keys().queue(queue);
        let mut call = QUEUE_ENQUEUE_BATCH.key(keys.ready());
        call.key(keys.delayed()).key(keys.jobs()).key(keys.seq()).arg(IDEMPOTENCY_WINDOW_MS);
        let now = Utc::now();
        for job in &jobs {
            if let Some(k) = &job.idempotency_key {
                call.key(keys.idempotency(k));
            }
            call.arg(JobId::new().to_string())
                .arg(&job.payload)
                .arg(job.priority)
                .arg(job.delay.map_or(0, micros).max(0))
                .arg(enqueued_fields(now, job))
                .arg(u8::from(job.idempotency_key.is_some()));
        }
        // When every job has an idempotency key a second run answers the first's jobs.
        let resend = jobs.iter().all(|job| job.idempotency_key.is_some());
        let flat: Vec<String> = if resend { self.eval_retried(&call).await? } else { self.eval_once(&call).await? };
        if flat.len() != 2 * jobs.len() {
            return Err(bad_reply("enqueue batch"));
        }
        flat.chunks(2).map(|pair| Ok(Enqueued { id: parse_id(&pair[0])?, duplicate: pair[1] == "1" })).collect()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(queue = %queue, worker = %worker))]
    async fn reserve(&self, queue: &QueueName, worker: &WorkerId, visibility: Duration) -> Result<Option<Reserved>> {
        check_visibility(visibility)?;
        let keys = self.keys().queue(queue);
        let token = random_token();
        let reply: ReserveReply = self.eval_once(&reserving(&QUEUE_RESERVE, &keys, visibility, &token)).await?;
        decode_reserve(reply, token)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(queue = %queue, worker = %worker, max))]
    async fn reserve_batch(
        &self,
        queue: &QueueName,
        worker: &WorkerId,
        max: u32,
        visibility: Duration,
    ) -> Result<Vec<Reserved>> {
        check_batch(max)?;
        check_visibility(visibility)?;
        let keys = self.keys().queue(queue);
        let token = random_token();
        let mut call = reserving(&QUEUE_RESERVE_BATCH, &keys, visibility, &token);
        call.arg(max);
        let flat: Vec<Option<Vec<u8>>> = self.eval_once(&call).await?;
        let (expires, rows) = flat.split_first().ok_or_else(|| bad_reply("reserve batch"))?;
        let expires_us = text(expires.as_deref().ok_or_else(|| bad_reply("lease expiry"))?)?;
        let expires_at = parse_micros(expires_us)?;
        if rows.len() % 4 != 0 {
            return Err(bad_reply("reserve batch rows"));
        }
        rows.chunks(4)
            .enumerate()
            .map(|(i, row)| decode_reserved(row, format!("{token}.{}", i + 1), expires_at))
            .collect()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(queue = %queue, job = %lease.job_id))]
    async fn ack(&self, queue: &QueueName, lease: &JobLease) -> Result<()> {
        let keys = self.keys().queue(queue);
        let acked: i64 = self
            .eval_once(QUEUE_ACK.key(keys.inflight()).key(keys.jobs()).arg(lease.job_id.to_string()).arg(&lease.token))
            .await?;
        lease.ensure_held(acked == 1)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(queue = %queue, jobs = leases.len()))]
    async fn ack_batch(&self, queue: &QueueName, leases: &[JobLease]) -> Result<Vec<bool>> {
        check_batch_len(leases.len())?;
        let keys = self.keys().queue(queue);
        let mut call = QUEUE_ACK_BATCH.key(keys.inflight());
        call.key(keys.jobs());
        for lease in leases {
            call.arg(lease.job_id.to_string()).arg(&lease.token);
        }
        let acked: Vec<i64> = self.eval_once(&call).await?;
        if acked.len() != leases.len() {
            return Err(bad_reply("ack batch"));
        }
        Ok(acked.into_iter().map(|a| a == 1).collect())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(queue = %queue, job = %lease.job_id, worker = %worker))]
    async fn ack_and_reserve(
        &self,
        queue: &QueueName,
        lease: &JobLease,
        worker: &WorkerId,
        visibility: Duration,
    ) -> Result<Option<Reserved>> {
        check_visibility(visibility)?;
        let keys = self.keys().queue(queue);
        let token = random_token();
        let mut call = reserving(&QUEUE_ACK_RESERVE, &keys, visibility, &token);
        call.arg(lease.job_id.to_string()).arg(&lease.token);
        let reply: redis::Value = self.eval_once(&call).await?;
        // 0 is a lost lease (nothing changed); otherwise the reply of a reserve.
        lease.ensure_held(reply != redis::Value::Int(0))?;
        let reply = <ReserveReply as redis::FromRedisValue>::from_redis_value(reply)
            .map_err(|_| bad_reply("ack and reserve"))?;
        decode_reserve(reply, token)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(queue = %queue, job = %lease.job_id))]
    async fn fail(&self, queue: &QueueName, lease: &JobLease, error: &str) -> Result<JobFailOutcome> {
        let keys = self.keys().queue(queue);
        let mut call = QUEUE_FAIL.key(keys.inflight());
        call.key(keys.ready())
            .key(keys.delayed())
            .key(keys.dead())
            .key(keys.jobs())
            .arg(lease.job_id.to_string())
            .arg(&lease.token)
            .arg(clip_error(error))
            .arg(rand::random::<u32>())
            .arg(self.dead_age_us())
            .arg(self.dead_letter_retention().max_count)
            .arg(MAX_MOVED_PER_CALL);
        match self.leased_call(lease, &call, false).await? {
            (2, _) => Ok(JobFailOutcome::DeadLettered),
            (_, at) => Ok(JobFailOutcome::Retrying { at }),
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(queue = %queue, job = %lease.job_id))]
    async fn extend(&self, queue: &QueueName, lease: &JobLease, visibility: Duration) -> Result<JobLease> {
        check_visibility(visibility)?;
        let keys = self.keys().queue(queue);
        let mut call = QUEUE_EXTEND.key(keys.inflight());
        call.arg(lease.job_id.to_string()).arg(&lease.token).arg(micros(visibility));
        let (_, expires_at) = self.leased_call(lease, &call, true).await?;
        Ok(JobLease { job_id: lease.job_id, token: lease.token.clone(), expires_at })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(queue = %queue))]
    async fn requeue_expired(&self, queue: &QueueName) -> Result<u64> {
        let keys = self.keys().queue(queue);
        self.eval_retried(
            QUEUE_REQUEUE
                .key(keys.inflight())
                .key(keys.ready())
                .key(keys.jobs())
                .key(keys.dead())
                .arg(MAX_MOVED_PER_CALL)
                .arg(self.dead_age_us()),
        )
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(queue = %queue))]
    async fn dead_letters(&self, queue: &QueueName, limit: u32) -> Result<Vec<DeadJob>> {
        check_batch(limit)?;
        let keys = self.keys().queue(queue);
        let flat: Vec<Option<Vec<u8>>> = self
            .eval_retried(QUEUE_DEAD_LETTERS.key(keys.dead()).key(keys.jobs()).arg(limit).arg(self.dead_age_us()))
            .await?;
        flat.chunks(5).map(decode_dead).collect()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(queue = %queue, job = %id))]
    async fn replay_dead(&self, queue: &QueueName, id: JobId) -> Result<()> {
        let keys = self.keys().queue(queue);
        let replayed: i64 = self
            .eval_once(
                QUEUE_REPLAY
                    .key(keys.dead())
                    .key(keys.ready())
                    .key(keys.jobs())
                    .arg(id.to_string())
                    .arg(self.dead_age_us()),
            )
            .await?;
        if replayed == 1 { Ok(()) } else { Err(Error::not_found(Entity::Job, id)) }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(queue = %queue))]
    async fn counts(&self, queue: &QueueName) -> Result<QueueCounts> {
        let keys = self.keys().queue(queue);
        let (ready, delayed, in_flight, dead): (u64, u64, u64, u64) = self
            .eval_retried(
                QUEUE_COUNTS
                    .key(keys.ready())
                    .key(keys.delayed())
                    .key(keys.inflight())
                    .key(keys.dead())
                    .arg(self.dead_age_us()),
            )
            .await?;
        Ok(QueueCounts { ready, delayed, in_flight, dead })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_fields_round_trip_exactly() {
        let retry = RetryPolicy {
            max_attempts: 7,
            base_delay: Duration::nanoseconds(1_500_000_123),
            max_delay: Duration::days(3) + Duration::nanoseconds(9),
        };
        let (priority, back) = decode_fixed(&encode_fixed(9, &retry)).expect("decodes");
        assert_eq!((priority, back), (9, retry));
        assert!(decode_fixed("1|2|3").is_err());
        assert!(decode_fixed("x|1|0|0|0|0").is_err());
    }

    #[test]
    fn dead_letters_decode_from_bulk_fields() {
        let id = JobId::new();
        let fixed = encode_fixed(3, &RetryPolicy::default());
        let data = format!("5000000000000007|1700000000000001|{fixed}|\u{0}by|tes");
        let row: Vec<Option<Vec<u8>>> = [id.to_string().as_str(), "1700000000123456", data.as_str(), "5", "boom"]
            .iter()
            .map(|s| Some(s.as_bytes().to_vec()))
            .collect();
        let dead = decode_dead(&row).expect("decodes");
        assert_eq!(dead.job.id, id);
        assert_eq!(dead.job.payload, b"\0by|tes", "the payload is everything after the header, bars included");
        assert_eq!((dead.job.priority, dead.job.retry), (3, RetryPolicy::default()));
        assert_eq!(dead.job.enqueued_at.timestamp_micros(), 1_700_000_000_000_001);
        assert_eq!(dead.job.attempt, 5);
        assert_eq!(dead.error, "boom");
        assert_eq!(dead.job.last_error.as_deref(), Some("boom"));
        assert_eq!(dead.died_at.timestamp_micros(), 1_700_000_000_123_456);
        assert!(decode_dead(&row[..4]).is_err());
        assert!(job_from_data(id, b"1|2|3|4", 1, None).is_err(), "a header of fewer than eight parts");
    }
}
