//! The in-memory relational store: every table behind one lock, the clock, and the helpers the
//! aggregates share (reference checks, keyset paging).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::clock::{SharedClock, system_clock, to_micros};
use crate::error::{Entity, Error, Result};
use crate::ids::*;
use crate::model::*;
use crate::page::{Cursor, Page, PageRequest};
use crate::validate::HostPolicy;

/// Every table, with the secondary indexes the unique rules need.
#[derive(Debug, Default)]
pub(super) struct Tables {
    pub(super) users: HashMap<UserId, User>,
    /// `lower(email)` → user (`uq_users_email`).
    pub(super) emails: HashMap<String, UserId>,
    pub(super) teams: HashMap<TeamId, Team>,
    pub(super) members: HashMap<TeamMemberId, TeamMember>,
    /// (team, user) → membership (`uq_team_members_user_team`).
    pub(super) member_keys: HashMap<(TeamId, UserId), TeamMemberId>,
    pub(super) accounts: HashMap<SocialAccountId, SocialAccount>,
    /// (platform, platform id, team) → account (`uq_social_accounts_platform_account_team`).
    pub(super) account_keys: HashMap<(Platform, String, TeamId), SocialAccountId>,
    pub(super) posts: HashMap<PostId, Post>,
    /// A post's media in `order_index` order.
    pub(super) media: HashMap<PostId, Vec<PostMedia>>,
    pub(super) comments: HashMap<CommentId, Comment>,
    /// (account, platform comment id) → comment (`uq_comments_account_platform_id`).
    pub(super) comment_keys: HashMap<(SocialAccountId, String), CommentId>,
    pub(super) responses: HashMap<ResponseId, Response>,
    pub(super) templates: HashMap<TemplateId, Template>,
    pub(super) schedules: HashMap<ScheduleId, Schedule>,
    pub(super) automations: HashMap<AutomationId, Automation>,
    pub(super) webhooks: HashMap<WebhookId, Webhook>,
    pub(super) ai_usage: HashMap<AiUsageId, AiUsage>,
    pub(super) billing: HashMap<BillingId, Billing>,
    pub(super) notifications: HashMap<NotificationId, Notification>,
}

impl Tables {
    /// `Ok` when the user exists, else the `MissingReference` of `entity` under `rule`.
    pub(super) fn require_user(&self, id: UserId, entity: Entity, rule: &'static str) -> Result<()> {
        if self.users.contains_key(&id) { Ok(()) } else { Err(missing(entity, Entity::User, rule)) }
    }

    /// `Ok` when the team exists, else the `MissingReference` of `entity` under `rule`.
    pub(super) fn require_team(&self, id: TeamId, entity: Entity, rule: &'static str) -> Result<()> {
        if self.teams.contains_key(&id) { Ok(()) } else { Err(missing(entity, Entity::Team, rule)) }
    }

    /// `Ok` when `user` is an active member of `team`: a membership with status `active` and a
    /// user with `is_active`. Else `NotAMember` of `entity`, naming the user.
    ///
    /// Every team-owned write whose input names an acting user calls it after its reference
    /// checks (team, then user: `MissingReference`) and before any state check, under the same
    /// lock as the write, so a concurrent `remove_member` or deactivation cannot slip between.
    pub(super) fn require_member(&self, team: TeamId, user: UserId, entity: Entity) -> Result<()> {
        let membership = self.member_keys.get(&(team, user)).and_then(|id| self.members.get(id));
        let active = membership.is_some_and(|m| m.status == MemberStatus::Active)
            && self.users.get(&user).is_some_and(|u| u.is_active);
        if active { Ok(()) } else { Err(Error::NotAMember { entity, user: user.to_string() }) }
    }

    /// The references and acting user of a team-owned create, in the shared order: the team
    /// (`team_rule`), the user (`user_rule`), then the user's active membership.
    pub(super) fn require_acting(
        &self,
        team: TeamId,
        user: UserId,
        entity: Entity,
        (team_rule, user_rule): (&'static str, &'static str),
    ) -> Result<()> {
        self.require_team(team, entity, team_rule)?;
        self.require_user(user, entity, user_rule)?;
        self.require_member(team, user, entity)
    }

    /// The media kinds of a post, in order (for the platform fit).
    pub(super) fn media_kinds(&self, post: PostId) -> Vec<MediaType> {
        self.media.get(&post).map(|m| m.iter().map(|x| x.media_type).collect()).unwrap_or_default()
    }

    /// The platforms a post must fit: its own, and those of its live schedules.
    pub(super) fn platforms_to_fit(&self, post: &Post) -> Vec<Platform> {
        let live = self.schedules.values().filter(|s| s.post_id == post.id && s.status.is_live()).map(|s| s.platform);
        platforms_to_fit(&post.platforms, live)
    }

