//! The job queue: order, delay, leases and redelivery, retries with backoff, dead letters,
//! counts, idempotency, concurrent workers, validation.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Duration;
use tokio::sync::Barrier;

use super::{assert_job_not_found, assert_lease_refused, assert_validation, ms, secs, slack, unique_queue, worker};
use crate::conformance::Harness;
use crate::ids::JobId;
use crate::model::{
    JobFailOutcome, JobLease, MAX_VALUE_BYTES, NewJob, QueueCounts, QueueName, Reserved, RetryPolicy, clip_error,
};
use crate::ports::DeadLetterRetention;
use crate::ports::*;

/// A job with a text payload and a priority.
fn job(payload: &str, priority: u8) -> NewJob {
    NewJob { priority, ..NewJob::new(payload.as_bytes()) }
}

/// A job that dies at its first failure.
fn fragile(payload: &str, priority: u8) -> NewJob {
    NewJob { retry: RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }, ..job(payload, priority) }
}

/// Reserve with a 30-second lease, expecting a job.
async fn reserve_one<S: JobQueue + ?Sized>(h: &Harness<S>, q: &QueueName, what: &str) -> Reserved {
    reserve_for(h, q, secs(30)).await.unwrap_or_else(|| panic!("{what}: expected a ready job"))
}

/// Reserve with the given visibility.
async fn reserve_for<S: JobQueue + ?Sized>(h: &Harness<S>, q: &QueueName, visibility: Duration) -> Option<Reserved> {
    h.store.reserve(q, &worker(), visibility).await.expect("reserve")
}

/// The payload as text, invalid UTF-8 replaced by U+FFFD.
fn text(r: &Reserved) -> String {
    String::from_utf8_lossy(&r.job.payload).into_owned()
}

/// Counts, expected to be `(ready, delayed, in_flight, dead)`.
async fn assert_counts<S: JobQueue + ?Sized>(
    h: &Harness<S>,
    q: &QueueName,
    expected: (u64, u64, u64, u64),
    what: &str,
) {
    let counts = h.store.counts(q).await.expect("counts");
    let (ready, delayed, in_flight, dead) = expected;
    assert_eq!(
        counts,
        QueueCounts { ready, delayed, in_flight, dead },
        "counts (ready, delayed, in flight, dead): {what}"
    );
}

/// Reservation goes by priority (9 first), then enqueue order; a reserved job has its first
/// attempt and the enqueued fields.
pub async fn queue_priority_then_fifo<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let q = unique_queue("priority");
    let mut ids = Vec::new();
    for (payload, priority) in [("low", 1), ("high-1", 9), ("mid-1", 5), ("high-2", 9), ("mid-2", 5)] {
        let enqueued = h.store.enqueue(&q, job(payload, priority)).await.expect("enqueue");
        assert!(!enqueued.duplicate, "a job without an idempotency key is never a duplicate");
        ids.push((payload, enqueued.id));
    }
    for expected in ["high-1", "high-2", "mid-1", "mid-2", "low"] {
        let r = reserve_one(h, &q, expected).await;
        assert_eq!(text(&r), expected, "highest priority first, then oldest");
        let id = ids.iter().find(|(p, _)| *p == expected).map(|(_, id)| *id);
        assert_eq!(Some(r.job.id), id, "the reserved job has its enqueued id");
        assert_eq!(r.job.attempt, 1, "the first reservation is attempt 1");
        assert_eq!(r.job.last_error, None, "no error yet");
        assert_eq!(r.lease.job_id, r.job.id, "the lease names the job");
    }
    assert!(reserve_for(h, &q, secs(30)).await.is_none(), "an empty queue reserves nothing");
}

/// Jobs of one priority come out in enqueue order.
pub async fn queue_fifo_within_priority<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let q = unique_queue("fifo");
    for i in 0..20 {
        h.store.enqueue(&q, job(&format!("job-{i:02}"), 3)).await.expect("enqueue");
    }
    for i in 0..20 {
        let r = reserve_one(h, &q, "fifo").await;
        assert_eq!(text(&r), format!("job-{i:02}"), "same priority: first in, first out");
    }
}

/// A delayed job is not reservable before its time, counts as delayed, then as ready and is
/// reserved once due; a zero delay is ready at once.
pub async fn queue_delay_holds_job<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let q = unique_queue("delay");
    h.store.enqueue(&q, NewJob { delay: Some(secs(1)), ..job("later", 9) }).await.expect("enqueue delayed");
    h.store.enqueue(&q, job("now", 0)).await.expect("enqueue ready");
    assert_counts(h, &q, (1, 1, 0, 0), "one ready, one delayed").await;

    let r = reserve_one(h, &q, "the ready job").await;
    assert_eq!(text(&r), "now", "a delayed job is skipped, whatever its priority");
    assert!(reserve_for(h, &q, secs(30)).await.is_none(), "a delayed job is not reservable before its time");

    h.time.advance(ms(1100)).await;
    assert_counts(h, &q, (1, 0, 1, 0), "a due delayed job counts as ready").await;
    let later = reserve_one(h, &q, "the due job").await;
    assert_eq!(text(&later), "later", "a due job is reserved");
    assert_eq!(later.job.attempt, 1, "its first attempt");

    h.store.enqueue(&q, NewJob { delay: Some(Duration::zero()), ..job("zero", 5) }).await.expect("enqueue");
    assert_eq!(text(&reserve_one(h, &q, "zero delay").await), "zero", "a zero delay is ready at once");
}

