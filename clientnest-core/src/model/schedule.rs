//! Publishing schedules (`schedules`): one row per post and target account, claimed by workers
//! under a lease so that a post is never published twice.
//!
//! The claim protocol lives here, once, as methods on [`Schedule`]: every backend loads the row,
//! applies the transition and stores what it built. The states and the protocol are drawn in
//! `docs/backend-rules.md` ("Publishing protocol").

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::choices::{MediaType, Platform, PostStatus, ScheduleStatus};
use super::post::PostWithMedia;
use crate::clock::to_micros;
use crate::error::{Entity, Error};
use crate::ids::{AttemptId, PostId, ScheduleId, SocialAccountId, TeamId, UserId};
use crate::validate::{self as v, rule};

/// A stored schedule: one row of `schedules`, a post to publish with one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// The schedule's id.
    pub id: ScheduleId,
    /// Who scheduled it (an active member of the team when it was created).
    pub user_id: UserId,
    /// The team that owns this schedule; every read goes through it.
    pub team_id: TeamId,
    /// The post to publish (the team's).
    pub post_id: PostId,
    /// The account to publish with (addition to the seed; the team's).
    pub social_account_id: SocialAccountId,
    /// The account's platform, copied when the schedule is created.
    pub platform: Platform,
    /// When to publish (absolute; microsecond precision).
    pub scheduled_time: DateTime<Utc>,
    /// The IANA zone the user scheduled in (for display; `scheduled_time` is absolute).
    pub timezone: String,
    /// Where the schedule is in the publishing protocol.
    pub status: ScheduleStatus,
    /// Failures reported by workers (`fail`), the seed's `retry_count`.
    pub retry_count: i32,
    /// Claims so far: an attempt counts when it is claimed, so a schedule whose claims keep
    /// lapsing still runs out of attempts (addition to the seed).
    pub attempt_count: i32,
    /// The current (while claimed) or last claim's id: the fencing token of that claim and the
    /// idempotency key its worker hands to the platform (addition to the seed).
    pub attempt_id: Option<AttemptId>,
    /// When the last claim was taken (UTC); `None` until the first claim.
    pub last_attempt: Option<DateTime<Utc>>,
    /// Creation time (UTC, microseconds), set by the backend; never changes.
    pub created_at: DateTime<Utc>,
    /// Time of the last change (UTC): creation, each claim and each status change.
    pub updated_at: DateTime<Utc>,
    /// When a pending schedule is next due: `scheduled_time`, then later after a failure.
    pub next_attempt_at: DateTime<Utc>,
    /// The worker holding the lease, while `processing` or `publishing` (for people; the claim
    /// itself is fenced by `attempt_id`).
    pub locked_by: Option<String>,
    /// When the lease ends, while `processing` or `publishing`.
    pub locked_until: Option<DateTime<Utc>>,
    /// The last failure's message (clipped to [`MAX_ERROR_CHARS`](crate::model::clip_error)).
    pub last_error: Option<String>,
    /// The platform's id of the published post, once completed.
    pub platform_post_id: Option<String>,
}

/// One claimed schedule: the row as claimed and the token every later call of the claim needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// The schedule, `processing` under this claim's lease.
    pub schedule: Schedule,
    /// The claim's token: pass it to `renew_lease`, `mark_publishing`, `complete`, `fail` and
    /// `release`. A token from an earlier claim of the same schedule is refused as stale.
    pub token: ClaimToken,
}

/// The fencing token of one claim: the schedule and the claim's attempt id. Two claims of the
/// same schedule, even by the same worker, never share a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClaimToken {
    schedule: ScheduleId,
    attempt: AttemptId,
}

impl ClaimToken {
    /// The token of the claim `attempt` on `schedule` (backends build it when they claim).
    pub fn new(schedule: ScheduleId, attempt: AttemptId) -> Self {
        Self { schedule, attempt }
    }

    /// The id of the schedule this claim is on.
    pub fn schedule_id(&self) -> ScheduleId {
        self.schedule
    }

    /// The claim's attempt id.
    pub fn attempt_id(&self) -> AttemptId {
        self.attempt
    }

    /// The idempotency key for the platform call of this attempt (the attempt id as text):
    /// a platform that honours idempotency keys then drops a duplicate of this very attempt.
    pub fn idempotency_key(&self) -> String {
        self.attempt.to_string()
    }
}

