//! sqlx errors into the one core [`Error`]: constraint violations become the same typed errors,
//! with the same rule names, as the in-memory backend gives; an unreachable or overloaded server
//! becomes the retryable [`Error::Unavailable`].

use clientnest_core::constraint as c;
use clientnest_core::validate::rule;
use clientnest_core::{Entity, Error};
use sqlx::error::DatabaseError;

/// Unique rules: constraint (or unique index) name and the entity written.
const UNIQUE: &[(&str, Entity)] = &[
    (c::UQ_USERS_EMAIL, Entity::User),
    (c::UQ_TEAM_MEMBERS_USER_TEAM, Entity::TeamMember),
    (c::UQ_SOCIAL_ACCOUNTS_PLATFORM_ACCOUNT_TEAM, Entity::SocialAccount),
    (c::UQ_COMMENTS_ACCOUNT_PLATFORM_ID, Entity::Comment),
    (c::UQ_BILLING_SUBSCRIPTION_ID, Entity::Billing),
    (c::UQ_BILLING_TEAM_ACTIVE, Entity::Billing),
    (c::UQ_SCHEDULES_POST_ACCOUNT_LIVE, Entity::Schedule),
];

/// Foreign keys: name, the entity written and the entity referred to.
const FOREIGN: &[(&str, Entity, Entity)] = &[
    (c::FK_TEAMS_OWNER, Entity::Team, Entity::User),
    (c::FK_TEAM_MEMBERS_USER, Entity::TeamMember, Entity::User),
    (c::FK_TEAM_MEMBERS_TEAM, Entity::TeamMember, Entity::Team),
    (c::FK_SOCIAL_ACCOUNTS_USER, Entity::SocialAccount, Entity::User),
    (c::FK_SOCIAL_ACCOUNTS_TEAM, Entity::SocialAccount, Entity::Team),
    (c::FK_POSTS_USER, Entity::Post, Entity::User),
    (c::FK_POSTS_TEAM, Entity::Post, Entity::Team),
    (c::FK_POST_MEDIA_POST, Entity::PostMedia, Entity::Post),
    (c::FK_COMMENTS_ACCOUNT, Entity::Comment, Entity::SocialAccount),
    (c::FK_RESPONSES_COMMENT, Entity::Response, Entity::Comment),
    (c::FK_RESPONSES_USER, Entity::Response, Entity::User),
    (c::FK_TEMPLATES_USER, Entity::Template, Entity::User),
    (c::FK_TEMPLATES_TEAM, Entity::Template, Entity::Team),
    (c::FK_SCHEDULES_USER, Entity::Schedule, Entity::User),
    (c::FK_SCHEDULES_TEAM, Entity::Schedule, Entity::Team),
    (c::FK_SCHEDULES_POST, Entity::Schedule, Entity::Post),
    (c::FK_SCHEDULES_SOCIAL_ACCOUNT, Entity::Schedule, Entity::SocialAccount),
    (c::FK_AUTOMATIONS_USER, Entity::Automation, Entity::User),
    (c::FK_AUTOMATIONS_TEAM, Entity::Automation, Entity::Team),
    (c::FK_WEBHOOKS_USER, Entity::Webhook, Entity::User),
    (c::FK_AI_USAGE_USER, Entity::AiUsage, Entity::User),
    (c::FK_AI_USAGE_TEAM, Entity::AiUsage, Entity::Team),
    (c::FK_BILLING_TEAM, Entity::Billing, Entity::Team),
    (c::FK_NOTIFICATIONS_USER, Entity::Notification, Entity::User),
];

