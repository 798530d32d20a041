//! # clientnest-postgres
//!
//! ClientNest's transactional data on PostgreSQL: the seed's schema as four embedded
//! migrations, and [`PgStore`], which implements every repository port of
//! [`clientnest_core`] (so `PgStore: Repositories`) and passes the same conformance suite as
//! the in-memory backend.
//!
//! ```no_run
//! use clientnest_core::prelude::*;
//! use clientnest_postgres::{PgConfig, PgStore};
//!
//! # async fn run() -> clientnest_core::Result<()> {
//! let config = PgConfig::new(std::env::var("DATABASE_URL").unwrap_or_default());
//! let keys = KeyRing::new("2024-06", KeyRing::generate_key())?; // load yours from a secret store
//! let store = PgStore::connect(&config, keys).await?;
//! store.migrate().await?;
//!
//! let ada = store
//!     .create_user(NewUser::new("ada@example.com", hash_password(&Secret::new("pw 1234"))?, "Ada", "Lovelace"))
//!     .await?;
//! let (team, _owner) = store.create_team(NewTeam::new("Analytical", ada.id, PlanType::Starter)).await?;
//! let mut post = NewPost::draft(ada.id, "Hello from PostgreSQL");
//! post.status = PostStatus::Published;
//! store.create_post(team.id, post).await?;
//!
//! // The seed's hot query: the newest 20 published posts with their media, one round trip.
//! let feed = store.feed(team.id, PageRequest::first(20)).await?;
//! assert_eq!(feed.items.len(), 1);
//! # Ok(())
//! # }
//! ```
//!
//! ## Configuration
//!
//! [`PgConfig`] holds the URL and the pool: by default the seed's settings (at most 20
//! connections, at least 5 kept open, each recycled after 10 minutes) plus a 5 second acquire
//! timeout, after which a call fails with the retryable
//! [`Error::Unavailable`](clientnest_core::Error::Unavailable). `with_search_path` puts the
//! tables in a schema of your choice (one per tenant, or per test). `Debug` never prints the
//! password. [`PgStore::from_pool`] wraps a pool you built yourself. The store opens its
//! connections through that pool but keeps them itself, so a call gives its connection back
//! without the ping sqlx's pool sends on every return (see [`PgStore::from_pool`]).
//!
//! ## Schema
//!
//! [`MIGRATOR`] applies `0001_core` (users, teams, team members), `0002_social` (social
//! accounts, posts, post media), `0003_ai_automation` (comments, responses, templates, AI usage,
//! automations, schedules, webhooks) and `0004_analytics_billing` (billing, notifications), then
//! `0005_publishing_protocol`, `0006_post_media_content_hash` and `0007_team_id_on_child_rows`
//! (`team_id` on comments, responses and post media, held to the parent's by composite foreign
//! keys, so every team-owned table can be distributed by `team_id`: `docs/scale-out.md`).
//! Every foreign key of the seed's ERD cascades on delete; constraint names are those of
//! [`clientnest_core::constraint`] (`fk_posts_team`, `uq_users_email`, ...), and the seed's
//! CHECKs and indexes keep the seed's names (`chk_users_email_format`,
//! `idx_posts_team_status_created`, ...). Every choice column has a CHECK of its values.
//!
//! ## Errors
//!
//! Input is validated with the core rules before any SQL runs. The database keeps its
//! constraints as a second line: a unique violation becomes `Conflict` with the rule's name, a
//! foreign key violation `MissingReference`, a CHECK violation `Validation` with the core
//! validator's rule name. A lost connection, a pool timeout, a server shutting down or a
//! deadlock become `Unavailable`; anything else `Backend` with its source kept. Every
//! team-owned row is read and written with `team_id = $team` on its own table (comments,
//! responses and post media included: their `team_id` is set from the team of the call), so an
//! id of another team is `NotFound`.
//!
//! ## Secrets at rest
//!
//! OAuth tokens (`social_accounts.access_token_enc`, `refresh_token_enc`) and webhook secrets
//! (`webhooks.secret_key_enc`) are sealed with the application's
//! [`KeyRing`](clientnest_core::crypto::KeyRing) (AES-256-GCM) before they are written, and
//! opened when read. The associated data binds each ciphertext to its table, column and row id
//! ([`secrets::aad`]), so a value copied elsewhere does not decrypt; a tampered or foreign value
//! reads as [`Error::Crypto`](clientnest_core::Error::Crypto). Rotate keys by adding the old key
//! with `KeyRing::with_old_key`: values re-seal under the primary key whenever they are written,
//! and the re-seal sweep (`SecretReseal::reseal_secrets`, paged and resumable) re-seals the
//! rest, so the old key can be dropped once a whole sweep reports no unreadable row.
//! Passwords are stored only as argon2id PHC strings.
//!
//! ## Scheduling
//!
//! Workers call `claim_due(worker, ClaimRequest)`. It claims in one statement,
//! `UPDATE schedules ... WHERE id IN (SELECT ... FOR UPDATE OF s SKIP LOCKED) RETURNING *`
//! ([`sql::CLAIM_DUE`]), which claims nothing while any claim has lapsed; when it claims
//! nothing, `claim_due` recovers one bounded batch of lapsed claims (posts locked in id order,
//! then their lapsed schedules; the transitions are core's `Schedule::recover`) and claims
//! again without that guard. So lapsed claims are recovered before anything is claimed, and a
//! call is one statement while none has lapsed. A claim takes up to `limit` pending schedules
//! due now on active accounts, oldest first, each `processing` under `locked_until = now +
//! lease` with a fresh `attempt_id` (the claim's fencing token) and its attempt counted. Concurrent claimers skip each other's rows,
//! so each due schedule goes to exactly one of them.
//!
//! Every other call (`renew_lease`, `mark_publishing`, `complete`, `fail`, `release`,
//! `cancel_schedule`, `resolve_outcome`) is one transaction that locks the row (and first the
//! post's row when the post follows), applies core's transition and stores it; a token that is
//! not the row's current claim is `StaleClaim`. `create_schedule` locks the post `FOR UPDATE`
//! and the account `FOR SHARE` before it checks them, so a concurrent edit or deactivation
//! cannot slip in between; `uq_schedules_post_account_live` keeps one live schedule per post
//! and account. The protocol and its states: `docs/backend-rules.md`.
//!
//! ## Observability
//!
//! Every repository call runs in a `tracing` span at `DEBUG` level named after the method, with
//! the team, user or record id as a field (never a secret or any content).
//!
//! ## Bulk paths
//!
//! `ingest_comments` is one `INSERT ... SELECT FROM UNNEST(...) ON CONFLICT (account_id,
//! platform_id) DO NOTHING` after checking every account is the team's, in one transaction;
//! `import_posts` inserts posts and media from `UNNEST` arrays in one transaction.
#![forbid(unsafe_code)]