/// What one `claim_due` call asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClaimRequest {
    /// At most this many claims (1 to 1,000, [`check_batch`]).
    pub limit: u32,
    /// Each claim's lease (1 second to 1 day, [`check_lease`]).
    pub lease: Duration,
    /// The policy lapsed claims are recovered under before claiming.
    pub policy: RetryPolicy,
}

impl ClaimRequest {
    /// Up to `limit` claims under `lease`, with the default [`RetryPolicy`].
    pub fn new(limit: u32, lease: Duration) -> Self {
        Self { limit, lease, policy: RetryPolicy::default() }
    }

    /// The same request under another retry policy.
    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Check the limit, the lease and the policy.
    pub fn check(&self) -> Result<(), Error> {
        check_batch(self.limit)?;
        check_lease(self.lease)?;
        self.policy.check()
    }
}

impl Default for ClaimRequest {
    /// Ten claims under a five-minute lease, default retry policy.
    fn default() -> Self {
        Self::new(10, Duration::minutes(5))
    }
}

/// What a recovery pass did to lapsed claims.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Lapsed before their publish mark, attempts left: back to `pending`, due now.
    pub retried: u64,
    /// Lapsed before their publish mark with the policy's attempts used up: `failed`.
    pub failed: u64,
    /// Lapsed after their publish mark: `outcome_unknown`, for a reconciler or a person.
    pub unknown: u64,
}

impl Recovered {
    /// Lapsed claims changed in all: `retried + failed + unknown`.
    pub fn total(&self) -> u64 {
        self.retried + self.failed + self.unknown
    }

    /// Count one recovery into `to`: `pending` as retried, `failed` as failed, any other as
    /// unknown.
    pub fn count(&mut self, to: ScheduleStatus) {
        match to {
            ScheduleStatus::Pending => self.retried += 1,
            ScheduleStatus::Failed => self.failed += 1,
            _ => self.unknown += 1,
        }
    }
}

/// How a reconciler or a person resolves a schedule in `outcome_unknown`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The post did go out, under this platform post id: `completed`, and the post `published`.
    ConfirmPublished(String),
    /// It did not go out: `pending` again, due now, for one more claim at least.
    Retry,
    /// Stop trying: `failed`.
    GiveUp,
}

impl Resolution {
    /// Check the platform post id of a confirmation.
    pub fn check(&self) -> Result<(), Error> {
        match self {
            Resolution::ConfirmPublished(id) => check_platform_post_id(id),
            Resolution::Retry | Resolution::GiveUp => Ok(()),
        }
    }
}

/// The message kept when a lapsed claim uses up the last attempt.
pub const LAPSED_OUT_OF_ATTEMPTS: &str = "claims kept lapsing: the retry policy's attempts are used up";
/// The message kept when a person or reconciler gives up an unknown outcome.
pub const GAVE_UP: &str = "given up after an unknown publish outcome";

impl ScheduleStatus {
    /// Live: the schedule may still publish (`pending`, `processing`, `publishing`,
    /// `outcome_unknown`). At most one live schedule per post and account
    /// (`uq_schedules_post_account_live`).
    pub fn is_live(self) -> bool {
        matches!(
            self,
            ScheduleStatus::Pending
                | ScheduleStatus::Processing
                | ScheduleStatus::Publishing
                | ScheduleStatus::OutcomeUnknown
        )
    }

    /// Claimed under a lease (`processing` or `publishing`).
    pub fn is_claimed(self) -> bool {
        matches!(self, ScheduleStatus::Processing | ScheduleStatus::Publishing)
    }
}

/// The refusal of a transition in the wrong state.
fn refuse(id: ScheduleId, reason: &'static str) -> Error {
    Error::InvalidState { entity: Entity::Schedule, id: id.to_string(), reason }
}

/// `now + by`, truncated to microseconds, or a validation error on `field` past the
/// representable times (`chrono`'s range).
pub fn later(now: DateTime<Utc>, by: Duration, field: &str) -> Result<DateTime<Utc>, Error> {
    now.checked_add_signed(by)
        .map(to_micros)
        .ok_or_else(|| Error::invalid(field, rule::RANGE, "ends past the latest storable time"))
}

