//! The rows of the six analytics tables, as the application writes them.
//!
//! Each row type is built by the application (a constructor sets the required fields, the rest
//! are public), then checked by [`AnalyticsRow::checked`] in every backend before anything is
//! stored: a batch with one bad row is refused whole with a [`Validation`](crate::Error::Validation)
//! error naming the row (`rows[3].metric_name`), and nothing of it is written.
//!
//! Keys (what makes two rows "the same row", so a re-sent row replaces the stored one):
//!
//! | table | key | why |
//! |---|---|---|
//! | `events` | `(time, id)` | events have no natural key; the id (UUIDv7, set by [`Event::new`]) lets a retried batch replace instead of duplicate |
//! | `metrics` | `(team_id, metric_name, dimensions, time)` | one sample of one series at one instant; a re-sent sample is a correction |
//! | `performance` | `(time, id)` | many requests share a microsecond; the id tells them apart |
//! | `engagement` | `(team_id, post_id, platform, time)` | one snapshot of one post on one platform at one instant; a re-sent snapshot replaces |
//! | `ai_metrics` | `(time, id)` | one AI request; [`AiMetric::from_usage`] reuses the `ai_usage` id so both tables hold the same request once |
//! | `costs` | `(time, id)` | one cost entry |

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use validator::Validate;

use crate::clock::to_micros;
use crate::error::{Error, FieldError, ValidationErrors};
use crate::ids::{PostId, TeamId, UserId};
use crate::model::{AiUsage, FeatureType, Platform};
use crate::validate::{self as v, rule};

/// Longest `response_time` a row may carry: one day. Longer is a clock error, not a request.
pub const MAX_RESPONSE_TIME: Duration = Duration::from_secs(86_400);

/// A row of one of the six analytics tables: checked the same way by every backend.
pub trait AnalyticsRow: Sized + Send + Sync + 'static {
    /// The table this row goes to (`events`, `metrics`, ...).
    const TABLE: &'static str;

    /// The row as it is stored: checked against the table's rules, times cut to microseconds.
    fn checked(self) -> Result<Self, Error>;

    /// When the row happened (its partitioning time).
    fn time(&self) -> DateTime<Utc>;
}

/// Check every row of a batch, numbering errors by row (`rows[3].metric_name`); all or nothing.
pub fn check_batch<R: AnalyticsRow>(rows: Vec<R>) -> Result<Vec<R>, Error> {
    let mut out = Vec::with_capacity(rows.len());
    let mut errors = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        match row.checked() {
            Ok(row) => out.push(row),
            Err(Error::Validation(ValidationErrors(fields))) => {
                errors.extend(fields.into_iter().map(|f| FieldError { field: format!("rows[{i}].{}", f.field), ..f }))
            }
            Err(other) => return Err(other),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(Error::Validation(ValidationErrors(errors))) }
}

fn response_time(d: &Duration) -> Result<(), validator::ValidationError> {
    if *d <= MAX_RESPONSE_TIME {
        Ok(())
    } else {
        Err(validator::ValidationError::new(rule::RANGE).with_message("must be at most one day".into()))
    }
}

fn status_code(c: u16) -> Result<(), validator::ValidationError> {
    if (100..=599).contains(&c) {
        Ok(())
    } else {
        Err(validator::ValidationError::new(rule::RANGE).with_message("must be an HTTP status, 100 to 599".into()))
    }
}

fn unit_interval(x: f64) -> Result<(), validator::ValidationError> {
    if (0.0..=1.0).contains(&x) {
        Ok(())
    } else {
        Err(validator::ValidationError::new(rule::RANGE).with_message("must be between 0 and 1".into()))
    }
}

fn finite(x: f64) -> Result<(), validator::ValidationError> {
    if x.is_finite() {
        Ok(())
    } else {
        Err(validator::ValidationError::new(rule::RANGE).with_message("must be a finite number".into()))
    }
}

fn finite_non_negative(x: f64) -> Result<(), validator::ValidationError> {
    if x.is_finite() && x >= 0.0 {
        Ok(())
    } else {
        Err(validator::ValidationError::new(rule::RANGE).with_message("must be a finite number, zero or more".into()))
    }
}

