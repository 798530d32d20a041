//! # clientnest-timescale
//!
//! ClientNest's six analytics tables (`events`, `metrics`, `performance`, `engagement`,
//! `ai_metrics`, `costs`) on TimescaleDB, or on plain PostgreSQL with the same API:
//! [`TimescaleStore`] implements every analytics port of [`clientnest_core::analytics`]
//! (so `TimescaleStore: Analytics`) with the same results as the in-memory backend.
//!
//! ```no_run
//! use chrono::{Duration, Utc};
//! use clientnest_core::analytics::*;
//! use clientnest_core::ids::{PostId, TeamId};
//! use clientnest_core::model::{Period, Platform};
//! use clientnest_timescale::{TimescaleConfig, TimescaleStore};
//!
//! # async fn run() -> clientnest_core::Result<()> {
//! let url = std::env::var("TIMESCALE_URL").unwrap_or_default();
//! let store = TimescaleStore::connect_with(&url, TimescaleConfig::new().with_schema("analytics")?).await?;
//! store.migrate().await?; // hypertables and continuous aggregates, or plain tables
//! println!("running on {}", store.flavour().await?);
//!
//! let (team, post) = (TeamId::new(), PostId::new());
//! let published = Utc::now() - Duration::days(2);
//! let snap = |hours, likes| {
//!     EngagementSnapshot::new(team, post, Platform::Instagram, published, published + Duration::hours(hours))
//!         .with(EngagementCounter::Likes, likes)
//! };
//! store.append_engagement(vec![snap(1, 10), snap(25, 25)]).await?; // one COPY
//!
//! let range = Period::new(published, Utc::now()).map_err(clientnest_core::Error::from)?;
//! let days = store.post_engagement(Rollup::new(team, range, Bucket::Day), PostSeries { post, platform: None }).await?;
//! for day in days {
//!     println!("{}: {:?} likes gained", day.bucket, day.gained.get(EngagementCounter::Likes));
//! }
//! # Ok(())
//! # }
//! ```
//!
//! ## Flavours
//!
//! [`TimescaleStore::flavour`] is [`Flavour::TimescaleDb`] when the server has the
//! `timescaledb` extension loaded (`shared_preload_libraries`) under the Timescale license,
//! and [`Flavour::Plain`] otherwise (plain PostgreSQL, or an Apache-only TimescaleDB build);
//! [`TimescaleConfig::with_flavour`] forces one. [`TimescaleStore::migrate`] builds the schema
//! for that flavour (see [`schema`] for keys and chunk intervals):
//!
//! | | TimescaleDB | plain PostgreSQL |
//! |---|---|---|
//! | tables | hypertables, chunk interval per table | ordinary tables, BRIN on `time` |
//! | hourly rollups | continuous aggregates `engagement_hourly`, `ai_metrics_hourly`, real-time (`materialized_only = false`) | tables of the same shape below a watermark, raw rows above it |
//! | refresh | a policy every 30 minutes, ending an hour back; [`refresh_rollups`](clientnest_core::analytics::AnalyticsMaintenance::refresh_rollups) | `clientnest_refresh_rollups(start, end)` via `refresh_rollups` |
//! | compression | per-table policies, segmented by team (performance: service, endpoint), newest first; [`TimescaleStore::compress_before`] | none |
//! | retention | per-table policies after [`TimescaleConfig::with_retention`] | `clientnest_drop_before(t)`, via [`TimescaleStore::drop_expired`] |
//!
//! What a user sees is the same in both: every reader gives the same numbers. Only upkeep
//! differs: on plain PostgreSQL nothing runs in the background, so call
//! [`refresh_rollups`](clientnest_core::analytics::AnalyticsMaintenance::refresh_rollups) and
//! [`TimescaleStore::drop_expired`] from a periodic job (reads are correct without it; the
//! rollups just keep more rows live).
//!
//! ## Late and corrected data
//!
//! A re-sent row replaces the stored one (also in a compressed chunk). The hourly rollups see
//! rows newer than their last refresh at once; a late row below it shows after the next
//! refresh (the policy's, or `refresh_rollups`).
//!
//! ## Ingest
//!
//! Each append is checked whole with core's rules, then COPYed (text format, every string
//! escaped) in one transaction; see [`writer`] for the fast and the staging path.
//!
//! ## Errors
//!
//! Every error is a [`clientnest_core::Error`] naming the store `timescaledb`
//! ([`clientnest_core::error::store::TIMESCALE`]): `Validation` for refused input (nothing is
//! written), `Unavailable` (retryable) for a lost or overloaded server, `Backend` otherwise.

mod config;
mod copy;
mod error;
mod maintenance;
mod read;
pub mod schema;
mod store;
pub mod writer;

pub use config::{DEFAULT_COMPRESS_AFTER, DEFAULT_COPY_CHUNK_ROWS, DEFAULT_RETENTION, Flavour, TimescaleConfig};
pub use maintenance::{CompressionSize, TableSize};
pub use store::TimescaleStore;
