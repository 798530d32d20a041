//! The schema: the seed's four phases as embedded migrations.

use clientnest_core::Result;
use sqlx::PgPool;
use sqlx::migrate::Migrator;

use crate::error::map_migrate;

/// The embedded migrations, in the seed's phases: `0001_core` (users, teams, team members),
/// `0002_social` (social accounts, posts, post media), `0003_ai_automation` (comments,
/// responses, templates, AI usage, automations, schedules, webhooks) and
/// `0004_analytics_billing` (billing, notifications).
///
/// The migrations' bookkeeping table `_sqlx_migrations` is created in the first schema of the
/// connection's search path, like the tables themselves.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Apply every migration not applied yet. Safe to call from several processes at once: sqlx
/// takes an advisory lock for the duration.
///
/// # Errors
///
/// [`Error::Unavailable`](clientnest_core::Error::Unavailable) when the server cannot be
/// reached, [`Error::Backend`](clientnest_core::Error::Backend) when a migration fails or an
/// applied one was changed.
pub async fn migrate(pool: &PgPool) -> Result<()> {
    MIGRATOR.run(pool).await.map_err(map_migrate)
}