/// Acknowledging removes the job; the lease is then spent.
pub async fn queue_ack_removes_job<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let q = unique_queue("ack");
    h.store.enqueue(&q, job("work", 5)).await.expect("enqueue");
    let r = reserve_one(h, &q, "the job").await;
    assert_counts(h, &q, (0, 0, 1, 0), "reserved").await;

    h.store.ack(&q, &r.lease).await.expect("ack");
    assert_counts(h, &q, (0, 0, 0, 0), "acked jobs are gone").await;
    assert_lease_refused(h.store.ack(&q, &r.lease).await, "a second ack");
    assert_lease_refused(h.store.fail(&q, &r.lease, "late").await, "fail after ack");
    assert_lease_refused(h.store.extend(&q, &r.lease, secs(30)).await, "extend after ack");
    assert!(reserve_for(h, &q, secs(30)).await.is_none(), "an acked job is never delivered again");
}

/// `enqueue_batch` enqueues in order, as `enqueue` would, job by job: priority then batch order,
/// delays, idempotency keys (remembered ones and ones repeated within the batch answer the
/// earlier job as a duplicate); a batch with one invalid job, or of 0 or 1001 jobs, enqueues
/// nothing.
pub async fn queue_enqueue_batch_in_order<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let q = unique_queue("enqueue-batch");
    let before = h.store.enqueue(&q, NewJob { idempotency_key: Some("known".to_owned()), ..job("before", 1) }).await;
    let before = before.expect("enqueue").id;
    let jobs = vec![
        job("low", 1),
        NewJob { idempotency_key: Some("fresh".to_owned()), ..job("high-1", 9) },
        NewJob { idempotency_key: Some("known".to_owned()), ..job("known again", 9) },
        NewJob { delay: Some(secs(60)), ..job("later", 9) },
        NewJob { idempotency_key: Some("fresh".to_owned()), ..job("fresh again", 9) },
        job("high-2", 9),
    ];
    let enqueued = h.store.enqueue_batch(&q, jobs).await.expect("enqueue a batch");
    let duplicates: Vec<bool> = enqueued.iter().map(|e| e.duplicate).collect();
    assert_eq!(duplicates, [false, false, true, false, true, false], "one answer per job, in order");
    assert_eq!(enqueued[2].id, before, "a remembered key answers its job");
    assert_eq!(enqueued[4].id, enqueued[1].id, "a key repeated in the batch answers its first job");
    assert_counts(h, &q, (4, 1, 0, 0), "four ready (one from before), one delayed").await;
    for expected in ["high-1", "high-2", "before", "low"] {
        assert_eq!(text(&reserve_one(h, &q, expected).await), expected, "priority, then enqueue order");
    }

    let bad = vec![job("fine", 5), NewJob { priority: 10, ..job("bad", 5) }];
    assert_validation(h.store.enqueue_batch(&q, bad).await, "a batch with an invalid job");
    assert_validation(h.store.enqueue_batch(&q, Vec::new()).await, "an empty batch");
    assert_validation(h.store.enqueue_batch(&q, vec![job("x", 5); 1001]).await, "1001 jobs");
    assert_counts(h, &q, (0, 1, 4, 0), "the refused batches enqueued nothing").await;
}

/// `enqueue_batch` is one step: of 8 batches of 50 sent at once, each batch's jobs come out
/// together and in order, never interleaved with another batch's.
pub async fn queue_enqueue_batch_is_atomic<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let q = unique_queue("enqueue-batch-atomic");
    let barrier = Arc::new(Barrier::new(8));
    let mut senders = Vec::new();
    for b in 0..8 {
        let (store, q, barrier) = (Arc::clone(&h.store), q.clone(), Arc::clone(&barrier));
        senders.push(tokio::spawn(async move {
            let jobs: Vec<NewJob> = (0..50).map(|i| job(&format!("{b}/{i}"), 5)).collect();
            barrier.wait().await;
            store.enqueue_batch(&q, jobs).await.expect("enqueue a batch");
        }));
    }
    for sender in senders {
        sender.await.expect("the sending task");
    }
    let batch = h.store.reserve_batch(&q, &worker(), 1000, secs(30)).await.expect("reserve them all");
    let order: Vec<String> = batch.iter().map(text).collect();
    assert_eq!(order.len(), 400, "every job enqueued");
    for run in order.chunks(50) {
        let b = run[0].split('/').next().unwrap_or_default().to_owned();
        let expected: Vec<String> = (0..50).map(|i| format!("{b}/{i}")).collect();
        assert_eq!(run, expected.as_slice(), "batch {b} comes out whole and in order");
    }
}

/// `ack_batch` acks each lease that still holds its job and says which: a forged lease, a lost
/// one and a lease given twice answer `false`; 0 or more than 1000 leases are refused and ack
/// nothing.
pub async fn queue_ack_batch_answers_each_lease<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let q = unique_queue("ack-batch");
    for i in 0..5 {
        h.store.enqueue(&q, job(&format!("job {i}"), 5)).await.expect("enqueue");
    }
    let batch = h.store.reserve_batch(&q, &worker(), 5, secs(30)).await.expect("reserve a batch");
    let leases: Vec<JobLease> = batch.iter().map(|r| r.lease.clone()).collect();
    h.store.ack(&q, &leases[2]).await.expect("ack one alone");
    let forged = JobLease { token: "forged-token".to_owned(), ..leases[3].clone() };

    for refused in [Vec::new(), vec![leases[3].clone(); 1001]] {
        assert_validation(h.store.ack_batch(&q, &refused).await, "0 or 1001 leases");
    }
    assert_counts(h, &q, (0, 0, 4, 0), "the refused batches acked nothing").await;

    let given = [leases[0].clone(), forged, leases[1].clone(), leases[0].clone(), leases[2].clone(), leases[3].clone()];
    let acked = h.store.ack_batch(&q, &given).await.expect("ack a batch");
    assert_eq!(acked, [true, false, true, false, false, true], "held, forged, held, twice, already acked, held");
    assert_counts(h, &q, (0, 0, 1, 0), "only the job not given is still in flight").await;
    assert_eq!(h.store.ack_batch(&q, &leases[4..]).await.expect("ack the last"), [true]);
    assert_counts(h, &q, (0, 0, 0, 0), "done").await;
    assert!(reserve_for(h, &q, secs(30)).await.is_none(), "an acked job is never delivered again");
}

