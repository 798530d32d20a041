//! AI usage: records with the seed's checks, references, and exact totals per feature over a
//! half-open period.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;
use rust_decimal::Decimal;

use super::fixtures::*;
use crate::conformance::Harness;
use crate::constraint;
use crate::error::Entity;
use crate::ids::{AiUsageId, TeamId, UserId};
use crate::model::*;
use crate::ports::*;
use crate::validate::rule;

/// A record keeps every field; the team's records are listed newest first.
pub async fn ai_usage_record_and_list<S: UserRepository + TeamRepository + AiUsageRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let mut input = new_usage(owner.id, FeatureType::SentimentAnalysis, 1234, Decimal::new(123_456, 4));
    input.request_data = serde_json::json!({ "prompt": "classify" });
    input.response_data = serde_json::json!({ "label": "positive" });
    input.metadata = serde_json::json!({ "latency_ms": 420 });
    let first = h.store.record_ai_usage(team.id, input).await.expect("record");
    assert_eq!((first.team_id, first.user_id, first.feature_type), (team.id, owner.id, FeatureType::SentimentAnalysis));
    assert_eq!((first.tokens_used, first.cost), (1234, Decimal::new(123_456, 4)));
    assert_eq!(first.model_used, "gpt-4o");
    assert_eq!(first.request_data, serde_json::json!({ "prompt": "classify" }));
    assert_eq!(first.response_data, serde_json::json!({ "label": "positive" }));
    assert_eq!(first.metadata, serde_json::json!({ "latency_ms": 420 }));
    assert_eq!(first.created_at, now(h));
    tick(h).await;
    let zero = new_usage(owner.id, FeatureType::ContentGeneration, 1, Decimal::ZERO);
    let second = h.store.record_ai_usage(team.id, zero).await.expect("a zero cost is allowed");
    let listed: Vec<AiUsageId> =
        h.store.list_ai_usage(team.id, all()).await.expect("list").items.into_iter().map(|u| u.id).collect();
    assert_eq!(listed, vec![second.id, first.id]);
}

/// `chk_ai_usage_tokens_positive`, `chk_ai_usage_cost_positive`, `numeric(10,4)` precision and
/// lengths, with nothing stored.
pub async fn ai_usage_checks<S: UserRepository + TeamRepository + AiUsageRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let f = FeatureType::ResponseGeneration;
    let cases = vec![
        (new_usage(owner.id, f, 0, Decimal::ONE), "tokens_used", rule::TOKENS_POSITIVE),
        (new_usage(owner.id, f, -5, Decimal::ONE), "tokens_used", rule::TOKENS_POSITIVE),
        (new_usage(owner.id, f, 10, Decimal::new(-1, 2)), "cost", rule::COST_NON_NEGATIVE),
        (new_usage(owner.id, f, 10, Decimal::new(1, 5)), "cost", rule::PRECISION),
        (new_usage(owner.id, f, 10, Decimal::new(1_000_000, 0)), "cost", rule::PRECISION),
        (
            NewAiUsage { model_used: repeat('m', 51), ..new_usage(owner.id, f, 10, Decimal::ONE) },
            "model_used",
            rule::MAX_LENGTH,
        ),
        (
            NewAiUsage { model_used: String::new(), ..new_usage(owner.id, f, 10, Decimal::ONE) },
            "model_used",
            rule::REQUIRED,
        ),
        (
            NewAiUsage { request_data: serde_json::json!({ "\0": 1 }), ..new_usage(owner.id, f, 10, Decimal::ONE) },
            "request_data",
            rule::NUL_BYTE,
        ),
    ];
    for (input, field, broken) in cases {
        invalid(h.store.record_ai_usage(team.id, input).await, field, broken);
    }
    // Validation comes before the references.
    invalid(
        h.store.record_ai_usage(TeamId::new(), new_usage(UserId::new(), f, 0, Decimal::ONE)).await,
        "tokens_used",
        rule::TOKENS_POSITIVE,
    );
    assert!(h.store.list_ai_usage(team.id, all()).await.expect("list").items.is_empty(), "nothing stored");
    let trailing = new_usage(owner.id, f, 10, Decimal::new(1_500_000, 6));
    let stored = h.store.record_ai_usage(team.id, trailing).await.expect("1.500000 fits numeric(10,4)");
    assert_eq!(stored.cost, Decimal::new(15, 1));
}