fn non_negative(n: i64) -> Result<(), validator::ValidationError> {
    if n >= 0 {
        Ok(())
    } else {
        Err(validator::ValidationError::new(rule::RANGE).with_message("must be zero or more".into()))
    }
}

fn counters(m: &EngagementCounts) -> Result<(), validator::ValidationError> {
    EngagementCounter::ALL.iter().filter_map(|k| m.get(*k)).try_for_each(non_negative)
}

fn json_object(j: &serde_json::Value) -> Result<(), validator::ValidationError> {
    if !j.is_object() {
        return Err(validator::ValidationError::new(rule::FORMAT).with_message("must be a JSON object".into()));
    }
    v::json(j)
}

fn extra_counters(j: &serde_json::Value) -> Result<(), validator::ValidationError> {
    json_object(j)?;
    let ok = j.as_object().is_some_and(|o| {
        o.iter().all(|(k, v)| {
            !k.is_empty() && k.len() <= 50 && v.as_i64().is_some_and(|n| n >= 0) && !k.chars().any(char::is_control)
        })
    });
    if ok {
        Ok(())
    } else {
        Err(validator::ValidationError::new(rule::FORMAT)
            .with_message("must map metric names (1 to 50 characters) to whole numbers, zero or more".into()))
    }
}

/// `numeric(12,4)` and `>= 0`, as the doc of [`Cost::cost_amount`] states (the billing rule
/// `v::money_amount` is `numeric(10,2)`, too narrow for per-request costs).
fn cost_amount(d: &Decimal) -> Result<(), validator::ValidationError> {
    if d.is_sign_negative() && !d.is_zero() {
        return Err(validator::ValidationError::new(rule::RANGE).with_message("must be zero or more".into()));
    }
    if v::decimal_fits(d, 12, 4) {
        Ok(())
    } else {
        Err(validator::ValidationError::new(rule::PRECISION)
            .with_message("must fit numeric(12,4): under 100,000,000 with at most 4 decimals".into()))
    }
}

fn optional_line(s: &str) -> Result<(), validator::ValidationError> {
    v::no_nul(s)?;
    v::one_line(s)
}

fn tags(list: &[String]) -> Result<(), validator::ValidationError> {
    if list.len() > 50 {
        return Err(validator::ValidationError::new(rule::MAX_LENGTH).with_message("at most 50 tags".into()));
    }
    list.iter().try_for_each(|t| {
        if t.chars().count() > 100 {
            Err(validator::ValidationError::new(rule::MAX_LENGTH)
                .with_message("a tag is at most 100 characters".into()))
        } else {
            v::required_identifier(t)
        }
    })
}

/// One product event (`events`): something a user did or the system noticed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
pub struct Event {
    /// Row id (UUIDv7 from [`Event::new`]); with `time`, the row's key.
    pub id: Uuid,
    /// When it happened (UTC, cut to microseconds), 1900 to 9999.
    #[validate(custom(function = "v::storable_time"))]
    pub time: DateTime<Utc>,
    /// The team it belongs to; every read goes through it.
    pub team_id: TeamId,
    /// The acting user, if any.
    pub user_id: Option<UserId>,
    /// Open event name (`post_published`, `login`), 1 to 50 characters, one line.
    #[validate(length(max = 50), custom(function = "v::required_identifier"))]
    pub event_type: String,
    /// Details as a JSON object; strings and keys hold no NUL.
    #[validate(custom(function = "json_object"))]
    pub event_data: serde_json::Value,
    /// The platform it concerns, if any.
    pub platform: Option<Platform>,
    /// The session it came from, at most 128 characters.
    #[validate(length(max = 128), custom(function = "optional_line"))]
    pub session_id: Option<String>,
    /// The client address, if known.
    pub ip_address: Option<IpAddr>,
    /// The client's user agent, at most 512 characters, one line.
    #[validate(length(max = 512), custom(function = "optional_line"))]
    pub user_agent: Option<String>,
}