/// `ack_and_reserve` acks the finished job and takes the next one as `reserve` would: by
/// priority, after bringing back an expired lease and a due delayed job; `None` once the queue
/// is empty, the last job acked all the same.
pub async fn queue_ack_and_reserve_acks_then_takes_the_next<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let q = unique_queue("ack-reserve");
    let me = worker();
    let lost = h.store.enqueue(&q, job("lost", 5)).await.expect("enqueue").id;
    let expired = reserve_for(h, &q, secs(1)).await.expect("reserve with a 1 s lease");
    h.store.enqueue(&q, job("first", 5)).await.expect("enqueue");
    let first = reserve_one(h, &q, "the first job").await;
    h.store.enqueue(&q, job("low", 1)).await.expect("enqueue");
    h.store.enqueue(&q, NewJob { delay: Some(secs(1)), ..job("due", 9) }).await.expect("enqueue delayed");
    h.time.advance(ms(1100)).await;

    let mut taken = Vec::new();
    let mut lease = first.lease.clone();
    while let Some(next) = h.store.ack_and_reserve(&q, &lease, &me, secs(30)).await.expect("ack and reserve") {
        assert_ne!(next.lease.token, lease.token, "each job has a lease of its own");
        assert_eq!(next.lease.job_id, next.job.id, "the lease names the job");
        taken.push((text(&next), next.job.attempt));
        if text(&next) == "lost" {
            assert_eq!(next.job.id, lost, "the job of the expired lease comes back");
        }
        lease = next.lease;
    }
    let expected: Vec<(String, u32)> =
        [("due", 1), ("lost", 2), ("low", 1)].iter().map(|(p, a)| (p.to_string(), *a)).collect();
    assert_eq!(taken, expected, "the due job and the expired one are taken too, by priority");
    assert_lease_refused(h.store.ack(&q, &first.lease).await, "the acked job's lease");
    assert_lease_refused(h.store.ack(&q, &lease).await, "the last job was acked before the empty reserve");
    assert_lease_refused(h.store.ack(&q, &expired.lease).await, "the expired lease");
    assert_counts(h, &q, (0, 0, 0, 0), "every job acked").await;
}

/// `ack_and_reserve` with a lost lease, or a visibility outside 1 s to 1 day, is refused and
/// changes nothing: no job is acked and none reserved.
pub async fn queue_ack_and_reserve_refused_changes_nothing<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let (q, elsewhere) = (unique_queue("ack-reserve-refused"), unique_queue("elsewhere"));
    let me = worker();
    h.store.enqueue(&q, job("work", 5)).await.expect("enqueue");
    let r = reserve_one(h, &q, "the job").await;
    h.store.enqueue(&q, job("next", 5)).await.expect("enqueue");

    let forged = JobLease { token: "forged-token".to_owned(), ..r.lease.clone() };
    assert_lease_refused(h.store.ack_and_reserve(&q, &forged, &me, secs(30)).await, "a forged token");
    let unknown = JobLease { job_id: JobId::new(), ..r.lease.clone() };
    assert_lease_refused(h.store.ack_and_reserve(&q, &unknown, &me, secs(30)).await, "an unknown job");
    assert_lease_refused(h.store.ack_and_reserve(&elsewhere, &r.lease, &me, secs(30)).await, "another queue");
    for visibility in [ms(999), Duration::zero(), Duration::days(1) + ms(1)] {
        assert_validation(h.store.ack_and_reserve(&q, &r.lease, &me, visibility).await, "a visibility out of range");
    }
    assert_counts(h, &q, (1, 0, 1, 0), "refused calls changed nothing").await;
    assert_counts(h, &elsewhere, (0, 0, 0, 0), "nor the other queue").await;

    let next = h.store.ack_and_reserve(&q, &r.lease, &me, secs(30)).await.expect("ack and reserve").expect("a job");
    assert_eq!(text(&next), "next", "the real lease still acks, and the next job comes");
    h.store.ack(&q, &next.lease).await.expect("ack");
    assert_counts(h, &q, (0, 0, 0, 0), "done").await;
}

/// A lease with a made-up token or job, or on another queue, is refused and changes nothing.
pub async fn queue_unknown_lease_refused<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let (q, elsewhere) = (unique_queue("forged"), unique_queue("elsewhere"));
    h.store.enqueue(&q, job("work", 5)).await.expect("enqueue");
    let r = reserve_one(h, &q, "the job").await;

    let forged = JobLease { token: "forged-token".to_owned(), ..r.lease.clone() };
    assert_lease_refused(h.store.ack(&q, &forged).await, "ack with a forged token");
    assert_lease_refused(h.store.fail(&q, &forged, "x").await, "fail with a forged token");
    assert_lease_refused(h.store.extend(&q, &forged, secs(30)).await, "extend with a forged token");
    let unknown = JobLease { job_id: JobId::new(), ..r.lease.clone() };
    assert_lease_refused(h.store.ack(&q, &unknown).await, "ack of an unknown job");
    assert_lease_refused(h.store.ack(&elsewhere, &r.lease).await, "ack on another queue");

    assert_counts(h, &q, (0, 0, 1, 0), "refused operations changed nothing").await;
    h.store.ack(&q, &r.lease).await.expect("the real lease still acks");
}

