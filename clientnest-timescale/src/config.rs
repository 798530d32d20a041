//! [`TimescaleConfig`]: where the tables live, which flavour to run, and the horizons of the
//! retention and compression policies.

use std::time::Duration;

use clientnest_core::Error;
use clientnest_core::validate::rule;

/// Which engine holds the tables; detected at run time by
/// [`TimescaleStore::flavour`](crate::TimescaleStore::flavour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavour {
    /// The `timescaledb` extension, loaded (`shared_preload_libraries`) and under the Timescale
    /// license: hypertables, continuous aggregates, compression and retention policies.
    TimescaleDb,
    /// Plain PostgreSQL (also a TimescaleDB server whose build is Apache-only): ordinary tables
    /// with BRIN and b-tree indexes, materialised hourly rollups refreshed by a SQL function,
    /// and a retention function.
    Plain,
}

impl Flavour {
    /// The name recorded in the migrations table (`timescaledb` or `plain`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Flavour::TimescaleDb => "timescaledb",
            Flavour::Plain => "plain",
        }
    }

    /// The flavour of a recorded name.
    pub(crate) fn parse(s: &str) -> Option<Flavour> {
        match s {
            "timescaledb" => Some(Flavour::TimescaleDb),
            "plain" => Some(Flavour::Plain),
            _ => None,
        }
    }
}

impl std::fmt::Display for Flavour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Default retention horizon: rows older than two years are dropped by the retention policy.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(2 * 365 * 86_400);

/// Default compression horizon: chunks whose rows are all older than 7 days are compressed.
pub const DEFAULT_COMPRESS_AFTER: Duration = Duration::from_secs(7 * 86_400);

/// Default number of rows per COPY statement of one batch.
pub const DEFAULT_COPY_CHUNK_ROWS: usize = 10_000;

/// How a [`TimescaleStore`](crate::TimescaleStore) lays out and maintains its tables.
///
/// ```
/// use std::time::Duration;
/// use clientnest_timescale::{Flavour, TimescaleConfig};
///
/// let config = TimescaleConfig::new()
///     .with_schema("analytics")
///     .unwrap()
///     .with_retention(Duration::from_secs(400 * 86_400))
///     .with_flavour(Flavour::Plain);
/// assert_eq!(config.schema(), "analytics");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TimescaleConfig {
    schema: String,
    flavour: Option<Flavour>,
    retention: Duration,
    compress_after: Duration,
    copy_chunk_rows: usize,
}

impl Default for TimescaleConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl TimescaleConfig {
    /// Tables in `public`, flavour detected, retention [`DEFAULT_RETENTION`], compression
    /// after [`DEFAULT_COMPRESS_AFTER`], COPY chunks of [`DEFAULT_COPY_CHUNK_ROWS`] rows.
    pub fn new() -> Self {
        Self {
            schema: "public".to_owned(),
            flavour: None,
            retention: DEFAULT_RETENTION,
            compress_after: DEFAULT_COMPRESS_AFTER,
            copy_chunk_rows: DEFAULT_COPY_CHUNK_ROWS,
        }
    }

    /// Put the tables in `schema` (created by [`migrate`](crate::TimescaleStore::migrate)): a
    /// lower-case identifier of 1 to 50 characters (`a-z`, `0-9`, `_`, not starting with a
    /// digit).
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] on `schema` ([`rule::FORMAT`]) for any other name.
    pub fn with_schema(mut self, schema: impl Into<String>) -> Result<Self, Error> {
        let schema = schema.into();
        let ok = (1..=50).contains(&schema.len())
            && schema.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !schema.as_bytes()[0].is_ascii_digit();
        if !ok {
            return Err(Error::invalid(
                "schema",
                rule::FORMAT,
                "must be 1 to 50 characters of a-z, 0-9 and _, not starting with a digit",
            ));
        }
        self.schema = schema;
        Ok(self)
    }

    /// Run as `flavour` whatever the server offers (tests; or Plain on a TimescaleDB server).
    /// Forcing [`Flavour::TimescaleDb`] on a server without the extension fails at migrate.
    #[must_use]
    pub fn with_flavour(mut self, flavour: Flavour) -> Self {
        self.flavour = Some(flavour);
        self
    }

    /// Drop rows older than `horizon` (TimescaleDB: a retention policy per hypertable; plain:
    /// what [`drop_expired`](crate::TimescaleStore::drop_expired) removes). Whole seconds.
    #[must_use]
    pub fn with_retention(mut self, horizon: Duration) -> Self {
        self.retention = horizon;
        self
    }

    /// Compress chunks older than `horizon` (TimescaleDB compression policies; plain ignores
    /// it). Whole seconds.
    #[must_use]
    pub fn with_compress_after(mut self, horizon: Duration) -> Self {
        self.compress_after = horizon;
        self
    }

    /// Send a batch in COPY statements of at most `rows` rows (at least 1), in one transaction.
    #[must_use]
    pub fn with_copy_chunk_rows(mut self, rows: usize) -> Self {
        self.copy_chunk_rows = rows.max(1);
        self
    }

    /// The schema holding the tables.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The forced flavour, if any.
    pub fn forced_flavour(&self) -> Option<Flavour> {
        self.flavour
    }

    /// The retention horizon.
    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// The compression horizon.
    pub fn compress_after(&self) -> Duration {
        self.compress_after
    }

    /// Rows per COPY statement.
    pub fn copy_chunk_rows(&self) -> usize {
        self.copy_chunk_rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_identifiers() {
        for bad in ["", "Public", "1abc", "a-b", "a\"b", "a;drop", &"x".repeat(51)] {
            assert!(TimescaleConfig::new().with_schema(bad).is_err(), "{bad}");
        }
        let c = TimescaleConfig::new().with_schema("t_01").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.schema(), "t_01");
        assert_eq!(TimescaleConfig::new().with_copy_chunk_rows(0).copy_chunk_rows(), 1);
    }
}
