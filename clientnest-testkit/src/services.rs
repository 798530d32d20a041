//! Where the services are, and what a test does when one is not there.
//!
//! Adapter tests read the services' addresses at run time. When one is not configured the
//! test says so on stderr, past the test harness' output capture, and skips (the function
//! returns `None`); with `CLIENTNEST_REQUIRE_SERVICES=1` (set by `scripts/test` and CI) an
//! absent service is a failure instead, so a misconfigured CI run cannot pass by skipping.
//!
//! ```no_run
//! use clientnest_testkit::services;
//!
//! let Some(url) = services::redis_url() else { return }; // skipped, and said so
//! # let _ = url;
//! ```

use std::io::Write;

/// The variable that turns a skip into a failure when it is `1`.
pub const REQUIRE_SERVICES: &str = "CLIENTNEST_REQUIRE_SERVICES";

/// Whether absent services fail the tests (`CLIENTNEST_REQUIRE_SERVICES=1`).
pub fn services_required() -> bool {
    std::env::var(REQUIRE_SERVICES).is_ok_and(|v| v == "1")
}

/// The PostgreSQL server (`DATABASE_URL`, e.g. `postgres://postgres@127.0.0.1:5432/test`).
///
/// # Panics
///
/// When it is not set and services are [required](services_required).
pub fn database_url() -> Option<String> {
    configured("DATABASE_URL", "PostgreSQL", "postgres://postgres@127.0.0.1:5432/test")
}

/// The TimescaleDB server (`TIMESCALE_URL`, e.g. `postgres://postgres@127.0.0.1:5433/test`):
/// PostgreSQL with the `timescaledb` extension preloaded.
///
/// # Panics
///
/// When it is not set and services are [required](services_required).
pub fn timescale_url() -> Option<String> {
    configured("TIMESCALE_URL", "TimescaleDB", "postgres://postgres@127.0.0.1:5433/test")
}

/// The single Redis node (`REDIS_URL`, e.g. `redis://127.0.0.1:6379`).
///
/// # Panics
///
/// When it is not set and services are [required](services_required).
pub fn redis_url() -> Option<String> {
    configured("REDIS_URL", "Redis", "redis://127.0.0.1:6379")
}

/// The Redis Cluster's seed nodes (`REDIS_CLUSTER_URLS`, comma-separated URLs).
///
/// # Panics
///
/// When it is not set and services are [required](services_required).
pub fn redis_cluster_urls() -> Option<String> {
    configured("REDIS_CLUSTER_URLS", "Redis Cluster", "redis://127.0.0.1:7000,redis://127.0.0.1:7001")
}

/// A streaming read replica of the server of [`database_url`] (`REPLICA_URL`, e.g.
/// `postgres://postgres@127.0.0.1:5436/test`, started by `scripts/replica`). It replicates the
/// whole cluster, so a database created on the primary appears on it shortly after. The replica
/// tests pause its replay and stop it (`scripts/replica kill`, then `scripts/replica start`).
///
/// # Panics
///
/// When it is not set and services are [required](services_required).
pub fn replica_url() -> Option<String> {
    configured("REPLICA_URL", "PostgreSQL read replica", "postgres://postgres@127.0.0.1:5436/test")
}

/// PgBouncer in `pool_mode = transaction` in front of the server of [`database_url`]
/// (`PGBOUNCER_URL`, e.g. `postgres://postgres@127.0.0.1:6432/test`, started by
/// `scripts/pgbouncer`); any database of that server is reachable through it by name.
///
/// # Panics
///
/// When it is not set and services are [required](services_required).
pub fn pgbouncer_url() -> Option<String> {
    configured("PGBOUNCER_URL", "PgBouncer", "postgres://postgres@127.0.0.1:6432/test")
}

/// The PostgreSQL server of `scripts/restartable` (`RESTART_PG_URL`, e.g.
/// `postgres://postgres@127.0.0.1:5435/test`), which the restart tests restart mid-run with
/// [`restartable_script`] `pg-restart`. Never the shared server of [`database_url`].
///
/// # Panics
///
/// When it is not set and services are [required](services_required).
pub fn restart_pg_url() -> Option<String> {
    configured("RESTART_PG_URL", "restartable PostgreSQL", "postgres://postgres@127.0.0.1:5435/test")
}