/// A job whose lease expires is redelivered (attempt 2, a new token) after `requeue_expired`;
/// the old lease is refused everywhere.
pub async fn queue_visibility_timeout_redelivers<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let q = unique_queue("visibility");
    let id = h.store.enqueue(&q, job("work", 5)).await.expect("enqueue").id;
    let first = reserve_for(h, &q, secs(1)).await.expect("reserve with a 1 s lease");
    assert!(reserve_for(h, &q, secs(30)).await.is_none(), "a reserved job is invisible");
    assert_eq!(h.store.requeue_expired(&q).await.expect("requeue"), 0, "a live lease is not requeued");

    h.time.advance(ms(1100)).await;
    assert_eq!(h.store.requeue_expired(&q).await.expect("requeue"), 1, "the expired lease is requeued");
    assert_eq!(h.store.requeue_expired(&q).await.expect("requeue"), 0, "only once");
    assert_counts(h, &q, (1, 0, 0, 0), "a requeued job is ready").await;

    let second = reserve_one(h, &q, "the redelivered job").await;
    assert_eq!(second.job.id, id, "the same job comes back");
    assert_eq!(second.job.attempt, 2, "its second attempt");
    assert_ne!(second.lease.token, first.lease.token, "with a new token");
    assert_lease_refused(h.store.ack(&q, &first.lease).await, "ack with the lost lease");
    assert_lease_refused(h.store.fail(&q, &first.lease, "late").await, "fail with the lost lease");
    assert_lease_refused(h.store.extend(&q, &first.lease, secs(30)).await, "extend with the lost lease");
    h.store.ack(&q, &second.lease).await.expect("ack with the current lease");
    assert_counts(h, &q, (0, 0, 0, 0), "done").await;
}

/// `reserve` itself brings back jobs whose lease expired (no janitor needed).
pub async fn queue_reserve_recovers_expired_lease<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let q = unique_queue("recover");
    let id = h.store.enqueue(&q, job("work", 5)).await.expect("enqueue").id;
    let first = reserve_for(h, &q, secs(1)).await.expect("reserve with a 1 s lease");
    h.time.advance(ms(1100)).await;

    let second = reserve_one(h, &q, "the job of a dead worker").await;
    assert_eq!((second.job.id, second.job.attempt), (id, 2), "the same job, second attempt");
    assert_lease_refused(h.store.ack(&q, &first.lease).await, "the dead worker's ack");
    h.store.ack(&q, &second.lease).await.expect("ack");
    assert_eq!(h.store.requeue_expired(&q).await.expect("requeue"), 0, "nothing left to requeue");
}

/// Extending a lease keeps the job invisible past the first expiry; the token stays the same.
pub async fn queue_extend_keeps_job_invisible<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let q = unique_queue("extend");
    h.store.enqueue(&q, job("long work", 5)).await.expect("enqueue");
    let r = reserve_for(h, &q, secs(1)).await.expect("reserve with a 1 s lease");
    h.time.advance(ms(500)).await;

    let extended = h.store.extend(&q, &r.lease, secs(2)).await.expect("extend");
    assert_eq!((extended.job_id, &extended.token), (r.lease.job_id, &r.lease.token), "same job, same token");
    assert!(extended.expires_at >= r.lease.expires_at + ms(500), "the new expiry is now + visibility");

    h.time.advance(ms(700)).await;
    assert_eq!(h.store.requeue_expired(&q).await.expect("requeue"), 0, "an extended lease is not expired");
    assert!(reserve_for(h, &q, secs(30)).await.is_none(), "the job stays invisible");
    assert_counts(h, &q, (0, 0, 1, 0), "still in flight").await;
    h.store.ack(&q, &extended).await.expect("ack after extending");
    assert_counts(h, &q, (0, 0, 0, 0), "done").await;
}

/// A failed attempt is retried after a backoff jittered within `[delay / 2, delay]`, with the
/// error kept; after the last attempt the job is dead with its (clipped) error.
pub async fn queue_fail_backoff_then_dead_letter<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let q = unique_queue("retry");
    let retry = RetryPolicy { max_attempts: 3, base_delay: ms(400), max_delay: ms(800) };
    let id = h.store.enqueue(&q, NewJob { retry, ..job("flaky", 5) }).await.expect("enqueue").id;
    let visibility = secs(30);

    let first = reserve_for(h, &q, visibility).await.expect("attempt 1");
    let reserved_at = first.lease.expires_at - visibility;
    let outcome = h.store.fail(&q, &first.lease, "first error").await.expect("fail attempt 1");
    let JobFailOutcome::Retrying { at } = outcome else { panic!("attempt 1 of 3 must be retried, got {outcome:?}") };
    assert!(at >= reserved_at + ms(200), "the backoff is at least half of base_delay");
    assert!(at <= reserved_at + ms(400) + slack(h), "the backoff is at most base_delay");
    assert_counts(h, &q, (0, 1, 0, 0), "waiting for its backoff").await;
    assert!(reserve_for(h, &q, visibility).await.is_none(), "not reservable during the backoff");
    assert_lease_refused(h.store.ack(&q, &first.lease).await, "a failed lease is spent");

    h.time.advance(ms(450)).await;
    let second = reserve_for(h, &q, visibility).await.expect("attempt 2 after the backoff");
    assert_eq!((second.job.id, second.job.attempt), (id, 2), "the same job, attempt 2");
    assert_eq!(second.job.last_error.as_deref(), Some("first error"), "the previous error is kept");
    let reserved_at = second.lease.expires_at - visibility;
    let outcome = h.store.fail(&q, &second.lease, "second error").await.expect("fail attempt 2");
    let JobFailOutcome::Retrying { at } = outcome else { panic!("attempt 2 of 3 must be retried, got {outcome:?}") };
    assert!(at >= reserved_at + ms(400), "the second backoff doubles: at least half of 800 ms");
    assert!(at <= reserved_at + ms(800) + slack(h), "at most max_delay");

    h.time.advance(ms(850)).await;
    let third = reserve_for(h, &q, visibility).await.expect("attempt 3 after the backoff");
    assert_eq!((third.job.attempt, third.job.last_error.as_deref()), (3, Some("second error")), "attempt 3");
    let died_after = third.lease.expires_at - visibility;
    let long_error = "é".repeat(3000);
    let outcome = h.store.fail(&q, &third.lease, &long_error).await.expect("fail attempt 3");
    assert_eq!(outcome, JobFailOutcome::DeadLettered, "the last attempt's failure dead-letters");
    assert_counts(h, &q, (0, 0, 0, 1), "dead").await;
    assert!(reserve_for(h, &q, visibility).await.is_none(), "a dead job is not reserved");

    let dead = h.store.dead_letters(&q, 10).await.expect("dead letters");
    assert_eq!(dead.len(), 1, "one dead letter");
    assert_eq!((dead[0].job.id, dead[0].job.attempt), (id, 3), "the dead job with its attempts");
    assert_eq!(dead[0].job.payload, b"flaky".to_vec(), "its payload");
    assert_eq!(dead[0].error, clip_error(&long_error), "the last error, clipped");
    assert!(dead[0].died_at >= died_after && dead[0].died_at <= died_after + slack(h), "died_at is the failure time");
}

