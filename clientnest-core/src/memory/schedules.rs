//! Schedules and the workers' claim protocol in memory. Every transition is the one on
//! [`Schedule`] (built once in core); this module finds the rows, applies it under the lock and
//! lets the post follow its schedules.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::store::{MemoryStore, Tables, missing, page_desc};
use crate::constraint::{
    FK_POSTS_TEAM, FK_POSTS_USER, FK_SCHEDULES_POST, FK_SCHEDULES_SOCIAL_ACCOUNT, FK_SCHEDULES_TEAM, FK_SCHEDULES_USER,
    UQ_SCHEDULES_POST_ACCOUNT_LIVE,
};
use crate::error::{Entity, Error, Result};
use crate::ids::{PostId, ScheduleId, TeamId};
use crate::model::{
    Claim, ClaimRequest, ClaimToken, FailOutcome, NewPost, NewPostSchedule, NewSchedule, PostPublishing,
    PublishingAccount, Recovered, Resolution, RetryPolicy, Schedule, ScheduleFilter, ScheduleStatus, ScheduledPost,
    WorkerId, check_batch, check_lease, later,
};
use crate::page::{Keyed, Page, PageRequest};
use crate::ports::ScheduleRepository;

impl Tables {
    fn team_schedule(&self, team: TeamId, id: ScheduleId) -> Result<&Schedule> {
        self.schedules.get(&id).filter(|s| s.team_id == team).ok_or_else(|| Error::not_found(Entity::Schedule, id))
    }

    fn team_schedule_mut(&mut self, team: TeamId, id: ScheduleId) -> Result<&mut Schedule> {
        self.schedules.get_mut(&id).filter(|s| s.team_id == team).ok_or_else(|| Error::not_found(Entity::Schedule, id))
    }

    /// The schedule a claim token names (`NotFound` when there is none).
    fn claimed(&mut self, claim: &ClaimToken) -> Result<&mut Schedule> {
        let id = claim.schedule_id();
        self.schedules.get_mut(&id).ok_or_else(|| Error::not_found(Entity::Schedule, id))
    }

    /// Check a new schedule's references and its user's membership, let core check the account
    /// and the platform fit and build the row, then check the one-live rule.
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
        let target = PublishingAccount { id: account.id, platform: account.platform, is_active: account.is_active };
        let (post_id, account_id) = (input.post_id, input.social_account_id);
        let row = input.into_record(team, target, &post.content, &self.media_kinds(post.id), now)?;
        let live_twin = self
            .schedules
            .values()
            .any(|s| s.post_id == post_id && s.social_account_id == account_id && s.status.is_live());
        if live_twin {
            return Err(Error::Conflict { entity: Entity::Schedule, rule: UQ_SCHEDULES_POST_ACCOUNT_LIVE });
        }
        Ok(row)
    }

    /// Whether a schedule is due at `now` on an active account.
    fn is_due(&self, s: &Schedule, now: DateTime<Utc>) -> bool {
        s.status == ScheduleStatus::Pending
            && s.next_attempt_at <= now
            && self.accounts.get(&s.social_account_id).is_some_and(|a| a.is_active)
    }

    /// Let a post follow its schedules ([`PostPublishing::follow`]).
    pub(super) fn follow_schedules(&mut self, post: PostId, now: DateTime<Utc>) {
        let schedules: Vec<_> =
            self.schedules.values().filter(|s| s.post_id == post).map(|s| (s.status, s.scheduled_time)).collect();
        if let Some(p) = self.posts.get_mut(&post) {
            let was = PostPublishing { status: p.status, scheduled_at: p.scheduled_at, published_at: p.published_at };
            let next = was.follow(&schedules, now);
            if next != was {
                (p.status, p.scheduled_at, p.published_at) = (next.status, next.scheduled_at, next.published_at);
                p.updated_at = now;
            }
        }
    }

    /// Apply `change` to the claimed schedule, then let its post follow.
    fn on_claim<T>(
        &mut self,
        claim: &ClaimToken,
        now: DateTime<Utc>,
        change: impl FnOnce(&mut Schedule) -> Result<T>,
    ) -> Result<(T, Schedule)> {
        let s = self.claimed(claim)?;
        let mut next = s.clone();
        let out = change(&mut next)?;
        *s = next.clone();
        self.follow_schedules(next.post_id, now);
        Ok((out, next))
    }

    /// Recover every lapsed claim at `now` under `policy`.
    fn recover(&mut self, policy: RetryPolicy, now: DateTime<Utc>) -> Recovered {
        let mut done = Recovered::default();
        let mut posts = Vec::new();
        for s in self.schedules.values_mut() {
            if let Some(to) = s.recover(policy, now) {
                done.count(to);
                posts.push(s.post_id);
            }
        }
        for post in posts {
            self.follow_schedules(post, now);
        }
        done
    }
}

