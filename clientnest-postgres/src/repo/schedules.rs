//! Publishing schedules (`schedules`) and the workers' claim protocol.
//!
//! A claim is one `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE OF s SKIP LOCKED) RETURNING`:
//! concurrent claimers skip each other's rows, so each due schedule goes to exactly one of them,
//! and each claimed row gets a fresh `attempt_id` (its fencing token). Every other transition is
//! the one on [`Schedule`] in core: the row is locked, the transition applied in Rust and the
//! result stored. When the post may follow (complete, fail, cancel, resolve, recovery, create),
//! the post row is locked first, then the schedule: one lock order, so no deadlock.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use clientnest_core::constraint::{
    FK_SCHEDULES_POST, FK_SCHEDULES_SOCIAL_ACCOUNT, FK_SCHEDULES_TEAM, FK_SCHEDULES_USER,
};
use clientnest_core::ids::{AttemptId, PostId, ScheduleId, SocialAccountId, TeamId, UserId};
use clientnest_core::model::{
    Claim, ClaimRequest, ClaimToken, FailOutcome, MediaType, NewSchedule, Platform, PostPublishing, PostStatus,
    Recovered, Resolution, RetryPolicy, Schedule, ScheduleFilter, ScheduleStatus, WorkerId, check_batch, check_lease,
    check_platform_fit, later,
};
use clientnest_core::page::{Cursor, Page, PageRequest};
use clientnest_core::ports::ScheduleRepository;
use clientnest_core::{Entity, Error, Result};
use sqlx::PgConnection;
use uuid::Uuid;

use super::members::{Acting, active_member};
use super::{Keyset, choice, missing, owned_row, page_of};
use crate::error::map_sqlx;
use crate::store::{PgStore, commit, finish};

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
    attempt_count: i32,
    attempt_id: Option<Uuid>,
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
            attempt_count: r.attempt_count,
            attempt_id: r.attempt_id.map(AttemptId),
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

/// A post locked while its schedules change, with its publishing fields and the status and
/// time of each of its schedules other than the one changing.
#[derive(sqlx::FromRow)]
struct FollowingPost {
    id: Uuid,
    status: String,
    scheduled_at: Option<DateTime<Utc>>,
    published_at: Option<DateTime<Utc>>,
    other_statuses: Vec<String>,
    other_times: Vec<DateTime<Utc>>,
}

impl FollowingPost {
    /// The post's fields now, and as they follow its schedules once `changed` are stored.
    fn follow(&self, changed: &[&Schedule], now: DateTime<Utc>) -> Result<(PostPublishing, PostPublishing)> {
        let mut schedules = Vec::with_capacity(self.other_statuses.len() + changed.len());
        for (status, at) in self.other_statuses.iter().zip(&self.other_times) {
            schedules.push((choice::<ScheduleStatus>(status)?, *at));
        }
        schedules.extend(changed.iter().map(|s| (s.status, s.scheduled_time)));
        let was = PostPublishing {
            status: choice::<PostStatus>(&self.status)?,
            scheduled_at: self.scheduled_at,
            published_at: self.published_at,
        };
        Ok((was, was.follow(&schedules, now)))
    }
}

/// Lock the post of schedule `$1` (of team `$2` when given) and read its other schedules.
const LOCK_POST_OF_SCHEDULE: &str = r#"
SELECT p.id, p.status, p.scheduled_at, p.published_at,
       ARRAY(SELECT o.status FROM schedules o WHERE o.post_id = p.id AND o.id <> $1)::text[] AS other_statuses,
       ARRAY(SELECT o.scheduled_time FROM schedules o WHERE o.post_id = p.id AND o.id <> $1) AS other_times
FROM posts p
WHERE p.id = (SELECT s.post_id FROM schedules s WHERE s.id = $1 AND ($2::uuid IS NULL OR s.team_id = $2))
FOR UPDATE OF p"#;

