//! Publishing schedules (`schedules`) and the workers' claim protocol.
//!
//! A claim is one `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE OF s SKIP LOCKED) RETURNING`:
//! concurrent claimers skip each other's rows, so each due schedule goes to exactly one of them.
//! Renewing, completing and failing check `status = 'processing' AND locked_by = $worker` in
//! their `WHERE` clause; completing publishes the post in the same statement.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use clientnest_core::clock::to_micros;
use clientnest_core::constraint::{
    FK_SCHEDULES_POST, FK_SCHEDULES_SOCIAL_ACCOUNT, FK_SCHEDULES_TEAM, FK_SCHEDULES_USER,
};
use clientnest_core::ids::{PostId, ScheduleId, SocialAccountId, TeamId, UserId};
use clientnest_core::model::{
    FailOutcome, MediaType, NewSchedule, Platform, RetryPolicy, Schedule, ScheduleFilter, ScheduleStatus, WorkerId,
    check_batch, check_lease, check_platform_fit, check_platform_post_id, clip_error,
};
use clientnest_core::page::{Cursor, Page, PageRequest};
use clientnest_core::ports::ScheduleRepository;
use clientnest_core::validate::rule;
use clientnest_core::{Entity, Error, Result};
use uuid::Uuid;

use super::members::{Acting, active_member};
use super::{Keyset, choice, missing, owned_row, page_of};
use crate::error::map_sqlx;
use crate::store::{PgStore, commit};

/// A `schedules` row.
#[derive(sqlx::FromRow)]
struct ScheduleRow {
    id: Uuid,
    user_id: Uuid,
    team_id: Uuid,
    post_id: Uuid,
    social_account_id: Uuid,
    platform: String,
    scheduled_time: DateTime<Utc>,
    timezone: String,
    status: String,
    retry_count: i32,
    last_attempt: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    next_attempt_at: DateTime<Utc>,
    locked_by: Option<String>,
    locked_until: Option<DateTime<Utc>>,
    last_error: Option<String>,
    platform_post_id: Option<String>,
}

impl TryFrom<ScheduleRow> for Schedule {
    type Error = Error;
    fn try_from(r: ScheduleRow) -> Result<Self> {
        Ok(Schedule {
            id: ScheduleId(r.id),
            user_id: UserId(r.user_id),
            team_id: TeamId(r.team_id),
            post_id: PostId(r.post_id),
            social_account_id: SocialAccountId(r.social_account_id),
            platform: choice(&r.platform)?,
            scheduled_time: r.scheduled_time,
            timezone: r.timezone,
            status: choice(&r.status)?,
            retry_count: r.retry_count,
            last_attempt: r.last_attempt,
            created_at: r.created_at,
            updated_at: r.updated_at,
            next_attempt_at: r.next_attempt_at,
            locked_by: r.locked_by,
            locked_until: r.locked_until,
            last_error: r.last_error,
            platform_post_id: r.platform_post_id,
        })
    }
}

/// What a new schedule refers to, read in one query.
#[derive(sqlx::FromRow)]
struct References {
    team_exists: bool,
    user_exists: bool,
    post_content: Option<String>,
    media_kinds: Vec<String>,
    account_platform: Option<String>,
    account_active: Option<bool>,
    /// Whether the user is an active member of the team (rows locked `FOR SHARE`).
    member_active: bool,
}

fn cursor(s: &Schedule) -> Cursor {
    Cursor::after(s.created_at, s.id)
}

/// What a new schedule refers to: `$1` team, `$2` post, `$3` account, `$4` user. Whether the user
/// is an active member locks the membership and user rows `FOR SHARE`: run it in the schedule's
/// transaction for the check to hold until the insert commits.
pub(crate) const REFERENCES: &str = concat!(
    "SELECT EXISTS (SELECT 1 FROM teams WHERE id = $1) AS team_exists, \
       EXISTS (SELECT 1 FROM users WHERE id = $4) AS user_exists, ",
    active_member!("$1", "$4"),
    " AS member_active, \
       p.content AS post_content, \
       ARRAY(SELECT m.media_type FROM post_media m WHERE m.post_id = p.id ORDER BY m.order_index)::text[] \
         AS media_kinds, \
       a.platform AS account_platform, a.is_active AS account_active \
     FROM (SELECT 1) AS one \
     LEFT JOIN posts p ON p.id = $2 AND p.team_id = $1 \
     LEFT JOIN social_accounts a ON a.id = $3 AND a.team_id = $1"
);

