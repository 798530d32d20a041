//! AI metrics: tokens, cost, success rate and mean response time per day or month in the
//! team's zone, by feature and model.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::fixtures::*;
use crate::analytics::*;
use crate::conformance::Harness;
use crate::ids::{TeamId, UserId};
use crate::model::FeatureType;

use FeatureType::{ContentGeneration as Generation, ContentOptimization as Optimization};

/// An AI request of `team` at `time`: `cost` in ten-thousandths, `ms` to answer.
#[allow(clippy::too_many_arguments)]
fn request(
    team: TeamId,
    time: DateTime<Utc>,
    feature: FeatureType,
    model: &str,
    tokens: i32,
    cost: i64,
    ms: u64,
    success: f64,
) -> AiMetric {
    AiMetric {
        id: uuid::Uuid::now_v7(),
        time,
        user_id: UserId::new(),
        team_id: team,
        feature_type: feature,
        tokens_used: tokens,
        cost: Decimal::new(cost, 4),
        model_used: model.to_owned(),
        response_time: StdDuration::from_millis(ms),
        success_rate: success,
    }
}

/// An expected bucket; `cost` in ten-thousandths.
#[allow(clippy::too_many_arguments)]
fn row(
    bucket: DateTime<Utc>,
    feature: FeatureType,
    model: &str,
    requests: u64,
    tokens: i64,
    cost: i64,
    success_rate: f64,
    mean_response_us: f64,
) -> AiBucket {
    AiBucket {
        bucket,
        feature_type: feature,
        model_used: model.to_owned(),
        requests,
        tokens,
        cost: Decimal::new(cost, 4),
        success_rate,
        mean_response_us,
    }
}

/// Berlin days and months: a request at 23:30 UTC on 2026-11-02 is on Berlin's 3 November, one
/// at 23:30 UTC on 31 October in Berlin's November; rows ordered by bucket, feature, model;
/// another team's requests unseen.
#[allow(clippy::too_many_lines)]
pub async fn ai_rollup_per_day_and_month_in_zone<S: AnalyticsWriter + AiMetricsReader + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    let (gpt, claude) = ("gpt-4o", "claude-3");
    s.append_ai_metrics(vec![
        request(team, at(2026, 11, 2, 8, 0), Generation, gpt, 100, 100, 1200, 1.0),
        request(team, at(2026, 11, 2, 22, 30), Generation, gpt, 300, 300, 800, 0.0),
        request(team, at(2026, 11, 2, 23, 30), Generation, gpt, 50, 50, 500, 1.0),
        request(team, at(2026, 11, 2, 9, 0), Generation, claude, 10, 1, 100, 1.0),
        request(team, at(2026, 11, 2, 10, 0), Optimization, gpt, 20, 20, 300, 0.5),
        request(team, at(2026, 11, 5, 12, 0), Optimization, gpt, 30, 30, 100, 1.0),
        request(team, at(2026, 10, 31, 23, 30), Generation, gpt, 1000, 1000, 2000, 1.0),
        request(team, at(2026, 10, 31, 22, 30), Generation, gpt, 7, 7, 700, 1.0),
        request(team, at(2026, 12, 1, 10, 0), Generation, gpt, 1, 0, 1, 1.0),
    ])
    .await
    .expect("append");
    let stranger = request(TeamId::new(), at(2026, 11, 2, 8, 0), Generation, gpt, 9999, 9999, 1, 1.0);
    s.append_ai_metrics(vec![stranger]).await.expect("another team");

    let berlin = chrono_tz::Europe::Berlin;
    let days = s
        .ai_rollup(rollup(team, at(2026, 11, 1, 23, 0), at(2026, 11, 3, 23, 0), Bucket::Day, berlin))
        .await
        .expect("per day");
    let (nov2, nov3) = (at(2026, 11, 1, 23, 0), at(2026, 11, 2, 23, 0));
    assert_eq!(
        days,
        vec![
            row(nov2, Generation, claude, 1, 10, 1, 1.0, 100_000.0),
            row(nov2, Generation, gpt, 2, 400, 400, 0.5, 1_000_000.0),
            row(nov2, Optimization, gpt, 1, 20, 20, 0.5, 300_000.0),
            row(nov3, Generation, gpt, 1, 50, 50, 1.0, 500_000.0),
        ]
    );

    let months = s
        .ai_rollup(rollup(team, at(2026, 10, 15, 0, 0), at(2026, 12, 15, 0, 0), Bucket::Month, berlin))
        .await
        .expect("per month");
    let (oct, nov, dec) = (at(2026, 9, 30, 22, 0), at(2026, 10, 31, 23, 0), at(2026, 11, 30, 23, 0));
    assert_eq!(
        months,
        vec![
            row(oct, Generation, gpt, 1, 7, 7, 1.0, 700_000.0),
            row(nov, Generation, claude, 1, 10, 1, 1.0, 100_000.0),
            // 100 + 300 + 50 + 1000 tokens; successes 1, 0, 1, 1; 1200, 800, 500, 2000 ms.
            row(nov, Generation, gpt, 4, 1450, 1450, 0.75, 1_125_000.0),
            row(nov, Optimization, gpt, 2, 50, 50, 0.75, 200_000.0),
            row(dec, Generation, gpt, 1, 1, 0, 1.0, 1_000.0),
        ]
    );

    let utc_months = s
        .ai_rollup(rollup(team, at(2026, 10, 1, 0, 0), at(2026, 11, 1, 0, 0), Bucket::Month, chrono_tz::Tz::UTC))
        .await
        .expect("October in UTC");
    assert_eq!(utc_months, vec![row(at(2026, 10, 1, 0, 0), Generation, gpt, 2, 1007, 1007, 1.0, 1_350_000.0)]);

    let fresh = rollup(TeamId::new(), at(2026, 10, 1, 0, 0), at(2026, 12, 31, 0, 0), Bucket::Month, berlin);
    assert!(s.ai_rollup(fresh).await.expect("fresh team").is_empty());
}

/// Within a bucket, features are ordered by their stored name (`content_generation` <
/// `response_generation` < `sentiment_analysis`), not by declaration order, in every backend.
pub async fn ai_rollup_orders_features_by_stored_name<S: AnalyticsWriter + AiMetricsReader + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    let t = at(2026, 11, 2, 8, 0);
    s.append_ai_metrics(vec![
        request(team, t, FeatureType::SentimentAnalysis, "m", 1, 1, 1, 1.0),
        request(team, t, FeatureType::ResponseGeneration, "m", 1, 1, 1, 1.0),
        request(team, t, FeatureType::ContentGeneration, "m", 1, 1, 1, 1.0),
    ])
    .await
    .expect("append");
    let day = rollup(team, at(2026, 11, 2, 0, 0), at(2026, 11, 3, 0, 0), Bucket::Day, chrono_tz::Tz::UTC);
    let order: Vec<FeatureType> = s.ai_rollup(day).await.expect("rollup").iter().map(|b| b.feature_type).collect();
    assert_eq!(
        order,
        vec![FeatureType::ContentGeneration, FeatureType::ResponseGeneration, FeatureType::SentimentAnalysis]
    );
}