/// Lock post `$1` (of team `$2` when given) and read all its schedules.
const LOCK_POST: &str = r#"
SELECT p.id, p.status, p.scheduled_at, p.published_at,
       ARRAY(SELECT o.status FROM schedules o WHERE o.post_id = p.id)::text[] AS other_statuses,
       ARRAY(SELECT o.scheduled_time FROM schedules o WHERE o.post_id = p.id) AS other_times
FROM posts p WHERE p.id = $1 AND ($2::uuid IS NULL OR p.team_id = $2) FOR UPDATE OF p"#;

/// Lock schedule `$1` (of team `$2` when given).
const LOCK_SCHEDULE: &str = "SELECT * FROM schedules WHERE id = $1 AND ($2::uuid IS NULL OR team_id = $2) FOR UPDATE";

/// Store what a transition built: every column a transition may change.
/// `$1` id, `$2` status, `$3` retry_count, `$4` attempt_count, `$5` attempt_id,
/// `$6` last_attempt, `$7` updated_at, `$8` next_attempt_at, `$9` locked_by, `$10` locked_until,
/// `$11` last_error, `$12` platform_post_id.
const SAVE: &str = r#"
UPDATE schedules SET status = $2, retry_count = $3, attempt_count = $4, attempt_id = $5, last_attempt = $6,
       updated_at = $7, next_attempt_at = $8, locked_by = $9, locked_until = $10, last_error = $11,
       platform_post_id = $12
WHERE id = $1"#;

/// Store a post's publishing fields: `$1` id, `$2` status, `$3` scheduled_at, `$4`
/// published_at, `$5` updated_at.
const SAVE_POST: &str =
    "UPDATE posts SET status = $2, scheduled_at = $3, published_at = $4, updated_at = $5 WHERE id = $1";

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

/// Lock the account `$1` of team `$2` against changes (deactivation) until the schedule is in.
const LOCK_ACCOUNT: &str = "SELECT id FROM social_accounts WHERE id = $1 AND team_id = $2 FOR SHARE";

/// Insert a schedule core built. `$1` id, `$2` user, `$3` team, `$4` post, `$5` account,
/// `$6` platform, `$7` scheduled_time (also the first `next_attempt_at`), `$8` timezone,
/// `$9` now.
pub(crate) const CREATE: &str = r#"
INSERT INTO schedules (id, user_id, team_id, post_id, social_account_id, platform, scheduled_time, timezone,
       status, retry_count, attempt_count, last_attempt, created_at, updated_at, next_attempt_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, 0, NULL, $9, $9, $7)
RETURNING *"#;

const LIST: &str = "SELECT * FROM schedules WHERE team_id = $1 AND (created_at, id) < ($2, $3) \
       AND ($5::text IS NULL OR status = $5) AND ($6::uuid IS NULL OR post_id = $6) \
     ORDER BY created_at DESC, id DESC LIMIT $4";

/// The claim, in one statement. Parameters: `$1` worker id, `$2` lease end, `$3` now,
/// `$4` batch size. Due means pending, `next_attempt_at <= now` and an active account; the
/// oldest due first (`idx_schedules_claimable`); rows another claimer holds are skipped. Each
/// row gets a fresh attempt id and its attempt counted (as `Schedule::claim` in core).
pub(crate) const CLAIM_DUE: &str = r#"
UPDATE schedules SET status = 'processing', locked_by = $1, locked_until = $2, last_attempt = $3, updated_at = $3,
       attempt_count = attempt_count + 1, attempt_id = gen_random_uuid()
WHERE id IN (
    SELECT s.id FROM schedules s JOIN social_accounts a ON a.id = s.social_account_id
    WHERE s.status = 'pending' AND s.next_attempt_at <= $3 AND a.is_active
    ORDER BY s.next_attempt_at, s.id LIMIT $4
    FOR UPDATE OF s SKIP LOCKED
) RETURNING *"#;

/// Posts with lapsed claims at `$1`, at most `$2` (one recovery batch).
const LAPSED_POSTS: &str = r#"
SELECT DISTINCT post_id FROM schedules
WHERE status IN ('processing', 'publishing') AND locked_until <= $1
LIMIT $2"#;