/// The schedule, and its post becomes `scheduled` if it was a draft, in one statement.
pub(crate) const CREATE: &str = "WITH s AS (\
       INSERT INTO schedules (id, user_id, team_id, post_id, social_account_id, platform, scheduled_time, timezone, \
         status, retry_count, last_attempt, created_at, updated_at, next_attempt_at) \
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, NULL, $9, $9, $7) RETURNING *\
     ), p AS (\
       UPDATE posts SET status = 'scheduled', scheduled_at = $7, updated_at = $9 \
       WHERE id = $4 AND team_id = $3 AND status = 'draft' AND EXISTS (SELECT 1 FROM s)\
     ) SELECT * FROM s";

const LIST: &str = "SELECT * FROM schedules WHERE team_id = $1 AND (created_at, id) < ($2, $3) \
       AND ($5::text IS NULL OR status = $5) AND ($6::uuid IS NULL OR post_id = $6) \
     ORDER BY created_at DESC, id DESC LIMIT $4";

const CANCEL: &str = "UPDATE schedules SET status = 'cancelled', updated_at = $3 \
     WHERE id = $1 AND team_id = $2 AND status = 'pending' RETURNING *";

/// The claim, in one statement. Parameters: `$1` worker id, `$2` lease end, `$3` now,
/// `$4` batch size. Due means pending, `next_attempt_at <= now` and an active account; the
/// oldest due first (`idx_schedules_claimable`); rows another claimer holds are skipped.
pub(crate) const CLAIM_DUE: &str = "UPDATE schedules SET status = 'processing', locked_by = $1, locked_until = $2, \
       last_attempt = $3, updated_at = $3 \
     WHERE id IN (\
       SELECT s.id FROM schedules s JOIN social_accounts a ON a.id = s.social_account_id \
       WHERE s.status = 'pending' AND s.next_attempt_at <= $3 AND a.is_active \
       ORDER BY s.next_attempt_at, s.id LIMIT $4 \
       FOR UPDATE OF s SKIP LOCKED\
     ) RETURNING *";

const RENEW: &str = "UPDATE schedules SET locked_until = $3, updated_at = $4 \
     WHERE id = $1 AND status = 'processing' AND locked_by = $2 RETURNING *";

const COMPLETE: &str = "WITH s AS (\
       UPDATE schedules SET status = 'completed', platform_post_id = $3, locked_by = NULL, locked_until = NULL, \
         updated_at = $4 \
       WHERE id = $1 AND status = 'processing' AND locked_by = $2 RETURNING *\
     ), p AS (\
       UPDATE posts SET status = 'published', published_at = COALESCE(published_at, $4), updated_at = $4 \
       WHERE id IN (SELECT post_id FROM s)\
     ) SELECT * FROM s";

const LOCK_HELD: &str = "SELECT * FROM schedules WHERE id = $1 AND status = 'processing' AND locked_by = $2 FOR UPDATE";

const SAVE_FAILURE: &str = "UPDATE schedules SET status = $2, retry_count = $3, last_error = $4, \
     next_attempt_at = $5, locked_by = NULL, locked_until = NULL, updated_at = $6 WHERE id = $1";

const RECOVER: &str = "UPDATE schedules SET status = 'pending', locked_by = NULL, locked_until = NULL, \
     next_attempt_at = $1, updated_at = $1 WHERE status = 'processing' AND locked_until <= $1";

/// `now + by`, or a validation error on `field` past the representable times.
fn later(now: DateTime<Utc>, by: Duration, field: &str) -> Result<DateTime<Utc>> {
    now.checked_add_signed(by)
        .map(to_micros)
        .ok_or_else(|| Error::invalid(field, rule::RANGE, "ends past the latest storable time"))
}

