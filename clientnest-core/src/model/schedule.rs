//! Publishing schedules (`schedules`): one row per post and target account, claimed by workers
//! under a lease so that a post is never published twice.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::choices::{Platform, ScheduleStatus};
use crate::error::Error;
use crate::ids::{PostId, ScheduleId, SocialAccountId, TeamId, UserId};
use crate::validate::{self as v, rule};

/// A stored schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Id.
    pub id: ScheduleId,
    /// Who scheduled it.
    pub user_id: UserId,
    /// Team.
    pub team_id: TeamId,
    /// The post to publish.
    pub post_id: PostId,
    /// The account to publish with (addition to the seed).
    pub social_account_id: SocialAccountId,
    /// The account's platform.
    pub platform: Platform,
    /// When to publish.
    pub scheduled_time: DateTime<Utc>,
    /// The IANA zone the user scheduled in (for display; `scheduled_time` is absolute).
    pub timezone: String,
    /// Status.
    pub status: ScheduleStatus,
    /// Failed attempts so far.
    pub retry_count: i32,
    /// Last claim time.
    pub last_attempt: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When a pending schedule is next due: `scheduled_time`, then later after a failure.
    pub next_attempt_at: DateTime<Utc>,
    /// The worker holding the lease, while processing.
    pub locked_by: Option<String>,
    /// When the lease ends, while processing.
    pub locked_until: Option<DateTime<Utc>>,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// The platform's id of the published post, once completed.
    pub platform_post_id: Option<String>,
}

/// A schedule to create. The platform is the account's.
#[derive(Debug, Clone, Validate)]
pub struct NewSchedule {
    /// Who schedules (must exist).
    pub user_id: UserId,
    /// The post (same team).
    pub post_id: PostId,
    /// The account (same team, active).
    pub social_account_id: SocialAccountId,
    /// When to publish; must be later than now (`chk_schedules_future_time`).
    #[validate(custom(function = "v::storable_time"))]
    pub scheduled_time: DateTime<Utc>,
    /// IANA zone name.
    #[validate(length(max = 50), custom(function = "v::timezone"))]
    pub timezone: String,
}

impl NewSchedule {
    /// All rules, given the creation time.
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), Error> {
        let mut c = v::Checks::of(self);
        c.ensure(
            self.scheduled_time > now,
            "scheduled_time",
            rule::SCHEDULE_FUTURE,
            "must be later than the creation time",
        );
        c.finish()
    }
}

/// A worker's identity, one per process start (a restarted worker takes a new one).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WorkerId(String);

impl WorkerId {
    /// A worker id: 1 to 100 printable characters.
    pub fn new(id: impl Into<String>) -> Result<Self, Error> {
        let id = id.into();
        if id.is_empty() || id.chars().count() > 100 || id.chars().any(char::is_control) {
            return Err(Error::invalid("worker", rule::FORMAT, "must be 1 to 100 printable characters"));
        }
        Ok(Self(id))
    }

    /// A fresh unique id with a readable prefix, e.g. `publisher-0190...`.
    pub fn unique(prefix: &str) -> Self {
        let prefix: String = prefix.chars().filter(|c| !c.is_control()).take(50).collect();
        Self(format!("{prefix}-{}", uuid::Uuid::now_v7()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How failures are retried: exponential backoff from `base_delay`, capped at `max_delay`,
/// until `max_attempts` attempts have failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, first included (at least 1).
    pub max_attempts: u32,
    /// Delay after the first failure.
    pub base_delay: Duration,
    /// Largest delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 5, base_delay: Duration::seconds(30), max_delay: Duration::hours(1) }
    }
}

impl RetryPolicy {
    /// The delay after `failures` failures (1 for the first): `base * 2^(failures-1)`, capped.
    pub fn delay_after(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(30);
        let factor = 1i64 << exp;
        let ms = self.base_delay.num_milliseconds().saturating_mul(factor);
        Duration::milliseconds(ms).min(self.max_delay)
    }

    /// Check the policy.
    pub fn check(&self) -> Result<(), Error> {
        if self.max_attempts == 0 || self.base_delay < Duration::zero() || self.max_delay < self.base_delay {
            return Err(Error::invalid(
                "retry_policy",
                rule::RANGE,
                "needs max_attempts >= 1 and 0 <= base_delay <= max_delay",
            ));
        }
        Ok(())
    }
}

/// A lease length for claims: between one second and one day.
pub fn check_lease(lease: Duration) -> Result<(), Error> {
    if lease < Duration::seconds(1) || lease > Duration::days(1) {
        return Err(Error::invalid("lease", rule::RANGE, "must be between 1 second and 1 day"));
    }
    Ok(())
}

/// A claim batch size: between 1 and 1,000.
pub fn check_batch(limit: u32) -> Result<(), Error> {
    if limit == 0 || limit > 1000 {
        return Err(Error::invalid("limit", rule::RANGE, "must be between 1 and 1000"));
    }
    Ok(())
}

/// The platform's post id given to `complete`: 1 to 200 characters without NUL.
pub fn check_platform_post_id(id: &str) -> Result<(), Error> {
    let field = "platform_post_id";
    if id.is_empty() {
        return Err(Error::invalid(field, rule::REQUIRED, "must not be empty"));
    }
    if id.chars().count() > 200 {
        return Err(Error::invalid(field, rule::MAX_LENGTH, "must be at most 200 characters"));
    }
    if id.contains('\0') {
        return Err(Error::invalid(field, rule::NUL_BYTE, "must not contain NUL bytes"));
    }
    Ok(())
}

/// Filter for listing a team's schedules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScheduleFilter {
    /// Only this status.
    pub status: Option<ScheduleStatus>,
    /// Only this post.
    pub post_id: Option<PostId>,
}

/// What a failure report did to a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Back to pending, due again at this time.
    Retrying {
        /// When it is due again.
        next_attempt_at: DateTime<Utc>,
    },
    /// Out of attempts: failed for good.
    Failed,
}
