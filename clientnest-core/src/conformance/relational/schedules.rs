//! Schedules and the publishing workers' claim protocol: creation rules, claims (exactly once,
//! even with concurrent workers), fencing per claim, the persisted publish boundary and the
//! unknown-outcome state, attempts counted at claim time, retries with backoff, lease renewal
//! and recovery, cancellation, one live schedule per post and account, and the post following
//! its schedules.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::Duration;

use super::fixtures::*;
use crate::conformance::Harness;
use crate::constraint;
use crate::error::Entity;
use crate::ids::{AttemptId, PostId, ScheduleId, SocialAccountId, TeamId, UserId};
use crate::model::*;
use crate::page::Page;
use crate::ports::*;
use crate::validate::rule;

/// The ports the schedule tests call: users, teams and accounts to set up, posts that follow
/// their schedules, and the schedules themselves. Any backend with these five has it.
pub trait SchedulePorts:
    UserRepository + TeamRepository + SocialAccountRepository + PostRepository + ScheduleRepository
{
}

impl<T> SchedulePorts for T where
    T: UserRepository + TeamRepository + SocialAccountRepository + PostRepository + ScheduleRepository + ?Sized
{
}

/// A lease long enough for any test step.
fn lease() -> Duration {
    Duration::minutes(5)
}

/// A worker id: `<name>-<uuid v7>`, unique per call.
fn worker(name: &str) -> WorkerId {
    WorkerId::unique(name)
}

/// A team, its owner, an X account and a due-in-one-hour schedule of a draft X post.
struct Setup {
    owner: User,
    team: Team,
    account: SocialAccount,
    post: Post,
    schedule: Schedule,
}

async fn setup<S: SchedulePorts + ?Sized>(h: &Harness<S>) -> Setup {
    let (owner, team) = owned_team(h).await;
    let account = account(h, team.id, owner.id, Platform::Twitter).await;
    let post = post(h, team.id, owner.id, Platform::Twitter).await.post;
    let schedule = schedule(h, team.id, owner.id, post.id, account.id).await;
    Setup { owner, team, account, post, schedule }
}

/// Let the schedule of `s` come due.
async fn make_due<S: ?Sized>(h: &Harness<S>, s: &Schedule) {
    let wait = s.next_attempt_at - now(h);
    if wait > Duration::zero() {
        h.time.advance(wait).await;
    }
}

/// A claim request for `limit` under `lease`.
fn req(limit: u32, lease: Duration) -> ClaimRequest {
    ClaimRequest::new(limit, lease)
}

/// Claim up to ten for `w` under the default lease.
async fn claim<S: ScheduleRepository + ?Sized>(h: &Harness<S>, w: &WorkerId) -> Vec<Claim> {
    h.store.claim_due(w, req(10, lease())).await.expect("claim")
}

/// Claim the one due schedule for `w`.
async fn claim_one<S: ScheduleRepository + ?Sized>(h: &Harness<S>, w: &WorkerId) -> Claim {
    let mut got = claim(h, w).await;
    assert_eq!(got.len(), 1, "exactly one schedule is due");
    got.remove(0)
}

/// A token for schedule `id` with a fresh attempt id, which no claim ever had.
fn forged(id: ScheduleId) -> ClaimToken {
    ClaimToken::new(id, AttemptId::new())
}

/// Assert `StaleClaim` on a schedule.
#[track_caller]
fn stale<T: std::fmt::Debug>(r: crate::error::Result<T>) {
    match r {
        Err(crate::error::Error::StaleClaim { entity: Entity::Schedule, .. }) => {}
        other => panic!("expected StaleClaim {{ entity: schedules }}, got {other:?}"),
    }
}

/// The post's status and `scheduled_at`.
async fn post_state<S: PostRepository + ?Sized>(
    h: &Harness<S>,
    team: TeamId,
    post: PostId,
) -> (PostStatus, Option<chrono::DateTime<chrono::Utc>>) {
    let p = h.store.get_post(team, post).await.expect("get post").post;
    (p.status, p.scheduled_at)
}

/// A new schedule is pending at `scheduled_time` on the account's platform, and its draft post
/// becomes `scheduled`.
pub async fn schedules_create_makes_post_scheduled<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let (owner, team) = owned_team(h).await;
    let a = account(h, team.id, owner.id, Platform::Pinterest).await;
    let mut input = new_post_for(owner.id, Platform::Pinterest);
    input.platforms = Vec::new();
    let p = h.store.create_post(team.id, input).await.expect("create post").post;
    let at = now(h) + Duration::hours(2);
    let s = h.store.create_schedule(team.id, new_schedule(owner.id, p.id, a.id, at)).await.expect("schedule");
    assert_eq!((s.team_id, s.user_id, s.post_id, s.social_account_id), (team.id, owner.id, p.id, a.id));
    assert_eq!(s.platform, Platform::Pinterest, "the platform is the account's");
    assert_eq!((s.scheduled_time, s.next_attempt_at), (at, at));
    assert_eq!(s.timezone, "Europe/Paris");
    assert_eq!((s.status, s.retry_count), (ScheduleStatus::Pending, 0));
    assert_eq!((s.locked_by.as_deref(), s.locked_until, s.last_attempt), (None, None, None));
    assert_eq!((s.last_error.as_deref(), s.platform_post_id.as_deref()), (None, None));
    assert_eq!((s.created_at, s.updated_at), (now(h), now(h)));
    assert_eq!(h.store.get_schedule(team.id, s.id).await.expect("get"), s);

    let p_now = h.store.get_post(team.id, p.id).await.expect("get post").post;
    assert_eq!((p_now.status, p_now.scheduled_at), (PostStatus::Scheduled, Some(at)));

    // A post that is not a draft keeps its status.
    let mut live = new_post_for(owner.id, Platform::Pinterest);
    live.status = PostStatus::Published;
    let live = h.store.create_post(team.id, live).await.expect("create").post;
    h.store.create_schedule(team.id, new_schedule(owner.id, live.id, a.id, at)).await.expect("schedule");
    assert_eq!(h.store.get_post(team.id, live.id).await.expect("get").post.status, PostStatus::Published);
}