impl Schedule {
    /// A new pending schedule built from a checked input, on `platform` (the account's).
    pub fn from_new(team: TeamId, input: NewSchedule, platform: Platform, now: DateTime<Utc>) -> Self {
        let scheduled_time = to_micros(input.scheduled_time);
        let now = to_micros(now);
        Schedule {
            id: ScheduleId::new(),
            user_id: input.user_id,
            team_id: team,
            post_id: input.post_id,
            social_account_id: input.social_account_id,
            platform,
            scheduled_time,
            timezone: input.timezone,
            status: ScheduleStatus::Pending,
            retry_count: 0,
            attempt_count: 0,
            attempt_id: None,
            last_attempt: None,
            created_at: now,
            updated_at: now,
            next_attempt_at: scheduled_time,
            locked_by: None,
            locked_until: None,
            last_error: None,
            platform_post_id: None,
        }
    }

    /// Claim it for `worker` until `locked_until`: `processing`, a fresh attempt id, the
    /// attempt counted. Returns the claim.
    pub fn claim(&mut self, worker: &WorkerId, locked_until: DateTime<Utc>, now: DateTime<Utc>) -> Claim {
        let attempt = AttemptId::new();
        self.status = ScheduleStatus::Processing;
        self.attempt_count = self.attempt_count.saturating_add(1);
        self.attempt_id = Some(attempt);
        self.locked_by = Some(worker.as_str().to_owned());
        self.locked_until = Some(locked_until);
        self.last_attempt = Some(now);
        self.updated_at = now;
        Claim { schedule: self.clone(), token: ClaimToken::new(self.id, attempt) }
    }

    /// `Ok` while `token` is this schedule's current claim, else [`Error::StaleClaim`].
    pub fn check_claim(&self, token: &ClaimToken) -> Result<(), Error> {
        if self.id == token.schedule && self.status.is_claimed() && self.attempt_id == Some(token.attempt) {
            Ok(())
        } else {
            Err(Error::StaleClaim { entity: Entity::Schedule, id: self.id.to_string() })
        }
    }

    /// Whether the claim's lease has run out at `now` (ends at `locked_until`, inclusive).
    pub fn lease_lapsed(&self, now: DateTime<Utc>) -> bool {
        self.status.is_claimed() && self.locked_until.is_some_and(|until| until <= now)
    }

    fn unlock(&mut self, now: DateTime<Utc>) {
        self.locked_by = None;
        self.locked_until = None;
        self.updated_at = now;
    }

    /// Extend the claim's lease to `locked_until`.
    pub fn renew(&mut self, token: &ClaimToken, locked_until: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), Error> {
        self.check_claim(token)?;
        self.locked_until = Some(locked_until);
        self.updated_at = now;
        Ok(())
    }

    /// The publish boundary: the worker is about to call the platform. Refused as stale once
    /// the lease has lapsed, so a publish never starts on a lapsed claim. Marking twice is
    /// allowed (the second does nothing).
    pub fn mark_publishing(&mut self, token: &ClaimToken, now: DateTime<Utc>) -> Result<(), Error> {
        self.check_claim(token)?;
        if self.lease_lapsed(now) {
            return Err(Error::StaleClaim { entity: Entity::Schedule, id: self.id.to_string() });
        }
        if self.status == ScheduleStatus::Processing {
            self.status = ScheduleStatus::Publishing;
            self.updated_at = now;
        }
        Ok(())
    }

    /// The platform took the post: `completed` with its id.
    pub fn complete(&mut self, token: &ClaimToken, platform_post_id: &str, now: DateTime<Utc>) -> Result<(), Error> {
        check_platform_post_id(platform_post_id)?;
        self.check_claim(token)?;
        self.status = ScheduleStatus::Completed;
        self.platform_post_id = Some(platform_post_id.to_owned());
        self.unlock(now);
        Ok(())
    }

    /// The platform refused the post (a definite failure): `pending` after the policy's
    /// backoff, or `failed` once the claims so far reach `policy.max_attempts`.
    pub fn fail(
        &mut self,
        token: &ClaimToken,
        error: &str,
        policy: RetryPolicy,
        now: DateTime<Utc>,
    ) -> Result<FailOutcome, Error> {
        policy.check()?;
        self.check_claim(token)?;
        let attempts = u32::try_from(self.attempt_count).unwrap_or(0);
        let outcome = if attempts >= policy.max_attempts {
            FailOutcome::Failed
        } else {
            FailOutcome::Retrying { next_attempt_at: later(now, policy.delay_after(attempts), "retry_policy")? }
        };
        self.retry_count = self.retry_count.saturating_add(1);
        self.last_error = Some(super::clip_error(error));
        self.unlock(now);
        match outcome {
            FailOutcome::Failed => self.status = ScheduleStatus::Failed,
            FailOutcome::Retrying { next_attempt_at } => {
                self.status = ScheduleStatus::Pending;
                self.next_attempt_at = next_attempt_at;
            }
        }
        Ok(outcome)
    }