impl Event {
    /// An event of `team` at `time`, with a fresh id, empty data and no optional fields.
    pub fn new(team: TeamId, event_type: impl Into<String>, time: DateTime<Utc>) -> Self {
        Self {
            id: Uuid::now_v7(),
            time,
            team_id: team,
            user_id: None,
            event_type: event_type.into(),
            event_data: serde_json::json!({}),
            platform: None,
            session_id: None,
            ip_address: None,
            user_agent: None,
        }
    }
}

/// One sample of an open, team-scoped metric series (`metrics`): a name plus dimensions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
pub struct Metric {
    /// When it was sampled (UTC, cut to microseconds), 1900 to 9999.
    #[validate(custom(function = "v::storable_time"))]
    pub time: DateTime<Utc>,
    /// The team it belongs to.
    pub team_id: TeamId,
    /// The user it concerns, if any.
    pub user_id: Option<UserId>,
    /// Open series name (`followers`, `queue_depth`), 1 to 100 characters, one line.
    #[validate(length(max = 100), custom(function = "v::required_identifier"))]
    pub metric_name: String,
    /// The value, finite.
    #[validate(custom(function = "finite"))]
    pub metric_value: f64,
    /// Open dimensions as a JSON object (`{"platform":"instagram"}`); part of the series' key.
    #[validate(custom(function = "json_object"))]
    pub dimensions: serde_json::Value,
    /// Free tags, at most 50 of at most 100 characters each.
    #[validate(custom(function = "tags"))]
    pub tags: Vec<String>,
}

impl Metric {
    /// A sample of `name` for `team`, with no dimensions, user or tags.
    pub fn new(team: TeamId, name: impl Into<String>, value: f64, time: DateTime<Utc>) -> Self {
        Self {
            time,
            team_id: team,
            user_id: None,
            metric_name: name.into(),
            metric_value: value,
            dimensions: serde_json::json!({}),
            tags: Vec::new(),
        }
    }
}

/// One served request or backend call (`performance`); not team-owned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
pub struct Performance {
    /// Row id (UUIDv7 from [`Performance::new`]); with `time`, the row's key.
    pub id: Uuid,
    /// When the request started (UTC, cut to microseconds), 1900 to 9999.
    #[validate(custom(function = "v::storable_time"))]
    pub time: DateTime<Utc>,
    /// The service (`api`, `clientnest-postgres`), 1 to 100 characters, one line.
    #[validate(length(max = 100), custom(function = "v::required_identifier"))]
    pub service_name: String,
    /// The endpoint or operation (`GET /posts`, `posts.create_post`), 1 to 255 characters.
    #[validate(length(max = 255), custom(function = "v::required_identifier"))]
    pub endpoint: String,
    /// Time to answer, at most [`MAX_RESPONSE_TIME`]; stored in whole microseconds.
    #[validate(custom(function = "response_time"))]
    pub response_time: Duration,
    /// HTTP status (or the closest one for a non-HTTP call), 100 to 599.
    #[validate(custom(function = "status_code"))]
    pub status_code: u16,
    /// Errors this request counts for (0 or more); the rollup's `errors` is their sum.
    #[validate(range(min = 0))]
    pub error_count: i32,
    /// Resident memory of the process in bytes, zero or more, if sampled.
    #[validate(custom(function = "non_negative_bytes"))]
    pub memory_usage: Option<i64>,
    /// CPU use in percent of one core, finite and zero or more, if sampled.
    #[validate(custom(function = "finite_non_negative"))]
    pub cpu_usage: Option<f64>,
}

fn non_negative_bytes(n: i64) -> Result<(), validator::ValidationError> {
    non_negative(n)
}

impl Performance {
    /// A request to `endpoint` of `service` at `time` that took `response_time` and answered
    /// `status_code`; `error_count` is 1 for a status of 500 or more, else 0.
    pub fn new(
        service: impl Into<String>,
        endpoint: impl Into<String>,
        time: DateTime<Utc>,
        response_time: Duration,
        status_code: u16,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            time,
            service_name: service.into(),
            endpoint: endpoint.into(),
            response_time,
            status_code,
            error_count: i32::from(status_code >= 500),
            memory_usage: None,
            cpu_usage: None,
        }
    }
}