/// `chk_schedules_future_time`, zone and time checks, an inactive account, and a post that does
/// not fit the account's platform are refused, storing nothing.
pub async fn schedules_create_rules<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let (owner, team) = owned_team(h).await;
    let x = account(h, team.id, owner.id, Platform::Twitter).await;
    let p = post(h, team.id, owner.id, Platform::Twitter).await.post;
    let later = now(h) + Duration::hours(1);
    let cases: Vec<(NewSchedule, &str, &str)> = vec![
        (new_schedule(owner.id, p.id, x.id, now(h)), "scheduled_time", rule::SCHEDULE_FUTURE),
        (new_schedule(owner.id, p.id, x.id, now(h) - Duration::days(1)), "scheduled_time", rule::SCHEDULE_FUTURE),
        (new_schedule(owner.id, p.id, x.id, year(10_000)), "scheduled_time", rule::TIME_RANGE),
        (
            NewSchedule { timezone: "Europe/Atlantis".to_owned(), ..new_schedule(owner.id, p.id, x.id, later) },
            "timezone",
            rule::TIMEZONE,
        ),
    ];
    for (input, field, broken) in cases {
        invalid(h.store.create_schedule(team.id, input).await, field, broken);
    }
    // Validation first, even under a missing team.
    let past = new_schedule(owner.id, p.id, x.id, now(h));
    invalid(h.store.create_schedule(TeamId::new(), past).await, "scheduled_time", rule::SCHEDULE_FUTURE);

    let mut long = NewPost::draft(owner.id, repeat('a', 281));
    long.media = Vec::new();
    let long = h.store.create_post(team.id, long).await.expect("no platform yet").post;
    invalid(
        h.store.create_schedule(team.id, new_schedule(owner.id, long.id, x.id, later)).await,
        "content",
        rule::PLATFORM_TEXT,
    );
    let insta = account(h, team.id, owner.id, Platform::Instagram).await;
    invalid(
        h.store.create_schedule(team.id, new_schedule(owner.id, p.id, insta.id, later)).await,
        "media",
        rule::PLATFORM_MEDIA,
    );
    let off = SocialAccountUpdate { is_active: Some(false), ..SocialAccountUpdate::default() };
    h.store.update_account(team.id, x.id, off).await.expect("deactivate");
    invalid_state_any(h.store.create_schedule(team.id, new_schedule(owner.id, p.id, x.id, later)).await);

    let listed = h.store.list_schedules(team.id, ScheduleFilter::default(), all()).await.expect("list");
    assert!(listed.items.is_empty(), "nothing stored");
    for id in [p.id, long.id] {
        let post = h.store.get_post(team.id, id).await.expect("get").post;
        assert_eq!((post.status, post.scheduled_at), (PostStatus::Draft, None), "refused schedules leave posts alone");
    }
}

/// Posts and accounts must be the team's (`fk_schedules_post`, `fk_schedules_social_account`),
/// the user must exist (`fk_schedules_user`), the team too (`fk_schedules_team`).
pub async fn schedules_create_references<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let (owner, team) = owned_team(h).await;
    let (other_owner, other_team) = owned_team(h).await;
    let mine_a = account(h, team.id, owner.id, Platform::Twitter).await;
    let mine_p = post(h, team.id, owner.id, Platform::Twitter).await.post;
    let their_a = account(h, other_team.id, other_owner.id, Platform::Twitter).await;
    let their_p = post(h, other_team.id, other_owner.id, Platform::Twitter).await.post;
    let at = now(h) + Duration::hours(1);
    let create = |post: PostId, account: SocialAccountId, user: UserId, team: TeamId| {
        let store = &*h.store;
        async move { store.create_schedule(team, new_schedule(user, post, account, at)).await }
    };
    for post in [their_p.id, PostId::new()] {
        missing(
            create(post, mine_a.id, owner.id, team.id).await,
            Entity::Schedule,
            Entity::Post,
            constraint::FK_SCHEDULES_POST,
        );
    }
    for acct in [their_a.id, SocialAccountId::new()] {
        missing(
            create(mine_p.id, acct, owner.id, team.id).await,
            Entity::Schedule,
            Entity::SocialAccount,
            constraint::FK_SCHEDULES_SOCIAL_ACCOUNT,
        );
    }
    missing(
        create(mine_p.id, mine_a.id, UserId::new(), team.id).await,
        Entity::Schedule,
        Entity::User,
        constraint::FK_SCHEDULES_USER,
    );
    missing(
        create(mine_p.id, mine_a.id, owner.id, TeamId::new()).await,
        Entity::Schedule,
        Entity::Team,
        constraint::FK_SCHEDULES_TEAM,
    );
    for t in [team.id, other_team.id] {
        let listed = h.store.list_schedules(t, ScheduleFilter::default(), all()).await.expect("list");
        assert!(listed.items.is_empty(), "nothing stored");
    }
    let their_post = h.store.get_post(other_team.id, their_p.id).await.expect("get").post;
    assert_eq!(their_post.status, PostStatus::Draft);
}

/// A schedule is claimed once due (`next_attempt_at <= now`), never before; the claim sets
/// `processing`, `locked_by`, `locked_until = now + lease`, `last_attempt = now`, counts the
/// attempt and carries a fresh attempt id (the token and the idempotency key).
pub async fn schedules_claim_when_due_with_lease<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let s = setup(h).await;
    let w = worker("claimer");
    assert!(claim(h, &w).await.is_empty(), "not due yet");
    h.time.advance(s.schedule.next_attempt_at - now(h) - Duration::seconds(1)).await;
    assert!(claim(h, &w).await.is_empty(), "one second early");
    tick(h).await;
    assert_eq!(now(h), s.schedule.next_attempt_at);
    let Claim { schedule: claimed, token } = claim_one(h, &w).await;
    assert_eq!((claimed.id, token.schedule_id()), (s.schedule.id, s.schedule.id));
    assert_eq!(claimed.status, ScheduleStatus::Processing);
    assert_eq!(claimed.locked_by.as_deref(), Some(w.as_str()));
    assert_eq!(claimed.locked_until, Some(now(h) + lease()));
    assert_eq!(claimed.last_attempt, Some(now(h)));
    assert_eq!((claimed.retry_count, claimed.attempt_count), (0, 1), "the claim counts as an attempt");
    assert_eq!(claimed.attempt_id, Some(token.attempt_id()));
    assert_eq!(token.idempotency_key(), token.attempt_id().to_string());
    assert_eq!(h.store.get_schedule(s.team.id, claimed.id).await.expect("get"), claimed);
    assert!(claim(h, &worker("other")).await.is_empty(), "claimed once");
}

/// Claims come oldest due first (`next_attempt_at ASC`), at most `limit` per call; limits,
/// leases and the policy are checked.
pub async fn schedules_claim_order_and_limits<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let (owner, team) = owned_team(h).await;
    let a = account(h, team.id, owner.id, Platform::Twitter).await;
    let base = now(h);
    let mut by_due = Vec::new();
    for minutes in [30, 10, 50, 20, 40] {
        let p = post(h, team.id, owner.id, Platform::Twitter).await.post;
        let at = base + Duration::minutes(minutes);
        let s = h.store.create_schedule(team.id, new_schedule(owner.id, p.id, a.id, at)).await.expect("schedule");
        by_due.push((at, s.id));
    }
    by_due.sort();
    let w = worker("ordered");
    let refused = [
        (0, lease(), "limit"),
        (1001, lease(), "limit"),
        (10, Duration::zero(), "lease"),
        (10, Duration::days(2), "lease"),
    ];
    for (limit, lease_len, field) in refused {
        invalid(h.store.claim_due(&w, req(limit, lease_len)).await, field, rule::RANGE);
    }
    let no_attempts = RetryPolicy { max_attempts: 0, ..RetryPolicy::default() };
    invalid(h.store.claim_due(&w, req(10, lease()).with_policy(no_attempts)).await, "retry_policy", rule::RANGE);
    h.time.advance(Duration::minutes(60)).await;
    let ids = |v: Vec<Claim>| v.into_iter().map(|c| c.schedule.id).collect::<Vec<_>>();
    let first = ids(h.store.claim_due(&w, req(2, lease())).await.expect("claim"));
    assert_eq!(first, vec![by_due[0].1, by_due[1].1]);
    let rest = ids(claim(h, &w).await);
    assert_eq!(rest, vec![by_due[2].1, by_due[3].1, by_due[4].1]);
}

