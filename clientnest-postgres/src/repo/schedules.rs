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
    Claim, ClaimRequest, ClaimToken, FailOutcome, MediaType, NewPost, NewPostSchedule, NewSchedule, PostPublishing,
    PostStatus, PublishingAccount, Recovered, Resolution, RetryPolicy, Schedule, ScheduleFilter, ScheduleStatus,
    ScheduledPost, WorkerId, check_batch, check_lease, later,
};
use clientnest_core::page::{Page, PageRequest};
use clientnest_core::ports::{PostRepository, ScheduleRepository};
use clientnest_core::{Entity, Error, Result};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, Row};
use uuid::Uuid;

use super::members::{Acting, active_member, refusal};
use super::posts::bind_post_with_media;
use super::{Db, PgQuery, choice, choice_column, limit_written, missing, owned_row, record};
use crate::error::map_sqlx;
use crate::store::{PgStore, finish};

/// The columns of `schedules`, in the order [`bind_schedule`] binds them.
macro_rules! schedule_columns {
    () => {
        "id, user_id, team_id, post_id, social_account_id, platform, scheduled_time, timezone, status, \
         retry_count, attempt_count, attempt_id, last_attempt, created_at, updated_at, next_attempt_at, \
         locked_by, locked_until, last_error, platform_post_id"
    };
}

/// The placeholders of [`schedule_columns!`]: `$1` id ... `$20` platform_post_id.
macro_rules! schedule_values {
    () => {
        "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20"
    };
}

/// Bind every column of a schedule, `$1` to `$20` in [`schedule_columns!`] order.
fn bind_schedule(q: PgQuery, s: &Schedule) -> PgQuery {
    q.bind(s.id.0)
        .bind(s.user_id.0)
        .bind(s.team_id.0)
        .bind(s.post_id.0)
        .bind(s.social_account_id.0)
        .bind(s.platform.as_str())
        .bind(s.scheduled_time)
        .bind(s.timezone.clone())
        .bind(s.status.as_str())
        .bind(s.retry_count)
        .bind(s.attempt_count)
        .bind(s.attempt_id.map(|a| a.0))
        .bind(s.last_attempt)
        .bind(s.created_at)
        .bind(s.updated_at)
        .bind(s.next_attempt_at)
        .bind(s.locked_by.clone())
        .bind(s.locked_until)
        .bind(s.last_error.clone())
        .bind(s.platform_post_id.clone())
}

