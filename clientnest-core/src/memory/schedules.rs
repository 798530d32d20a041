//! Schedules and the workers' claim protocol: claims under a lease (each due schedule to exactly
//! one claimer, the lock makes it so), renew, complete, fail with backoff, recover expired leases.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::store::{MemoryStore, Tables, missing, page_desc, stored};
use crate::constraint::{FK_SCHEDULES_POST, FK_SCHEDULES_SOCIAL_ACCOUNT, FK_SCHEDULES_TEAM, FK_SCHEDULES_USER};
use crate::error::{Entity, Error, Result};
use crate::ids::{ScheduleId, TeamId};
use crate::model::{
    FailOutcome, NewSchedule, PostStatus, RetryPolicy, Schedule, ScheduleFilter, ScheduleStatus, WorkerId, check_batch,
    check_lease, check_platform_fit, check_platform_post_id, clip_error,
};
use crate::page::{Cursor, Page, PageRequest};
use crate::ports::ScheduleRepository;
use crate::validate::rule;

fn schedule_cursor(s: &Schedule) -> Cursor {
    Cursor::after(s.created_at, s.id)
}

/// `now + by`, or a validation error on `field` when that is past the representable times.
fn later(now: DateTime<Utc>, by: Duration, field: &str) -> Result<DateTime<Utc>> {
    now.checked_add_signed(by).ok_or_else(|| Error::invalid(field, rule::RANGE, "ends past the latest storable time"))
}

/// Release a schedule's claim.
fn unlock(s: &mut Schedule) {
    s.locked_by = None;
    s.locked_until = None;
}

impl Tables {
    fn team_schedule(&self, team: TeamId, id: ScheduleId) -> Result<&Schedule> {
        self.schedules.get(&id).filter(|s| s.team_id == team).ok_or_else(|| Error::not_found(Entity::Schedule, id))
    }

    fn team_schedule_mut(&mut self, team: TeamId, id: ScheduleId) -> Result<&mut Schedule> {
        self.schedules.get_mut(&id).filter(|s| s.team_id == team).ok_or_else(|| Error::not_found(Entity::Schedule, id))
    }

    /// The schedule `worker` holds a claim on, or `NotFound` / `InvalidState`.
    fn held_by(&mut self, id: ScheduleId, worker: &WorkerId) -> Result<&mut Schedule> {
        let s = self.schedules.get_mut(&id).ok_or_else(|| Error::not_found(Entity::Schedule, id))?;
        if s.status != ScheduleStatus::Processing || s.locked_by.as_deref() != Some(worker.as_str()) {
            return Err(Error::InvalidState {
                entity: Entity::Schedule,
                id: id.to_string(),
                reason: "the worker does not hold a claim on this schedule",
            });
        }
        Ok(s)
    }

    /// Check a new schedule's references, its user's membership, account state and platform fit;
    /// build the row.
    fn new_schedule(&self, team: TeamId, input: NewSchedule, now: DateTime<Utc>) -> Result<Schedule> {
        self.require_team(team, Entity::Schedule, FK_SCHEDULES_TEAM)?;
        let post = self
            .team_post(team, input.post_id)
            .map_err(|_| missing(Entity::Schedule, Entity::Post, FK_SCHEDULES_POST))?;
        let account = self
            .team_account(team, input.social_account_id)
            .map_err(|_| missing(Entity::Schedule, Entity::SocialAccount, FK_SCHEDULES_SOCIAL_ACCOUNT))?;
        self.require_user(input.user_id, Entity::Schedule, FK_SCHEDULES_USER)?;
        self.require_member(team, input.user_id, Entity::Schedule)?;
        if !account.is_active {
            return Err(Error::InvalidState {
                entity: Entity::SocialAccount,
                id: account.id.to_string(),
                reason: "an inactive account cannot publish",
            });
        }
        check_platform_fit(&post.content, &self.media_kinds(post.id), &[account.platform])?;
        let scheduled_time = stored(input.scheduled_time);
        Ok(Schedule {
            id: ScheduleId::new(),
            user_id: input.user_id,
            team_id: team,
            post_id: input.post_id,
            social_account_id: input.social_account_id,
            platform: account.platform,
            scheduled_time,
            timezone: input.timezone,
            status: ScheduleStatus::Pending,
            retry_count: 0,
            last_attempt: None,
            created_at: now,
            updated_at: now,
            next_attempt_at: scheduled_time,
            locked_by: None,
            locked_until: None,
            last_error: None,
            platform_post_id: None,
        })
    }

    /// Whether a schedule is due at `now` on an active account.
    fn is_due(&self, s: &Schedule, now: DateTime<Utc>) -> bool {
        s.status == ScheduleStatus::Pending
            && s.next_attempt_at <= now
            && self.accounts.get(&s.social_account_id).is_some_and(|a| a.is_active)
    }

    /// Mark a post published (keeping its first publication time).
    fn publish_post(&mut self, s: &Schedule, now: DateTime<Utc>) {
        if let Some(p) = self.posts.get_mut(&s.post_id) {
            p.status = PostStatus::Published;
            p.published_at = p.published_at.or(Some(now));
            p.updated_at = now;
        }
    }
}