    /// Give an unstarted claim back (a worker shutting down): `pending`, due now, and the
    /// attempt not counted. Refused (`InvalidState`) after the publish mark.
    pub fn release(&mut self, token: &ClaimToken, now: DateTime<Utc>) -> Result<(), Error> {
        self.check_claim(token)?;
        if self.status != ScheduleStatus::Processing {
            return Err(refuse(self.id, "a claim past its publish mark cannot be released: complete or fail it"));
        }
        self.status = ScheduleStatus::Pending;
        self.attempt_count = self.attempt_count.saturating_sub(1).max(0);
        self.next_attempt_at = now;
        self.unlock(now);
        Ok(())
    }

    /// Recover a lapsed claim: before the publish mark back to `pending` (due now), or `failed`
    /// when its claims reached `policy.max_attempts`; after the mark `outcome_unknown`.
    /// Returns the new status, or `None` when the claim has not lapsed.
    pub fn recover(&mut self, policy: RetryPolicy, now: DateTime<Utc>) -> Option<ScheduleStatus> {
        if !self.lease_lapsed(now) {
            return None;
        }
        let attempts = u32::try_from(self.attempt_count).unwrap_or(0);
        self.status = match self.status {
            ScheduleStatus::Publishing => ScheduleStatus::OutcomeUnknown,
            _ if attempts >= policy.max_attempts => {
                self.last_error = Some(LAPSED_OUT_OF_ATTEMPTS.to_owned());
                ScheduleStatus::Failed
            }
            _ => {
                self.next_attempt_at = now;
                ScheduleStatus::Pending
            }
        };
        self.unlock(now);
        Some(self.status)
    }

    /// Cancel a pending schedule (else `InvalidState`).
    pub fn cancel(&mut self, now: DateTime<Utc>) -> Result<(), Error> {
        if self.status != ScheduleStatus::Pending {
            return Err(refuse(self.id, "only a pending schedule can be cancelled"));
        }
        self.status = ScheduleStatus::Cancelled;
        self.updated_at = now;
        Ok(())
    }

    /// Resolve an unknown outcome (else `InvalidState`).
    pub fn resolve(&mut self, resolution: &Resolution, now: DateTime<Utc>) -> Result<(), Error> {
        resolution.check()?;
        if self.status != ScheduleStatus::OutcomeUnknown {
            return Err(refuse(self.id, "only a schedule whose publish outcome is unknown can be resolved"));
        }
        match resolution {
            Resolution::ConfirmPublished(id) => {
                self.status = ScheduleStatus::Completed;
                self.platform_post_id = Some(id.clone());
            }
            Resolution::Retry => {
                self.status = ScheduleStatus::Pending;
                self.next_attempt_at = now;
            }
            Resolution::GiveUp => {
                self.status = ScheduleStatus::Failed;
                self.last_error = Some(GAVE_UP.to_owned());
            }
        }
        self.updated_at = now;
        Ok(())
    }
}

/// The platforms a post must fit: its own `platforms`, and those of its live schedules (an
/// edit may not make a scheduled post stop fitting where it is about to go out).
pub fn platforms_to_fit(own: &[Platform], live_schedules: impl IntoIterator<Item = Platform>) -> Vec<Platform> {
    let mut all = own.to_vec();
    for p in live_schedules {
        if !all.contains(&p) {
            all.push(p);
        }
    }
    all
}

/// A post's publishing fields as its schedules decide them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostPublishing {
    /// The post's status.
    pub status: PostStatus,
    /// When it is (next) scheduled.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// When it was first published.
    pub published_at: Option<DateTime<Utc>>,
}