/// With a zero backoff a failed job is ready again at once.
pub async fn queue_zero_backoff_retries_at_once<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let q = unique_queue("zero-backoff");
    let retry = RetryPolicy { max_attempts: 2, base_delay: Duration::zero(), max_delay: Duration::zero() };
    h.store.enqueue(&q, NewJob { retry, ..job("again", 5) }).await.expect("enqueue");
    let first = reserve_one(h, &q, "attempt 1").await;
    let outcome = h.store.fail(&q, &first.lease, "oops").await.expect("fail");
    assert!(matches!(outcome, JobFailOutcome::Retrying { .. }), "retried, got {outcome:?}");
    assert_counts(h, &q, (1, 0, 0, 0), "ready again").await;
    let second = reserve_one(h, &q, "attempt 2").await;
    assert_eq!((second.job.attempt, second.job.last_error.as_deref()), (2, Some("oops")), "attempt 2");
    let outcome = h.store.fail(&q, &second.lease, "oops again").await.expect("fail");
    assert_eq!(outcome, JobFailOutcome::DeadLettered, "max_attempts reached");
}

/// Dead letters are listed oldest first, up to the limit.
pub async fn queue_dead_letters_oldest_first<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let q = unique_queue("dead-order");
    for (payload, priority) in [("a", 9), ("b", 8), ("c", 7)] {
        h.store.enqueue(&q, fragile(payload, priority)).await.expect("enqueue");
    }
    for expected in ["a", "b", "c"] {
        let r = reserve_one(h, &q, expected).await;
        assert_eq!(text(&r), expected, "reserved by priority");
        let outcome = h.store.fail(&q, &r.lease, &format!("{expected} failed")).await.expect("fail");
        assert_eq!(outcome, JobFailOutcome::DeadLettered, "one attempt only");
        h.time.advance(ms(20)).await;
    }
    let dead = h.store.dead_letters(&q, 10).await.expect("dead letters");
    let order: Vec<_> =
        dead.iter().map(|d| (String::from_utf8_lossy(&d.job.payload).into_owned(), d.error.clone())).collect();
    let expected: Vec<_> = ["a", "b", "c"].iter().map(|p| (p.to_string(), format!("{p} failed"))).collect();
    assert_eq!(order, expected, "oldest first, each with its error");
    assert!(dead.windows(2).all(|w| w[0].died_at < w[1].died_at), "died_at increases");
    let two = h.store.dead_letters(&q, 2).await.expect("dead letters");
    assert_eq!(two.iter().map(|d| d.job.id).collect::<Vec<_>>(), vec![dead[0].job.id, dead[1].job.id], "the limit");
    let none = h.store.dead_letters(&unique_queue("never-used"), 10).await.expect("dead letters");
    assert!(none.is_empty(), "an unknown queue has no dead letters");
}

/// Replaying a dead job makes it ready with its attempts reset and its last error kept;
/// replaying anything else is `NotFound`.
pub async fn queue_replay_dead<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let q = unique_queue("replay");
    let id = h.store.enqueue(&q, fragile("fragile", 5)).await.expect("enqueue").id;
    let r = reserve_one(h, &q, "attempt 1").await;
    h.store.fail(&q, &r.lease, "boom").await.expect("fail");
    assert_counts(h, &q, (0, 0, 0, 1), "dead").await;

    h.store.replay_dead(&q, id).await.expect("replay");
    assert_counts(h, &q, (1, 0, 0, 0), "replayed jobs are ready").await;
    assert!(h.store.dead_letters(&q, 10).await.expect("dead letters").is_empty(), "no longer a dead letter");
    let again = reserve_one(h, &q, "the replayed job").await;
    assert_eq!((again.job.id, again.job.attempt), (id, 1), "attempts start over");
    assert_eq!(again.job.last_error.as_deref(), Some("boom"), "the last error is kept");

    assert_job_not_found(h.store.replay_dead(&q, id).await, "replaying an in-flight job");
    assert_job_not_found(h.store.replay_dead(&q, JobId::new()).await, "replaying an unknown job");
    assert_job_not_found(h.store.replay_dead(&unique_queue("other"), id).await, "replaying on another queue");
    h.store.ack(&q, &again.lease).await.expect("ack the replayed job");
}

