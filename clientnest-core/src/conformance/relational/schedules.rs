//! Schedules and the publishing workers' claim protocol: creation rules, claims (exactly once,
//! even with concurrent workers), completion by the holder only, retries with backoff, lease
//! renewal and recovery, cancellation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::Duration;

use super::fixtures::*;
use crate::conformance::Harness;
use crate::constraint;
use crate::error::Entity;
use crate::ids::{PostId, ScheduleId, SocialAccountId, TeamId, UserId};
use crate::model::*;
use crate::page::Page;
use crate::ports::*;
use crate::validate::rule;

/// A lease long enough for any test step.
fn lease() -> Duration {
    Duration::minutes(5)
}

/// A worker id.
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

async fn setup<S: Repositories + ?Sized>(h: &Harness<S>) -> Setup {
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

/// Claim the one due schedule for `w`.
async fn claim_one<S: Repositories + ?Sized>(h: &Harness<S>, w: &WorkerId) -> Schedule {
    let mut got = h.store.claim_due(w, 10, lease()).await.expect("claim");
    assert_eq!(got.len(), 1, "exactly one schedule is due");
    got.remove(0)
}

/// A new schedule is pending at `scheduled_time` on the account's platform, and its draft post
/// becomes `scheduled`.
pub async fn schedules_create_makes_post_scheduled<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
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
pub async fn schedules_create_rules<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
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
pub async fn schedules_create_references<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
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
/// `processing`, `locked_by`, `locked_until = now + lease` and `last_attempt = now`.
pub async fn schedules_claim_when_due_with_lease<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let s = setup(h).await;
    let w = worker("claimer");
    assert!(h.store.claim_due(&w, 10, lease()).await.expect("claim").is_empty(), "not due yet");
    h.time.advance(s.schedule.next_attempt_at - now(h) - Duration::seconds(1)).await;
    assert!(h.store.claim_due(&w, 10, lease()).await.expect("claim").is_empty(), "one second early");
    tick(h).await;
    assert_eq!(now(h), s.schedule.next_attempt_at);
    let claimed = claim_one(h, &w).await;
    assert_eq!(claimed.id, s.schedule.id);
    assert_eq!(claimed.status, ScheduleStatus::Processing);
    assert_eq!(claimed.locked_by.as_deref(), Some(w.as_str()));
    assert_eq!(claimed.locked_until, Some(now(h) + lease()));
    assert_eq!(claimed.last_attempt, Some(now(h)));
    assert_eq!(claimed.retry_count, 0);
    assert_eq!(h.store.get_schedule(s.team.id, claimed.id).await.expect("get"), claimed);
    assert!(h.store.claim_due(&worker("other"), 10, lease()).await.expect("claim").is_empty(), "claimed once");
}

/// Claims come oldest due first (`next_attempt_at ASC`), at most `limit` per call; limits and
/// leases are checked.
pub async fn schedules_claim_order_and_limits<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
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
        invalid(h.store.claim_due(&w, limit, lease_len).await, field, rule::RANGE);
    }
    h.time.advance(Duration::minutes(60)).await;
    let first: Vec<ScheduleId> =
        h.store.claim_due(&w, 2, lease()).await.expect("claim").into_iter().map(|s| s.id).collect();
    assert_eq!(first, vec![by_due[0].1, by_due[1].1]);
    let rest: Vec<ScheduleId> =
        h.store.claim_due(&w, 10, lease()).await.expect("claim").into_iter().map(|s| s.id).collect();
    assert_eq!(rest, vec![by_due[2].1, by_due[3].1, by_due[4].1]);
}

/// 8 concurrent workers, each claiming 10 at a time until nothing is left, over 300 due
/// schedules: every schedule is claimed by exactly one worker, and holds that worker's lock.
pub async fn schedules_claim_exactly_once_concurrently<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
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
                let batch = store.claim_due(&w, 10, Duration::minutes(5)).await.expect("claim");
                if batch.is_empty() {
                    return (w, mine);
                }
                for s in batch {
                    assert_eq!(s.locked_by.as_deref(), Some(w.as_str()));
                    assert_eq!(s.status, ScheduleStatus::Processing);
                    mine.push(s.id);
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

/// Only the holder completes a claim; completing stores the platform's post id, clears the
/// lock and publishes the post.
pub async fn schedules_complete_by_holder_only<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let s = setup(h).await;
    make_due(h, &s.schedule).await;
    let (holder, intruder) = (worker("holder"), worker("intruder"));
    let id = s.schedule.id;
    invalid_state(h.store.complete(id, &holder, "tw-1").await, Entity::Schedule);
    let claimed = claim_one(h, &holder).await;
    invalid_state(h.store.complete(id, &intruder, "tw-1").await, Entity::Schedule);
    for bad in [String::new(), repeat('x', 201), "tw\0".to_owned()] {
        invalid_any(h.store.complete(id, &holder, &bad).await);
    }
    assert_eq!(h.store.get_schedule(s.team.id, id).await.expect("get"), claimed, "refused completions change nothing");

    h.time.advance(Duration::seconds(20)).await;
    let done = h.store.complete(id, &holder, &repeat('9', 200)).await.expect("complete");
    assert_eq!(done.status, ScheduleStatus::Completed);
    assert_eq!(done.platform_post_id, Some(repeat('9', 200)));
    assert_eq!((done.locked_by.as_deref(), done.locked_until), (None, None));
    assert_eq!(done.updated_at, now(h));
    let p = h.store.get_post(s.team.id, s.post.id).await.expect("get post").post;
    assert_eq!((p.status, p.published_at), (PostStatus::Published, Some(now(h))));

    invalid_state(h.store.complete(id, &holder, "tw-2").await, Entity::Schedule);
    not_found(h.store.complete(ScheduleId::new(), &holder, "tw-3").await, Entity::Schedule);
    assert!(h.store.claim_due(&intruder, 10, lease()).await.expect("claim").is_empty(), "completed is never claimed");
}