impl PostPublishing {
    /// The post's fields after a change to its schedules, given each schedule's status and
    /// time. `published` stays `published` (keeping `published_at`); else `published` once any
    /// schedule completed (`published_at = now`); `scheduled` while any is live (`scheduled_at`
    /// = the earliest live time); `failed` when none is live and any failed; else `draft` with
    /// `scheduled_at` cleared (its last live schedule was cancelled). A post with no schedule
    /// keeps its fields unchanged.
    pub fn follow(self, schedules: &[(ScheduleStatus, DateTime<Utc>)], now: DateTime<Utc>) -> Self {
        if schedules.is_empty() {
            return self;
        }
        let any = |s: ScheduleStatus| schedules.iter().any(|(x, _)| *x == s);
        let earliest_live = schedules.iter().filter(|(s, _)| s.is_live()).map(|(_, t)| *t).min();
        if self.status == PostStatus::Published || any(ScheduleStatus::Completed) {
            return Self { status: PostStatus::Published, published_at: self.published_at.or(Some(now)), ..self };
        }
        match earliest_live {
            Some(at) => Self { status: PostStatus::Scheduled, scheduled_at: Some(at), ..self },
            None if any(ScheduleStatus::Failed) => Self { status: PostStatus::Failed, ..self },
            None => Self { status: PostStatus::Draft, scheduled_at: None, ..self },
        }
    }
}

/// A schedule to create. The platform is the account's.
#[derive(Debug, Clone, Validate)]
pub struct NewSchedule {
    /// Who schedules: must exist and be an active member of the team (else `NotAMember`).
    pub user_id: UserId,
    /// The post to publish: of the same team, and fitting the account's platform.
    pub post_id: PostId,
    /// The account (same team, active).
    pub social_account_id: SocialAccountId,
    /// When to publish; must be later than now (`chk_schedules_future_time`).
    #[validate(custom(function = "v::storable_time"))]
    pub scheduled_time: DateTime<Utc>,
    /// IANA time zone name the time is shown in: at most 50 characters (`Europe/Paris`, `UTC`).
    #[validate(length(max = 50), custom(function = "v::timezone"))]
    pub timezone: String,
}

/// Why a new schedule on an inactive account is refused (`InvalidState` of the account).
pub const INACTIVE_ACCOUNT: &str = "an inactive account cannot publish";

/// The account a new schedule publishes with, as the backend read it (under its lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishingAccount {
    /// The account's id, in the schedule's team.
    pub id: SocialAccountId,
    /// Its platform, which the schedule copies.
    pub platform: Platform,
    /// Whether it may publish; an inactive account is refused ([`INACTIVE_ACCOUNT`]).
    pub is_active: bool,
}

impl NewSchedule {
    /// The stored schedule of an input already checked ([`NewSchedule::check`]), once its
    /// references are known: `InvalidState` (of the account, [`INACTIVE_ACCOUNT`]) when the
    /// account is inactive; a validation error when the post (`content`, `media` kinds in
    /// order) does not fit the account's platform; else a pending schedule on that platform,
    /// due at its (microsecond) time, created at `now`.
    pub fn into_record(
        self,
        team: TeamId,
        account: PublishingAccount,
        content: &str,
        media: &[MediaType],
        now: DateTime<Utc>,
    ) -> Result<Schedule, Error> {
        if !account.is_active {
            return Err(Error::InvalidState {
                entity: Entity::SocialAccount,
                id: account.id.to_string(),
                reason: INACTIVE_ACCOUNT,
            });
        }
        super::post::check_platform_fit(content, media, &[account.platform])?;
        Ok(Schedule::from_new(team, self, account.platform, now))
    }

    /// All rules, given the creation time.
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), Error> {
        let mut c = v::Checks::of(self);
        c.ensure(
            self.scheduled_time > now,
            "scheduled_time",
            rule::SCHEDULE_FUTURE,
            "must be later than the creation time",
        );
        c.finish()
    }
}

/// Most schedules one [`create_post_with_schedules`] call takes (one per account; a team has
/// few).
///
/// [`create_post_with_schedules`]: crate::ports::ScheduleRepository::create_post_with_schedules
pub const MAX_SCHEDULES_PER_POST: usize = 50;

/// A schedule of a post created in the same call
/// ([`ScheduleRepository::create_post_with_schedules`](crate::ports::ScheduleRepository::create_post_with_schedules)):
/// the post, the scheduling user (the post's author) and the team come from that call. The
/// platform is the account's.
#[derive(Debug, Clone, Validate)]
pub struct NewPostSchedule {
    /// The account (same team, active); at most one schedule per account in a call
    /// (`uq_schedules_post_account_live`).
    pub social_account_id: SocialAccountId,
    /// When to publish; must be later than now (`chk_schedules_future_time`).
    #[validate(custom(function = "v::storable_time"))]
    pub scheduled_time: DateTime<Utc>,
    /// IANA time zone name the time is shown in: at most 50 characters (`Europe/Paris`, `UTC`).
    #[validate(length(max = 50), custom(function = "v::timezone"))]
    pub timezone: String,
}

