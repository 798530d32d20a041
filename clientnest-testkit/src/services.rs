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