/// 8 concurrent workers, each claiming 10 at a time until nothing is left, over 300 due
/// schedules: every schedule is claimed by exactly one worker, and holds that worker's lock.
pub async fn schedules_claim_exactly_once_concurrently<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let (owner, team) = owned_team(h).await;
    let accounts = [
        account(h, team.id, owner.id, Platform::Twitter).await,
        account(h, team.id, owner.id, Platform::Twitter).await,
    ];
    let at = now(h) + Duration::minutes(1);
    let mut expected = HashSet::new();
    for _ in 0..150 {
        let p = post(h, team.id, owner.id, Platform::Twitter).await.post;
        for a in &accounts {
            let s = h.store.create_schedule(team.id, new_schedule(owner.id, p.id, a.id, at)).await.expect("schedule");
            expected.insert(s.id);
        }
    }
    h.time.advance(Duration::minutes(2)).await;

    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = Arc::clone(&h.store);
        let w = worker(&format!("worker-{i}"));
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store.claim_due(&w, req(10, Duration::minutes(5))).await.expect("claim");
                if batch.is_empty() {
                    return (w, mine);
                }
                for c in batch {
                    assert_eq!(c.schedule.locked_by.as_deref(), Some(w.as_str()));
                    assert_eq!(c.schedule.status, ScheduleStatus::Processing);
                    mine.push(c.schedule.id);
                }
                tokio::task::yield_now().await;
            }
        }));
    }
    let mut owner_of: HashMap<ScheduleId, WorkerId> = HashMap::new();
    for task in tasks {
        let (w, mine) = task.await.expect("worker task");
        for id in mine {
            if let Some(previous) = owner_of.insert(id, w.clone()) {
                panic!("schedule {id} claimed by both {previous} and {w}");
            }
        }
    }
    assert_eq!(owner_of.len(), 300);
    assert_eq!(owner_of.keys().copied().collect::<HashSet<_>>(), expected, "every due schedule was claimed");
    let stored = h.store.list_schedules(team.id, ScheduleFilter::default(), all()).await.expect("list").items;
    assert_eq!(stored.len(), 300);
    for s in stored {
        assert_eq!(s.status, ScheduleStatus::Processing);
        assert_eq!(s.locked_by.as_deref(), owner_of.get(&s.id).map(WorkerId::as_str), "the claimer holds the lock");
    }
}

/// Only the claim's token completes it; completing stores the platform's post id, clears the
/// lock and publishes the post.
pub async fn schedules_complete_by_holder_only<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let s = setup(h).await;
    make_due(h, &s.schedule).await;
    let holder = worker("holder");
    let id = s.schedule.id;
    stale(h.store.complete(&forged(id), "tw-1").await);
    let Claim { schedule: claimed, token } = claim_one(h, &holder).await;
    stale(h.store.complete(&forged(id), "tw-1").await);
    for bad in [String::new(), repeat('x', 201), "tw\0".to_owned()] {
        invalid_any(h.store.complete(&token, &bad).await);
    }
    assert_eq!(h.store.get_schedule(s.team.id, id).await.expect("get"), claimed, "refused completions change nothing");

    h.time.advance(Duration::seconds(20)).await;
    let done = h.store.complete(&token, &repeat('9', 200)).await.expect("complete");
    assert_eq!(done.status, ScheduleStatus::Completed);
    assert_eq!(done.platform_post_id, Some(repeat('9', 200)));
    assert_eq!((done.locked_by.as_deref(), done.locked_until), (None, None));
    assert_eq!(done.updated_at, now(h));
    let p = h.store.get_post(s.team.id, s.post.id).await.expect("get post").post;
    assert_eq!((p.status, p.published_at), (PostStatus::Published, Some(now(h))));

    stale(h.store.complete(&token, "tw-2").await);
    not_found(h.store.complete(&forged(ScheduleId::new()), "tw-3").await, Entity::Schedule);
    assert!(claim(h, &worker("intruder")).await.is_empty(), "completed is never claimed");
}

/// Completing keeps a post's earlier `published_at`.
pub async fn schedules_complete_keeps_published_at<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let (owner, team) = owned_team(h).await;
    let a = account(h, team.id, owner.id, Platform::Twitter).await;
    let mut input = new_post_for(owner.id, Platform::Twitter);
    input.status = PostStatus::Published;
    let p = h.store.create_post(team.id, input).await.expect("create").post;
    let first = p.published_at;
    let s = schedule(h, team.id, owner.id, p.id, a.id).await;
    make_due(h, &s).await;
    let w = worker("keeper");
    let c = claim_one(h, &w).await;
    h.store.complete(&c.token, "tw-kept").await.expect("complete");
    assert_eq!(h.store.get_post(team.id, p.id).await.expect("get").post.published_at, first);
}

/// A failure goes back to pending after the policy's backoff, counting failures and keeping
/// the (clipped) error; once the claims reach the policy's attempts it fails for good.
pub async fn schedules_fail_retries_then_fails<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let s = setup(h).await;
    let policy = RetryPolicy { max_attempts: 3, base_delay: Duration::seconds(30), max_delay: Duration::hours(1) };
    let w = worker("flaky");
    let id = s.schedule.id;
    make_due(h, &s.schedule).await;
    stale(h.store.fail(&forged(id), "not claimed", policy).await);

    for attempt in 1..=2u32 {
        let c = claim_one(h, &w).await;
        stale(h.store.fail(&forged(id), "nope", policy).await);
        let error = format!("rate limited ({attempt})");
        let outcome = h.store.fail(&c.token, &error, policy).await.expect("fail");
        let due = now(h) + policy.delay_after(attempt);
        assert_eq!(outcome, FailOutcome::Retrying { next_attempt_at: due });
        let stored = h.store.get_schedule(s.team.id, id).await.expect("get");
        assert_eq!((stored.status, stored.retry_count), (ScheduleStatus::Pending, attempt as i32));
        assert_eq!(stored.next_attempt_at, due);
        assert_eq!(stored.last_error.as_deref(), Some(error.as_str()));
        assert_eq!((stored.locked_by.as_deref(), stored.locked_until), (None, None));
        assert_eq!(post_state(h, s.team.id, s.post.id).await.0, PostStatus::Scheduled, "still live");
        stale(h.store.fail(&c.token, "twice", policy).await);
        h.time.advance(policy.delay_after(attempt) - Duration::seconds(1)).await;
        assert!(claim(h, &w).await.is_empty(), "not before the backoff");
        tick(h).await;
    }
    let c = claim_one(h, &w).await;
    let long = repeat('e', 5000);
    assert_eq!(h.store.fail(&c.token, &long, policy).await.expect("fail"), FailOutcome::Failed);
    let stored = h.store.get_schedule(s.team.id, id).await.expect("get");
    assert_eq!((stored.status, stored.retry_count, stored.attempt_count), (ScheduleStatus::Failed, 3, 3));
    assert_eq!(stored.last_error, Some(clip_error(&long)), "the error is kept, clipped");
    assert_eq!((stored.locked_by.as_deref(), stored.locked_until), (None, None));
    assert_eq!(post_state(h, s.team.id, s.post.id).await.0, PostStatus::Failed, "its only schedule failed");
    h.time.advance(Duration::hours(2)).await;
    assert!(claim(h, &w).await.is_empty(), "failed is never claimed");
    stale(h.store.fail(&c.token, "again", policy).await);
    not_found(h.store.fail(&forged(ScheduleId::new()), "x", policy).await, Entity::Schedule);
}