/// A metric of [`EngagementSnapshot`] kept in its own column (the seed's six).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngagementCounter {
    /// Likes (reactions).
    Likes,
    /// Comments.
    Comments,
    /// Shares (reposts, retweets).
    Shares,
    /// Views (video or post views).
    Views,
    /// Unique accounts reached.
    Reach,
    /// Times shown (Meta dropped it in Graph API v22; later snapshots leave it `None`).
    Impressions,
}

impl EngagementCounter {
    /// The six metrics, in column order.
    pub const ALL: [EngagementCounter; 6] = [
        EngagementCounter::Likes,
        EngagementCounter::Comments,
        EngagementCounter::Shares,
        EngagementCounter::Views,
        EngagementCounter::Reach,
        EngagementCounter::Impressions,
    ];

    /// The column name (`likes`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            EngagementCounter::Likes => "likes",
            EngagementCounter::Comments => "comments",
            EngagementCounter::Shares => "shares",
            EngagementCounter::Views => "views",
            EngagementCounter::Reach => "reach",
            EngagementCounter::Impressions => "impressions",
        }
    }

    /// The position of this metric in [`EngagementCounter::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for EngagementCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The six cumulative counters of a snapshot; `None` where the platform did not report the
/// metric (never confused with zero).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngagementCounts(pub [Option<i64>; 6]);

impl EngagementCounts {
    /// The value of one metric, if reported.
    pub fn get(&self, m: EngagementCounter) -> Option<i64> {
        self.0[m.index()]
    }

    /// Set one metric (builder style).
    #[must_use]
    pub fn with(mut self, m: EngagementCounter, value: i64) -> Self {
        self.0[m.index()] = Some(value);
        self
    }
}

/// One poll of a post's cumulative counters on one platform (`engagement`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
pub struct EngagementSnapshot {
    /// When the counters were read (UTC, cut to microseconds), 1900 to 9999.
    #[validate(custom(function = "v::storable_time"))]
    pub time: DateTime<Utc>,
    /// The team owning the post (added to the seed's columns: every read goes through it).
    pub team_id: TeamId,
    /// The post.
    pub post_id: PostId,
    /// The platform the counters come from.
    pub platform: Platform,
    /// When the post went out on that platform (added: "best time to post" groups by it).
    #[validate(custom(function = "v::storable_time"))]
    pub published_at: DateTime<Utc>,
    /// The six cumulative counters, each zero or more when present.
    #[validate(custom(function = "counters"))]
    pub counts: EngagementCounts,
    /// Any other counters the platform reports, as a JSON object of names to whole numbers
    /// (`{"saves": 12}`): a new metric needs no migration. Kept and returned, not rolled up.
    #[validate(custom(function = "extra_counters"))]
    pub extra: serde_json::Value,
}

impl EngagementSnapshot {
    /// A snapshot of `post` on `platform` at `time`, with no counters yet.
    pub fn new(
        team: TeamId,
        post: PostId,
        platform: Platform,
        published_at: DateTime<Utc>,
        time: DateTime<Utc>,
    ) -> Self {
        Self {
            time,
            team_id: team,
            post_id: post,
            platform,
            published_at,
            counts: EngagementCounts::default(),
            extra: serde_json::json!({}),
        }
    }

    /// Set one counter (builder style).
    #[must_use]
    pub fn with(mut self, m: EngagementCounter, value: i64) -> Self {
        self.counts = self.counts.with(m, value);
        self
    }
}

/// One AI request (`ai_metrics`): what it cost and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
pub struct AiMetric {
    /// Row id; [`AiMetric::from_usage`] reuses the `ai_usage` id. With `time`, the row's key.
    pub id: Uuid,
    /// When the request was made (UTC, cut to microseconds), 1900 to 9999.
    #[validate(custom(function = "v::storable_time"))]
    pub time: DateTime<Utc>,
    /// The requesting user.
    pub user_id: UserId,
    /// The team billed.
    pub team_id: TeamId,
    /// The AI feature.
    pub feature_type: FeatureType,
    /// Tokens used, more than zero.
    #[validate(range(min = 1))]
    pub tokens_used: i32,
    /// Cost (added to the seed's columns, so cost rollups need no join), zero or more, fitting
    /// `numeric(10,4)`.
    #[validate(custom(function = "v::ai_cost"))]
    pub cost: Decimal,
    /// Model name, 1 to 50 characters.
    #[validate(length(max = 50), custom(function = "v::required_identifier"))]
    pub model_used: String,
    /// Time to answer, at most [`MAX_RESPONSE_TIME`]; stored in whole microseconds.
    #[validate(custom(function = "response_time"))]
    pub response_time: Duration,
    /// Share of the request that succeeded, 0 to 1 (1 or 0 for one request); the rollup's
    /// success rate is the mean over rows.
    #[validate(custom(function = "unit_interval"))]
    pub success_rate: f64,
}