/// Counts report every state at once: ready, delayed, in flight, dead; a due delayed job counts
/// as ready even before a reserve promotes it.
pub async fn queue_counts_each_state<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let q = unique_queue("counts");
    assert_counts(h, &q, (0, 0, 0, 0), "an unknown queue is empty").await;
    h.store.enqueue(&q, job("in flight", 9)).await.expect("enqueue");
    h.store.enqueue(&q, fragile("dead", 8)).await.expect("enqueue");
    h.store.enqueue(&q, job("ready", 1)).await.expect("enqueue");
    h.store.enqueue(&q, NewJob { delay: Some(secs(60)), ..job("delayed", 5) }).await.expect("enqueue");
    h.store.enqueue(&q, NewJob { delay: Some(secs(1)), ..job("soon", 5) }).await.expect("enqueue");
    reserve_one(h, &q, "in flight").await;
    let doomed = reserve_one(h, &q, "dead").await;
    h.store.fail(&q, &doomed.lease, "fatal").await.expect("fail");
    assert_counts(h, &q, (1, 2, 1, 1), "one job in each state, two delayed").await;

    h.time.advance(ms(1100)).await;
    assert_counts(h, &q, (2, 1, 1, 1), "the due delayed job counts as ready").await;
}

/// An idempotency key makes a second enqueue a no-op returning the first id, for 24 hours from
/// the enqueue (even after the job is done); keys are per queue.
pub async fn queue_idempotency_key<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let (q, other) = (unique_queue("idem"), unique_queue("idem-other"));
    let keyed = |payload: &str| NewJob { idempotency_key: Some("order-42:{paid}".to_owned()), ..job(payload, 5) };
    let first = h.store.enqueue(&q, keyed("first")).await.expect("enqueue");
    assert!(!first.duplicate, "the first enqueue is not a duplicate");
    let second = h.store.enqueue(&q, keyed("second")).await.expect("enqueue again");
    assert!(second.duplicate, "the same key again is a duplicate");
    assert_eq!(second.id, first.id, "a duplicate returns the first job's id");
    assert_counts(h, &q, (1, 0, 0, 0), "a duplicate enqueues nothing").await;

    let r = reserve_one(h, &q, "the keyed job").await;
    assert_eq!(text(&r), "first", "the first payload is kept");
    h.store.ack(&q, &r.lease).await.expect("ack");
    let after_ack = h.store.enqueue(&q, keyed("third")).await.expect("enqueue after ack");
    assert_eq!((after_ack.id, after_ack.duplicate), (first.id, true), "the key outlives the job");
    assert_counts(h, &q, (0, 0, 0, 0), "still nothing enqueued").await;

    let elsewhere = h.store.enqueue(&other, keyed("other queue")).await.expect("enqueue on another queue");
    assert!(!elsewhere.duplicate && elsewhere.id != first.id, "keys are per queue");

    if h.time.is_manual() {
        h.time.advance(Duration::hours(24) + secs(1)).await;
        let fresh = h.store.enqueue(&q, keyed("next day")).await.expect("enqueue a day later");
        assert!(!fresh.duplicate && fresh.id != first.id, "the key is forgotten 24 hours after its enqueue");
    }
}

/// 8 workers reserving and acking 200 jobs concurrently get each job exactly once.
pub async fn queue_concurrent_workers_each_job_once<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let q = unique_queue("concurrent");
    let mut enqueued = HashSet::new();
    for i in 0..200u32 {
        let id = h.store.enqueue(&q, job(&i.to_string(), u8::try_from(i % 10).unwrap_or(0))).await.expect("enqueue").id;
        enqueued.insert(id);
    }
    let barrier = Arc::new(Barrier::new(8));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (store, q, barrier) = (Arc::clone(&h.store), q.clone(), Arc::clone(&barrier));
        workers.push(tokio::spawn(async move {
            let me = worker();
            let mut got = Vec::new();
            barrier.wait().await;
            while let Some(r) = store.reserve(&q, &me, secs(60)).await.expect("reserve") {
                store.ack(&q, &r.lease).await.expect("ack a job reserved by this worker");
                got.push(r.job.id);
            }
            got
        }));
    }
    let mut seen = Vec::new();
    for w in workers {
        seen.extend(w.await.expect("the worker task"));
    }
    let unique: HashSet<JobId> = seen.iter().copied().collect();
    assert_eq!(seen.len(), 200, "200 deliveries in all, no job twice");
    assert_eq!(unique, enqueued, "every enqueued job was delivered");
    assert_counts(h, &q, (0, 0, 0, 0), "all done").await;
}