impl NewPostSchedule {
    /// A schedule on `account` at `scheduled_time`, shown in `timezone`.
    pub fn new(account: SocialAccountId, scheduled_time: DateTime<Utc>, timezone: impl Into<String>) -> Self {
        Self { social_account_id: account, scheduled_time, timezone: timezone.into() }
    }

    /// The same schedule as a [`NewSchedule`] of `post` by `user`.
    pub fn for_post(self, user: UserId, post: PostId) -> NewSchedule {
        NewSchedule {
            user_id: user,
            post_id: post,
            social_account_id: self.social_account_id,
            scheduled_time: self.scheduled_time,
            timezone: self.timezone,
        }
    }

    /// Every rule of a call's schedules that needs no stored row, given the creation time: at
    /// most [`MAX_SCHEDULES_PER_POST`], each as [`NewSchedule::check`] (valid, later than now).
    pub fn check_all(schedules: &[NewPostSchedule], now: DateTime<Utc>) -> Result<(), Error> {
        if schedules.len() > MAX_SCHEDULES_PER_POST {
            return Err(Error::invalid(
                "schedules",
                rule::RANGE,
                format!("at most {MAX_SCHEDULES_PER_POST} schedules per post"),
            ));
        }
        schedules.iter().try_for_each(|s| {
            let mut c = v::Checks::of(s);
            c.ensure(
                s.scheduled_time > now,
                "scheduled_time",
                rule::SCHEDULE_FUTURE,
                "must be later than the creation time",
            );
            c.finish()
        })
    }
}

/// A post created with its schedules in one transaction, as stored: the post has followed its
/// schedules (`scheduled`, `scheduled_at` the earliest, when there is any).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduledPost {
    /// The post and its media.
    pub post: PostWithMedia,
    /// Its schedules, in the order they were given.
    pub schedules: Vec<Schedule>,
}

impl ScheduledPost {
    /// The rows to store for a new post (already built and checked, its author an active member)
    /// and its schedules (checked by [`NewPostSchedule::check_all`]), once the backend has read
    /// (and locked) the accounts they name: `account` gives each account of the post's team, or
    /// `None`. Checked in the given order, each as `create_schedule` checks it: a missing account
    /// is `MissingReference` (`fk_schedules_social_account`), then the account's state and the
    /// platform fit; a second schedule on one account is `Conflict`
    /// (`uq_schedules_post_account_live`). Every row is created at the post's `created_at`,
    /// and the post follows its schedules ([`PostPublishing::follow`]).
    pub fn build(
        mut post: PostWithMedia,
        schedules: Vec<NewPostSchedule>,
        account: impl Fn(SocialAccountId) -> Option<PublishingAccount>,
    ) -> Result<Self, Error> {
        let (team, user, id, now) = (post.post.team_id, post.post.user_id, post.post.id, post.post.created_at);
        let kinds: Vec<MediaType> = post.media.iter().map(|m| m.media_type).collect();
        let mut built: Vec<Schedule> = Vec::with_capacity(schedules.len());
        for input in schedules {
            let account_id = input.social_account_id;
            let target = account(account_id).ok_or(Error::MissingReference {
                entity: Entity::Schedule,
                references: Entity::SocialAccount,
                rule: crate::constraint::FK_SCHEDULES_SOCIAL_ACCOUNT,
            })?;
            let row = input.for_post(user, id).into_record(team, target, &post.post.content, &kinds, now)?;
            if built.iter().any(|s| s.social_account_id == account_id) {
                return Err(Error::Conflict {
                    entity: Entity::Schedule,
                    rule: crate::constraint::UQ_SCHEDULES_POST_ACCOUNT_LIVE,
                });
            }
            built.push(row);
        }
        let p = &mut post.post;
        let was = PostPublishing { status: p.status, scheduled_at: p.scheduled_at, published_at: p.published_at };
        let times: Vec<(ScheduleStatus, DateTime<Utc>)> = built.iter().map(|s| (s.status, s.scheduled_time)).collect();
        let next = was.follow(&times, now);
        if next != was {
            (p.status, p.scheduled_at, p.published_at) = (next.status, next.scheduled_at, next.published_at);
            p.updated_at = now;
        }
        Ok(Self { post, schedules: built })
    }
}