/// Lock posts `$1` in id order (the one lock order), returning the ids still there.
const LOCK_POSTS: &str = "SELECT id FROM posts WHERE id = ANY($1) ORDER BY id FOR UPDATE";

/// The lapsed claims of posts `$1` at `$2`, locked.
const LOCK_LAPSED: &str = r#"
SELECT * FROM schedules
WHERE post_id = ANY($1) AND status IN ('processing', 'publishing') AND locked_until <= $2
ORDER BY id FOR UPDATE"#;

/// Store recovered claims: `$1` ids, `$2` statuses, `$3` next_attempt_at, `$4` last_error,
/// `$5` now (lock cleared).
const SAVE_RECOVERED: &str = r#"
UPDATE schedules s SET status = r.status, next_attempt_at = r.next_attempt_at, last_error = r.last_error,
       locked_by = NULL, locked_until = NULL, updated_at = $5
FROM UNNEST($1::uuid[], $2::text[], $3::timestamptz[], $4::text[]) AS r(id, status, next_attempt_at, last_error)
WHERE s.id = r.id"#;

/// Unknown outcomes across teams, longest unresolved first (`idx_schedules_outcome_unknown`).
const UNKNOWN: &str = r#"
SELECT * FROM schedules WHERE status = 'outcome_unknown' ORDER BY updated_at, id LIMIT $1"#;

/// Most posts one recovery batch locks.
const RECOVERY_BATCH: i64 = 500;

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

/// Store what a transition built.
async fn save(conn: &mut PgConnection, s: &Schedule) -> Result<()> {
    sqlx::query(SAVE)
        .bind(s.id.0)
        .bind(s.status.as_str())
        .bind(s.retry_count)
        .bind(s.attempt_count)
        .bind(s.attempt_id.map(|a| a.0))
        .bind(s.last_attempt)
        .bind(s.updated_at)
        .bind(s.next_attempt_at)
        .bind(s.locked_by.as_deref())
        .bind(s.locked_until)
        .bind(s.last_error.as_deref())
        .bind(s.platform_post_id.as_deref())
        .execute(conn)
        .await
        .map_err(map_sqlx)?;
    Ok(())
}

/// Let a locked post follow its schedules once `changed` are stored.
async fn follow(
    conn: &mut PgConnection,
    post: &FollowingPost,
    changed: &[&Schedule],
    now: DateTime<Utc>,
) -> Result<()> {
    let (was, next) = post.follow(changed, now)?;
    if next != was {
        sqlx::query(SAVE_POST)
            .bind(post.id)
            .bind(next.status.as_str())
            .bind(next.scheduled_at)
            .bind(next.published_at)
            .bind(now)
            .execute(conn)
            .await
            .map_err(map_sqlx)?;
    }
    Ok(())
}

/// Lock schedule `id` (of `team` when given) in `conn`'s transaction.
async fn lock_schedule(conn: &mut PgConnection, id: ScheduleId, team: Option<TeamId>) -> Result<Schedule> {
    let row: Option<ScheduleRow> = sqlx::query_as(LOCK_SCHEDULE)
        .bind(id.0)
        .bind(team.map(|t| t.0))
        .fetch_optional(conn)
        .await
        .map_err(map_sqlx)?;
    row.ok_or_else(|| Error::not_found(Entity::Schedule, id))?.try_into()
}