/// `reserve_batch` takes the jobs `reserve` would take, in the same order (priority, then
/// enqueue order), each with its first attempt and a lease of its own; fewer when fewer are
/// ready, none on an empty queue. Each lease is acked, failed or extended on its own.
pub async fn queue_reserve_batch_order_and_leases<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let q = unique_queue("batch");
    let mut ids = Vec::new();
    for (payload, priority) in [("low", 1), ("high-1", 9), ("mid-1", 5), ("high-2", 9), ("mid-2", 5)] {
        ids.push((payload, h.store.enqueue(&q, job(payload, priority)).await.expect("enqueue").id));
    }
    let visibility = secs(30);
    let first = h.store.reserve_batch(&q, &worker(), 3, visibility).await.expect("reserve a batch");
    let order: Vec<String> = first.iter().map(text).collect();
    assert_eq!(order, ["high-1", "high-2", "mid-1"], "highest priority first, then oldest, up to max");
    let tokens: HashSet<&str> = first.iter().map(|r| r.lease.token.as_str()).collect();
    assert_eq!(tokens.len(), 3, "every job has a lease of its own");
    for r in &first {
        let id = ids.iter().find(|(p, _)| *p == text(r)).map(|(_, id)| *id);
        assert_eq!(Some(r.job.id), id, "the reserved job has its enqueued id");
        assert_eq!((r.job.attempt, r.job.last_error.as_deref()), (1, None), "first attempt, no error");
        assert_eq!(r.lease.job_id, r.job.id, "the lease names its job");
        assert!(r.lease.expires_at >= first[0].lease.expires_at - slack(h), "one expiry for the batch");
    }
    assert_counts(h, &q, (2, 0, 3, 0), "three in flight, two ready").await;

    let rest = h.store.reserve_batch(&q, &worker(), 10, visibility).await.expect("reserve the rest");
    assert_eq!(rest.iter().map(text).collect::<Vec<_>>(), ["mid-2", "low"], "fewer than max when fewer are ready");
    assert!(h.store.reserve_batch(&q, &worker(), 10, visibility).await.expect("reserve").is_empty(), "none left");
    assert!(reserve_for(h, &q, visibility).await.is_none(), "a batch-reserved job is invisible to reserve");

    h.store.ack(&q, &first[0].lease).await.expect("ack one job of the batch");
    assert_lease_refused(h.store.ack(&q, &first[0].lease).await, "a second ack of that job");
    let swapped = JobLease { job_id: first[2].job.id, ..first[1].lease.clone() };
    assert_lease_refused(h.store.ack(&q, &swapped).await, "another job's token");
    let outcome = h.store.fail(&q, &first[1].lease, "failed in a batch").await.expect("fail one job");
    assert!(matches!(outcome, JobFailOutcome::Retrying { .. }), "retried as after reserve, got {outcome:?}");
    let extended = h.store.extend(&q, &first[2].lease, secs(60)).await.expect("extend one lease");
    h.store.ack(&q, &extended).await.expect("ack after extending");
    for r in &rest {
        h.store.ack(&q, &r.lease).await.expect("ack");
    }
    assert_counts(h, &q, (0, 1, 0, 0), "only the failed job is left, waiting for its backoff").await;

    let empty = unique_queue("batch-never-used");
    assert!(
        h.store.reserve_batch(&empty, &worker(), 5, visibility).await.expect("reserve").is_empty(),
        "unknown queue"
    );
    for max in [0, 1001] {
        assert_validation(h.store.reserve_batch(&q, &worker(), max, visibility).await, "a batch outside 1 to 1000");
    }
    for visibility in [Duration::zero(), Duration::days(2)] {
        assert_validation(
            h.store.reserve_batch(&q, &worker(), 5, visibility).await,
            "a visibility outside 1 s to 1 day",
        );
    }
}

/// `reserve_batch` first makes ready the jobs whose lease expired (keeping their attempts) and
/// the due delayed jobs, as `reserve` does, then takes them in priority order.
pub async fn queue_reserve_batch_recovers_expired_and_due<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let q = unique_queue("batch-recover");
    let lost = h.store.enqueue(&q, job("lost", 5)).await.expect("enqueue").id;
    let first = reserve_for(h, &q, secs(1)).await.expect("reserve with a 1 s lease");
    h.store.enqueue(&q, NewJob { delay: Some(secs(1)), ..job("due", 9) }).await.expect("enqueue delayed");
    h.store.enqueue(&q, NewJob { delay: Some(secs(60)), ..job("later", 9) }).await.expect("enqueue delayed");
    h.store.enqueue(&q, job("ready", 1)).await.expect("enqueue");
    h.time.advance(ms(1100)).await;

    let batch = h.store.reserve_batch(&q, &worker(), 10, secs(30)).await.expect("reserve a batch");
    let got: Vec<(String, u32)> = batch.iter().map(|r| (text(r), r.job.attempt)).collect();
    let expected: Vec<(String, u32)> =
        [("due", 1), ("lost", 2), ("ready", 1)].iter().map(|(p, a)| (p.to_string(), *a)).collect();
    assert_eq!(got, expected, "the due job and the expired one are taken too, by priority; not the later one");
    assert_eq!(batch[1].job.id, lost, "the job of the expired lease comes back");
    assert_lease_refused(h.store.ack(&q, &first.lease).await, "the expired lease");
    for r in &batch {
        h.store.ack(&q, &r.lease).await.expect("ack");
    }
    assert_counts(h, &q, (0, 1, 0, 0), "only the later job is left").await;
}

/// 8 workers taking batches of 7 and acking them concurrently get each of 200 jobs once.
pub async fn queue_reserve_batch_concurrent_each_job_once<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let q = unique_queue("batch-concurrent");
    let mut enqueued = HashSet::new();
    for i in 0..200u32 {
        let id = h.store.enqueue(&q, job(&i.to_string(), u8::try_from(i % 10).unwrap_or(0))).await.expect("enqueue").id;
        enqueued.insert(id);
    }
    let barrier = Arc::new(Barrier::new(8));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (store, q, barrier) = (Arc::clone(&h.store), q.clone(), Arc::clone(&barrier));
        workers.push(tokio::spawn(async move {
            let me = worker();
            let mut got = Vec::new();
            barrier.wait().await;
            loop {
                let batch = store.reserve_batch(&q, &me, 7, secs(60)).await.expect("reserve a batch");
                if batch.is_empty() {
                    break got;
                }
                assert!(batch.len() <= 7, "at most max jobs");
                for r in batch {
                    store.ack(&q, &r.lease).await.expect("ack a job of this worker's batch");
                    got.push(r.job.id);
                }
            }
        }));
    }
    let mut seen = Vec::new();
    for w in workers {
        seen.extend(w.await.expect("the worker task"));
    }
    let unique: HashSet<JobId> = seen.iter().copied().collect();
    assert_eq!(seen.len(), 200, "200 deliveries in all, no job twice");
    assert_eq!(unique, enqueued, "every enqueued job was delivered");
    assert_counts(h, &q, (0, 0, 0, 0), "all done").await;
}

