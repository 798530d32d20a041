//! Across ports: AI usage recorded in both `ai_usage` and `ai_metrics` gives the same monthly
//! totals from either table.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use chrono::Duration;
use chrono_tz::Tz;
use rust_decimal::Decimal;

use crate::analytics::{AiMetric, AiMetricsReader, AnalyticsWriter, Bucket, Buckets, Rollup};
use crate::conformance::Harness;
use crate::crypto::hash_password;
use crate::model::{AiUsage, FeatureType, NewAiUsage, NewTeam, NewUser, Period, PlanType};
use crate::ports::{AiUsageRepository, TeamRepository, UserRepository};
use crate::secret::Secret;

use FeatureType::{ContentGeneration, ContentOptimization, ResponseGeneration};

/// `(requests, tokens, cost)` per feature string.
type Totals = BTreeMap<&'static str, (i64, i64, Decimal)>;

/// Records five AI requests through [`AiUsageRepository::record_ai_usage`] (on a manual clock,
/// three in one month and two 32 days later, so two calendar months), writes their
/// [`AiMetric::from_usage`] rows to `analytics`, and checks that per UTC month
/// `ai_usage_totals` and `ai_rollup` (`Bucket::Month`, summed over models) agree on requests,
/// tokens and cost per feature, with the totals worked out by hand.
///
/// `repos` is a relational harness (its clock dates the usage); `analytics` any analytics
/// backend. Not registered in a macro: each backend pairs its own stores and calls it.
pub async fn ai_usage_and_ai_metrics_agree<R, A>(repos: &Harness<R>, analytics: &A)
where
    R: UserRepository + TeamRepository + AiUsageRepository + ?Sized,
    A: AnalyticsWriter + AiMetricsReader + ?Sized,
{
    let hash = hash_password(&Secret::new("agreement password")).expect("hash");
    let email = format!("ai-{}@example.com", uuid::Uuid::new_v4().simple());
    let user = repos.store.create_user(NewUser::new(email, hash, "Ada", "Lovelace")).await.expect("user");
    let name = format!("Team {}", uuid::Uuid::new_v4().simple());
    let (team, _) = repos.store.create_team(NewTeam::new(name, user.id, PlanType::Starter)).await.expect("team");
    let usage = |feature, tokens: i32, cost: i64, model: &str| NewAiUsage {
        user_id: user.id,
        feature_type: feature,
        tokens_used: tokens,
        cost: Decimal::new(cost, 4),
        model_used: model.to_owned(),
        request_data: serde_json::json!({}),
        response_data: serde_json::json!({}),
        metadata: serde_json::json!({}),
    };
    let mut recorded: Vec<AiUsage> = Vec::new();
    for input in [
        usage(ContentGeneration, 100, 100, "gpt-4o"),
        usage(ContentGeneration, 100, 100, "claude-3"),
        usage(ContentOptimization, 50, 50, "gpt-4o"),
    ] {
        recorded.push(repos.store.record_ai_usage(team.id, input).await.expect("record usage"));
    }
    let manual = repos.time.is_manual();
    if manual {
        repos.time.advance(Duration::days(32)).await;
    }
    for input in [usage(ContentGeneration, 70, 70, "gpt-4o"), usage(ResponseGeneration, 30, 30, "gpt-4o")] {
        recorded.push(repos.store.record_ai_usage(team.id, input).await.expect("record usage"));
    }
    let metrics: Vec<AiMetric> =
        recorded.iter().map(|u| AiMetric::from_usage(u, StdDuration::from_millis(200), true)).collect();
    assert_eq!(analytics.append_ai_metrics(metrics).await.expect("append ai metrics"), 5);

    let (first, last) = (recorded[0].created_at, recorded[4].created_at);
    let span = Period::new(first, last + Duration::microseconds(1)).expect("a span");
    let rollup = Rollup::new(team.id, span, Bucket::Month).in_zone(Tz::UTC);
    let buckets = Buckets::new(&rollup).expect("month buckets");
    let rows = analytics.ai_rollup(rollup).await.expect("ai rollup");
    let mut per_month: Vec<Totals> = Vec::new();
    for (i, start) in buckets.starts().iter().enumerate() {
        let end = buckets.starts().get(i + 1).copied().unwrap_or(buckets.end());
        let from_usage: Totals = repos
            .store
            .ai_usage_totals(team.id, Period::new(*start, end).expect("a month"))
            .await
            .expect("usage totals")
            .into_iter()
            .map(|t| (t.feature_type.as_str(), (t.requests, t.tokens, t.cost)))
            .collect();
        let mut from_metrics = Totals::new();
        for b in rows.iter().filter(|b| b.bucket == *start) {
            let e = from_metrics.entry(b.feature_type.as_str()).or_insert((0, 0, Decimal::ZERO));
            e.0 += i64::try_from(b.requests).expect("requests fit");
            e.1 += b.tokens;
            e.2 += b.cost;
        }
        assert_eq!(from_usage, from_metrics, "month starting {start}: ai_usage and ai_metrics agree");
        if !from_usage.is_empty() {
            per_month.push(from_usage);
        }
    }
    let d = |n: i64| Decimal::new(n, 4);
    if manual {
        let month_one =
            Totals::from([("content_generation", (2, 200, d(200))), ("content_optimization", (1, 50, d(50)))]);
        let month_two = Totals::from([("content_generation", (1, 70, d(70))), ("response_generation", (1, 30, d(30)))]);
        assert_eq!(per_month, vec![month_one, month_two]);
    }
    let all: (i64, i64, Decimal) =
        per_month.iter().flat_map(|m| m.values()).fold((0, 0, Decimal::ZERO), |a, v| (a.0 + v.0, a.1 + v.1, a.2 + v.2));
    assert_eq!(all, (5, 350, d(350)));
    assert!(rows.iter().all(|b| b.success_rate == 1.0 && b.mean_response_us == 200_000.0));
}