/// `fk_ai_usage_user` and `fk_ai_usage_team`.
pub async fn ai_usage_references<S: UserRepository + TeamRepository + AiUsageRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let f = FeatureType::ContentOptimization;
    missing(
        h.store.record_ai_usage(team.id, new_usage(UserId::new(), f, 10, Decimal::ONE)).await,
        Entity::AiUsage,
        Entity::User,
        constraint::FK_AI_USAGE_USER,
    );
    missing(
        h.store.record_ai_usage(TeamId::new(), new_usage(owner.id, f, 10, Decimal::ONE)).await,
        Entity::AiUsage,
        Entity::Team,
        constraint::FK_AI_USAGE_TEAM,
    );
    assert!(h.store.list_ai_usage(team.id, all()).await.expect("list").items.is_empty());
}

/// Totals per feature over `[start, end)`: exact decimal sums, features in string order, unused
/// features left out, other teams and times outside the period excluded.
pub async fn ai_usage_totals_per_feature<S: UserRepository + TeamRepository + AiUsageRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let (other_owner, other_team) = owned_team(h).await;
    let record = |team: TeamId, user: UserId, feature: FeatureType, tokens: i32, cost: Decimal| {
        let store = &*h.store;
        async move { store.record_ai_usage(team, new_usage(user, feature, tokens, cost)).await.expect("record") }
    };
    let (generation, opt, resp) =
        (FeatureType::ContentGeneration, FeatureType::ContentOptimization, FeatureType::ResponseGeneration);
    record(team.id, owner.id, generation, 999, Decimal::new(9, 0)).await; // before the period
    h.time.advance(Duration::seconds(1)).await;
    let start = now(h);
    record(team.id, owner.id, resp, 100, Decimal::new(1, 1)).await; // at the start: included
    record(team.id, owner.id, generation, 200, Decimal::new(2, 1)).await;
    h.time.advance(Duration::minutes(30)).await;
    record(team.id, owner.id, generation, 300, Decimal::new(1, 4)).await;
    record(team.id, owner.id, resp, 50, Decimal::new(2, 1)).await;
    record(team.id, owner.id, opt, 7, Decimal::ZERO).await;
    record(other_team.id, other_owner.id, generation, 5000, Decimal::new(50, 0)).await; // another team
    h.time.advance(Duration::minutes(30)).await;
    let end = now(h);
    record(team.id, owner.id, generation, 999, Decimal::new(9, 0)).await; // at the end: excluded

    let totals = h.store.ai_usage_totals(team.id, Period::new(start, end).expect("period")).await.expect("totals");
    let expected = vec![
        AiUsageTotal { feature_type: generation, requests: 2, tokens: 500, cost: Decimal::new(2001, 4) },
        AiUsageTotal { feature_type: opt, requests: 1, tokens: 7, cost: Decimal::ZERO },
        AiUsageTotal { feature_type: resp, requests: 2, tokens: 150, cost: Decimal::new(3, 1) },
    ];
    assert_eq!(totals.len(), expected.len(), "{totals:?}");
    for (got, want) in totals.iter().zip(&expected) {
        assert_eq!((got.feature_type, got.requests, got.tokens), (want.feature_type, want.requests, want.tokens));
        assert_eq!(got.cost.normalize(), want.cost.normalize(), "exact sum for {}", want.feature_type);
    }
    let later = Period::new(end + Duration::hours(1), end + Duration::hours(2)).expect("period");
    assert!(h.store.ai_usage_totals(team.id, later).await.expect("totals").is_empty());
    let theirs =
        h.store.ai_usage_totals(other_team.id, Period::new(start, end).expect("period")).await.expect("totals");
    assert_eq!(theirs.len(), 1);
    assert_eq!((theirs[0].requests, theirs[0].tokens), (1, 5000));
}
