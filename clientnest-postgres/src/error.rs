//! sqlx errors into the one core [`Error`]: constraint violations become the same typed errors,
//! with the same rule names, as the in-memory backend gives; an unreachable or overloaded server
//! becomes the retryable [`Error::Unavailable`]. Every [`Error::Backend`] and
//! [`Error::Unavailable`] of this crate names the store `postgres`; its source is the sqlx
//! error, or a [`PgError`] for what the adapter itself finds wrong (a corrupt row, a failed
//! migration).

use clientnest_core::constraint as c;
use clientnest_core::error::{BoxError, store};
use clientnest_core::validate::rule;
use clientnest_core::{Entity, Error};
use sqlx::error::DatabaseError;
use sqlx::migrate::MigrateError;

/// A failure the adapter itself reports, kept as the source of an [`Error::Backend`] naming
/// `postgres`. Its messages show column names and stored choice values (a status, a role),
/// never a sealed secret or a URL.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PgError {
    /// A stored choice (status, role, platform...) that no variant of its enum has: the row was
    /// written by something other than this adapter, or by a newer version of it.
    #[error("corrupt row: column {column} holds {value:?}, which is not a known value")]
    CorruptRow {
        /// The column read, by its name in the query (e.g. `status`).
        column: String,
        /// The text stored in it, shown in `Debug` quotes (a choice value, never a secret).
        value: String,
    },
    /// A column whose stored value could not be decoded into its Rust type.
    #[error("corrupt row: column {column} could not be decoded: {source}")]
    UndecodableColumn {
        /// The column read (its name, or its index when sqlx only knows that).
        column: String,
        /// The decoder's error.
        #[source]
        source: BoxError,
    },
    /// A row whose values do not fit together, or a stored value the model refuses (e.g. an
    /// automation's config JSON that no longer matches its trigger type).
    #[error("corrupt row: {detail}")]
    CorruptData {
        /// What does not fit, naming columns and choice values only.
        detail: String,
    },
    /// A migration could not be applied, or an applied one was changed since.
    #[error("migration failed: {0}")]
    Migration(#[source] MigrateError),
}

/// A stored text value that none of its enum's variants has (a corrupt or future row): the
/// source of the [`sqlx::Error::ColumnDecode`] that
/// [`choice_column`](crate::repo::choice_column) fails with, which [`map_sqlx`] turns into
/// [`PgError::CorruptRow`].
#[derive(Debug, thiserror::Error)]
#[error("{value:?} is not a known value")]
pub(crate) struct UnknownChoice {
    /// The stored text, as read.
    pub(crate) value: String,
}

impl UnknownChoice {
    /// `text` parsed into its enum, or the error naming it.
    pub(crate) fn parse<T: std::str::FromStr>(text: &str) -> Result<T, Self> {
        text.parse().map_err(|_| Self { value: text.to_owned() })
    }
}

impl From<PgError> for Error {
    fn from(e: PgError) -> Self {
        Error::backend(store::POSTGRES, e)
    }
}

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
    (rule::CONTENT_HASH, "content_hash", rule::CONTENT_HASH),
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
pub(crate) fn is_unavailable_code(code: &str) -> bool {
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
///
/// A stored value that does not decode ([`sqlx::Error::ColumnDecode`]) is a corrupt row: its
/// source names the column, and for a stored choice no variant has, the value.
pub fn map_sqlx(e: sqlx::Error) -> Error {
    match e {
        sqlx::Error::Database(db) => map_database(db),
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Error::unavailable(store::POSTGRES, e),
        sqlx::Error::ColumnDecode { index, source } => undecodable(index, source).into(),
        other => Error::backend(store::POSTGRES, other),
    }
}

/// A column that did not decode: [`PgError::CorruptRow`] for an [`UnknownChoice`] (what
/// [`choice_column`](crate::repo::choice_column) fails with), else
/// [`PgError::UndecodableColumn`].
fn undecodable(column: String, source: BoxError) -> PgError {
    match source.downcast::<UnknownChoice>() {
        Ok(unknown) => PgError::CorruptRow { column, value: unknown.value },
        Err(source) => PgError::UndecodableColumn { column, source },
    }
}

/// A failed [`migrate`](crate::migrate): a statement's own error mapped as any other (so an
/// unreachable server stays retryable), the rest [`PgError::Migration`].
pub(crate) fn map_migrate(e: MigrateError) -> Error {
    match e {
        MigrateError::Execute(inner) => map_sqlx(inner),
        other => PgError::Migration(other).into(),
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
        None if is_unavailable_code(&code) => Error::unavailable(store::POSTGRES, sqlx::Error::Database(db)),
        None => Error::backend(store::POSTGRES, sqlx::Error::Database(db)),
    }
}

/// A stored row the adapter cannot turn into its model (an unknown choice read outside
/// [`choice_column`](crate::repo::choice_column), a config the model refuses, values that do
/// not fit together): [`PgError::CorruptData`] describing it.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> Error {
    PgError::CorruptData { detail: what.to_string() }.into()
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

    /// The adapter's own error inside a mapped one.
    fn pg_error(e: &Error) -> &PgError {
        std::error::Error::source(e).and_then(|s| s.downcast_ref::<PgError>()).expect("a PgError source")
    }

    #[test]
    fn an_unknown_stored_choice_is_a_corrupt_row() {
        let decode = crate::repo::parse_choice::<clientnest_core::model::PostStatus>("status", "bogus".to_owned());
        let mapped = map_sqlx(decode.expect_err("bogus is no status"));
        assert!(matches!(mapped, Error::Backend { store: "postgres", .. }), "{mapped:?}");
        assert!(!mapped.is_retryable());
        assert!(
            matches!(pg_error(&mapped), PgError::CorruptRow { column, value } if column == "status" && value == "bogus"),
            "{mapped:?}"
        );
        assert_eq!(
            mapped.to_string(),
            "postgres error: corrupt row: column status holds \"bogus\", which is not a known value"
        );
    }

    #[test]
    fn other_undecodable_columns_are_typed_too() {
        let source: BoxError = Box::new(std::io::Error::other("not JSON"));
        let mapped = map_sqlx(sqlx::Error::ColumnDecode { index: "metadata".to_owned(), source });
        assert!(matches!(pg_error(&mapped), PgError::UndecodableColumn { column, .. } if column == "metadata"));
        assert!(mapped.to_string().starts_with("postgres error: corrupt row: column metadata"), "{mapped}");
        let detail = corrupt("a claimed schedule without attempt_id");
        assert!(matches!(pg_error(&detail), PgError::CorruptData { .. }));
        assert_eq!(detail.to_string(), "postgres error: corrupt row: a claimed schedule without attempt_id");
    }

    #[test]
    fn every_error_names_postgres() {
        for e in [sqlx::Error::PoolTimedOut, sqlx::Error::RowNotFound] {
            let mapped = map_sqlx(e);
            assert_eq!(mapped.store(), Some("postgres"), "{mapped:?}");
            assert!(mapped.to_string().starts_with("postgres "), "{mapped}");
        }
        let migration = map_migrate(MigrateError::VersionMissing(3));
        assert!(matches!(pg_error(&migration), PgError::Migration(_)));
        assert!(migration.to_string().starts_with("postgres error: migration failed"), "{migration}");
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
