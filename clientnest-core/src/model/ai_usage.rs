//! AI usage records (`ai_usage`) and their totals.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::choices::FeatureType;
use crate::clock::to_micros;
use crate::error::Error;
use crate::ids::{AiUsageId, TeamId, UserId};
use crate::validate::{self as v, rule};

/// A stored AI usage record: one row of `ai_usage`, written once and never updated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AiUsage {
    /// Primary key, a fresh id set at creation; never changes.
    pub id: AiUsageId,
    /// The user whose request used the AI.
    pub user_id: UserId,
    /// The team billed; every read goes through it.
    pub team_id: TeamId,
    /// Which AI feature was used.
    pub feature_type: FeatureType,
    /// Tokens used, more than zero (`chk_ai_usage_tokens_positive`).
    pub tokens_used: i32,
    /// Cost, zero or more, fitting `numeric(10,4)`: under 1,000,000 with at most 4 decimals.
    pub cost: Decimal,
    /// Model name: 1 to 50 characters, one line, no surrounding whitespace.
    pub model_used: String,
    /// Request details as JSON; strings and keys hold no NUL.
    pub request_data: serde_json::Value,
    /// Response details as JSON; strings and keys hold no NUL.
    pub response_data: serde_json::Value,
    /// Time of use (UTC, microseconds), set by the backend; never changes.
    pub created_at: DateTime<Utc>,
    /// Free-form JSON metadata; strings and keys hold no NUL.
    pub metadata: serde_json::Value,
}

fn tokens(n: i32) -> Result<(), validator::ValidationError> {
    if n > 0 {
        Ok(())
    } else {
        Err(validator::ValidationError::new(rule::TOKENS_POSITIVE).with_message("must be more than zero".into()))
    }
}

/// A usage to record, checked against the seed's `ai_usage` CHECKs before it is stored.
#[derive(Debug, Clone, Validate)]
pub struct NewAiUsage {
    /// The user whose request used the AI: must exist and be an active member of the team (else `NotAMember`).
    pub user_id: UserId,
    /// Which AI feature was used.
    pub feature_type: FeatureType,
    /// Tokens used, more than zero (`chk_ai_usage_tokens_positive`).
    #[validate(custom(function = "tokens"))]
    pub tokens_used: i32,
    /// Cost, zero or more (`chk_ai_usage_cost_positive`), fitting `numeric(10,4)`: under
    /// 1,000,000 with at most 4 decimals ([`rule::PRECISION`](crate::validate::rule::PRECISION)).
    #[validate(custom(function = "v::ai_cost"))]
    pub cost: Decimal,
    /// Model name, at most 50 characters.
    #[validate(length(max = 50), custom(function = "v::required_identifier"))]
    pub model_used: String,
    /// Request details as JSON; strings and keys hold no NUL.
    #[validate(custom(function = "v::json"))]
    pub request_data: serde_json::Value,
    /// Response details as JSON; strings and keys hold no NUL.
    #[validate(custom(function = "v::json"))]
    pub response_data: serde_json::Value,
    /// Free-form JSON metadata; strings and keys hold no NUL.
    #[validate(custom(function = "v::json"))]
    pub metadata: serde_json::Value,
}

impl NewAiUsage {
    /// The record of `team` to store, after validation: a new id, used at `now` (truncated to
    /// microseconds).
    pub fn into_record(self, team: TeamId, now: DateTime<Utc>) -> Result<AiUsage, Error> {
        v::check(&self)?;
        Ok(AiUsage {
            id: AiUsageId::new(),
            user_id: self.user_id,
            team_id: team,
            feature_type: self.feature_type,
            tokens_used: self.tokens_used,
            cost: self.cost,
            model_used: self.model_used,
            request_data: self.request_data,
            response_data: self.response_data,
            created_at: to_micros(now),
            metadata: self.metadata,
        })
    }
}

/// Totals of one feature over a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AiUsageTotal {
    /// The feature these totals cover.
    pub feature_type: FeatureType,
    /// Number of usage records in the period, zero or more.
    pub requests: i64,
    /// Sum of `tokens_used` over those records.
    pub tokens: i64,
    /// Sum of `cost` over those records, as a decimal.
    pub cost: Decimal,
}

/// A half-open time range `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// Inclusive start (UTC): a time equal to it is in the period.
    pub start: DateTime<Utc>,
    /// Exclusive end (UTC): a time equal to it is not in the period; [`Period::new`] wants it
    /// after `start`.
    pub end: DateTime<Utc>,
}

impl Period {
    /// A period; `end` must be after `start`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, Error> {
        if end <= start {
            return Err(Error::invalid("period", rule::RANGE, "end must be after start"));
        }
        Ok(Self { start, end })
    }

    /// Whether a time falls in the period.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }
}
