//! Costs per billing period, service type and currency; currencies never summed together.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use rust_decimal::Decimal;

use super::fixtures::*;
use crate::analytics::*;
use crate::conformance::Harness;
use crate::ids::TeamId;

/// Totals over `[start, end)` per (period, service, currency), in that order: dollars and
/// euros of the same service apart, a cost at the range's end left out, another team unseen.
pub async fn costs_per_period_service_and_currency<S: AnalyticsWriter + CostReader + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    let cents = |n: i64| Decimal::new(n, 2);
    s.append_costs(vec![
        Cost::new(team, "ai", cents(150), "USD", "2026-11", at(2026, 11, 2, 9, 0)),
        Cost::new(team, "ai", cents(225), "USD", "2026-11", at(2026, 11, 3, 9, 0)),
        Cost::new(team, "ai", cents(300), "EUR", "2026-11", at(2026, 11, 3, 10, 0)),
        Cost::new(team, "storage", cents(10), "USD", "2026-11", at(2026, 11, 4, 0, 0)),
        Cost::new(team, "ai", cents(900), "USD", "2026-10", at(2026, 10, 1, 0, 0)),
        Cost::new(team, "ai", Decimal::new(12_345, 4), "USD", "2026-10", at(2026, 10, 30, 0, 0)),
        Cost::new(team, "ai", cents(10_000), "USD", "2026-12", at(2026, 12, 1, 0, 0)),
    ])
    .await
    .expect("append");
    let stranger = Cost::new(TeamId::new(), "ai", cents(777), "USD", "2026-11", at(2026, 11, 2, 9, 0));
    s.append_costs(vec![stranger]).await.expect("another team");

    let got = s.cost_totals(team, period(at(2026, 10, 1, 0, 0), at(2026, 12, 1, 0, 0))).await.expect("totals");
    let total = |p: &str, service: &str, currency: &str, amount: Decimal, entries: u64| CostTotal {
        billing_period: p.to_owned(),
        service_type: service.to_owned(),
        currency: currency.to_owned(),
        amount,
        entries,
    };
    assert_eq!(
        got,
        vec![
            total("2026-10", "ai", "USD", Decimal::new(102_345, 4), 2),
            total("2026-11", "ai", "EUR", cents(300), 1),
            total("2026-11", "ai", "USD", cents(375), 2),
            total("2026-11", "storage", "USD", cents(10), 1),
        ]
    );
    assert!(
        s.cost_totals(TeamId::new(), period(at(2026, 10, 1, 0, 0), at(2026, 12, 1, 0, 0)))
            .await
            .expect("fresh")
            .is_empty()
    );
}
