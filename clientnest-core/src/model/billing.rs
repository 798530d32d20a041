//! Billing (`billing`): a team's subscription periods.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::choices::{BillingStatus, PlanType};
use crate::clock::to_micros;
use crate::error::Error;
use crate::ids::{BillingId, TeamId};
use crate::validate::{self as v, Checks, rule};

/// A stored billing record. `subscription_id` is unique; a team has at most one `active` record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Billing {
    /// Primary key, a fresh id set at creation; never changes.
    pub id: BillingId,
    /// The team billed; every read goes through it.
    pub team_id: TeamId,
    /// The payment provider's subscription id: 1 to 100 characters, one line, no surrounding
    /// whitespace; unique across all records; never changes.
    pub subscription_id: String,
    /// Plan billed for, one of the seed's `plan_type` values.
    pub plan_type: PlanType,
    /// Amount per period, zero or more, fitting `numeric(10,2)`: under 100,000,000 with at most
    /// 2 decimals.
    pub amount: Decimal,
    /// ISO 4217 currency code, upper case (`USD`); never changes.
    pub currency: String,
    /// Subscription status; at most one `active` record per team.
    pub status: BillingStatus,
    /// Period start (UTC, microseconds, years 1900 to 9999).
    pub period_start: DateTime<Utc>,
    /// Period end (UTC, microseconds), strictly after `period_start` (`chk_billing_period`).
    pub period_end: DateTime<Utc>,
    /// Creation time (UTC, microseconds), set by the backend; never changes.
    pub created_at: DateTime<Utc>,
    /// Time of the last change (UTC); equals `created_at` until an update.
    pub updated_at: DateTime<Utc>,
    /// Next charge (UTC, microseconds, years 1900 to 9999); not checked against the period.
    pub next_billing: DateTime<Utc>,
}

/// A billing record to create; [`NewBilling::check`] holds every rule.
#[derive(Debug, Clone, Validate)]
pub struct NewBilling {
    /// Subscription id, at most 100 characters, unique.
    #[validate(length(max = 100), custom(function = "v::required_identifier"))]
    pub subscription_id: String,
    /// Plan billed for, one of the seed's `plan_type` values.
    pub plan_type: PlanType,
    /// Amount per period, zero or more, fitting `numeric(10,2)` (at most 2 decimals).
    #[validate(custom(function = "v::money_amount"))]
    pub amount: Decimal,
    /// ISO 4217 currency (`USD` by default in the seed).
    #[validate(custom(function = "v::currency"))]
    pub currency: String,
    /// Initial status; at most one `active` record per team.
    pub status: BillingStatus,
    /// Period start (years 1900 to 9999, stored to the microsecond).
    #[validate(custom(function = "v::storable_time"))]
    pub period_start: DateTime<Utc>,
    /// Period end (years 1900 to 9999), strictly after `period_start` (`chk_billing_period`).
    #[validate(custom(function = "v::storable_time"))]
    pub period_end: DateTime<Utc>,
    /// Next charge (years 1900 to 9999, stored to the microsecond).
    #[validate(custom(function = "v::storable_time"))]
    pub next_billing: DateTime<Utc>,
}

impl NewBilling {
    /// All rules, `period_end > period_start` included.
    pub fn check(&self) -> Result<(), Error> {
        let mut c = Checks::of(self);
        c.ensure(self.period_end > self.period_start, "period_end", rule::BILLING_PERIOD, "must be after period_start");
        c.finish()
    }

    /// The record of `team` to store, after [`NewBilling::check`]: a new id, created and
    /// changed at `now`, every time truncated to microseconds.
    pub fn into_record(self, team: TeamId, now: DateTime<Utc>) -> Result<Billing, Error> {
        self.check()?;
        let now = to_micros(now);
        Ok(Billing {
            id: BillingId::new(),
            team_id: team,
            subscription_id: self.subscription_id,
            plan_type: self.plan_type,
            amount: self.amount,
            currency: self.currency,
            status: self.status,
            period_start: to_micros(self.period_start),
            period_end: to_micros(self.period_end),
            created_at: now,
            updated_at: now,
            next_billing: to_micros(self.next_billing),
        })
    }
}

/// Changes to a billing record.
#[derive(Debug, Clone, Default, Validate)]
pub struct BillingUpdate {
    /// New plan; `None` keeps it.
    pub plan_type: Option<PlanType>,
    /// New amount: zero or more, fitting `numeric(10,2)`; `None` keeps it.
    #[validate(custom(function = "v::money_amount"))]
    pub amount: Option<Decimal>,
    /// New status; `None` keeps it. At most one `active` record per team.
    pub status: Option<BillingStatus>,
    /// New period start (years 1900 to 9999); the result must still end after it starts.
    #[validate(custom(function = "v::storable_time"))]
    pub period_start: Option<DateTime<Utc>>,
    /// New period end (years 1900 to 9999), after the (new or kept) start; `None` keeps it.
    #[validate(custom(function = "v::storable_time"))]
    pub period_end: Option<DateTime<Utc>>,
    /// New next charge (years 1900 to 9999); `None` keeps it.
    #[validate(custom(function = "v::storable_time"))]
    pub next_billing: Option<DateTime<Utc>>,
}

impl BillingUpdate {
    /// Apply the changes (times truncated to microseconds), then check the period on the
    /// result; a refused change leaves `b` as it was.
    pub fn apply(self, b: &mut Billing, now: DateTime<Utc>) -> Result<(), Error> {
        let mut next = b.clone();
        if let Some(x) = self.plan_type {
            next.plan_type = x;
        }
        if let Some(x) = self.amount {
            next.amount = x;
        }
        if let Some(x) = self.status {
            next.status = x;
        }
        if let Some(x) = self.period_start {
            next.period_start = to_micros(x);
        }
        if let Some(x) = self.period_end {
            next.period_end = to_micros(x);
        }
        if let Some(x) = self.next_billing {
            next.next_billing = to_micros(x);
        }
        if next.period_end <= next.period_start {
            return Err(Error::invalid("period_end", rule::BILLING_PERIOD, "must be after period_start"));
        }
        next.updated_at = now;
        *b = next;
        Ok(())
    }
}