/// Queues do not share jobs, leases or idempotency keys.
pub async fn queues_are_independent<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let (a, b) = (unique_queue("a"), unique_queue("b"));
    h.store.enqueue(&a, job("for a", 5)).await.expect("enqueue on a");
    assert!(reserve_for(h, &b, secs(30)).await.is_none(), "b does not see a's job");
    assert_counts(h, &b, (0, 0, 0, 0), "b is empty").await;
    let r = reserve_one(h, &a, "a's job").await;
    assert_lease_refused(h.store.ack(&b, &r.lease).await, "a's lease on b");
    assert_eq!(h.store.requeue_expired(&b).await.expect("requeue"), 0, "nothing to requeue on b");
    assert_counts(h, &a, (0, 0, 1, 0), "a's job is still in flight").await;
    h.store.ack(&a, &r.lease).await.expect("ack on a");
}

/// Bad jobs, visibilities and limits are refused with `Validation`, storing nothing.
pub async fn queue_invalid_input_rejected<S: JobQueue + ?Sized + 'static>(h: &Harness<S>) {
    let q = unique_queue("invalid");
    let bad_jobs = [
        ("priority 10", job("x", 10)),
        ("a negative delay", NewJob { delay: Some(secs(-1)), ..job("x", 5) }),
        ("a delay over 366 days", NewJob { delay: Some(Duration::days(367)), ..job("x", 5) }),
        ("a payload over 8 MiB", NewJob::new(vec![0u8; MAX_VALUE_BYTES + 1])),
        ("zero attempts", NewJob { retry: RetryPolicy { max_attempts: 0, ..RetryPolicy::default() }, ..job("x", 5) }),
        ("an empty idempotency key", NewJob { idempotency_key: Some(String::new()), ..job("x", 5) }),
        ("a 1025-byte idempotency key", NewJob { idempotency_key: Some("k".repeat(1025)), ..job("x", 5) }),
    ];
    for (what, bad) in bad_jobs {
        assert_validation(h.store.enqueue(&q, bad).await, what);
    }
    assert_counts(h, &q, (0, 0, 0, 0), "refused jobs were not stored").await;

    h.store.enqueue(&q, job("valid", 5)).await.expect("enqueue");
    for visibility in [Duration::zero(), ms(500), Duration::days(2)] {
        assert_validation(h.store.reserve(&q, &worker(), visibility).await, "a visibility outside 1 s to 1 day");
    }
    assert_counts(h, &q, (1, 0, 0, 0), "refused reserves took nothing").await;
    let r = reserve_one(h, &q, "the valid job").await;
    assert_validation(h.store.extend(&q, &r.lease, Duration::zero()).await, "extend with a zero visibility");
    for limit in [0, 1001] {
        assert_validation(h.store.dead_letters(&q, limit).await, "a dead-letter limit outside 1 to 1000");
    }
    assert_validation(QueueName::new("bad:name"), "a queue name outside [A-Za-z0-9_.-]");
    h.store.ack(&q, &r.lease).await.expect("the lease survived the refused extend");
}

/// Dead letters follow the store's [`DeadLetterRetention`]: when a job dies and more than
/// `max_count` are kept, the oldest are deleted; past `max_age` none is listed, counted or
/// replayable, and `requeue_expired` deletes them. Not part of
/// [`kv_conformance!`](crate::kv_conformance): the caller builds its store with `retention`
/// (`max_count` 1 to 5; on real time a `max_age` of a few seconds) and calls this directly.
pub async fn queue_dead_letter_retention<S: JobQueue + ?Sized + 'static>(
    h: &Harness<S>,
    retention: DeadLetterRetention,
) {
    assert!((1..=5).contains(&retention.max_count), "the test kills max_count + 2 jobs");
    let q = unique_queue("dead-retention");
    let mut ids = Vec::new();
    for i in 0..retention.max_count + 2 {
        let payload = format!("doomed {i}");
        let id = h.store.enqueue(&q, fragile(&payload, 5)).await.expect("enqueue").id;
        let r = reserve_one(h, &q, &payload).await;
        assert_eq!(h.store.fail(&q, &r.lease, "boom").await.expect("fail"), JobFailOutcome::DeadLettered);
        ids.push(id);
        h.time.advance(ms(20)).await;
    }
    let kept: Vec<JobId> = h.store.dead_letters(&q, 10).await.expect("dead letters").iter().map(|d| d.job.id).collect();
    assert_eq!(kept, ids[2..].to_vec(), "the newest max_count are kept, oldest first");
    assert_counts(h, &q, (0, 0, 0, u64::from(retention.max_count)), "dead letters beyond the count are gone").await;
    assert_job_not_found(h.store.replay_dead(&q, ids[0]).await, "replaying a dead letter beyond the count");

    h.time.advance(retention.max_age + slack(h)).await;
    assert!(h.store.dead_letters(&q, 10).await.expect("dead letters").is_empty(), "none past the age is listed");
    assert_counts(h, &q, (0, 0, 0, 0), "none past the age is counted").await;
    let last = *ids.last().expect("a job");
    assert_job_not_found(h.store.replay_dead(&q, last).await, "replaying a dead letter past its age");
    assert!(reserve_for(h, &q, secs(30)).await.is_none(), "a reserve finds nothing");
    assert_eq!(h.store.requeue_expired(&q).await.expect("requeue"), 0, "no lease to requeue");
    assert_counts(h, &q, (0, 0, 0, 0), "after requeue_expired deleted them").await;
}