impl AiMetric {
    /// The metrics row of a recorded `ai_usage` row: same id, time, user, team, feature,
    /// tokens, cost and model, so the two tables agree on every total.
    pub fn from_usage(usage: &AiUsage, response_time: Duration, succeeded: bool) -> Self {
        Self {
            id: usage.id.as_uuid(),
            time: usage.created_at,
            user_id: usage.user_id,
            team_id: usage.team_id,
            feature_type: usage.feature_type,
            tokens_used: usage.tokens_used,
            cost: usage.cost,
            model_used: usage.model_used.clone(),
            response_time,
            success_rate: if succeeded { 1.0 } else { 0.0 },
        }
    }
}

/// One cost entry (`costs`): money a team owes for a service in a billing period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
pub struct Cost {
    /// Row id (UUIDv7 from [`Cost::new`]); with `time`, the row's key.
    pub id: Uuid,
    /// When the cost was incurred (UTC, cut to microseconds), 1900 to 9999.
    #[validate(custom(function = "v::storable_time"))]
    pub time: DateTime<Utc>,
    /// The user who caused it, if any.
    pub user_id: Option<UserId>,
    /// The team billed.
    pub team_id: TeamId,
    /// Open service name (`ai`, `storage`, `sms`), 1 to 50 characters.
    #[validate(length(max = 50), custom(function = "v::required_identifier"))]
    pub service_type: String,
    /// Amount, zero or more, fitting `numeric(12,4)`.
    #[validate(custom(function = "cost_amount"))]
    pub cost_amount: Decimal,
    /// ISO 4217 code; totals are per currency, never summed across currencies.
    #[validate(custom(function = "v::currency"))]
    pub currency: String,
    /// The billing period's label (`2026-11`), 1 to 20 characters.
    #[validate(length(max = 20), custom(function = "v::required_identifier"))]
    pub billing_period: String,
}

impl Cost {
    /// A cost of `amount` in `currency` for `team`, in `billing_period`, at `time`, with a fresh id.
    pub fn new(
        team: TeamId,
        service_type: impl Into<String>,
        amount: Decimal,
        currency: impl Into<String>,
        billing_period: impl Into<String>,
        time: DateTime<Utc>,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            time,
            user_id: None,
            team_id: team,
            service_type: service_type.into(),
            cost_amount: amount,
            currency: currency.into(),
            billing_period: billing_period.into(),
        }
    }
}

macro_rules! analytics_row {
    ($($ty:ident => $table:literal $(, |$row:ident| $normalize:block)?;)+) => {$(
        impl AnalyticsRow for $ty {
            const TABLE: &'static str = $table;

            fn checked(mut self) -> Result<Self, Error> {
                v::check(&self)?;
                self.time = to_micros(self.time);
                $(let $row = &mut self; $normalize)?
                Ok(self)
            }

            fn time(&self) -> DateTime<Utc> {
                self.time
            }
        }
    )+};
}

/// A duration cut to whole microseconds, as every backend stores it.
fn whole_micros(d: Duration) -> Duration {
    Duration::from_micros(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

analytics_row! {
    Event => "events";
    Metric => "metrics";
    Performance => "performance", |row| { row.response_time = whole_micros(row.response_time); };
    EngagementSnapshot => "engagement", |row| { row.published_at = to_micros(row.published_at); };
    AiMetric => "ai_metrics", |row| { row.response_time = whole_micros(row.response_time); };
    Cost => "costs";
}