/// A worker's identity, one per process start (a restarted worker takes a new one).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WorkerId(String);

impl WorkerId {
    /// A worker id: 1 to 100 printable characters.
    pub fn new(id: impl Into<String>) -> Result<Self, Error> {
        let id = id.into();
        if id.is_empty() || id.chars().count() > 100 || id.chars().any(char::is_control) {
            return Err(Error::invalid("worker", rule::FORMAT, "must be 1 to 100 printable characters"));
        }
        Ok(Self(id))
    }

    /// A fresh unique id with a readable prefix, e.g. `publisher-0190...`.
    pub fn unique(prefix: &str) -> Self {
        let prefix: String = prefix.chars().filter(|c| !c.is_control()).take(50).collect();
        Self(format!("{prefix}-{}", uuid::Uuid::now_v7()))
    }

    /// The id as given: 1 to 100 characters, no control character.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How failures are retried: exponential backoff from `base_delay`, capped at `max_delay`,
/// until `max_attempts` attempts have failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, first included (at least 1).
    pub max_attempts: u32,
    /// Delay after the first failure, zero or more; doubled after each further one, up to
    /// `max_delay`.
    pub base_delay: Duration,
    /// Largest delay between attempts; at least `base_delay`.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 5, base_delay: Duration::seconds(30), max_delay: Duration::hours(1) }
    }
}

impl RetryPolicy {
    /// The delay after `failures` failures (1 for the first): `base * 2^(failures-1)`, capped.
    pub fn delay_after(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(30);
        let factor = 1i64 << exp;
        let ms = self.base_delay.num_milliseconds().saturating_mul(factor);
        Duration::milliseconds(ms).min(self.max_delay)
    }

    /// Check the policy: `max_attempts >= 1` and `0 <= base_delay <= max_delay` ([`rule::RANGE`]).
    pub fn check(&self) -> Result<(), Error> {
        if self.max_attempts == 0 || self.base_delay < Duration::zero() || self.max_delay < self.base_delay {
            return Err(Error::invalid(
                "retry_policy",
                rule::RANGE,
                "needs max_attempts >= 1 and 0 <= base_delay <= max_delay",
            ));
        }
        Ok(())
    }
}

/// A lease length for claims: between one second and one day.
pub fn check_lease(lease: Duration) -> Result<(), Error> {
    if lease < Duration::seconds(1) || lease > Duration::days(1) {
        return Err(Error::invalid("lease", rule::RANGE, "must be between 1 second and 1 day"));
    }
    Ok(())
}

/// A claim batch size: between 1 and 1,000.
pub fn check_batch(limit: u32) -> Result<(), Error> {
    if limit == 0 || limit > 1000 {
        return Err(Error::invalid("limit", rule::RANGE, "must be between 1 and 1000"));
    }
    Ok(())
}

/// A batch of `len` items: 1 to 1000, as [`check_batch`].
pub fn check_batch_len(len: usize) -> Result<(), Error> {
    check_batch(u32::try_from(len).unwrap_or(u32::MAX))
}

/// The platform's post id given to `complete` or a confirmation: 1 to 200 characters, an
/// identifier (no NUL, control or bidi characters, no surrounding whitespace).
pub fn check_platform_post_id(id: &str) -> Result<(), Error> {
    let field = "platform_post_id";
    if id.is_empty() {
        return Err(Error::invalid(field, rule::REQUIRED, "must not be empty"));
    }
    if id.chars().count() > 200 {
        return Err(Error::invalid(field, rule::MAX_LENGTH, "must be at most 200 characters"));
    }
    if id.contains('\0') {
        return Err(Error::invalid(field, rule::NUL_BYTE, "must not contain NUL bytes"));
    }
    // An identifier: one line, no control or bidi characters, no surrounding whitespace.
    v::on_field(field, v::required_identifier(id))
}

/// Filter for listing a team's schedules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScheduleFilter {
    /// Only schedules with this status; `None` for any.
    pub status: Option<ScheduleStatus>,
    /// Only schedules of this post; `None` for every post.
    pub post_id: Option<PostId>,
}

/// What a failure report did to a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Back to pending, due again at this time.
    Retrying {
        /// When it is due again (UTC): now plus the policy's [`RetryPolicy::delay_after`].
        next_attempt_at: DateTime<Utc>,
    },
    /// Out of attempts: failed for good.
    Failed,
}