/// An expired lease is recovered: back to pending, due now; another worker claims it and the
/// first claim can neither renew, mark, fail nor complete.
pub async fn schedules_lease_recovery<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let s = setup(h).await;
    let (first, second) = (worker("crashed"), worker("rescuer"));
    let policy = RetryPolicy::default();
    make_due(h, &s.schedule).await;
    let short = Duration::seconds(60);
    let old = h.store.claim_due(&first, req(10, short)).await.expect("claim");
    assert_eq!(old.len(), 1);
    h.time.advance(Duration::seconds(59)).await;
    assert_eq!(h.store.recover_expired(policy).await.expect("recover"), Recovered::default(), "the lease still runs");
    assert!(h.store.claim_due(&second, req(10, short)).await.expect("claim").is_empty(), "a live claim is not taken");
    tick(h).await;
    let done = h.store.recover_expired(policy).await.expect("recover");
    assert_eq!((done.retried, done.total()), (1, 1), "expired at locked_until");
    let recovered = h.store.get_schedule(s.team.id, s.schedule.id).await.expect("get");
    assert_eq!((recovered.status, recovered.retry_count, recovered.attempt_count), (ScheduleStatus::Pending, 0, 1));
    assert_eq!((recovered.locked_by.as_deref(), recovered.locked_until), (None, None));
    assert_eq!(recovered.next_attempt_at, now(h));
    assert_eq!(h.store.recover_expired(policy).await.expect("recover").total(), 0, "nothing left to recover");

    let taken = claim_one(h, &second).await;
    assert_eq!(taken.schedule.locked_by.as_deref(), Some(second.as_str()));
    assert_eq!(taken.schedule.attempt_count, 2);
    let old = &old[0].token;
    stale(h.store.complete(old, "tw-late").await);
    stale(h.store.renew_lease(old, short).await);
    stale(h.store.mark_publishing(old).await);
    stale(h.store.fail(old, "late", policy).await);
    stale(h.store.release(old).await);
    h.store.complete(&taken.token, "tw-rescued").await.expect("the new holder completes");
}

/// The defect this fences: one worker process holds a claim, its lease lapses, the schedule is
/// recovered and the SAME worker claims it again. The first task's token is stale (renew,
/// mark, complete, fail, release), the second's works: only one publish.
pub async fn schedules_claims_fenced_per_claim_not_per_worker<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let s = setup(h).await;
    let w = worker("one-process");
    let policy = RetryPolicy::default();
    make_due(h, &s.schedule).await;
    let short = Duration::seconds(10);
    let first = h.store.claim_due(&w, req(10, short)).await.expect("claim").remove(0);
    h.time.advance(short).await;
    // The same worker's next loop turn recovers the lapsed claim and takes it again.
    let second = h.store.claim_due(&w, req(10, short)).await.expect("claim").remove(0);
    assert_eq!(second.schedule.id, first.schedule.id);
    assert_eq!(second.schedule.locked_by, first.schedule.locked_by, "same worker id on both claims");
    assert_ne!(first.token, second.token, "each claim has its own token");
    assert_ne!(first.token.idempotency_key(), second.token.idempotency_key());
    stale(h.store.renew_lease(&first.token, short).await);
    stale(h.store.mark_publishing(&first.token).await);
    stale(h.store.complete(&first.token, "tw-first").await);
    stale(h.store.fail(&first.token, "first", policy).await);
    stale(h.store.release(&first.token).await);
    h.store.mark_publishing(&second.token).await.expect("mark");
    let done = h.store.complete(&second.token, "tw-second").await.expect("complete");
    assert_eq!(done.platform_post_id.as_deref(), Some("tw-second"));
}

/// Interleaved by the test: many tasks race the same schedule's stale and live tokens; exactly
/// one completion wins, and it is the live claim's.
pub async fn schedules_stale_tokens_lose_races<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let s = setup(h).await;
    let w = worker("racer");
    make_due(h, &s.schedule).await;
    let short = Duration::seconds(5);
    let mut stale_tokens = Vec::new();
    for _ in 0..4 {
        stale_tokens.push(h.store.claim_due(&w, req(1, short)).await.expect("claim").remove(0).token);
        h.time.advance(short).await;
    }
    let live = h.store.claim_due(&w, req(1, short)).await.expect("claim").remove(0).token;
    let mut tasks = Vec::new();
    for (i, token) in stale_tokens.iter().copied().chain(std::iter::once(live)).enumerate() {
        let store = Arc::clone(&h.store);
        tasks.push(tokio::spawn(async move {
            tokio::task::yield_now().await;
            (token, store.complete(&token, &format!("tw-{i}")).await)
        }));
    }
    let mut wins = Vec::new();
    for task in tasks {
        let (token, result) = task.await.expect("task");
        match result {
            Ok(_) => wins.push(token),
            Err(e) => assert!(matches!(e, crate::error::Error::StaleClaim { .. }), "{e:?}"),
        }
    }
    assert_eq!(wins, vec![live], "only the live claim completes");
}

