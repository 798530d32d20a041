//! [`JobQueue`] on Redis: a reliable queue with at-least-once delivery.
//!
//! Per queue, all in the queue's slot: a ready zset scored by priority then enqueue order, a
//! delayed zset by due time, an in-flight zset by lease expiry, a dead zset by death time, one
//! hash of job data (payload, attempts, policy, last error, lease token), a sequence counter and
//! the idempotency keys (kept 24 hours). Every state change is one script, so a job is always in
//! exactly one of the four sets: a worker that dies holding a job only delays it until its lease
//! expires, and the next `reserve` (or `requeue_expired`) makes it ready again.

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeDelta, Utc};
use clientnest_core::ids::JobId;
use clientnest_core::model::{
    DeadJob, Enqueued, Job, JobFailOutcome, JobLease, NewJob, QueueCounts, QueueName, Reserved, RetryPolicy, WorkerId,
    check_batch, check_visibility, clip_error,
};
use clientnest_core::ports::{JobQueue, MAX_MOVED_PER_CALL};
use clientnest_core::{Entity, Error, Result};

use crate::cache::random_token;
use crate::error::{bad_data, bad_reply};
use crate::scripts::{
    QUEUE_ACK, QUEUE_COUNTS, QUEUE_DEAD_LETTERS, QUEUE_ENQUEUE, QUEUE_EXTEND, QUEUE_FAIL, QUEUE_REPLAY, QUEUE_REQUEUE,
    QUEUE_RESERVE,
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

/// A job from its stored fields.
struct StoredJob<'a> {
    id: JobId,
    payload: Vec<u8>,
    attempt: &'a str,
    enqueued_us: &'a str,
    fixed: &'a str,
    last_error: Option<String>,
}

impl StoredJob<'_> {
    /// The job as workers see it, decoded from its hash fields.
    fn into_job(self) -> Result<Job> {
        let (priority, retry) = decode_fixed(self.fixed)?;
        Ok(Job {
            id: self.id,
            payload: self.payload,
            priority,
            attempt: self.attempt.parse().map_err(|_| bad_data("job attempt"))?,
            retry,
            enqueued_at: parse_micros(self.enqueued_us)?,
            last_error: self.last_error,
        })
    }
}

/// The reply of `queue_reserve.lua`.
type ReserveReply = Option<(String, Vec<u8>, u32, String, String, Option<String>, i64)>;

/// One dead letter from seven fields of `queue_dead_letters.lua`.
fn decode_dead(row: &[Option<Vec<u8>>]) -> Result<DeadJob> {
    let field = |i: usize| row.get(i).and_then(Option::as_deref).ok_or_else(|| bad_reply("dead letter field"));
    let died: f64 = text(field(1)?)?.parse().map_err(|_| bad_data("dead letter score"))?;
    let error = text(field(6)?)?.to_owned();
    let job = StoredJob {
        id: parse_id(text(field(0)?)?)?,
        payload: field(2)?.to_vec(),
        attempt: text(field(3)?)?,
        enqueued_us: text(field(4)?)?,
        fixed: text(field(5)?)?,
        last_error: Some(error.clone()),
    }
    .into_job()?;
    // Scores are integers below 2^53: the cast is exact.
    Ok(DeadJob { job, error, died_at: from_micros(died as i64)? })
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
            .arg(encode_fixed(job.priority, &job.retry))
            .arg(job.retry.max_attempts)
            .arg(job.retry.base_delay.num_milliseconds())
            .arg(micros(job.retry.max_delay))
            .arg(IDEMPOTENCY_WINDOW_MS);
        // With an idempotency key a second run returns the first job: safe to re-send.
        let (stored_id, duplicate): (String, i64) =
            if job.idempotency_key.is_some() { self.eval_retried(&call).await? } else { self.eval_once(&call).await? };
        Ok(Enqueued { id: parse_id(&stored_id)?, duplicate: duplicate == 1 })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(queue = %queue, worker = %worker))]
    async fn reserve(&self, queue: &QueueName, worker: &WorkerId, visibility: Duration) -> Result<Option<Reserved>> {
        check_visibility(visibility)?;
        let keys = self.keys().queue(queue);
        let token = random_token();
        let reply: ReserveReply = self
            .eval_once(
                QUEUE_RESERVE
                    .key(keys.ready())
                    .key(keys.delayed())
                    .key(keys.inflight())
                    .key(keys.jobs())
                    .key(keys.dead())
                    .arg(micros(visibility))
                    .arg(&token)
                    .arg(worker.as_str())
                    .arg(MAX_MOVED_PER_CALL)
                    .arg(self.dead_age_us()),
            )
            .await?;
        let Some((id, payload, attempt, enqueued_us, fixed, last_error, expires_us)) = reply else {
            return Ok(None);
        };
        let job_id = parse_id(&id)?;
        let attempt = attempt.to_string();
        let job =
            StoredJob { id: job_id, payload, attempt: &attempt, enqueued_us: &enqueued_us, fixed: &fixed, last_error }
                .into_job()?;
        Ok(Some(Reserved { job, lease: JobLease { job_id, token, expires_at: from_micros(expires_us)? } }))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(queue = %queue, job = %lease.job_id))]
    async fn ack(&self, queue: &QueueName, lease: &JobLease) -> Result<()> {
        let keys = self.keys().queue(queue);
        let acked: i64 = self
            .eval_once(QUEUE_ACK.key(keys.inflight()).key(keys.jobs()).arg(lease.job_id.to_string()).arg(&lease.token))
            .await?;
        lease.ensure_held(acked == 1)
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
        call.key(keys.jobs()).arg(lease.job_id.to_string()).arg(&lease.token).arg(micros(visibility));
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
        flat.chunks(7).map(decode_dead).collect()
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
        let row: Vec<Option<Vec<u8>>> = [
            id.to_string().as_str(),
            "1700000000123456",
            "\u{0}bytes",
            "5",
            "1700000000000001",
            fixed.as_str(),
            "boom",
        ]
        .iter()
        .map(|s| Some(s.as_bytes().to_vec()))
        .collect();
        let dead = decode_dead(&row).expect("decodes");
        assert_eq!(dead.job.id, id);
        assert_eq!(dead.job.payload, b"\0bytes");
        assert_eq!(dead.job.attempt, 5);
        assert_eq!(dead.error, "boom");
        assert_eq!(dead.job.last_error.as_deref(), Some("boom"));
        assert_eq!(dead.died_at.timestamp_micros(), 1_700_000_000_123_456);
        assert!(decode_dead(&row[..6]).is_err());
    }
}