#[async_trait]
impl ScheduleRepository for MemoryStore {
    async fn create_schedule(&self, team: TeamId, schedule: NewSchedule) -> Result<Schedule> {
        let now = self.now();
        schedule.check(now)?;
        let mut t = self.tables();
        let row = t.new_schedule(team, schedule, now)?;
        if let Some(p) = t.posts.get_mut(&row.post_id)
            && p.status == PostStatus::Draft
        {
            p.status = PostStatus::Scheduled;
            p.scheduled_at = Some(row.scheduled_time);
            p.updated_at = now;
        }
        t.schedules.insert(row.id, row.clone());
        Ok(row)
    }

    async fn get_schedule(&self, team: TeamId, id: ScheduleId) -> Result<Schedule> {
        self.tables().team_schedule(team, id).cloned()
    }

    async fn list_schedules(&self, team: TeamId, filter: ScheduleFilter, page: PageRequest) -> Result<Page<Schedule>> {
        page.check()?;
        let t = self.tables();
        let rows = t.schedules.values().filter(|s| {
            s.team_id == team
                && filter.status.is_none_or(|x| s.status == x)
                && filter.post_id.is_none_or(|x| s.post_id == x)
        });
        Ok(page_desc(rows, &page, schedule_cursor))
    }

    async fn cancel_schedule(&self, team: TeamId, id: ScheduleId) -> Result<Schedule> {
        let now = self.now();
        let mut t = self.tables();
        let s = t.team_schedule_mut(team, id)?;
        if s.status != ScheduleStatus::Pending {
            return Err(Error::InvalidState {
                entity: Entity::Schedule,
                id: id.to_string(),
                reason: "only a pending schedule can be cancelled",
            });
        }
        s.status = ScheduleStatus::Cancelled;
        s.updated_at = now;
        Ok(s.clone())
    }

    async fn claim_due(&self, worker: &WorkerId, limit: u32, lease: Duration) -> Result<Vec<Schedule>> {
        check_batch(limit)?;
        check_lease(lease)?;
        let now = self.now();
        let locked_until = later(now, lease, "lease")?;
        let mut t = self.tables();
        let mut due: Vec<(DateTime<Utc>, ScheduleId)> =
            t.schedules.values().filter(|s| t.is_due(s, now)).map(|s| (s.next_attempt_at, s.id)).collect();
        due.sort_unstable();
        due.truncate(limit as usize);
        let mut claimed = Vec::with_capacity(due.len());
        for (_, id) in due {
            if let Some(s) = t.schedules.get_mut(&id) {
                s.status = ScheduleStatus::Processing;
                s.locked_by = Some(worker.as_str().to_owned());
                s.locked_until = Some(locked_until);
                s.last_attempt = Some(now);
                s.updated_at = now;
                claimed.push(s.clone());
            }
        }
        Ok(claimed)
    }

    async fn renew_lease(&self, id: ScheduleId, worker: &WorkerId, lease: Duration) -> Result<Schedule> {
        check_lease(lease)?;
        let now = self.now();
        let locked_until = later(now, lease, "lease")?;
        let mut t = self.tables();
        let s = t.held_by(id, worker)?;
        s.locked_until = Some(locked_until);
        s.updated_at = now;
        Ok(s.clone())
    }

    async fn complete(&self, id: ScheduleId, worker: &WorkerId, platform_post_id: &str) -> Result<Schedule> {
        check_platform_post_id(platform_post_id)?;
        let now = self.now();
        let mut t = self.tables();
        let s = t.held_by(id, worker)?;
        s.status = ScheduleStatus::Completed;
        s.platform_post_id = Some(platform_post_id.to_owned());
        s.updated_at = now;
        unlock(s);
        let row = s.clone();
        t.publish_post(&row, now);
        Ok(row)
    }

    async fn fail(&self, id: ScheduleId, worker: &WorkerId, error: &str, policy: RetryPolicy) -> Result<FailOutcome> {
        policy.check()?;
        let now = self.now();
        let mut t = self.tables();
        let s = t.held_by(id, worker)?;
        let retry_count = s.retry_count.saturating_add(1);
        let failures = u32::try_from(retry_count).unwrap_or(u32::MAX);
        let outcome = if failures >= policy.max_attempts {
            FailOutcome::Failed
        } else {
            FailOutcome::Retrying { next_attempt_at: later(now, policy.delay_after(failures), "retry_policy")? }
        };
        s.retry_count = retry_count;
        s.last_error = Some(clip_error(error));
        s.updated_at = now;
        unlock(s);
        match outcome {
            FailOutcome::Failed => s.status = ScheduleStatus::Failed,
            FailOutcome::Retrying { next_attempt_at } => {
                s.status = ScheduleStatus::Pending;
                s.next_attempt_at = next_attempt_at;
            }
        }
        Ok(outcome)
    }

    async fn recover_expired(&self) -> Result<u64> {
        let now = self.now();
        let mut t = self.tables();
        let mut recovered = 0;
        for s in t.schedules.values_mut() {
            if s.status == ScheduleStatus::Processing && s.locked_until.is_some_and(|u| u <= now) {
                s.status = ScheduleStatus::Pending;
                s.next_attempt_at = now;
                s.updated_at = now;
                unlock(s);
                recovered += 1;
            }
        }
        Ok(recovered)
    }
}