/// Completing keeps a post's earlier `published_at`.
pub async fn schedules_complete_keeps_published_at<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let (owner, team) = owned_team(h).await;
    let a = account(h, team.id, owner.id, Platform::Twitter).await;
    let mut input = new_post_for(owner.id, Platform::Twitter);
    input.status = PostStatus::Published;
    let p = h.store.create_post(team.id, input).await.expect("create").post;
    let first = p.published_at;
    let s = schedule(h, team.id, owner.id, p.id, a.id).await;
    make_due(h, &s).await;
    let w = worker("keeper");
    claim_one(h, &w).await;
    h.store.complete(s.id, &w, "tw-kept").await.expect("complete");
    assert_eq!(h.store.get_post(team.id, p.id).await.expect("get").post.published_at, first);
}

/// A failure goes back to pending after the policy's backoff, counting attempts and keeping the
/// (clipped) error; once the attempts are used up the schedule fails for good.
pub async fn schedules_fail_retries_then_fails<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let s = setup(h).await;
    let policy = RetryPolicy { max_attempts: 3, base_delay: Duration::seconds(30), max_delay: Duration::hours(1) };
    let w = worker("flaky");
    let id = s.schedule.id;
    make_due(h, &s.schedule).await;
    invalid_state(h.store.fail(id, &w, "not claimed", policy).await, Entity::Schedule);

    for attempt in 1..=2u32 {
        claim_one(h, &w).await;
        invalid_state(h.store.fail(id, &worker("stranger"), "nope", policy).await, Entity::Schedule);
        let error = format!("rate limited ({attempt})");
        let outcome = h.store.fail(id, &w, &error, policy).await.expect("fail");
        let due = now(h) + policy.delay_after(attempt);
        assert_eq!(outcome, FailOutcome::Retrying { next_attempt_at: due });
        let stored = h.store.get_schedule(s.team.id, id).await.expect("get");
        assert_eq!((stored.status, stored.retry_count), (ScheduleStatus::Pending, attempt as i32));
        assert_eq!(stored.next_attempt_at, due);
        assert_eq!(stored.last_error.as_deref(), Some(error.as_str()));
        assert_eq!((stored.locked_by.as_deref(), stored.locked_until), (None, None));
        h.time.advance(policy.delay_after(attempt) - Duration::seconds(1)).await;
        assert!(h.store.claim_due(&w, 10, lease()).await.expect("claim").is_empty(), "not before the backoff");
        tick(h).await;
    }
    claim_one(h, &w).await;
    let long = repeat('e', 5000);
    assert_eq!(h.store.fail(id, &w, &long, policy).await.expect("fail"), FailOutcome::Failed);
    let stored = h.store.get_schedule(s.team.id, id).await.expect("get");
    assert_eq!((stored.status, stored.retry_count), (ScheduleStatus::Failed, 3));
    assert_eq!(stored.last_error, Some(clip_error(&long)), "the error is kept, clipped");
    assert_eq!((stored.locked_by.as_deref(), stored.locked_until), (None, None));
    h.time.advance(Duration::hours(2)).await;
    assert!(h.store.claim_due(&w, 10, lease()).await.expect("claim").is_empty(), "failed is never claimed");
    invalid_state(h.store.fail(id, &w, "again", policy).await, Entity::Schedule);
    not_found(h.store.fail(ScheduleId::new(), &w, "x", policy).await, Entity::Schedule);
}

