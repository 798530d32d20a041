//! The rate limiter (GCRA): bursts, refusals with retry-after, recovery, independent subjects.

use chrono::Duration;

use super::{assert_validation, ms, secs, unique};
use crate::conformance::Harness;
use crate::model::Quota;
use crate::ports::*;

/// A burst goes through with decreasing `remaining`; the next request is refused with a
/// retry-after of at most one emission interval, and a refused request is not counted.
pub async fn rate_burst_then_refusal<S: RateLimiter + ?Sized + 'static>(h: &Harness<S>) {
    let subject = unique("user");
    let quota = Quota::per(3, secs(1));
    let interval = Duration::microseconds(quota.emission_interval_us());
    for expected_remaining in [2, 1, 0] {
        let d = h.store.check_rate(&subject, &quota).await.expect("check");
        assert!(d.allowed, "requests within the burst go ahead");
        assert_eq!((d.limit, d.remaining), (3, expected_remaining), "limit and remaining after each request");
        assert_eq!(d.retry_after, None, "no retry-after when allowed");
        assert!(d.reset_after > Duration::zero() && d.reset_after <= secs(1), "reset_after within one period");
    }
    let first_refusal = h.store.check_rate(&subject, &quota).await.expect("check");
    assert!(!first_refusal.allowed, "the request after the burst is refused");
    assert_eq!((first_refusal.limit, first_refusal.remaining), (3, 0), "nothing remains");
    let wait = first_refusal.retry_after.expect("a refusal says when to retry");
    assert!(wait > Duration::zero() && wait <= interval, "retry-after is at most one emission interval");
    if h.time.is_manual() {
        assert_eq!(wait, interval, "on a still clock, exactly one emission interval");
    }
    let again = h.store.check_rate(&subject, &quota).await.expect("check");
    assert!(!again.allowed, "still refused");
    let wait_again = again.retry_after.expect("a refusal says when to retry");
    assert!(wait_again <= wait, "a refused request is not counted: the wait does not grow");
}

/// After waiting the retry-after one request goes ahead; after a full period the whole burst is
/// back.
pub async fn rate_recovers_after_waiting<S: RateLimiter + ?Sized + 'static>(h: &Harness<S>) {
    let subject = unique("api-key");
    let quota = Quota::per(2, secs(1));
    for _ in 0..2 {
        assert!(h.store.check_rate(&subject, &quota).await.expect("check").allowed, "the burst goes ahead");
    }
    let refused = h.store.check_rate(&subject, &quota).await.expect("check");
    let wait = refused.retry_after.expect("refused with a retry-after");
    let margin = if h.time.is_manual() { Duration::zero() } else { ms(20) };
    h.time.advance(wait + margin).await;

    let d = h.store.check_rate(&subject, &quota).await.expect("check");
    assert!(d.allowed, "after the retry-after, a request goes ahead");
    assert!(!h.store.check_rate(&subject, &quota).await.expect("check").allowed, "but only one");

    h.time.advance(ms(1050)).await;
    let d = h.store.check_rate(&subject, &quota).await.expect("check");
    assert!(d.allowed && d.remaining == 1, "after a full period the whole burst is back: {d:?}");
}

/// Subjects are limited independently.
pub async fn rate_subjects_independent<S: RateLimiter + ?Sized + 'static>(h: &Harness<S>) {
    let (a, b) = (unique("a"), unique("b"));
    let quota = Quota::per(1, Duration::hours(1));
    assert!(h.store.check_rate(&a, &quota).await.expect("check a").allowed, "a's first request");
    assert!(!h.store.check_rate(&a, &quota).await.expect("check a").allowed, "a is exhausted");
    let d = h.store.check_rate(&b, &quota).await.expect("check b");
    assert!(d.allowed && d.remaining == 0, "b has its own budget");
    assert!(!h.store.check_rate(&a, &quota).await.expect("check a").allowed, "a is still exhausted");
}

/// Bad quotas and subjects are refused with `Validation`, counting nothing.
pub async fn rate_invalid_input_rejected<S: RateLimiter + ?Sized + 'static>(h: &Harness<S>) {
    let subject = unique("subject");
    let ok = Quota::per(5, secs(1));
    assert_validation(h.store.check_rate("", &ok).await, "an empty subject");
    assert_validation(h.store.check_rate(&"s".repeat(1025), &ok).await, "a subject over 1024 bytes");
    let bad_quotas = [
        ("count 0", Quota::per(0, secs(1))),
        ("burst 0", ok.with_burst(0)),
        ("burst over a million", ok.with_burst(1_000_001)),
        ("a zero period", Quota::per(5, Duration::zero())),
        ("a period over 366 days", Quota::per(5, Duration::days(367))),
        ("an emission interval under 1 µs", Quota { count: 2_000_000, period: secs(1), burst: 10 }),
    ];
    for (what, quota) in bad_quotas {
        assert_validation(h.store.check_rate(&subject, &quota).await, what);
    }
    let d = h.store.check_rate(&subject, &ok).await.expect("a valid check");
    assert!(d.allowed && d.remaining == 4, "refused checks counted nothing: {d:?}");
}
