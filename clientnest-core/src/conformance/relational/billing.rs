//! Billing: the unique subscription id, at most one active record per team (on create and on
//! update), the period check, amounts and currencies, and the active subscription.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;
use rust_decimal::Decimal;

use super::fixtures::*;
use crate::conformance::Harness;
use crate::constraint;
use crate::error::Entity;
use crate::ids::{BillingId, TeamId};
use crate::model::*;
use crate::ports::*;
use crate::validate::rule;

/// A record keeps every field; `active_subscription` returns the active one.
pub async fn billing_create_and_active_subscription<
    S: UserRepository + TeamRepository + BillingRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (_, team) = owned_team(h).await;
    assert_eq!(h.store.active_subscription(team.id).await.expect("active"), None);
    let start = now(h);
    let input = new_billing(BillingStatus::Active, start);
    let sub = input.subscription_id.clone();
    let b = h.store.create_billing(team.id, input).await.expect("create");
    assert_eq!((b.team_id, b.subscription_id.as_str(), b.plan_type), (team.id, sub.as_str(), PlanType::Professional));
    assert_eq!((b.amount, b.currency.as_str(), b.status), (Decimal::new(4900, 2), "USD", BillingStatus::Active));
    assert_eq!(
        (b.period_start, b.period_end, b.next_billing),
        (start, start + Duration::days(30), start + Duration::days(30))
    );
    assert_eq!((b.created_at, b.updated_at), (now(h), now(h)));
    assert_eq!(h.store.get_billing(team.id, b.id).await.expect("get"), b);
    assert_eq!(h.store.active_subscription(team.id).await.expect("active"), Some(b.clone()));

    tick(h).await;
    let old = h.store.create_billing(team.id, new_billing(BillingStatus::Cancelled, start - Duration::days(30))).await;
    let old = old.expect("a cancelled record beside the active one");
    let listed: Vec<BillingId> =
        h.store.list_billing(team.id, all()).await.expect("list").items.into_iter().map(|b| b.id).collect();
    assert_eq!(listed, vec![old.id, b.id]);
    assert_eq!(h.store.active_subscription(team.id).await.expect("active"), Some(b));
}

/// `uq_billing_subscription_id` holds across teams.
pub async fn billing_unique_subscription_id<
    S: UserRepository + TeamRepository + BillingRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (_, team_a) = owned_team(h).await;
    let (_, team_b) = owned_team(h).await;
    let first = h.store.create_billing(team_a.id, new_billing(BillingStatus::Active, now(h))).await.expect("create");
    for team in [team_a.id, team_b.id] {
        let mut same = new_billing(BillingStatus::Cancelled, now(h));
        same.subscription_id = first.subscription_id.clone();
        conflict(h.store.create_billing(team, same).await, Entity::Billing, constraint::UQ_BILLING_SUBSCRIPTION_ID);
    }
    assert_eq!(h.store.list_billing(team_a.id, all()).await.expect("list").items.len(), 1);
    assert!(h.store.list_billing(team_b.id, all()).await.expect("list").items.is_empty());
}

/// `uq_billing_team_active`: at most one active record per team, on create and on update to
/// active; other teams are independent.
pub async fn billing_one_active_per_team<S: UserRepository + TeamRepository + BillingRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let (_, team) = owned_team(h).await;
    let (_, other) = owned_team(h).await;
    let active = h.store.create_billing(team.id, new_billing(BillingStatus::Active, now(h))).await.expect("create");
    conflict(
        h.store.create_billing(team.id, new_billing(BillingStatus::Active, now(h))).await,
        Entity::Billing,
        constraint::UQ_BILLING_TEAM_ACTIVE,
    );
    h.store.create_billing(other.id, new_billing(BillingStatus::Active, now(h))).await.expect("another team's");
    let past_due = h.store.create_billing(team.id, new_billing(BillingStatus::PastDue, now(h))).await.expect("create");
    let activate = BillingUpdate { status: Some(BillingStatus::Active), ..BillingUpdate::default() };
    conflict(
        h.store.update_billing(team.id, past_due.id, activate.clone()).await,
        Entity::Billing,
        constraint::UQ_BILLING_TEAM_ACTIVE,
    );
    assert_eq!(h.store.get_billing(team.id, past_due.id).await.expect("get").status, BillingStatus::PastDue);
    let same = h.store.update_billing(team.id, active.id, activate.clone()).await.expect("active stays active");
    assert_eq!(same.status, BillingStatus::Active);

    h.time.advance(Duration::minutes(1)).await;
    let cancel = BillingUpdate { status: Some(BillingStatus::Cancelled), ..BillingUpdate::default() };
    let cancelled = h.store.update_billing(team.id, active.id, cancel).await.expect("cancel");
    assert_eq!((cancelled.status, cancelled.updated_at), (BillingStatus::Cancelled, now(h)));
    assert_eq!(h.store.active_subscription(team.id).await.expect("active"), None);
    let now_active = h.store.update_billing(team.id, past_due.id, activate).await.expect("the slot is free");
    assert_eq!(h.store.active_subscription(team.id).await.expect("active"), Some(now_active));
}