impl FromRow<'_, PgRow> for Db<Schedule> {
    fn from_row(row: &PgRow) -> sqlx::Result<Self> {
        Ok(Db(Schedule {
            id: ScheduleId(row.try_get("id")?),
            user_id: UserId(row.try_get("user_id")?),
            team_id: TeamId(row.try_get("team_id")?),
            post_id: PostId(row.try_get("post_id")?),
            social_account_id: SocialAccountId(row.try_get("social_account_id")?),
            platform: choice_column(row, "platform")?,
            scheduled_time: row.try_get("scheduled_time")?,
            timezone: row.try_get("timezone")?,
            status: choice_column(row, "status")?,
            retry_count: row.try_get("retry_count")?,
            attempt_count: row.try_get("attempt_count")?,
            attempt_id: row.try_get::<Option<Uuid>, _>("attempt_id")?.map(AttemptId),
            last_attempt: row.try_get("last_attempt")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            next_attempt_at: row.try_get("next_attempt_at")?,
            locked_by: row.try_get("locked_by")?,
            locked_until: row.try_get("locked_until")?,
            last_error: row.try_get("last_error")?,
            platform_post_id: row.try_get("platform_post_id")?,
        }))
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

/// Store what a transition built: `$1`-`$20` ([`bind_schedule`]); `$1` is also the row's id.
const SAVE: &str =
    concat!("UPDATE schedules SET (", schedule_columns!(), ") = ROW(", schedule_values!(), ")\nWHERE id = $1");

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

/// What a new schedule refers to: `$1` team, `$2` post, `$3` account, `$4` user. Whether the user
/// is an active member locks the membership and user rows `FOR SHARE`: run it in the schedule's
/// transaction for the check to hold until the insert commits.
pub(crate) const REFERENCES: &str = concat!(
    r#"
SELECT EXISTS (SELECT 1 FROM teams WHERE id = $1) AS team_exists,
       EXISTS (SELECT 1 FROM users WHERE id = $4) AS user_exists,
       "#,
    active_member!("$1", "$4"),
    r#" AS member_active,
       p.content AS post_content,
       ARRAY(SELECT m.media_type FROM post_media m WHERE m.team_id = p.team_id AND m.post_id = p.id
             ORDER BY m.order_index)::text[] AS media_kinds,
       a.platform AS account_platform, a.is_active AS account_active
FROM (SELECT 1) AS one
LEFT JOIN posts p ON p.id = $2 AND p.team_id = $1
LEFT JOIN social_accounts a ON a.id = $3 AND a.team_id = $1"#
);

/// Lock the account `$1` of team `$2` against changes (deactivation) until the schedule is in.
const LOCK_ACCOUNT: &str = "SELECT id FROM social_accounts WHERE id = $1 AND team_id = $2 FOR SHARE";

/// Insert a schedule core built: `$1`-`$20` ([`bind_schedule`]). `$1` id, `$2` user, `$3`
/// team, `$4` post, `$5` account, `$6` platform, `$7` scheduled_time, `$8` timezone, `$9`
/// status, `$10` retry_count, `$11` attempt_count, `$12` attempt_id, `$13` last_attempt, `$14`
/// created_at, `$15` updated_at, `$16` next_attempt_at, `$17` locked_by, `$18` locked_until,
/// `$19` last_error, `$20` platform_post_id.
pub(crate) const CREATE: &str =
    concat!("INSERT INTO schedules (", schedule_columns!(), ")\nVALUES (", schedule_values!(), ")\nRETURNING *");

/// Schedules as parallel column arrays, for `UNNEST`, in [`schedule_columns!`] order.
#[derive(Default)]
struct ScheduleColumns {
    ids: Vec<Uuid>,
    users: Vec<Uuid>,
    teams: Vec<Uuid>,
    posts: Vec<Uuid>,
    accounts: Vec<Uuid>,
    platforms: Vec<&'static str>,
    times: Vec<DateTime<Utc>>,
    zones: Vec<String>,
    statuses: Vec<&'static str>,
    retries: Vec<i32>,
    attempts: Vec<i32>,
    attempt_ids: Vec<Option<Uuid>>,
    last_attempts: Vec<Option<DateTime<Utc>>>,
    created: Vec<DateTime<Utc>>,
    updated: Vec<DateTime<Utc>>,
    next: Vec<DateTime<Utc>>,
    locked_by: Vec<Option<String>>,
    locked_until: Vec<Option<DateTime<Utc>>>,
    errors: Vec<Option<String>>,
    platform_post_ids: Vec<Option<String>>,
}

impl ScheduleColumns {
    fn push(&mut self, s: &Schedule) {
        self.ids.push(s.id.0);
        self.users.push(s.user_id.0);
        self.teams.push(s.team_id.0);
        self.posts.push(s.post_id.0);
        self.accounts.push(s.social_account_id.0);
        self.platforms.push(s.platform.as_str());
        self.times.push(s.scheduled_time);
        self.zones.push(s.timezone.clone());
        self.statuses.push(s.status.as_str());
        self.retries.push(s.retry_count);
        self.attempts.push(s.attempt_count);
        self.attempt_ids.push(s.attempt_id.map(|a| a.0));
        self.last_attempts.push(s.last_attempt);
        self.created.push(s.created_at);
        self.updated.push(s.updated_at);
        self.next.push(s.next_attempt_at);
        self.locked_by.push(s.locked_by.clone());
        self.locked_until.push(s.locked_until);
        self.errors.push(s.last_error.clone());
        self.platform_post_ids.push(s.platform_post_id.clone());
    }

    /// Bind the twenty arrays in [`schedule_columns!`] order.
    fn bind(self, q: PgQuery) -> PgQuery {
        q.bind(self.ids)
            .bind(self.users)
            .bind(self.teams)
            .bind(self.posts)
            .bind(self.accounts)
            .bind(self.platforms)
            .bind(self.times)
            .bind(self.zones)
            .bind(self.statuses)
            .bind(self.retries)
            .bind(self.attempts)
            .bind(self.attempt_ids)
            .bind(self.last_attempts)
            .bind(self.created)
            .bind(self.updated)
            .bind(self.next)
            .bind(self.locked_by)
            .bind(self.locked_until)
            .bind(self.errors)
            .bind(self.platform_post_ids)
    }
}

/// First statement of `create_post_with_schedules`: whether the author `$2` is an active member
/// of team `$1` (membership and user rows locked `FOR SHARE`), and the team's accounts among
/// `$3` (locked `FOR SHARE` against deactivation), one row each (one row of NULLs when none).
pub(crate) const NEW_POST_ACCOUNTS: &str = concat!(
    r#"
WITH a AS (SELECT id, platform, is_active FROM social_accounts WHERE team_id = $1 AND id = ANY($3) FOR SHARE)
SELECT "#,
    active_member!("$1", "$2"),
    r#" AS member_active, a.id, a.platform, a.is_active
FROM (SELECT 1) AS one LEFT JOIN a ON true"#
);

/// Second statement of `create_post_with_schedules`, every row core built: the post (`$1`-`$16`,
/// as `posts::bind_post`), its media (arrays `$17`-`$27`, as `posts::MediaColumns`) and its
/// schedules (arrays `$28`-`$47`, [`ScheduleColumns`]), in one statement. Each child row's team
/// and post are the inserted post's (`p`), whatever the team and post id arrays hold (`$18`,
/// `$19`, `$30`, `$31`), as in `posts::CREATE`.
pub(crate) const CREATE_POST_WITH_SCHEDULES: &str = concat!(
    "WITH p AS (\n INSERT INTO posts (",
    super::posts::post_columns!(),
    ")\n VALUES (",
    super::posts::post_values!(),
    ")\n RETURNING id, team_id\n), m AS (\n INSERT INTO post_media (",
    super::posts::media_columns!(),
    r#")
 SELECT u.id, p.team_id, p.id, u.media_type, u.file_url, u.file_size, u.dimensions, u.alt_text, u.order_index,
        u.created_at, u.content_hash
 FROM p CROSS JOIN UNNEST($17::uuid[], $18::uuid[], $19::uuid[], $20::text[], $21::text[], $22::int8[],
                          $23::jsonb[], $24::text[], $25::int4[], $26::timestamptz[], $27::text[]) AS u("#,
    super::posts::media_columns!(),
    r#")
)
INSERT INTO schedules ("#,
    schedule_columns!(),
    r#")
SELECT u.id, u.user_id, p.team_id, p.id, u.social_account_id, u.platform, u.scheduled_time, u.timezone, u.status,
       u.retry_count, u.attempt_count, u.attempt_id, u.last_attempt, u.created_at, u.updated_at, u.next_attempt_at,
       u.locked_by, u.locked_until, u.last_error, u.platform_post_id
FROM p CROSS JOIN UNNEST($28::uuid[], $29::uuid[], $30::uuid[], $31::uuid[], $32::uuid[], $33::text[],
                         $34::timestamptz[], $35::text[], $36::text[], $37::int4[], $38::int4[], $39::uuid[],
                         $40::timestamptz[], $41::timestamptz[], $42::timestamptz[], $43::timestamptz[],
                         $44::text[], $45::timestamptz[], $46::text[], $47::text[]) AS u("#,
    schedule_columns!(),
    ")"
);

/// One row of [`NEW_POST_ACCOUNTS`].
#[derive(sqlx::FromRow)]
struct NewPostAccount {
    member_active: bool,
    id: Option<Uuid>,
    platform: Option<String>,
    is_active: Option<bool>,
}

/// A team's schedules: `$1` team, `$2`/`$3` the keyset bound, `$4` rows to fetch, `$5` only this
/// status (or NULL), `$6` only this post (or NULL).
const LIST: &str = r#"
SELECT * FROM schedules
WHERE team_id = $1 AND (created_at, id) < ($2, $3)
  AND ($5::text IS NULL OR status = $5) AND ($6::uuid IS NULL OR post_id = $6)
ORDER BY created_at DESC, id DESC LIMIT $4"#;

/// The head of the claim statements, up to the due condition (see [`CLAIM_DUE`]).
macro_rules! claim_due {
    () => {
        r#"
UPDATE schedules SET status = 'processing', locked_by = $1, locked_until = $2, last_attempt = $3, updated_at = $3,
       attempt_count = attempt_count + 1, attempt_id = gen_random_uuid()
WHERE id IN (
    SELECT s.id FROM schedules s JOIN social_accounts a ON a.id = s.social_account_id
    WHERE s.status = 'pending' AND s.next_attempt_at <= $3 AND a.is_active"#
    };
}

/// The tail of the claim statements (see [`CLAIM_DUE`]).
macro_rules! claim_due_end {
    () => {
        r#"
    ORDER BY s.next_attempt_at, s.id LIMIT $4
    FOR UPDATE OF s SKIP LOCKED
) RETURNING *"#
    };
}

/// The claim, in one statement. Parameters: `$1` worker id, `$2` lease end, `$3` now,
/// `$4` batch size (written in as a number when it runs: [`limit_written`]). Due means pending, `next_attempt_at <= now` and an active account; the
/// oldest due first (`idx_schedules_claimable`); rows another claimer holds are skipped. Each
/// row gets a fresh attempt id and its attempt counted (as `Schedule::claim` in core).
///
/// The hot path: it claims nothing while any claim has lapsed (`locked_until <= now`, probed
/// once through `idx_schedules_lease` before any row is read), so that `claim_due` recovers
/// lapsed claims first ([`CLAIM_DUE_AFTER_RECOVERY`] then claims) without a statement of its own
/// on every call.
pub(crate) const CLAIM_DUE: &str = concat!(
    claim_due!(),
    r#"
      AND NOT EXISTS (SELECT 1 FROM schedules l
                      WHERE l.status IN ('processing', 'publishing') AND l.locked_until <= $3)"#,
    claim_due_end!()
);

/// [`CLAIM_DUE`] without the lapsed-claims guard: the claim `claim_due` makes after a recovery
/// batch (lapsed claims may remain past one batch).
const CLAIM_DUE_AFTER_RECOVERY: &str = concat!(claim_due!(), claim_due_end!());

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

/// Unknown outcomes across teams, longest unresolved first (`idx_schedules_outcome_unknown`).
const UNKNOWN: &str = r#"
SELECT * FROM schedules WHERE status = 'outcome_unknown' ORDER BY updated_at, id LIMIT $1"#;

/// Most posts one recovery batch locks.
const RECOVERY_BATCH: i64 = 500;

impl References {
    /// Check in the shared order: team, post, account, user, membership; then core checks the
    /// account's state and the platform fit and builds the schedule.
    fn into_schedule(self, team: TeamId, input: NewSchedule, now: DateTime<Utc>) -> Result<Schedule> {
        if !self.team_exists {
            return Err(missing(Entity::Schedule, Entity::Team, FK_SCHEDULES_TEAM));
        }
        let content = self.post_content.ok_or_else(|| missing(Entity::Schedule, Entity::Post, FK_SCHEDULES_POST))?;
        let (Some(platform), Some(is_active)) = (self.account_platform, self.account_active) else {
            return Err(missing(Entity::Schedule, Entity::SocialAccount, FK_SCHEDULES_SOCIAL_ACCOUNT));
        };
        if !self.user_exists {
            return Err(missing(Entity::Schedule, Entity::User, FK_SCHEDULES_USER));
        }
        if !self.member_active {
            return Err(Acting::SCHEDULE.not_a_member(input.user_id));
        }
        let account = PublishingAccount { id: input.social_account_id, platform: choice(&platform)?, is_active };
        let kinds = self.media_kinds.iter().map(|k| choice::<MediaType>(k)).collect::<Result<Vec<_>>>()?;
        input.into_record(team, account, &content, &kinds, now)
    }
}

/// Store what a transition built.
async fn save(conn: &mut PgConnection, s: &Schedule) -> Result<()> {
    bind_schedule(sqlx::query(SAVE), s).execute(conn).await.map_err(map_sqlx)?;
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
    let row =
        sqlx::query(LOCK_SCHEDULE).bind(id.0).bind(team.map(|t| t.0)).fetch_optional(conn).await.map_err(map_sqlx)?;
    record(&row.ok_or_else(|| Error::not_found(Entity::Schedule, id))?)
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

    /// Run a claim statement ([`CLAIM_DUE`] or [`CLAIM_DUE_AFTER_RECOVERY`]) for `worker` now.
    async fn claim_rows(&self, sql: &'static str, worker: &WorkerId, request: &ClaimRequest) -> Result<Vec<PgRow>> {
        let now = self.now();
        let locked_until = later(now, request.lease, "lease")?;
        let limit = i64::from(request.limit);
        sqlx::query(limit_written(sql, "LIMIT $4", limit))
            .bind(worker.as_str())
            .bind(locked_until)
            .bind(now)
            .bind(limit)
            .fetch_all(self.exec())
            .await
            .map_err(map_sqlx)
    }

    /// One recovery batch: lock the posts of up to [`RECOVERY_BATCH`] lapsed claims (in id
    /// order), recover their lapsed claims as core decides, let the posts follow.
    async fn recover_batch(&self, policy: RetryPolicy) -> Result<(Recovered, bool)> {
        let now = self.now();
        let posts: Vec<Uuid> = sqlx::query_scalar(LAPSED_POSTS)
            .bind(now)
            .bind(RECOVERY_BATCH)
            .fetch_all(self.exec())
            .await
            .map_err(map_sqlx)?;
        let mut done = Recovered::default();
        if posts.is_empty() {
            return Ok((done, false));
        }
        let full = posts.len() as i64 == RECOVERY_BATCH;
        let mut tx = self.begin().await?;
        let outcome = async {
            let locked: Vec<Uuid> =
                sqlx::query_scalar(LOCK_POSTS).bind(&posts).fetch_all(&mut *tx).await.map_err(map_sqlx)?;
            let rows = sqlx::query(LOCK_LAPSED).bind(&locked).bind(now).fetch_all(&mut *tx).await.map_err(map_sqlx)?;
            for row in &rows {
                let mut s: Schedule = record(row)?;
                if let Some(to) = s.recover(policy, now) {
                    done.count(to);
                    save(&mut tx, &s).await?;
                }
            }
            for post in locked {
                let following: FollowingPost = sqlx::query_as(LOCK_POST)
                    .bind(post)
                    .bind(None::<Uuid>)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_sqlx)?;
                follow(&mut tx, &following, &[], now).await?;
            }
            Ok(done)
        }
        .await;
        let done = finish(tx, outcome).await?;
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
        let _write = self.write_mark();
        let now = self.now();
        schedule.check(now)?;
        let mut tx = self.begin().await?;
        let outcome = async {
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
            let built = refs.into_schedule(team, schedule, now)?;
            let row = bind_schedule(sqlx::query(CREATE), &built).fetch_one(&mut *tx).await.map_err(map_sqlx)?;
            let stored: Schedule = record(&row)?;
            if let Some(post) = &post {
                follow(&mut tx, post, &[&stored], now).await?;
            }
            Ok(stored)
        }
        .await;
        finish(tx, outcome).await
    }

    /// Two statements in one transaction: `sql::NEW_POST_ACCOUNTS` (the membership and the
    /// accounts locked `FOR SHARE`), then, once core has built every row
    /// ([`ScheduledPost::build`]), `sql::CREATE_POST_WITH_SCHEDULES`. Without schedules it is
    /// `create_post`.
    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn create_post_with_schedules(
        &self,
        team: TeamId,
        post: NewPost,
        schedules: Vec<NewPostSchedule>,
    ) -> Result<ScheduledPost> {
        if schedules.is_empty() {
            let post = PostRepository::create_post(self, team, post).await?;
            return Ok(ScheduledPost { post, schedules: Vec::new() });
        }
        let _write = self.write_mark();
        let now = self.now();
        let record = post.into_record(team, now)?;
        NewPostSchedule::check_all(&schedules, now)?;
        let user = record.post.user_id;
        let accounts: Vec<Uuid> = schedules.iter().map(|s| s.social_account_id.0).collect();
        let mut tx = self.begin().await?;
        let outcome = async {
            let rows: Vec<NewPostAccount> = sqlx::query_as(NEW_POST_ACCOUNTS)
                .bind(team.0)
                .bind(user.0)
                .bind(&accounts)
                .fetch_all(&mut *tx)
                .await
                .map_err(map_sqlx)?;
            if !rows.first().is_some_and(|r| r.member_active) {
                return Err(refusal(&mut *tx, team, user, Acting::POST).await);
            }
            let mut found = Vec::with_capacity(rows.len());
            for r in rows {
                if let (Some(id), Some(platform), Some(is_active)) = (r.id, r.platform, r.is_active) {
                    found.push(PublishingAccount { id: SocialAccountId(id), platform: choice(&platform)?, is_active });
                }
            }
            let built = ScheduledPost::build(record, schedules, |id| found.iter().find(|a| a.id == id).copied())?;
            let mut cols = ScheduleColumns::default();
            built.schedules.iter().for_each(|s| cols.push(s));
            let query = bind_post_with_media(sqlx::query(CREATE_POST_WITH_SCHEDULES), &built.post);
            cols.bind(query).execute(&mut *tx).await.map_err(map_sqlx)?;
            Ok(built)
        }
        .await;
        finish(tx, outcome).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn get_schedule(&self, team: TeamId, id: ScheduleId) -> Result<Schedule> {
        owned_row::<Db<Schedule>>(
            self.exec(),
            "SELECT * FROM schedules WHERE id = $1 AND team_id = $2",
            id.0,
            team.0,
            Entity::Schedule,
            id,
        )
        .await
        .map(Db::into_inner)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn list_schedules(&self, team: TeamId, filter: ScheduleFilter, page: PageRequest) -> Result<Page<Schedule>> {
        self.filtered_page(LIST, team.0, &page, |q| {
            q.bind(filter.status.map(|s| s.as_str())).bind(filter.post_id.map(|p| p.0))
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn cancel_schedule(&self, team: TeamId, id: ScheduleId) -> Result<Schedule> {
        let _write = self.write_mark();
        self.transition(id, Some(team), true, |s, now| s.cancel(now)).await.map(|((), s)| s)
    }

    /// One statement when no claim has lapsed (`sql::CLAIM_DUE`). When it claims nothing (none
    /// due, or some claim lapsed), a recovery batch and then the claim without the guard
    /// (`sql::CLAIM_DUE_AFTER_RECOVERY`): lapsed claims are still recovered before claiming.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn claim_due(&self, worker: &WorkerId, request: ClaimRequest) -> Result<Vec<Claim>> {
        let _write = self.write_mark();
        request.check()?;
        let mut rows = self.claim_rows(CLAIM_DUE, worker, &request).await?;
        if rows.is_empty() {
            self.recover_batch(request.policy).await?;
            rows = self.claim_rows(CLAIM_DUE_AFTER_RECOVERY, worker, &request).await?;
        }
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let schedule: Schedule = record(row)?;
            let attempt =
                schedule.attempt_id.ok_or_else(|| crate::error::corrupt("a claimed schedule without attempt_id"))?;
            claimed.push(Claim { token: ClaimToken::new(schedule.id, attempt), schedule });
        }
        claimed.sort_unstable_by_key(|c| (c.schedule.next_attempt_at, c.schedule.id));
        Ok(claimed)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %claim.schedule_id()))]
    async fn renew_lease(&self, claim: &ClaimToken, lease: Duration) -> Result<Schedule> {
        let _write = self.write_mark();
        check_lease(lease)?;
        let locked_until = later(self.now(), lease, "lease")?;
        self.transition(claim.schedule_id(), None, false, |s, now| s.renew(claim, locked_until, now))
            .await
            .map(|((), s)| s)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %claim.schedule_id()))]
    async fn mark_publishing(&self, claim: &ClaimToken) -> Result<Schedule> {
        let _write = self.write_mark();
        self.transition(claim.schedule_id(), None, false, |s, now| s.mark_publishing(claim, now)).await.map(|((), s)| s)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %claim.schedule_id()))]
    async fn complete(&self, claim: &ClaimToken, platform_post_id: &str) -> Result<Schedule> {
        let _write = self.write_mark();
        clientnest_core::model::check_platform_post_id(platform_post_id)?;
        self.transition(claim.schedule_id(), None, true, |s, now| s.complete(claim, platform_post_id, now))
            .await
            .map(|((), s)| s)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %claim.schedule_id()))]
    async fn fail(&self, claim: &ClaimToken, error: &str, policy: RetryPolicy) -> Result<FailOutcome> {
        let _write = self.write_mark();
        policy.check()?;
        self.transition(claim.schedule_id(), None, true, |s, now| s.fail(claim, error, policy, now))
            .await
            .map(|(outcome, _)| outcome)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %claim.schedule_id()))]
    async fn release(&self, claim: &ClaimToken) -> Result<Schedule> {
        let _write = self.write_mark();
        self.transition(claim.schedule_id(), None, false, |s, now| s.release(claim, now)).await.map(|((), s)| s)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn recover_expired(&self, policy: RetryPolicy) -> Result<Recovered> {
        let _write = self.write_mark();
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
        let rows = sqlx::query(UNKNOWN).bind(i64::from(limit)).fetch_all(self.exec()).await.map_err(map_sqlx)?;
        rows.iter().map(record).collect()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team, id = %id))]
    async fn resolve_outcome(&self, team: TeamId, id: ScheduleId, resolution: Resolution) -> Result<Schedule> {
        let _write = self.write_mark();
        resolution.check()?;
        self.transition(id, Some(team), true, |s, now| s.resolve(&resolution, now)).await.map(|((), s)| s)
    }
}
