//! sqlx errors into the one core [`Error`], naming the store `timescaledb`
//! ([`store::TIMESCALE`]): an unreachable or overloaded server becomes the retryable
//! [`Error::Unavailable`]; a CHECK violation (the database keeps core's checks as a second line)
//! becomes [`Error::Validation`]; anything else [`Error::Backend`] with its source kept. What the
//! adapter itself finds wrong (a corrupt row, a flavour mismatch) is a [`TsError`].

use clientnest_core::Error;
use clientnest_core::error::store;
use clientnest_core::validate::rule;
use sqlx::error::DatabaseError;

/// A failure the adapter itself reports, kept as the source of an [`Error::Backend`] naming
/// `timescaledb`. Messages name columns, tables and stored choice values, never a URL.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TsError {
    /// A stored value that does not fit its Rust type (an unknown platform, a negative
    /// duration): the row was written by something other than this adapter.
    #[error("corrupt row: column {column} holds {value:?}, which is not a valid value")]
    CorruptRow {
        /// The column read.
        column: &'static str,
        /// The stored text (a choice value or a number, never a secret).
        value: String,
    },
    /// The schema was migrated for one flavour and the server now offers another (the
    /// extension was removed, or a forced flavour differs from the recorded one).
    #[error("schema {schema} was migrated as {recorded} but the store runs as {current}")]
    FlavourMismatch {
        /// The schema.
        schema: String,
        /// The flavour recorded by the first migration.
        recorded: &'static str,
        /// The flavour detected or forced now.
        current: &'static str,
    },
}

impl From<TsError> for Error {
    fn from(e: TsError) -> Self {
        Error::backend(store::TIMESCALE, e)
    }
}

/// CHECK constraints of the analytics tables: name, the field it guards and the rule reported
/// (the core validator's rule for the same field).
const CHECKS: &[(&str, &str, &str)] = &[
    ("chk_events_event_type", "event_type", rule::REQUIRED),
    ("chk_events_event_data", "event_data", rule::FORMAT),
    ("chk_events_platform", "platform", rule::FORMAT),
    ("chk_metrics_metric_name", "metric_name", rule::REQUIRED),
    ("chk_metrics_metric_value", "metric_value", rule::RANGE),
    ("chk_metrics_dimensions", "dimensions", rule::FORMAT),
    ("chk_metrics_tags", "tags", rule::MAX_LENGTH),
    ("chk_performance_response_time", "response_time", rule::RANGE),
    ("chk_performance_status_code", "status_code", rule::RANGE),
    ("chk_performance_error_count", "error_count", rule::RANGE),
    ("chk_performance_memory_usage", "memory_usage", rule::RANGE),
    ("chk_performance_cpu_usage", "cpu_usage", rule::RANGE),
    ("chk_engagement_platform", "platform", rule::FORMAT),
    ("chk_engagement_counters", "counts", rule::RANGE),
    ("chk_engagement_extra", "extra", rule::FORMAT),
    ("chk_ai_metrics_feature_type", "feature_type", rule::FORMAT),
    ("chk_ai_metrics_tokens_positive", "tokens_used", rule::TOKENS_POSITIVE),
    ("chk_ai_metrics_cost_positive", "cost", rule::COST_NON_NEGATIVE),
    ("chk_ai_metrics_response_time", "response_time", rule::RANGE),
    ("chk_ai_metrics_success_rate", "success_rate", rule::RANGE),
    ("chk_costs_cost_amount", "cost_amount", rule::RANGE),
    ("chk_costs_currency", "currency", rule::FORMAT),
];

/// SQLSTATE codes (or classes) meaning the server is unreachable, overloaded, shutting down,
/// or gave up on the statement: retrying later may succeed.
fn is_unavailable_code(code: &str) -> bool {
    code.starts_with("08") // connection exception
        || code.starts_with("53") // insufficient resources
        || code.starts_with("57P") // admin / crash shutdown, cannot connect now
        || matches!(code, "57014" | "40001" | "40P01" | "55P03") // timeout, serialization, deadlock, lock not available
}

/// Convert any sqlx error into the core error naming `timescaledb`.
pub(crate) fn map_sqlx(e: sqlx::Error) -> Error {
    match e {
        sqlx::Error::Database(db) => map_database(db),
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Error::unavailable(store::TIMESCALE, e),
        other => Error::backend(store::TIMESCALE, other),
    }
}

/// Whether `e` is a unique violation (SQLSTATE 23505): the COPY fast path's signal to fall
/// back to the staging path.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("23505"))
}

fn map_database(db: Box<dyn DatabaseError>) -> Error {
    let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
    if code == "23514" {
        let constraint = db.constraint().unwrap_or_default();
        if let Some((_, field, rule)) = CHECKS.iter().find(|(name, ..)| *name == constraint) {
            return Error::invalid(*field, rule, "breaks a check constraint of the database");
        }
    }
    if is_unavailable_code(&code) {
        Error::unavailable(store::TIMESCALE, sqlx::Error::Database(db))
    } else {
        Error::backend(store::TIMESCALE, sqlx::Error::Database(db))
    }
}

/// A column whose stored value does not fit its type.
pub(crate) fn corrupt(column: &'static str, value: impl ToString) -> Error {
    TsError::CorruptRow { column, value: value.to_string() }.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_problems_are_retryable_and_name_the_store() {
        let mapped = map_sqlx(sqlx::Error::PoolTimedOut);
        assert!(mapped.is_retryable());
        assert_eq!(mapped.store(), Some(store::TIMESCALE));
        assert!(!map_sqlx(sqlx::Error::RowNotFound).is_retryable());
        assert!(is_unavailable_code("08006") && is_unavailable_code("40P01"));
        assert!(!is_unavailable_code("23505"));
        let c = corrupt("platform", "myspace");
        assert!(c.to_string().starts_with("timescaledb error: corrupt row: column platform"), "{c}");
    }
}