/// `chk_billing_period` (on create and on update), currency, amount and time rules; refused
/// calls store and change nothing.
pub async fn billing_checks<S: UserRepository + TeamRepository + BillingRepository + ?Sized + 'static>(h: &Harness<S>) {
    let (_, team) = owned_team(h).await;
    let start = now(h);
    let cases: Vec<Case<NewBilling>> = vec![
        (|b| b.period_end = b.period_start, "period_end", rule::BILLING_PERIOD),
        (|b| b.period_end = b.period_start - Duration::days(1), "period_end", rule::BILLING_PERIOD),
        (|b| b.currency = "usd".to_owned(), "currency", rule::CURRENCY),
        (|b| b.currency = "XYZ".to_owned(), "currency", rule::CURRENCY),
        (|b| b.amount = Decimal::new(-1, 2), "amount", rule::RANGE),
        (|b| b.amount = Decimal::new(1999, 3), "amount", rule::PRECISION),
        (|b| b.period_start = year(1800), "period_start", rule::TIME_RANGE),
        (|b| b.next_billing = year(10_000), "next_billing", rule::TIME_RANGE),
        (|b| b.subscription_id = repeat('s', 101), "subscription_id", rule::MAX_LENGTH),
        (|b| b.subscription_id = String::new(), "subscription_id", rule::REQUIRED),
    ];
    for (break_it, field, broken) in cases {
        let mut input = new_billing(BillingStatus::Active, start);
        break_it(&mut input);
        invalid(h.store.create_billing(team.id, input).await, field, broken);
    }
    // Validation comes before the team reference.
    let mut bad = new_billing(BillingStatus::Active, start);
    bad.period_end = start;
    invalid(h.store.create_billing(TeamId::new(), bad).await, "period_end", rule::BILLING_PERIOD);
    assert!(h.store.list_billing(team.id, all()).await.expect("list").items.is_empty(), "nothing stored");

    let b = h.store.create_billing(team.id, new_billing(BillingStatus::Active, start)).await.expect("create");
    let backwards = BillingUpdate { period_end: Some(start - Duration::hours(1)), ..BillingUpdate::default() };
    invalid(h.store.update_billing(team.id, b.id, backwards).await, "period_end", rule::BILLING_PERIOD);
    let past_end = BillingUpdate { period_start: Some(b.period_end), ..BillingUpdate::default() };
    invalid(h.store.update_billing(team.id, b.id, past_end).await, "period_end", rule::BILLING_PERIOD);
    let amount = BillingUpdate { amount: Some(Decimal::new(1, 3)), ..BillingUpdate::default() };
    invalid(h.store.update_billing(team.id, b.id, amount).await, "amount", rule::PRECISION);
    assert_eq!(h.store.get_billing(team.id, b.id).await.expect("get"), b, "refused updates change nothing");
    let longer = BillingUpdate { period_end: Some(start + Duration::days(365)), ..BillingUpdate::default() };
    let changed = h.store.update_billing(team.id, b.id, longer).await.expect("a longer period");
    assert_eq!(changed.period_end, start + Duration::days(365));
}

/// `fk_billing_team`, and `NotFound` for unknown records.
pub async fn billing_references_and_not_found<
    S: UserRepository + TeamRepository + BillingRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (_, team) = owned_team(h).await;
    missing(
        h.store.create_billing(TeamId::new(), new_billing(BillingStatus::Active, now(h))).await,
        Entity::Billing,
        Entity::Team,
        constraint::FK_BILLING_TEAM,
    );
    let unknown = BillingId::new();
    not_found(h.store.get_billing(team.id, unknown).await, Entity::Billing);
    not_found(h.store.update_billing(team.id, unknown, BillingUpdate::default()).await, Entity::Billing);
}