/// The refusal when a worker does not hold a claim.
fn not_held(id: ScheduleId) -> Error {
    Error::InvalidState {
        entity: Entity::Schedule,
        id: id.to_string(),
        reason: "the worker does not hold a claim on this schedule",
    }
}

impl References {
    /// Check in the shared order: team, post, account, user, membership, account active,
    /// platform fit.
    /// Returns the account's platform.
    fn check(self, input: &NewSchedule) -> Result<Platform> {
        if !self.team_exists {
            return Err(missing(Entity::Schedule, Entity::Team, FK_SCHEDULES_TEAM));
        }
        let content = self.post_content.ok_or_else(|| missing(Entity::Schedule, Entity::Post, FK_SCHEDULES_POST))?;
        let (Some(platform), Some(active)) = (self.account_platform, self.account_active) else {
            return Err(missing(Entity::Schedule, Entity::SocialAccount, FK_SCHEDULES_SOCIAL_ACCOUNT));
        };
        if !self.user_exists {
            return Err(missing(Entity::Schedule, Entity::User, FK_SCHEDULES_USER));
        }
        if !self.member_active {
            return Err(Acting::SCHEDULE.not_a_member(input.user_id));
        }
        if !active {
            return Err(Error::InvalidState {
                entity: Entity::SocialAccount,
                id: input.social_account_id.to_string(),
                reason: "an inactive account cannot publish",
            });
        }
        let platform: Platform = choice(&platform)?;
        let kinds = self.media_kinds.iter().map(|k| choice::<MediaType>(k)).collect::<Result<Vec<_>>>()?;
        check_platform_fit(&content, &kinds, &[platform])?;
        Ok(platform)
    }
}

impl PgStore {
    /// `NotFound` for an unknown schedule, else `InvalidState` (the claim is not the worker's).
    async fn refusal(&self, id: ScheduleId) -> Error {
        let exists = sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM schedules WHERE id = $1)")
            .bind(id.0)
            .fetch_one(self.pool())
            .await;
        match exists {
            Ok(true) => not_held(id),
            Ok(false) => Error::not_found(Entity::Schedule, id),
            Err(e) => map_sqlx(e),
        }
    }
}