/// The persisted publish boundary: a claim that lapses before its mark goes back to pending; one
/// that lapses after it becomes `outcome_unknown`, is never claimed again automatically, is
/// listed for a reconciler, and is resolved by confirm / retry / give up.
pub async fn schedules_publish_mark_and_unknown_outcome<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let (owner, team) = owned_team(h).await;
    let a = account(h, team.id, owner.id, Platform::Twitter).await;
    let at = now(h) + Duration::minutes(1);
    let mut posts = Vec::new();
    for _ in 0..3 {
        let p = post(h, team.id, owner.id, Platform::Twitter).await.post;
        h.store.create_schedule(team.id, new_schedule(owner.id, p.id, a.id, at)).await.expect("schedule");
        posts.push(p.id);
    }
    h.time.advance(Duration::minutes(2)).await;
    let short = Duration::seconds(30);
    let w = worker("publisher");
    let claims = h.store.claim_due(&w, req(10, short)).await.expect("claim");
    assert_eq!(claims.len(), 3);
    for c in &claims {
        let marked = h.store.mark_publishing(&c.token).await.expect("mark");
        assert_eq!(marked.status, ScheduleStatus::Publishing);
        assert_eq!(h.store.mark_publishing(&c.token).await.expect("mark twice").status, ScheduleStatus::Publishing);
        assert_eq!(h.store.renew_lease(&c.token, short).await.expect("renew").status, ScheduleStatus::Publishing);
    }
    invalid_state(h.store.release(&claims[0].token).await, Entity::Schedule);
    h.time.advance(short).await;
    // The next loop turn (any worker) recovers them: outcome unknown, never claimed again.
    assert!(h.store.claim_due(&worker("next"), req(10, short)).await.expect("claim").is_empty());
    for c in &claims {
        let got = h.store.get_schedule(team.id, c.schedule.id).await.expect("get");
        assert_eq!(got.status, ScheduleStatus::OutcomeUnknown);
        assert_eq!((got.locked_by.as_deref(), got.locked_until), (None, None));
        assert_eq!(got.attempt_id, Some(c.token.attempt_id()), "the unknown attempt's idempotency key is kept");
        stale(h.store.complete(&c.token, "tw-late").await);
        invalid_state(h.store.cancel_schedule(team.id, got.id).await, Entity::Schedule);
        assert_eq!(post_state(h, team.id, got.post_id).await.0, PostStatus::Scheduled, "undecided: still scheduled");
    }
    h.time.advance(Duration::days(30)).await;
    assert!(h.store.claim_due(&worker("much-later"), req(10, short)).await.expect("claim").is_empty());
    let unknown: Vec<ScheduleId> =
        h.store.unknown_outcomes(10).await.expect("unknown").into_iter().map(|s| s.id).collect();
    assert_eq!(unknown.len(), 3);
    let filter = ScheduleFilter { status: Some(ScheduleStatus::OutcomeUnknown), post_id: None };
    assert_eq!(h.store.list_schedules(team.id, filter, all()).await.expect("list").items.len(), 3);
    invalid(h.store.unknown_outcomes(0).await, "limit", rule::RANGE);

    // Confirm: completed with the platform's id; the post is published.
    let confirm = Resolution::ConfirmPublished("tw-found".to_owned());
    invalid_any(h.store.resolve_outcome(team.id, unknown[0], Resolution::ConfirmPublished(String::new())).await);
    not_found(h.store.resolve_outcome(TeamId::new(), unknown[0], confirm.clone()).await, Entity::Schedule);
    let done = h.store.resolve_outcome(team.id, unknown[0], confirm.clone()).await.expect("confirm");
    assert_eq!((done.status, done.platform_post_id.as_deref()), (ScheduleStatus::Completed, Some("tw-found")));
    invalid_state(h.store.resolve_outcome(team.id, unknown[0], confirm).await, Entity::Schedule);
    assert_eq!(post_state(h, team.id, done.post_id).await.0, PostStatus::Published);
    // Give up: failed; the post (no other schedule) failed.
    let gone = h.store.resolve_outcome(team.id, unknown[1], Resolution::GiveUp).await.expect("give up");
    assert_eq!((gone.status, gone.last_error.as_deref()), (ScheduleStatus::Failed, Some(GAVE_UP)));
    assert_eq!(post_state(h, team.id, gone.post_id).await.0, PostStatus::Failed);
    // Retry: pending, due now, claimed again with a new attempt.
    let again = h.store.resolve_outcome(team.id, unknown[2], Resolution::Retry).await.expect("retry");
    assert_eq!((again.status, again.next_attempt_at), (ScheduleStatus::Pending, now(h)));
    let c = claim_one(h, &w).await;
    assert_eq!((c.schedule.id, c.schedule.attempt_count), (unknown[2], 2));
    h.store.complete(&c.token, "tw-retried").await.expect("complete");
    assert!(h.store.unknown_outcomes(10).await.expect("unknown").is_empty());
}

/// `mark_publishing` after the lease has lapsed is refused: a publish never starts on a lapsed
/// claim, even before anyone recovered it.
pub async fn schedules_mark_refused_after_lapse<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let s = setup(h).await;
    make_due(h, &s.schedule).await;
    let c = h.store.claim_due(&worker("slow"), req(1, Duration::seconds(10))).await.expect("claim").remove(0);
    h.time.advance(Duration::seconds(10)).await;
    stale(h.store.mark_publishing(&c.token).await);
    let got = h.store.get_schedule(s.team.id, s.schedule.id).await.expect("get");
    assert_eq!(got.status, ScheduleStatus::Processing, "refused marks change nothing");
    assert_eq!(h.store.recover_expired(RetryPolicy::default()).await.expect("recover").retried, 1);
}

/// Poison schedules end: attempts count at claim time, so a schedule whose claims keep lapsing
/// (a worker that crashes on it) reaches `failed` after the policy's attempts, by the worker
/// loop alone (`claim_due` recovers).
pub async fn schedules_poison_claims_end_failed<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let s = setup(h).await;
    make_due(h, &s.schedule).await;
    let policy = RetryPolicy { max_attempts: 3, ..RetryPolicy::default() };
    let short = Duration::seconds(5);
    for attempt in 1..=3 {
        let crashing = worker(&format!("crash-{attempt}"));
        let got = h.store.claim_due(&crashing, req(10, short).with_policy(policy)).await.expect("claim");
        assert_eq!(got.len(), 1, "attempt {attempt} is claimed");
        assert_eq!(got[0].schedule.attempt_count, attempt);
        h.time.advance(short).await; // the worker dies; its lease lapses
    }
    let after = h.store.claim_due(&worker("survivor"), req(10, short).with_policy(policy)).await.expect("claim");
    assert!(after.is_empty(), "out of attempts: not claimed again");
    let got = h.store.get_schedule(s.team.id, s.schedule.id).await.expect("get");
    assert_eq!((got.status, got.attempt_count), (ScheduleStatus::Failed, 3));
    assert_eq!(got.last_error.as_deref(), Some(LAPSED_OUT_OF_ATTEMPTS));
    assert_eq!(post_state(h, s.team.id, s.post.id).await.0, PostStatus::Failed);
}

/// A released (unstarted) claim goes back to pending, due now, without counting the attempt.
pub async fn schedules_release_unstarted_claims<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let s = setup(h).await;
    make_due(h, &s.schedule).await;
    let c = claim_one(h, &worker("shutting-down")).await;
    let back = h.store.release(&c.token).await.expect("release");
    assert_eq!((back.status, back.attempt_count, back.next_attempt_at), (ScheduleStatus::Pending, 0, now(h)));
    assert_eq!((back.locked_by.as_deref(), back.locked_until), (None, None));
    stale(h.store.release(&c.token).await);
    not_found(h.store.release(&forged(ScheduleId::new())).await, Entity::Schedule);
    let again = claim_one(h, &worker("next")).await;
    assert_eq!(again.schedule.attempt_count, 1);
}

