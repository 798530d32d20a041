//! # clientnest-testkit
//!
//! What ClientNest's own tests and load generators share (unpublished, never a dependency of a
//! library crate):
//!
//! - [`services`]: one function per service the tests reach (`DATABASE_URL`, `REDIS_URL`,
//!   `REDIS_CLUSTER_URLS`), `None` with a loud SKIPPING line when it is not configured, a panic
//!   when `CLIENTNEST_REQUIRE_SERVICES=1`;
//! - `pg` (feature `postgres`): a PostgreSQL database per test, copied from a template that
//!   is migrated once per set of migrations, dropped when its pool goes;
//! - [`proxy`]: a TCP chaos proxy whose path a test cuts and restores;
//! - [`fixtures`]: the test key ring, unique names and sample users;
//! - [`measure`]: the load generators' closed-loop drivers, latency percentiles, CPU time and
//!   ratios against raw baselines.
//!
//! ```no_run
//! use clientnest_testkit::{fixtures, services};
//!
//! # #[cfg(feature = "postgres")]
//! # async fn demo() -> Result<(), sqlx::Error> {
//! use clientnest_testkit::pg::PgTemplate;
//!
//! // Skips (None) or fails (CLIENTNEST_REQUIRE_SERVICES=1) when PostgreSQL is not configured.
//! let Some(url) = services::database_url() else { return Ok(()) };
//! // Once per process: the template of these migrations (built by the first process only).
//! static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../clientnest-postgres/migrations");
//! let template = PgTemplate::prepare(&url, &MIGRATOR, "app").await?;
//! // Per test: a copy of it, its pool on the `app` schema; dropped with the last pool handle.
//! let db = template.database(5).await?;
//! sqlx::query("SELECT count(*) FROM users").execute(db.pool()).await?;
//! let keys = fixtures::keys();
//! # let _ = keys;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod fixtures;
pub mod measure;
#[cfg(feature = "postgres")]
pub mod pg;
pub mod proxy;
pub mod services;
