//! [`RateLimiter`] on Redis: one GCRA step per check, in one EVALSHA, on the server's clock.
//! The script computes exactly what [`clientnest_core::model::gcra`] computes.

use async_trait::async_trait;
use chrono::Duration;
use clientnest_core::Result;
use clientnest_core::model::{Quota, RateDecision, check_key};
use clientnest_core::ports::RateLimiter;

use crate::error::bad_reply;
use crate::scripts::RATE_GCRA;
use crate::store::RedisKv;

#[async_trait]
impl RateLimiter for RedisKv {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn check_rate(&self, subject: &str, quota: &Quota) -> Result<RateDecision> {
        quota.check()?;
        check_key("subject", subject)?;
        let t = quota.emission_interval_us();
        let tau = t.saturating_mul(i64::from(quota.burst));
        // ARGV[4] empty: the script reads the server's TIME.
        let (allowed, remaining, reset_us, retry_us): (i64, i64, i64, i64) =
            self.eval_once(RATE_GCRA.key(self.keys().rate(subject)).arg(t).arg(tau).arg(quota.burst).arg("")).await?;
        Ok(RateDecision {
            allowed: allowed == 1,
            limit: quota.burst,
            remaining: u32::try_from(remaining).map_err(|_| bad_reply("rate_gcra remaining"))?,
            reset_after: Duration::microseconds(reset_us),
            retry_after: (allowed == 0).then(|| Duration::microseconds(retry_us)),
        })
    }
}