/// `renew_lease` extends the claim's lease from now; a renewed claim is not recovered.
pub async fn schedules_renew_lease_extends<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let s = setup(h).await;
    let w = worker("renewer");
    make_due(h, &s.schedule).await;
    let c = h.store.claim_due(&w, req(10, Duration::seconds(60))).await.expect("claim").remove(0);
    h.time.advance(Duration::seconds(30)).await;
    invalid(h.store.renew_lease(&c.token, Duration::zero()).await, "lease", rule::RANGE);
    stale(h.store.renew_lease(&forged(s.schedule.id), lease()).await);
    let renewed = h.store.renew_lease(&c.token, Duration::seconds(120)).await.expect("renew");
    assert_eq!(renewed.locked_until, Some(now(h) + Duration::seconds(120)));
    assert_eq!((renewed.status, renewed.locked_by.as_deref()), (ScheduleStatus::Processing, Some(w.as_str())));
    h.time.advance(Duration::seconds(100)).await;
    assert_eq!(h.store.recover_expired(RetryPolicy::default()).await.expect("recover").total(), 0, "still runs");
    assert_eq!(h.store.get_schedule(s.team.id, s.schedule.id).await.expect("get").status, ScheduleStatus::Processing);
    not_found(h.store.renew_lease(&forged(ScheduleId::new()), lease()).await, Entity::Schedule);
    h.store.complete(&c.token, "tw-renewed").await.expect("complete");
    stale(h.store.renew_lease(&c.token, lease()).await);
}

/// Leases and backoffs given with nanoseconds are stored truncated to microseconds, as
/// PostgreSQL keeps them, so every backend returns the same times.
pub async fn schedules_times_truncated_to_micros<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let s = setup(h).await;
    make_due(h, &s.schedule).await;
    let odd = Duration::seconds(60) + Duration::nanoseconds(123_456_789);
    let c = h.store.claim_due(&worker("precise"), req(1, odd)).await.expect("claim").remove(0);
    let until = c.schedule.locked_until.expect("leased");
    assert_eq!(until.timestamp_subsec_nanos() % 1_000, 0, "lease end in microseconds: {until:?}");
    assert_eq!(h.store.get_schedule(s.team.id, s.schedule.id).await.expect("get"), c.schedule);
    let renewed = h.store.renew_lease(&c.token, odd).await.expect("renew");
    assert_eq!(renewed.locked_until.expect("leased").timestamp_subsec_nanos() % 1_000, 0);
    assert_eq!(h.store.get_schedule(s.team.id, s.schedule.id).await.expect("get"), renewed);
    let policy = RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::seconds(1) + Duration::nanoseconds(987_654_321),
        max_delay: Duration::hours(1),
    };
    let FailOutcome::Retrying { next_attempt_at } = h.store.fail(&c.token, "odd", policy).await.expect("fail") else {
        panic!("retries");
    };
    assert_eq!(next_attempt_at.timestamp_subsec_nanos() % 1_000, 0);
    assert_eq!(h.store.get_schedule(s.team.id, s.schedule.id).await.expect("get").next_attempt_at, next_attempt_at);
}

/// Only pending schedules are cancelled; cancelled ones are never claimed.
pub async fn schedules_cancel_only_pending<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let s = setup(h).await;
    let other_account = account(h, s.team.id, s.owner.id, Platform::Twitter).await;
    let other = schedule(h, s.team.id, s.owner.id, s.post.id, other_account.id).await;
    let cancelled = h.store.cancel_schedule(s.team.id, s.schedule.id).await.expect("cancel");
    assert_eq!(cancelled.status, ScheduleStatus::Cancelled);
    invalid_state(h.store.cancel_schedule(s.team.id, s.schedule.id).await, Entity::Schedule);
    make_due(h, &other).await;
    let w = worker("canceller");
    let c = claim_one(h, &w).await;
    assert_eq!(c.schedule.id, other.id, "a cancelled schedule is not claimed");
    invalid_state(h.store.cancel_schedule(s.team.id, other.id).await, Entity::Schedule);
    h.store.complete(&c.token, "tw-c").await.expect("complete");
    invalid_state(h.store.cancel_schedule(s.team.id, other.id).await, Entity::Schedule);
    not_found(h.store.cancel_schedule(s.team.id, ScheduleId::new()).await, Entity::Schedule);
}

/// One live schedule per post and account (`uq_schedules_post_account_live`): a second one is a
/// `Conflict`, also when two arrive at once (a double click); once the first has ended, the
/// post can be scheduled there again.
pub async fn schedules_one_live_per_post_and_account<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let s = setup(h).await;
    let again = new_schedule(s.owner.id, s.post.id, s.account.id, now(h) + Duration::hours(3));
    conflict(
        h.store.create_schedule(s.team.id, again.clone()).await,
        Entity::Schedule,
        constraint::UQ_SCHEDULES_POST_ACCOUNT_LIVE,
    );
    // Another account of the team is another target: allowed.
    let second_account = account(h, s.team.id, s.owner.id, Platform::Twitter).await;
    h.store
        .create_schedule(s.team.id, new_schedule(s.owner.id, s.post.id, second_account.id, now(h) + Duration::hours(3)))
        .await
        .expect("another account");
    // Still live while claimed and publishing.
    make_due(h, &s.schedule).await;
    let c = claim_one(h, &worker("live")).await;
    conflict(
        h.store.create_schedule(s.team.id, again.clone()).await,
        Entity::Schedule,
        constraint::UQ_SCHEDULES_POST_ACCOUNT_LIVE,
    );
    h.store.mark_publishing(&c.token).await.expect("mark");
    conflict(
        h.store.create_schedule(s.team.id, again.clone()).await,
        Entity::Schedule,
        constraint::UQ_SCHEDULES_POST_ACCOUNT_LIVE,
    );
    h.store.complete(&c.token, "tw-once").await.expect("complete");
    let later = NewSchedule { scheduled_time: now(h) + Duration::hours(5), ..again };
    h.store.create_schedule(s.team.id, later).await.expect("the first one ended");

    // A double click: two concurrent creates, exactly one wins.
    let p = post(h, s.team.id, s.owner.id, Platform::Twitter).await.post;
    let input = new_schedule(s.owner.id, p.id, s.account.id, now(h) + Duration::hours(1));
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (store, input) = (Arc::clone(&h.store), input.clone());
            tokio::spawn(async move { store.create_schedule(s.team.id, input).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.rule(), Some(constraint::UQ_SCHEDULES_POST_ACCOUNT_LIVE), "{e:?}"),
        }
    }
    assert_eq!(ok, 1, "one schedule for one click");
}

