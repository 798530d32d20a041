//! Rate limits (`rate:{subject}` in Redis), by the generic cell rate algorithm (GCRA).

use chrono::Duration;

use crate::error::Error;
use crate::validate::rule;

/// A limit: `count` requests per `period` on average, with bursts of up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests allowed per period on average, at least 1.
    pub count: u32,
    /// The period `count` is spread over: 1 millisecond to 366 days.
    pub period: Duration,
    /// The largest burst (at least 1).
    pub burst: u32,
}

impl Quota {
    /// `count` per `period`, bursts up to `count`.
    pub fn per(count: u32, period: Duration) -> Self {
        Self { count, period, burst: count }
    }

    /// The same rate with another burst size.
    pub fn with_burst(self, burst: u32) -> Self {
        Self { burst, ..self }
    }

    /// Time between two requests at the steady rate, in microseconds.
    pub fn emission_interval_us(&self) -> i64 {
        self.period.num_microseconds().unwrap_or(i64::MAX) / i64::from(self.count.max(1))
    }

    /// Check the quota: `count >= 1`, `1 <= burst <= 1,000,000`, 1 ms `<= period <=` 366 days,
    /// and an emission interval of at least 1 microsecond ([`rule::RANGE`]).
    pub fn check(&self) -> Result<(), Error> {
        let ok = self.count >= 1
            && self.burst >= 1
            && self.burst <= 1_000_000
            && self.period >= Duration::milliseconds(1)
            && self.period <= Duration::days(366)
            && self.emission_interval_us() >= 1;
        if ok {
            Ok(())
        } else {
            Err(Error::invalid("quota", rule::RANGE, "needs count >= 1, 1 <= burst <= 1e6, 1 ms <= period <= 366 days"))
        }
    }
}

/// The answer of one rate-limit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether the request may go ahead (and was counted).
    pub allowed: bool,
    /// The quota's burst size: the most requests that can go ahead at once.
    pub limit: u32,
    /// Requests that could still go ahead right now.
    pub remaining: u32,
    /// Until the limiter is back to a full burst.
    pub reset_after: Duration,
    /// When refused, how long to wait before the next request can go ahead.
    pub retry_after: Option<Duration>,
}

/// One GCRA step, shared by every backend so they agree to the microsecond.
///
/// `tat_us` is the stored theoretical arrival time (or `None`), `now_us` the current time.
/// Returns the decision and the new TAT to store when allowed.
pub fn gcra(quota: &Quota, tat_us: Option<i64>, now_us: i64) -> (RateDecision, Option<i64>) {
    let t = quota.emission_interval_us();
    let tau = t.saturating_mul(i64::from(quota.burst));
    let tat = tat_us.unwrap_or(now_us).max(now_us);
    let new_tat = tat.saturating_add(t);
    let allow_at = new_tat.saturating_sub(tau);
    let remaining_of = |tat_after: i64| -> u32 {
        let headroom = tau - (tat_after - now_us);
        if headroom <= 0 { 0 } else { u32::try_from(headroom / t).unwrap_or(u32::MAX).min(quota.burst) }
    };
    if allow_at <= now_us {
        let d = RateDecision {
            allowed: true,
            limit: quota.burst,
            remaining: remaining_of(new_tat),
            reset_after: Duration::microseconds(new_tat - now_us),
            retry_after: None,
        };
        (d, Some(new_tat))
    } else {
        let d = RateDecision {
            allowed: false,
            limit: quota.burst,
            remaining: 0,
            reset_after: Duration::microseconds(tat - now_us),
            retry_after: Some(Duration::microseconds(allow_at - now_us)),
        };
        (d, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_steady_rate() {
        let q = Quota::per(10, Duration::seconds(1)).with_burst(3);
        let mut tat = None;
        let now = 1_000_000_000;
        for expected_remaining in [2, 1, 0] {
            let (d, t) = gcra(&q, tat, now);
            assert!(d.allowed);
            assert_eq!(d.remaining, expected_remaining);
            tat = t;
        }
        let (d, t) = gcra(&q, tat, now);
        assert!(!d.allowed);
        assert_eq!(t, None);
        assert_eq!(d.retry_after, Some(Duration::milliseconds(100)));
        let (d, _) = gcra(&q, tat, now + 100_000);
        assert!(d.allowed);
    }
}