/// The Redis server of `scripts/restartable` (`RESTART_REDIS_URL`, e.g.
/// `redis://127.0.0.1:6385`, AOF on with `appendfsync always`), which the restart tests kill
/// and start again with [`restartable_script`] `redis-kill` / `redis-start`. Never the shared
/// server of [`redis_url`].
///
/// # Panics
///
/// When it is not set and services are [required](services_required).
pub fn restart_redis_url() -> Option<String> {
    configured("RESTART_REDIS_URL", "restartable Redis", "redis://127.0.0.1:6385")
}

/// The absolute path of `scripts/restartable` (`RESTARTABLE_SCRIPT`), whose subcommands
/// (`pg-restart`, `redis-kill`, `redis-start`) restart the servers of [`restart_pg_url`] and
/// [`restart_redis_url`].
///
/// # Panics
///
/// When it is not set and services are [required](services_required).
pub fn restartable_script() -> Option<String> {
    configured("RESTARTABLE_SCRIPT", "scripts/restartable", "/path/to/scripts/restartable")
}

/// The S3-compatible server (`S3_ENDPOINT`, e.g. `http://127.0.0.1:9000`), which checks request
/// signatures; [`s3_settings`] has the bucket and credentials that go with it.
///
/// # Panics
///
/// When it is not set and services are [required](services_required).
pub fn s3_endpoint() -> Option<String> {
    configured("S3_ENDPOINT", "S3", "http://127.0.0.1:9000")
}

/// How to reach the S3-compatible server of `scripts/s3`: its endpoint and bucket, and the
/// credentials and region to sign requests with. The secret is left out of `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Settings {
    /// `S3_ENDPOINT`, e.g. `http://127.0.0.1:9000`.
    pub endpoint: String,
    /// `S3_BUCKET` (default `clientnest-test`).
    pub bucket: String,
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`; never printed.
    pub secret_access_key: String,
    /// `AWS_REGION` (default `us-east-1`).
    pub region: String,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("region", &self.region)
            .finish()
    }
}

/// The S3-compatible server's settings from the environment (what `eval "$(scripts/s3)"`
/// exports): `S3_ENDPOINT`, `S3_BUCKET`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_REGION`. `None` (said loudly) when the endpoint or a credential is missing.
///
/// # Panics
///
/// When the endpoint or a credential is not set and services are [required](services_required).
pub fn s3_settings() -> Option<S3Settings> {
    let endpoint = s3_endpoint()?;
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let (Some(access_key_id), Some(secret_access_key)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"))
    else {
        return unavailable(
            "S3",
            "S3_ENDPOINT is set but AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY is not \
             (eval \"$(scripts/s3)\" sets all of them)",
        );
    };
    Some(S3Settings {
        endpoint,
        bucket: var("S3_BUCKET").unwrap_or_else(|| "clientnest-test".to_owned()),
        access_key_id,
        secret_access_key,
        region: var("AWS_REGION").unwrap_or_else(|| "us-east-1".to_owned()),
    })
}

/// The value of `var`, naming `service` (with an `example` value) in the skip message or the
/// panic when it is unset or blank.
///
/// # Panics
///
/// When `var` is unset or blank and services are [required](services_required).
pub fn configured(var: &str, service: &str, example: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => Some(value),
        _ => unavailable(service, &format!("{var} is not set (set it, e.g. {var}={example})")),
    }
}

/// A service a test needs cannot be used, for the reason `why`: `None` after a loud SKIPPING
/// line on stderr.
///
/// # Panics
///
/// When services are [required](services_required): the reason becomes the failure.
pub fn unavailable<T>(service: &str, why: &str) -> Option<T> {
    if services_required() {
        panic!("{service} is required ({REQUIRE_SERVICES}=1) but {why}");
    }
    // Straight to stderr, past the test harness' capture, so the skip is seen.
    let _ = writeln!(std::io::stderr(), "!!! SKIPPING this {service} test: {why} !!!");
    None
}

#[cfg(test)]
mod tests {
    use super::S3Settings;

    #[test]
    fn s3_settings_debug_hides_the_secret() {
        let settings = S3Settings {
            endpoint: "http://127.0.0.1:9000".to_owned(),
            bucket: "clientnest-test".to_owned(),
            access_key_id: "key-id".to_owned(),
            secret_access_key: "very-secret-value".to_owned(),
            region: "us-east-1".to_owned(),
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("very-secret-value"), "{shown}");
        assert!(shown.contains("key-id") && shown.contains("<redacted>"), "{shown}");
    }
}