/// The post's status follows its schedules: `scheduled` while any is live (`scheduled_at` the
/// earliest live time), `published` once any completed (for good), `failed` when all ended and
/// none published, `draft` (with `scheduled_at` cleared) when the last live one is cancelled.
pub async fn schedules_post_status_follows_schedules<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let (owner, team) = owned_team(h).await;
    let accounts = [
        account(h, team.id, owner.id, Platform::Twitter).await,
        account(h, team.id, owner.id, Platform::Twitter).await,
    ];
    let policy = RetryPolicy { max_attempts: 1, ..RetryPolicy::default() };
    let (early, late) = (now(h) + Duration::hours(1), now(h) + Duration::hours(2));
    let both = |p: PostId| {
        let store = &*h.store;
        let a = accounts.clone();
        async move {
            let x = store.create_schedule(team.id, new_schedule(owner.id, p, a[0].id, late)).await.expect("late");
            let y = store.create_schedule(team.id, new_schedule(owner.id, p, a[1].id, early)).await.expect("early");
            (x, y)
        }
    };

    // Cancelled one by one: scheduled at the earliest live time, then draft.
    let p = post(h, team.id, owner.id, Platform::Twitter).await.post;
    let (x, y) = both(p.id).await;
    assert_eq!(post_state(h, team.id, p.id).await, (PostStatus::Scheduled, Some(early)));
    h.store.cancel_schedule(team.id, y.id).await.expect("cancel");
    assert_eq!(post_state(h, team.id, p.id).await, (PostStatus::Scheduled, Some(late)));
    h.store.cancel_schedule(team.id, x.id).await.expect("cancel");
    assert_eq!(post_state(h, team.id, p.id).await, (PostStatus::Draft, None), "no ghost scheduled post");
    let scheduled = PostFilter { status: Some(PostStatus::Scheduled) };
    assert!(h.store.list_posts(team.id, scheduled, all()).await.expect("list").items.is_empty());

    // Both fail: scheduled while one is left, failed when none is.
    let q = post(h, team.id, owner.id, Platform::Twitter).await.post;
    both(q.id).await;
    h.time.advance(Duration::hours(3)).await;
    let w = worker("doomed");
    let claims = h.store.claim_due(&w, req(10, lease()).with_policy(policy)).await.expect("claim");
    assert_eq!(claims.len(), 2);
    h.store.fail(&claims[0].token, "refused", policy).await.expect("fail");
    assert_eq!(post_state(h, team.id, q.id).await.0, PostStatus::Scheduled, "one still live");
    h.store.fail(&claims[1].token, "refused", policy).await.expect("fail");
    assert_eq!(post_state(h, team.id, q.id).await.0, PostStatus::Failed, "all ended, none published");

    // One completes, the other fails later: published, and it stays published.
    let r = post(h, team.id, owner.id, Platform::Twitter).await.post;
    let at = now(h) + Duration::minutes(1);
    for a in &accounts {
        h.store.create_schedule(team.id, new_schedule(owner.id, r.id, a.id, at)).await.expect("schedule");
    }
    h.time.advance(Duration::minutes(2)).await;
    let claims = h.store.claim_due(&w, req(10, lease()).with_policy(policy)).await.expect("claim");
    h.store.complete(&claims[0].token, "tw-ok").await.expect("complete");
    let published = h.store.get_post(team.id, r.id).await.expect("get").post;
    assert_eq!((published.status, published.published_at), (PostStatus::Published, Some(now(h))));
    tick(h).await;
    h.store.fail(&claims[1].token, "refused", policy).await.expect("fail");
    let still = h.store.get_post(team.id, r.id).await.expect("get").post;
    assert_eq!((still.status, still.published_at), (PostStatus::Published, published.published_at));

    // A failed post scheduled again is scheduled again.
    h.store
        .create_schedule(team.id, new_schedule(owner.id, q.id, accounts[0].id, now(h) + Duration::hours(1)))
        .await
        .expect("again");
    assert_eq!(post_state(h, team.id, q.id).await.0, PostStatus::Scheduled);
}

/// `update_post` may not make a post stop fitting a live schedule's platform.
pub async fn schedules_update_post_must_fit_live_schedules<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let (owner, team) = owned_team(h).await;
    let x = account(h, team.id, owner.id, Platform::Twitter).await;
    // The post's own platforms say nothing of X: only its live schedule does.
    let mut input = new_post_for(owner.id, Platform::Twitter);
    input.platforms = Vec::new();
    let p = h.store.create_post(team.id, input).await.expect("create").post;
    let s = schedule(h, team.id, owner.id, p.id, x.id).await;
    let too_long = PostUpdate { content: Some(repeat('a', 281)), ..PostUpdate::default() };
    invalid(h.store.update_post(team.id, p.id, too_long.clone()).await, "content", rule::PLATFORM_TEXT);
    let kept = h.store.get_post(team.id, p.id).await.expect("get").post;
    assert_eq!(kept.content, p.content, "refused updates change nothing");
    h.store.cancel_schedule(team.id, s.id).await.expect("cancel");
    h.store.update_post(team.id, p.id, too_long).await.expect("no live schedule on X any more");
}

/// Schedules of an inactive account are not claimed until it is active again.
pub async fn schedules_inactive_account_not_claimed<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let s = setup(h).await;
    let off = SocialAccountUpdate { is_active: Some(false), ..SocialAccountUpdate::default() };
    h.store.update_account(s.team.id, s.account.id, off).await.expect("deactivate");
    make_due(h, &s.schedule).await;
    h.time.advance(Duration::hours(1)).await;
    let w = worker("inactive");
    assert!(claim(h, &w).await.is_empty(), "an inactive account never publishes");
    let on = SocialAccountUpdate { is_active: Some(true), ..SocialAccountUpdate::default() };
    h.store.update_account(s.team.id, s.account.id, on).await.expect("reactivate");
    assert_eq!(claim_one(h, &w).await.schedule.id, s.schedule.id);
}

/// `list_schedules` filters by status and post, newest first.
pub async fn schedules_list_filters<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let s = setup(h).await;
    tick(h).await;
    let other_post = post(h, s.team.id, s.owner.id, Platform::Twitter).await.post;
    let second = schedule(h, s.team.id, s.owner.id, other_post.id, s.account.id).await;
    tick(h).await;
    let other_account = account(h, s.team.id, s.owner.id, Platform::Twitter).await;
    let third = schedule(h, s.team.id, s.owner.id, s.post.id, other_account.id).await;
    h.store.cancel_schedule(s.team.id, third.id).await.expect("cancel");
    let ids = |v: Page<Schedule>| v.items.into_iter().map(|s| s.id).collect::<Vec<ScheduleId>>();
    let list = |filter: ScheduleFilter| h.store.list_schedules(s.team.id, filter, all());
    assert_eq!(ids(list(ScheduleFilter::default()).await.expect("list")), vec![third.id, second.id, s.schedule.id]);
    let pending = ScheduleFilter { status: Some(ScheduleStatus::Pending), ..ScheduleFilter::default() };
    assert_eq!(ids(list(pending).await.expect("list")), vec![second.id, s.schedule.id]);
    let of_post = ScheduleFilter { post_id: Some(s.post.id), ..ScheduleFilter::default() };
    assert_eq!(ids(list(of_post).await.expect("list")), vec![third.id, s.schedule.id]);
    let both = ScheduleFilter { status: Some(ScheduleStatus::Cancelled), post_id: Some(s.post.id) };
    assert_eq!(ids(list(both).await.expect("list")), vec![third.id]);
    not_found(h.store.get_schedule(s.team.id, ScheduleId::new()).await, Entity::Schedule);
}