impl PgStore {
    /// Apply a transition built in core to schedule `id` in one transaction: lock the row,
    /// `change` it, store it. With `post_follows`, the post is locked first and follows.
    async fn transition<T: Send>(
        &self,
        id: ScheduleId,
        team: Option<TeamId>,
        post_follows: bool,
        change: impl FnOnce(&mut Schedule, DateTime<Utc>) -> Result<T> + Send,
    ) -> Result<(T, Schedule)> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let outcome = async {
            let post: Option<FollowingPost> = if post_follows {
                let post = sqlx::query_as(LOCK_POST_OF_SCHEDULE)
                    .bind(id.0)
                    .bind(team.map(|t| t.0))
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_sqlx)?;
                Some(post.ok_or_else(|| Error::not_found(Entity::Schedule, id))?)
            } else {
                None
            };
            let mut schedule = lock_schedule(&mut tx, id, team).await?;
            let out = change(&mut schedule, now)?;
            save(&mut tx, &schedule).await?;
            if let Some(post) = &post {
                follow(&mut tx, post, &[&schedule], now).await?;
            }
            Ok((out, schedule))
        }
        .await;
        finish(tx, outcome).await
    }

    /// One recovery batch: lock the posts of up to [`RECOVERY_BATCH`] lapsed claims (in id
    /// order), recover their lapsed claims as core decides, let the posts follow.
    async fn recover_batch(&self, policy: RetryPolicy) -> Result<(Recovered, bool)> {
        let now = self.now();
        let posts: Vec<Uuid> = sqlx::query_scalar(LAPSED_POSTS)
            .bind(now)
            .bind(RECOVERY_BATCH)
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?;
        let mut done = Recovered::default();
        if posts.is_empty() {
            return Ok((done, false));
        }
        let full = posts.len() as i64 == RECOVERY_BATCH;
        let mut tx = self.begin().await?;
        let locked: Vec<Uuid> =
            sqlx::query_scalar(LOCK_POSTS).bind(&posts).fetch_all(&mut *tx).await.map_err(map_sqlx)?;
        let rows: Vec<ScheduleRow> =
            sqlx::query_as(LOCK_LAPSED).bind(&locked).bind(now).fetch_all(&mut *tx).await.map_err(map_sqlx)?;
        let mut changed = Vec::with_capacity(rows.len());
        for row in rows {
            let mut s = Schedule::try_from(row)?;
            if let Some(to) = s.recover(policy, now) {
                done.count(to);
                changed.push(s);
            }
        }
        sqlx::query(SAVE_RECOVERED)
            .bind(changed.iter().map(|s| s.id.0).collect::<Vec<_>>())
            .bind(changed.iter().map(|s| s.status.as_str()).collect::<Vec<_>>())
            .bind(changed.iter().map(|s| s.next_attempt_at).collect::<Vec<_>>())
            .bind(changed.iter().map(|s| s.last_error.clone()).collect::<Vec<_>>())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        for post in locked {
            let following: FollowingPost =
                sqlx::query_as(LOCK_POST).bind(post).bind(None::<Uuid>).fetch_one(&mut *tx).await.map_err(map_sqlx)?;
            follow(&mut tx, &following, &[], now).await?;
        }
        commit(tx).await?;
        Ok((done, full))
    }
}