/// An expired lease is recovered: back to pending, due now, retry count unchanged; another
/// worker claims it and the first worker can neither renew nor complete.
pub async fn schedules_lease_recovery<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let s = setup(h).await;
    let (first, second) = (worker("crashed"), worker("rescuer"));
    make_due(h, &s.schedule).await;
    let short = Duration::seconds(60);
    let claimed = h.store.claim_due(&first, 10, short).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    h.time.advance(Duration::seconds(59)).await;
    assert_eq!(h.store.recover_expired().await.expect("recover"), 0, "the lease still runs");
    assert!(h.store.claim_due(&second, 10, short).await.expect("claim").is_empty(), "a live claim is not taken");
    tick(h).await;
    assert_eq!(h.store.recover_expired().await.expect("recover"), 1, "expired at locked_until");
    let recovered = h.store.get_schedule(s.team.id, s.schedule.id).await.expect("get");
    assert_eq!((recovered.status, recovered.retry_count), (ScheduleStatus::Pending, 0));
    assert_eq!((recovered.locked_by.as_deref(), recovered.locked_until), (None, None));
    assert_eq!(recovered.next_attempt_at, now(h));
    assert_eq!(h.store.recover_expired().await.expect("recover"), 0, "nothing left to recover");

    let taken = claim_one(h, &second).await;
    assert_eq!(taken.locked_by.as_deref(), Some(second.as_str()));
    invalid_state(h.store.complete(s.schedule.id, &first, "tw-late").await, Entity::Schedule);
    invalid_state(h.store.renew_lease(s.schedule.id, &first, short).await, Entity::Schedule);
    h.store.complete(s.schedule.id, &second, "tw-rescued").await.expect("the new holder completes");
}

/// `renew_lease` extends the holder's lease from now; a renewed claim is not recovered.
pub async fn schedules_renew_lease_extends<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let s = setup(h).await;
    let w = worker("renewer");
    make_due(h, &s.schedule).await;
    h.store.claim_due(&w, 10, Duration::seconds(60)).await.expect("claim");
    h.time.advance(Duration::seconds(30)).await;
    invalid(h.store.renew_lease(s.schedule.id, &w, Duration::zero()).await, "lease", rule::RANGE);
    invalid_state(h.store.renew_lease(s.schedule.id, &worker("other"), lease()).await, Entity::Schedule);
    let renewed = h.store.renew_lease(s.schedule.id, &w, Duration::seconds(120)).await.expect("renew");
    assert_eq!(renewed.locked_until, Some(now(h) + Duration::seconds(120)));
    assert_eq!((renewed.status, renewed.locked_by.as_deref()), (ScheduleStatus::Processing, Some(w.as_str())));
    h.time.advance(Duration::seconds(100)).await;
    assert_eq!(h.store.recover_expired().await.expect("recover"), 0, "the renewed lease still runs");
    assert_eq!(h.store.get_schedule(s.team.id, s.schedule.id).await.expect("get").status, ScheduleStatus::Processing);
    not_found(h.store.renew_lease(ScheduleId::new(), &w, lease()).await, Entity::Schedule);
    h.store.complete(s.schedule.id, &w, "tw-renewed").await.expect("complete");
    invalid_state(h.store.renew_lease(s.schedule.id, &w, lease()).await, Entity::Schedule);
}

/// Only pending schedules are cancelled; cancelled ones are never claimed.
pub async fn schedules_cancel_only_pending<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let s = setup(h).await;
    let other = schedule(h, s.team.id, s.owner.id, s.post.id, s.account.id).await;
    let cancelled = h.store.cancel_schedule(s.team.id, s.schedule.id).await.expect("cancel");
    assert_eq!(cancelled.status, ScheduleStatus::Cancelled);
    invalid_state(h.store.cancel_schedule(s.team.id, s.schedule.id).await, Entity::Schedule);
    make_due(h, &other).await;
    let w = worker("canceller");
    let claimed = claim_one(h, &w).await;
    assert_eq!(claimed.id, other.id, "a cancelled schedule is not claimed");
    invalid_state(h.store.cancel_schedule(s.team.id, other.id).await, Entity::Schedule);
    h.store.complete(other.id, &w, "tw-c").await.expect("complete");
    invalid_state(h.store.cancel_schedule(s.team.id, other.id).await, Entity::Schedule);
    not_found(h.store.cancel_schedule(s.team.id, ScheduleId::new()).await, Entity::Schedule);
}

/// Schedules of an inactive account are not claimed until it is active again.
pub async fn schedules_inactive_account_not_claimed<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let s = setup(h).await;
    let off = SocialAccountUpdate { is_active: Some(false), ..SocialAccountUpdate::default() };
    h.store.update_account(s.team.id, s.account.id, off).await.expect("deactivate");
    make_due(h, &s.schedule).await;
    h.time.advance(Duration::hours(1)).await;
    let w = worker("inactive");
    assert!(h.store.claim_due(&w, 10, lease()).await.expect("claim").is_empty(), "an inactive account never publishes");
    let on = SocialAccountUpdate { is_active: Some(true), ..SocialAccountUpdate::default() };
    h.store.update_account(s.team.id, s.account.id, on).await.expect("reactivate");
    assert_eq!(claim_one(h, &w).await.id, s.schedule.id);
}

/// `list_schedules` filters by status and post, newest first.
pub async fn schedules_list_filters<S: Repositories + ?Sized + 'static>(h: &Harness<S>) {
    let s = setup(h).await;
    tick(h).await;
    let other_post = post(h, s.team.id, s.owner.id, Platform::Twitter).await.post;
    let second = schedule(h, s.team.id, s.owner.id, other_post.id, s.account.id).await;
    tick(h).await;
    let third = schedule(h, s.team.id, s.owner.id, s.post.id, s.account.id).await;
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