/// `create_post_with_schedules` stores the post, its media and its schedules together: the
/// schedules pending, in the given order, by the post's author, on each account's platform; the
/// post `scheduled` at the earliest time; every read sees exactly what the call returned.
pub async fn schedules_create_post_with_schedules_together<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let (owner, team) = owned_team(h).await;
    let x = account(h, team.id, owner.id, Platform::Twitter).await;
    let insta = account(h, team.id, owner.id, Platform::Instagram).await;
    let mut input = new_post_for(owner.id, Platform::Instagram);
    input.platforms = vec![Platform::Instagram, Platform::Twitter];
    let (late, early) = (now(h) + Duration::hours(3), now(h) + Duration::hours(2));
    let schedules =
        vec![NewPostSchedule::new(insta.id, late, "Europe/Paris"), NewPostSchedule::new(x.id, early, "Asia/Tokyo")];
    let made = h.store.create_post_with_schedules(team.id, input, schedules).await.expect("create");
    assert_eq!(made.post.media.len(), 1);
    assert_eq!((made.post.post.status, made.post.post.scheduled_at), (PostStatus::Scheduled, Some(early)));
    let got: Vec<_> = made.schedules.iter().map(|s| (s.social_account_id, s.platform, s.scheduled_time)).collect();
    assert_eq!(got, [(insta.id, Platform::Instagram, late), (x.id, Platform::Twitter, early)], "in the given order");
    for s in &made.schedules {
        assert_eq!(
            (s.status, s.user_id, s.team_id, s.post_id),
            (ScheduleStatus::Pending, owner.id, team.id, made.post.post.id)
        );
        assert_eq!(s.next_attempt_at, s.scheduled_time);
        assert_eq!(&h.store.get_schedule(team.id, s.id).await.expect("get schedule"), s, "stored as returned");
    }
    assert_eq!(made.schedules[1].timezone, "Asia/Tokyo");
    assert_eq!(h.store.get_post(team.id, made.post.post.id).await.expect("get post"), made.post, "stored as returned");
    let filter = ScheduleFilter { post_id: Some(made.post.post.id), ..ScheduleFilter::default() };
    let listed = h.store.list_schedules(team.id, filter, all()).await.expect("list").items;
    assert_eq!(listed.len(), 2);
    let feed = h.store.list_posts(team.id, PostFilter::default(), all()).await.expect("list posts").items;
    assert_eq!(feed, std::slice::from_ref(&made.post.post));

    let none = h.store.create_post_with_schedules(team.id, new_post_for(owner.id, Platform::Twitter), Vec::new());
    let none = none.await.expect("create without schedules");
    assert!(none.schedules.is_empty());
    assert_eq!((none.post.post.status, none.post.post.scheduled_at), (PostStatus::Draft, None), "as create_post");
}

/// `create_post_with_schedules` is all or nothing: a refused post or any refused schedule (too
/// many, in the past, an account of another team or none, an inactive account, a post that does
/// not fit the account's platform, two on one account, an author who is not a member) leaves no
/// post, no media and no schedule.
pub async fn schedules_create_post_with_schedules_all_or_nothing<S: SchedulePorts + ?Sized + 'static>(h: &Harness<S>) {
    let (owner, team) = owned_team(h).await;
    let (other_owner, other_team) = owned_team(h).await;
    let x = account(h, team.id, owner.id, Platform::Twitter).await;
    let insta = account(h, team.id, owner.id, Platform::Instagram).await;
    let off = account(h, team.id, owner.id, Platform::Facebook).await;
    let theirs = account(h, other_team.id, other_owner.id, Platform::Twitter).await;
    let update = SocialAccountUpdate { is_active: Some(false), ..SocialAccountUpdate::default() };
    h.store.update_account(team.id, off.id, update).await.expect("deactivate");
    let at = now(h) + Duration::hours(1);
    let ok = NewPostSchedule::new(x.id, at, "Europe/Paris");
    let with = |bad: NewPostSchedule| vec![ok.clone(), bad];
    let create = |user: UserId, schedules: Vec<NewPostSchedule>| {
        let store = &*h.store;
        let mut input = new_post_for(user, Platform::Twitter);
        input.platforms = Vec::new();
        async move { store.create_post_with_schedules(team.id, input, schedules).await }
    };

    invalid(create(owner.id, vec![ok.clone(); MAX_SCHEDULES_PER_POST + 1]).await, "schedules", rule::RANGE);
    invalid(
        create(owner.id, with(NewPostSchedule::new(insta.id, now(h) - Duration::minutes(1), "UTC"))).await,
        "scheduled_time",
        rule::SCHEDULE_FUTURE,
    );
    invalid_any(create(owner.id, with(NewPostSchedule::new(insta.id, at, "Mars/Olympus_Mons"))).await);
    for acct in [theirs.id, SocialAccountId::new()] {
        missing(
            create(owner.id, with(NewPostSchedule::new(acct, at, "UTC"))).await,
            Entity::Schedule,
            Entity::SocialAccount,
            constraint::FK_SCHEDULES_SOCIAL_ACCOUNT,
        );
    }
    invalid_state_any(create(owner.id, with(NewPostSchedule::new(off.id, at, "UTC"))).await);
    invalid(create(owner.id, with(NewPostSchedule::new(insta.id, at, "UTC"))).await, "media", rule::PLATFORM_MEDIA);
    conflict(
        create(owner.id, with(NewPostSchedule::new(x.id, at + Duration::hours(1), "UTC"))).await,
        Entity::Schedule,
        constraint::UQ_SCHEDULES_POST_ACCOUNT_LIVE,
    );
    match create(other_owner.id, vec![ok.clone()]).await {
        Err(crate::Error::NotAMember { entity: Entity::Post, .. }) => {}
        other => panic!("expected NotAMember {{ entity: posts }}, got {other:?}"),
    }
    missing(create(UserId::new(), vec![ok.clone()]).await, Entity::Post, Entity::User, constraint::FK_POSTS_USER);

    for t in [team.id, other_team.id] {
        let posts = h.store.list_posts(t, PostFilter::default(), all()).await.expect("list posts");
        assert!(posts.items.is_empty(), "no post left behind");
        let listed = h.store.list_schedules(t, ScheduleFilter::default(), all()).await.expect("list");
        assert!(listed.items.is_empty(), "no schedule left behind");
    }
    let made = create(owner.id, vec![ok]).await.expect("the good schedule alone");
    assert_eq!(made.schedules.len(), 1);
}