#[async_trait]
impl ScheduleRepository for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn create_schedule(&self, team: TeamId, schedule: NewSchedule) -> Result<Schedule> {
        let now = self.now();
        schedule.check(now)?;
        let refs: References = sqlx::query_as(REFERENCES)
            .bind(team.0)
            .bind(schedule.post_id.0)
            .bind(schedule.social_account_id.0)
            .bind(schedule.user_id.0)
            .fetch_one(self.pool())
            .await
            .map_err(map_sqlx)?;
        let platform = refs.check(&schedule)?;
        let row: ScheduleRow = sqlx::query_as(CREATE)
            .bind(ScheduleId::new().0)
            .bind(schedule.user_id.0)
            .bind(team.0)
            .bind(schedule.post_id.0)
            .bind(schedule.social_account_id.0)
            .bind(platform.as_str())
            .bind(to_micros(schedule.scheduled_time))
            .bind(&schedule.timezone)
            .bind(now)
            .fetch_one(self.pool())
            .await
            .map_err(map_sqlx)?;
        row.try_into()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn get_schedule(&self, team: TeamId, id: ScheduleId) -> Result<Schedule> {
        owned_row::<ScheduleRow>(
            self.pool(),
            "SELECT * FROM schedules WHERE id = $1 AND team_id = $2",
            id.0,
            team.0,
            Entity::Schedule,
            id,
        )
        .await?
        .try_into()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn list_schedules(&self, team: TeamId, filter: ScheduleFilter, page: PageRequest) -> Result<Page<Schedule>> {
        let k = Keyset::of(&page)?;
        let rows: Vec<ScheduleRow> = sqlx::query_as(LIST)
            .bind(team.0)
            .bind(k.at)
            .bind(k.id)
            .bind(k.fetch)
            .bind(filter.status.map(|s| s.as_str()))
            .bind(filter.post_id.map(|p| p.0))
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?;
        page_of(rows, &page, Schedule::try_from, cursor)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn cancel_schedule(&self, team: TeamId, id: ScheduleId) -> Result<Schedule> {
        let row: Option<ScheduleRow> = sqlx::query_as(CANCEL)
            .bind(id.0)
            .bind(team.0)
            .bind(self.now())
            .fetch_optional(self.pool())
            .await
            .map_err(map_sqlx)?;
        match row {
            Some(row) => row.try_into(),
            None => {
                self.get_schedule(team, id).await?;
                Err(Error::InvalidState {
                    entity: Entity::Schedule,
                    id: id.to_string(),
                    reason: "only a pending schedule can be cancelled",
                })
            }
        }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn claim_due(&self, worker: &WorkerId, limit: u32, lease: Duration) -> Result<Vec<Schedule>> {
        check_batch(limit)?;
        check_lease(lease)?;
        let now = self.now();
        let locked_until = later(now, lease, "lease")?;
        let rows: Vec<ScheduleRow> = sqlx::query_as(CLAIM_DUE)
            .bind(worker.as_str())
            .bind(locked_until)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?;
        let mut claimed = rows.into_iter().map(Schedule::try_from).collect::<Result<Vec<_>>>()?;
        claimed.sort_unstable_by_key(|s| (s.next_attempt_at, s.id));
        Ok(claimed)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    async fn renew_lease(&self, id: ScheduleId, worker: &WorkerId, lease: Duration) -> Result<Schedule> {
        check_lease(lease)?;
        let now = self.now();
        let row: Option<ScheduleRow> = sqlx::query_as(RENEW)
            .bind(id.0)
            .bind(worker.as_str())
            .bind(later(now, lease, "lease")?)
            .bind(now)
            .fetch_optional(self.pool())
            .await
            .map_err(map_sqlx)?;
        match row {
            Some(row) => row.try_into(),
            None => Err(self.refusal(id).await),
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    async fn complete(&self, id: ScheduleId, worker: &WorkerId, platform_post_id: &str) -> Result<Schedule> {
        check_platform_post_id(platform_post_id)?;
        let row: Option<ScheduleRow> = sqlx::query_as(COMPLETE)
            .bind(id.0)
            .bind(worker.as_str())
            .bind(platform_post_id)
            .bind(self.now())
            .fetch_optional(self.pool())
            .await
            .map_err(map_sqlx)?;
        match row {
            Some(row) => row.try_into(),
            None => Err(self.refusal(id).await),
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    async fn fail(&self, id: ScheduleId, worker: &WorkerId, error: &str, policy: RetryPolicy) -> Result<FailOutcome> {
        policy.check()?;
        let now = self.now();
        let mut tx = self.begin().await?;
        let row: Option<ScheduleRow> = sqlx::query_as(LOCK_HELD)
            .bind(id.0)
            .bind(worker.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        let Some(row) = row else {
            drop(tx);
            return Err(self.refusal(id).await);
        };
        let retry_count = row.retry_count.saturating_add(1);
        let failures = u32::try_from(retry_count).unwrap_or(u32::MAX);
        let (status, next_attempt_at, outcome) = if failures >= policy.max_attempts {
            (ScheduleStatus::Failed, row.next_attempt_at, FailOutcome::Failed)
        } else {
            let next = later(now, policy.delay_after(failures), "retry_policy")?;
            (ScheduleStatus::Pending, next, FailOutcome::Retrying { next_attempt_at: next })
        };
        sqlx::query(SAVE_FAILURE)
            .bind(id.0)
            .bind(status.as_str())
            .bind(retry_count)
            .bind(clip_error(error))
            .bind(next_attempt_at)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        commit(tx).await?;
        Ok(outcome)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn recover_expired(&self) -> Result<u64> {
        let done = sqlx::query(RECOVER).bind(self.now()).execute(self.pool()).await.map_err(map_sqlx)?;
        Ok(done.rows_affected())
    }
}