    /// A post with its stored media list (empty when the post has none).
    pub(super) fn with_media(&self, post: Post) -> PostWithMedia {
        let media = self.media.get(&post.id).cloned().unwrap_or_default();
        PostWithMedia { post, media }
    }
}

/// The `MissingReference` error of a create or change.
pub(super) fn missing(entity: Entity, references: Entity, rule: &'static str) -> Error {
    Error::MissingReference { entity, references, rule }
}

struct Inner {
    clock: SharedClock,
    tables: Mutex<Tables>,
}

/// Every repository port in memory, with the same rules as PostgreSQL: unique rules, references,
/// cascades, checks, tenancy and keyset paging.
///
/// All tables sit behind one lock, so every call (cascades, claims and batches included) is
/// atomic. Clones share the same data. Tokens and webhook secrets are kept as given (nothing
/// leaves the process) and never logged.
///
/// Webhook endpoints and avatars must name public hosts unless the store is built
/// [`with_host_policy`](MemoryStore::with_host_policy)`(HostPolicy::AllowPrivate)`, as tests
/// and development that deliver to `http://localhost` do.
///
/// ```
/// use clientnest_core::memory::MemoryStore;
/// use clientnest_core::clock::ManualClock;
/// use std::sync::Arc;
///
/// let clock = ManualClock::starting_now();
/// let store = MemoryStore::with_clock(Arc::new(clock.clone()));
/// let shared = store.clone(); // the same tables
/// # let _ = shared;
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
    hosts: HostPolicy,
}

impl MemoryStore {
    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(system_clock())
    }

    /// An empty store reading time from `clock` (a [`ManualClock`](crate::clock::ManualClock)
    /// in tests).
    pub fn with_clock(clock: SharedClock) -> Self {
        Self { inner: Arc::new(Inner { clock, tables: Mutex::new(Tables::default()) }), hosts: HostPolicy::default() }
    }

    /// Judge webhook endpoints and avatar URLs by `policy` (default
    /// [`HostPolicy::PublicOnly`]); the returned store shares this one's data.
    pub fn with_host_policy(mut self, policy: HostPolicy) -> Self {
        self.hosts = policy;
        self
    }

    /// The policy webhook endpoints and avatar URLs are judged by.
    pub fn host_policy(&self) -> HostPolicy {
        self.hosts
    }

    /// The clock the store reads for every time it sets (creation, change, claim, expiry).
    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    /// The current time, microsecond precision.
    pub(super) fn now(&self) -> DateTime<Utc> {
        to_micros(self.inner.clock.now())
    }

    /// The tables, locked. A poisoned lock is recovered: every write checks before it changes
    /// anything, so a panic never leaves a half-done change behind.
    pub(super) fn tables(&self) -> MutexGuard<'_, Tables> {
        self.inner.tables.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.tables();
        f.debug_struct("MemoryStore")
            .field("clock", &self.inner.clock)
            .field("users", &t.users.len())
            .field("teams", &t.teams.len())
            .field("posts", &t.posts.len())
            .field("comments", &t.comments.len())
            .field("schedules", &t.schedules.len())
            .finish_non_exhaustive()
    }
}

/// A stored time: microsecond precision, as PostgreSQL keeps it.
pub(super) fn stored(t: DateTime<Utc>) -> DateTime<Utc> {
    to_micros(t)
}

/// `created_at DESC, id DESC` order of two keys.
fn desc(a: &Cursor, b: &Cursor) -> Ordering {
    (b.created_at, b.id).cmp(&(a.created_at, a.id))
}

/// One keyset page of `rows`, newest first by `key`, after the request's cursor.
pub(super) fn page_desc<'a, T, I>(rows: I, page: &PageRequest, key: impl Fn(&T) -> Cursor) -> Page<T>
where
    T: Clone + 'a,
    I: Iterator<Item = &'a T>,
{
    let after = page.after;
    let mut hits: Vec<&T> = rows
        .filter(|r| {
            let k = key(r);
            after.is_none_or(|c| c.is_before(k.created_at, k.id))
        })
        .collect();
    let want = page.limit as usize + 1;
    if hits.len() > want {
        hits.select_nth_unstable_by(want - 1, |a, b| desc(&key(a), &key(b)));
        hits.truncate(want);
    }
    hits.sort_unstable_by(|a, b| desc(&key(a), &key(b)));
    Page::from_overfetch(hits.into_iter().cloned().collect(), page.limit, key)
}

/// Rows sorted `created_at ASC, id ASC`, cloned.
pub(super) fn oldest_first<'a, T, I>(rows: I, key: impl Fn(&T) -> (DateTime<Utc>, Uuid)) -> Vec<T>
where
    T: Clone + 'a,
    I: Iterator<Item = &'a T>,
{
    let mut out: Vec<&T> = rows.collect();
    out.sort_unstable_by_key(|r| key(r));
    out.into_iter().cloned().collect()
}