#[async_trait]
impl ScheduleRepository for PgStore {
    /// One transaction: the post is locked `FOR UPDATE` and the account `FOR SHARE` before the
    /// checks, so a concurrent edit or deactivation waits for the schedule (and is then
    /// checked against it) instead of slipping between check and insert.
    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn create_schedule(&self, team: TeamId, schedule: NewSchedule) -> Result<Schedule> {
        let now = self.now();
        schedule.check(now)?;
        let mut tx = self.begin().await?;
        let post: Option<FollowingPost> = sqlx::query_as(LOCK_POST)
            .bind(schedule.post_id.0)
            .bind(team.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        sqlx::query(LOCK_ACCOUNT)
            .bind(schedule.social_account_id.0)
            .bind(team.0)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        let refs: References = sqlx::query_as(REFERENCES)
            .bind(team.0)
            .bind(schedule.post_id.0)
            .bind(schedule.social_account_id.0)
            .bind(schedule.user_id.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        let platform = refs.check(&schedule)?;
        let built = Schedule::from_new(team, schedule, platform, now);
        let row: ScheduleRow = sqlx::query_as(CREATE)
            .bind(built.id.0)
            .bind(built.user_id.0)
            .bind(team.0)
            .bind(built.post_id.0)
            .bind(built.social_account_id.0)
            .bind(platform.as_str())
            .bind(built.scheduled_time)
            .bind(&built.timezone)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        let stored = Schedule::try_from(row)?;
        if let Some(post) = &post {
            follow(&mut tx, post, &[&stored], now).await?;
        }
        commit(tx).await?;
        Ok(stored)
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
        self.transition(id, Some(team), true, |s, now| s.cancel(now)).await.map(|((), s)| s)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn claim_due(&self, worker: &WorkerId, request: ClaimRequest) -> Result<Vec<Claim>> {
        request.check()?;
        self.recover_batch(request.policy).await?;
        let now = self.now();
        let locked_until = later(now, request.lease, "lease")?;
        let rows: Vec<ScheduleRow> = sqlx::query_as(CLAIM_DUE)
            .bind(worker.as_str())
            .bind(locked_until)
            .bind(now)
            .bind(i64::from(request.limit))
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            let schedule = Schedule::try_from(row)?;
            let attempt =
                schedule.attempt_id.ok_or_else(|| crate::error::corrupt("a claimed schedule without attempt_id"))?;
            claimed.push(Claim { token: ClaimToken::new(schedule.id, attempt), schedule });
        }
        claimed.sort_unstable_by_key(|c| (c.schedule.next_attempt_at, c.schedule.id));
        Ok(claimed)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %claim.schedule_id()))]
    async fn renew_lease(&self, claim: &ClaimToken, lease: Duration) -> Result<Schedule> {
        check_lease(lease)?;
        let locked_until = later(self.now(), lease, "lease")?;
        self.transition(claim.schedule_id(), None, false, |s, now| s.renew(claim, locked_until, now))
            .await
            .map(|((), s)| s)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %claim.schedule_id()))]
    async fn mark_publishing(&self, claim: &ClaimToken) -> Result<Schedule> {
        self.transition(claim.schedule_id(), None, false, |s, now| s.mark_publishing(claim, now)).await.map(|((), s)| s)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %claim.schedule_id()))]
    async fn complete(&self, claim: &ClaimToken, platform_post_id: &str) -> Result<Schedule> {
        clientnest_core::model::check_platform_post_id(platform_post_id)?;
        self.transition(claim.schedule_id(), None, true, |s, now| s.complete(claim, platform_post_id, now))
            .await
            .map(|((), s)| s)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %claim.schedule_id()))]
    async fn fail(&self, claim: &ClaimToken, error: &str, policy: RetryPolicy) -> Result<FailOutcome> {
        policy.check()?;
        self.transition(claim.schedule_id(), None, true, |s, now| s.fail(claim, error, policy, now))
            .await
            .map(|(outcome, _)| outcome)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %claim.schedule_id()))]
    async fn release(&self, claim: &ClaimToken) -> Result<Schedule> {
        self.transition(claim.schedule_id(), None, false, |s, now| s.release(claim, now)).await.map(|((), s)| s)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn recover_expired(&self, policy: RetryPolicy) -> Result<Recovered> {
        policy.check()?;
        let mut total = Recovered::default();
        loop {
            let (done, more) = self.recover_batch(policy).await?;
            total.retried += done.retried;
            total.failed += done.failed;
            total.unknown += done.unknown;
            if !more {
                return Ok(total);
            }
        }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn unknown_outcomes(&self, limit: u32) -> Result<Vec<Schedule>> {
        check_batch(limit)?;
        let rows: Vec<ScheduleRow> =
            sqlx::query_as(UNKNOWN).bind(i64::from(limit)).fetch_all(self.pool()).await.map_err(map_sqlx)?;
        rows.into_iter().map(Schedule::try_from).collect()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team, id = %id))]
    async fn resolve_outcome(&self, team: TeamId, id: ScheduleId, resolution: Resolution) -> Result<Schedule> {
        resolution.check()?;
        self.transition(id, Some(team), true, |s, now| s.resolve(&resolution, now)).await.map(|((), s)| s)
    }
}
