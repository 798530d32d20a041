//! The GCRA rate limiter in memory: one theoretical arrival time per subject, kept until it
//! passes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{MemoryKv, lock};
use crate::error::Result;
use crate::model::{Quota, RateDecision, check_key, gcra};
use crate::ports::RateLimiter;

#[async_trait]
impl RateLimiter for MemoryKv {
    async fn check_rate(&self, subject: &str, quota: &Quota) -> Result<RateDecision> {
        quota.check()?;
        check_key("subject", subject)?;
        let now = self.now();
        let mut rates = lock(&self.inner.rates);
        rates.purge(now);
        let tat = rates.get(subject, now).copied();
        let (decision, new_tat) = gcra(quota, tat, now.timestamp_micros());
        if let Some(tat) = new_tat {
            // Once the TAT has passed it no longer limits anything: it expires then.
            let expires_at = DateTime::<Utc>::from_timestamp_micros(tat).unwrap_or(DateTime::<Utc>::MAX_UTC);
            rates.insert(subject.to_owned(), tat, expires_at);
        }
        Ok(decision)
    }
}