#[async_trait]
impl ScheduleRepository for MemoryStore {
    async fn create_schedule(&self, team: TeamId, schedule: NewSchedule) -> Result<Schedule> {
        let now = self.now();
        schedule.check(now)?;
        let mut t = self.tables();
        let row = t.new_schedule(team, schedule, now)?;
        t.schedules.insert(row.id, row.clone());
        t.follow_schedules(row.post_id, now);
        Ok(row)
    }

    async fn create_post_with_schedules(
        &self,
        team: TeamId,
        post: NewPost,
        schedules: Vec<NewPostSchedule>,
    ) -> Result<ScheduledPost> {
        let now = self.now();
        let record = post.into_record(team, now)?;
        NewPostSchedule::check_all(&schedules, now)?;
        let mut t = self.tables();
        t.require_acting(team, record.post.user_id, Entity::Post, (FK_POSTS_TEAM, FK_POSTS_USER))?;
        let built = ScheduledPost::build(record, schedules, |id| {
            t.team_account(team, id).ok().map(|a| PublishingAccount {
                id: a.id,
                platform: a.platform,
                is_active: a.is_active,
            })
        })?;
        t.insert_post(built.post.clone());
        for s in &built.schedules {
            t.schedules.insert(s.id, s.clone());
        }
        Ok(built)
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
        Ok(page_desc(rows, &page, Schedule::cursor))
    }

    async fn cancel_schedule(&self, team: TeamId, id: ScheduleId) -> Result<Schedule> {
        let now = self.now();
        let mut t = self.tables();
        let s = t.team_schedule_mut(team, id)?;
        s.cancel(now)?;
        let row = s.clone();
        t.follow_schedules(row.post_id, now);
        Ok(row)
    }

    async fn claim_due(&self, worker: &WorkerId, request: ClaimRequest) -> Result<Vec<Claim>> {
        request.check()?;
        let now = self.now();
        let locked_until = later(now, request.lease, "lease")?;
        let mut t = self.tables();
        t.recover(request.policy, now);
        let mut due: Vec<(DateTime<Utc>, ScheduleId)> =
            t.schedules.values().filter(|s| t.is_due(s, now)).map(|s| (s.next_attempt_at, s.id)).collect();
        due.sort_unstable();
        due.truncate(request.limit as usize);
        Ok(due
            .into_iter()
            .filter_map(|(_, id)| t.schedules.get_mut(&id).map(|s| s.claim(worker, locked_until, now)))
            .collect())
    }

    async fn renew_lease(&self, claim: &ClaimToken, lease: Duration) -> Result<Schedule> {
        check_lease(lease)?;
        let now = self.now();
        let locked_until = later(now, lease, "lease")?;
        let mut t = self.tables();
        let s = t.claimed(claim)?;
        s.renew(claim, locked_until, now)?;
        Ok(s.clone())
    }

    async fn mark_publishing(&self, claim: &ClaimToken) -> Result<Schedule> {
        let now = self.now();
        let mut t = self.tables();
        let s = t.claimed(claim)?;
        s.mark_publishing(claim, now)?;
        Ok(s.clone())
    }

    async fn complete(&self, claim: &ClaimToken, platform_post_id: &str) -> Result<Schedule> {
        let now = self.now();
        let mut t = self.tables();
        t.on_claim(claim, now, |s| s.complete(claim, platform_post_id, now)).map(|((), s)| s)
    }

    async fn fail(&self, claim: &ClaimToken, error: &str, policy: RetryPolicy) -> Result<FailOutcome> {
        policy.check()?;
        let now = self.now();
        let mut t = self.tables();
        t.on_claim(claim, now, |s| s.fail(claim, error, policy, now)).map(|(outcome, _)| outcome)
    }

    async fn release(&self, claim: &ClaimToken) -> Result<Schedule> {
        let now = self.now();
        let mut t = self.tables();
        let s = t.claimed(claim)?;
        s.release(claim, now)?;
        Ok(s.clone())
    }

    async fn recover_expired(&self, policy: RetryPolicy) -> Result<Recovered> {
        policy.check()?;
        let now = self.now();
        Ok(self.tables().recover(policy, now))
    }

    async fn unknown_outcomes(&self, limit: u32) -> Result<Vec<Schedule>> {
        check_batch(limit)?;
        let t = self.tables();
        let mut rows: Vec<Schedule> =
            t.schedules.values().filter(|s| s.status == ScheduleStatus::OutcomeUnknown).cloned().collect();
        rows.sort_unstable_by_key(|s| (s.updated_at, s.id));
        rows.truncate(limit as usize);
        Ok(rows)
    }

    async fn resolve_outcome(&self, team: TeamId, id: ScheduleId, resolution: Resolution) -> Result<Schedule> {
        resolution.check()?;
        let now = self.now();
        let mut t = self.tables();
        let s = t.team_schedule_mut(team, id)?;
        s.resolve(&resolution, now)?;
        let row = s.clone();
        t.follow_schedules(row.post_id, now);
        Ok(row)
    }
}