mod config;
mod conns;
mod error;
mod exec;
mod migrate;
pub mod replica;
mod repo;
pub mod secrets;
mod store;

pub use config::{DEFAULT_URL, PgConfig};
pub use error::map_sqlx as map_error;
pub use migrate::{MIGRATOR, migrate};
pub use replica::{ReadStats, ReplicaState, ReplicaStatus};
pub use store::PgStore;

/// The SQL of the hot paths, for `EXPLAIN`, benchmarks and load generators that want to compare
/// against the same statements.
pub mod sql {
    /// The team feed (see `PostRepository::feed`). `$1` team id, `$2`/`$3` the keyset cursor
    /// (`created_at`, `id`; the first page passes `'10000-01-01'` and the largest UUID),
    /// `$4` the page size plus one.
    pub const FEED: &str = crate::repo::FEED;
    /// A team's inbox (see `CommentRepository::inbox`), read through
    /// `idx_comments_team_created`. `$1` team id, `$2`/`$3` the keyset cursor, `$4` the page
    /// size plus one, then each filter or NULL: `$5` status, `$6` sentiment, `$7` priority,
    /// `$8` account.
    pub const INBOX: &str = crate::repo::INBOX;
    /// The claim (see `ScheduleRepository::claim_due`, which runs a recovery batch and claims
    /// again without the guard when this claims nothing): it claims nothing while any claim
    /// has lapsed.
    /// `$1` worker id, `$2` lease end, `$3` now, `$4` batch size.
    pub const CLAIM_DUE: &str = crate::repo::CLAIM_DUE;
    /// A post and its media in one statement (see `PostRepository::create_post`): the post's
    /// columns in table order, `$1` id, `$2` user, `$3` team, `$4`-`$16` title, content,
    /// hashtags, status, scheduled_at, published_at, ai_generated, ai_prompt, engagement,
    /// created_at, updated_at, metadata, platforms; then `$17`-`$27` the media's columns as
    /// arrays (ids, team ids and post ids (both ignored: the inserted post's), kinds, URLs,
    /// sizes, dimensions, alt texts, order indexes, creation times, content hashes).
    pub const CREATE_POST: &str = crate::repo::CREATE_POST;
    /// What a new schedule refers to, read before creating it (see
    /// `ScheduleRepository::create_schedule`). `$1` team, `$2` post, `$3` account, `$4` user.
    pub const SCHEDULE_REFERENCES: &str = crate::repo::SCHEDULE_REFERENCES;
    /// The schedule's insert (the library runs it in a transaction that locks the post and the
    /// account first, and lets the post follow after): every column, `$1` id,
    /// `$2` user, `$3` team, `$4` post, `$5` account, `$6` platform, `$7` scheduled time, `$8`
    /// zone, `$9` status, `$10` retry_count, `$11` attempt_count, `$12` attempt_id, `$13`
    /// last_attempt, `$14` created_at, `$15` updated_at, `$16` next_attempt_at, `$17`
    /// locked_by, `$18` locked_until, `$19` last_error, `$20` platform_post_id.
    pub const CREATE_SCHEDULE: &str = crate::repo::CREATE_SCHEDULE;
    /// First statement of `ScheduleRepository::create_post_with_schedules` (in its transaction):
    /// whether the author is an active member (rows locked `FOR SHARE`) and the team's accounts
    /// among the schedules' (locked `FOR SHARE`). `$1` team, `$2` author, `$3` account ids.
    pub const NEW_POST_ACCOUNTS: &str = crate::repo::NEW_POST_ACCOUNTS;
    /// Second statement of `create_post_with_schedules`: the post (`$1`-`$16` as in
    /// [`CREATE_POST`]), its media (`$17`-`$27`, arrays as in [`CREATE_POST`]) and its schedules
    /// (`$28`-`$47`, one array per column of [`CREATE_SCHEDULE`], the team and post arrays
    /// ignored: the inserted post's), in one statement.
    pub const CREATE_POST_WITH_SCHEDULES: &str = crate::repo::CREATE_POST_WITH_SCHEDULES;
}