/// CHECK constraints: name, the field it guards and the rule reported. The seed's checks and
/// `chk_billing_period` report the core validator's rule names; the others name themselves.
const CHECKS: &[(&str, &str, &str)] = &[
    (rule::EMAIL, "email", rule::EMAIL),
    (rule::TOKENS_POSITIVE, "tokens_used", rule::TOKENS_POSITIVE),
    (rule::COST_NON_NEGATIVE, "cost", rule::COST_NON_NEGATIVE),
    (rule::SCHEDULE_FUTURE, "scheduled_time", rule::SCHEDULE_FUTURE),
    (rule::BILLING_PERIOD, "period_end", rule::BILLING_PERIOD),
    ("chk_billing_amount", "amount", rule::RANGE),
    ("chk_post_media_file_size", "file_size", rule::RANGE),
    ("chk_post_media_order_index", "order_index", rule::RANGE),
    ("chk_templates_usage_count", "usage_count", rule::RANGE),
    ("chk_schedules_retry_count", "retry_count", rule::RANGE),
    ("chk_schedules_lease", "status", "chk_schedules_lease"),
    ("chk_schedules_attempt_count", "attempt_count", rule::RANGE),
    ("chk_schedules_claim_token", "attempt_id", "chk_schedules_claim_token"),
    ("chk_teams_plan_type", "plan_type", "chk_teams_plan_type"),
    ("chk_team_members_role", "role", "chk_team_members_role"),
    ("chk_team_members_status", "status", "chk_team_members_status"),
    ("chk_social_accounts_platform", "platform", "chk_social_accounts_platform"),
    ("chk_posts_status", "status", "chk_posts_status"),
    ("chk_posts_platforms", "platforms", "chk_posts_platforms"),
    ("chk_post_media_media_type", "media_type", "chk_post_media_media_type"),
    ("chk_comments_sentiment", "sentiment", "chk_comments_sentiment"),
    ("chk_comments_priority", "priority", "chk_comments_priority"),
    ("chk_comments_status", "status", "chk_comments_status"),
    ("chk_responses_status", "status", "chk_responses_status"),
    ("chk_ai_usage_feature_type", "feature_type", "chk_ai_usage_feature_type"),
    ("chk_automations_trigger_type", "trigger_type", "chk_automations_trigger_type"),
    ("chk_automations_action_type", "action_type", "chk_automations_action_type"),
    ("chk_schedules_platform", "platform", "chk_schedules_platform"),
    ("chk_schedules_status", "status", "chk_schedules_status"),
    ("chk_webhooks_platform", "platform", "chk_webhooks_platform"),
    ("chk_billing_plan_type", "plan_type", "chk_billing_plan_type"),
    ("chk_billing_status", "status", "chk_billing_status"),
    ("chk_notifications_type", "type", "chk_notifications_type"),
    ("chk_notifications_priority", "priority", "chk_notifications_priority"),
];

/// SQLSTATE codes (or classes) meaning the server is unreachable, overloaded, shutting down,
/// or gave up on the statement: retrying later may succeed.
fn is_unavailable_code(code: &str) -> bool {
    code.starts_with("08") // connection exception
        || code.starts_with("53") // insufficient resources (too many connections, disk full)
        || code.starts_with("57P") // admin / crash shutdown, cannot connect now
        || matches!(code, "57014" | "40001" | "40P01" | "55P03") // timeout, serialization, deadlock, lock not available
}

/// Convert any sqlx error into the core error, as every [`PgStore`](crate::PgStore) call does:
/// a unique violation of a known rule becomes [`Error::Conflict`], a foreign key violation
/// [`Error::MissingReference`], a CHECK violation [`Error::Validation`] naming the rule; a lost
/// connection, pool timeout, server shutdown, statement timeout, serialization failure or
/// deadlock becomes the retryable [`Error::Unavailable`]; anything else [`Error::Backend`] with
/// the sqlx error as its source.
///
/// Use it for your own queries on [`PgStore::pool`](crate::PgStore::pool).
pub fn map_sqlx(e: sqlx::Error) -> Error {
    match e {
        sqlx::Error::Database(db) => map_database(db),
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Error::unavailable(e),
        other => Error::backend(other),
    }
}

/// A server-reported error: constraint violations by name, availability by SQLSTATE.
fn map_database(db: Box<dyn DatabaseError>) -> Error {
    let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
    let constraint = db.constraint().unwrap_or_default();
    let mapped = match code.as_str() {
        "23505" => UNIQUE
            .iter()
            .find(|(name, _)| *name == constraint)
            .map(|(rule, entity)| Error::Conflict { entity: *entity, rule }),
        "23503" => FOREIGN.iter().find(|(name, ..)| *name == constraint).map(|(rule, entity, references)| {
            Error::MissingReference { entity: *entity, references: *references, rule }
        }),
        "23514" => CHECKS
            .iter()
            .find(|(name, ..)| *name == constraint)
            .map(|(_, field, rule)| Error::invalid(*field, rule, "breaks a check constraint of the database")),
        _ => None,
    };
    match mapped {
        Some(err) => err,
        None if is_unavailable_code(&code) => Error::unavailable(sqlx::Error::Database(db)),
        None => Error::backend(sqlx::Error::Database(db)),
    }
}

/// A decoding problem with a stored row (an unknown choice, malformed JSON): a backend error.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::backend(format!("stored data could not be read: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_problems_are_retryable() {
        assert!(map_sqlx(sqlx::Error::PoolTimedOut).is_retryable());
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(map_sqlx(sqlx::Error::Io(io)).is_retryable());
        assert!(!map_sqlx(sqlx::Error::RowNotFound).is_retryable());
        assert!(is_unavailable_code("08006") && is_unavailable_code("57P01") && is_unavailable_code("53300"));
        assert!(!is_unavailable_code("23505"));
    }

    #[test]
    fn every_core_constraint_is_mapped() {
        for name in [c::UQ_USERS_EMAIL, c::UQ_BILLING_TEAM_ACTIVE, c::UQ_COMMENTS_ACCOUNT_PLATFORM_ID] {
            assert!(UNIQUE.iter().any(|(n, _)| *n == name), "{name}");
        }
        assert_eq!(FOREIGN.len(), 24);
        for (name, ..) in FOREIGN {
            assert!(name.starts_with("fk_"), "{name}");
        }
    }
}
