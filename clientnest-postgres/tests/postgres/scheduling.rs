//! Scheduling on PostgreSQL under real concurrency: 8 workers over 10,000 due schedules claim
//! each exactly once; a dead worker's claims are recovered and taken by another; the crash test
//! (8 workers, 20,000 schedules, workers killed before and after their publish mark, leases
//! lapsing) publishes nothing twice and leaves nothing pending; scheduling locks the post and
//! the account so a concurrent edit or deactivation cannot slip between check and insert.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::Duration;
use clientnest_core::prelude::*;
use clientnest_postgres::PgStore;
use rand::Rng;
use sqlx::AssertSqlSafe;
use uuid::Uuid;

use clientnest_testkit::fixtures::new_user;

use crate::support::TestDb;

/// A user, a team, an active account and a draft post.
async fn world(store: &PgStore) -> (UserId, TeamId, SocialAccountId, PostId) {
    let user = store.create_user(new_user("sched", "Sched", "Uler")).await.unwrap();
    let (team, _) = store.create_team(NewTeam::new("Publishers", user.id, PlanType::Business)).await.unwrap();
    let account = NewSocialAccount {
        user_id: user.id,
        platform: Platform::Facebook,
        platform_id: "fb-page".to_owned(),
        username: "nest".to_owned(),
        access_token: Secret::new("token"),
        refresh_token: None,
        token_expires: None,
        permissions: Vec::new(),
    };
    let account = store.connect_account(team.id, account).await.unwrap();
    let post = store.create_post(team.id, NewPost::draft(user.id, "Going out soon")).await.unwrap();
    (user.id, team.id, account.id, post.post.id)
}

/// `n` schedules due an hour ago, one millisecond apart, each on a post of its own (one live
/// schedule per post and account), inserted by two statements.
async fn seed_due(db: &TestDb, n: i32, (user, team, account, _): (UserId, TeamId, SocialAccountId, PostId)) {
    let now = db.clock.now();
    sqlx::query(
        "INSERT INTO posts (id, user_id, team_id, content, status, scheduled_at, created_at, updated_at) \
         SELECT gen_random_uuid(), $1, $2, 'post ' || i, 'scheduled', $3, $3, $3 FROM generate_series(1, $4) AS i",
    )
    .bind(user.0)
    .bind(team.0)
    .bind(now - Duration::hours(2))
    .bind(n)
    .execute(db.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO schedules (id, user_id, team_id, post_id, social_account_id, platform, scheduled_time, timezone, \
           status, retry_count, created_at, updated_at, next_attempt_at) \
         SELECT gen_random_uuid(), $1, $2, p.id, $3, 'facebook', due.t, 'UTC', 'pending', 0, $4, $4, due.t \
         FROM (SELECT id, row_number() OVER (ORDER BY id) AS i FROM posts WHERE team_id = $2 AND status = 'scheduled') p, \
              LATERAL (SELECT $4 + p.i * interval '1 millisecond' AS t) AS due",
    )
    .bind(user.0)
    .bind(team.0)
    .bind(account.0)
    .bind(now - Duration::hours(2))
    .execute(db.pool())
    .await
    .unwrap();
}

/// A claim request of `limit` under `lease`.
fn req(limit: u32, lease: Duration) -> ClaimRequest {
    ClaimRequest::new(limit, lease)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_workers_claim_ten_thousand_schedules_each_exactly_once() {
    const WORKERS: usize = 8;
    const DUE: i32 = 10_000;
    let Some(db) = TestDb::with_pool_size(WORKERS as u32 + 2).await else { return };
    let w = world(&db.store).await;
    seed_due(&db, DUE, w).await;
    let store = Arc::new(db.store.clone());
    let mut tasks = Vec::new();
    for i in 0..WORKERS {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let worker = WorkerId::unique(&format!("worker-{i}"));
            let mut mine = Vec::new();
            loop {
                let batch = store.claim_due(&worker, req(50, Duration::minutes(5))).await.unwrap();
                if batch.is_empty() {
                    break;
                }
                assert!(batch.iter().all(|c| c.schedule.locked_by.as_deref() == Some(worker.as_str())));
                mine.extend(batch.into_iter().map(|c| c.schedule.id));
            }
            (worker, mine)
        }));
    }
    let mut owner: HashMap<ScheduleId, String> = HashMap::new();
    let mut busy_workers = 0;
    for task in tasks {
        let (worker, mine) = task.await.unwrap();
        busy_workers += usize::from(!mine.is_empty());
        for id in mine {
            let previous = owner.insert(id, worker.as_str().to_owned());
            assert!(previous.is_none(), "schedule {id} claimed twice");
        }
    }
    assert_eq!(owner.len(), DUE as usize, "every due schedule claimed");
    assert!(busy_workers > 1, "the claims were spread over several workers");
    // The table agrees: each row is processing, held by the worker that got it.
    let rows: Vec<(Uuid, String, String)> =
        sqlx::query_as("SELECT id, status, locked_by FROM schedules").fetch_all(db.pool()).await.unwrap();
    assert_eq!(rows.len(), DUE as usize);
    for (id, status, locked_by) in rows {
        assert_eq!(status, "processing");
        assert_eq!(owner.get(&ScheduleId(id)), Some(&locked_by));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_workers_claims_are_recovered_and_taken_by_another() {
    let Some(db) = TestDb::new().await else { return };
    let w = world(&db.store).await;
    seed_due(&db, 100, w).await;
    let store = &db.store;
    let dead = WorkerId::unique("dies");
    let alive = WorkerId::unique("lives");
    let lease = Duration::seconds(30);

    let policy = RetryPolicy::default();
    let first = store.claim_due(&dead, req(1000, lease)).await.unwrap();
    let taken: HashSet<ScheduleId> = first.iter().map(|c| c.schedule.id).collect();
    assert_eq!(taken.len(), 100);
    assert!(store.claim_due(&alive, req(1000, lease)).await.unwrap().is_empty(), "held claims are not due");

    // The lease has not run out yet: nothing to recover.
    db.clock.advance(Duration::seconds(29));
    assert_eq!(store.recover_expired(policy).await.unwrap().total(), 0);
    // The dead worker never renews; its lease runs out.
    db.clock.advance(Duration::seconds(1));
    assert_eq!(store.recover_expired(policy).await.unwrap().retried, 100);

    let retaken = store.claim_due(&alive, req(1000, lease)).await.unwrap();
    assert_eq!(retaken.iter().map(|c| c.schedule.id).collect::<HashSet<_>>(), taken);
    assert!(retaken.iter().all(|c| c.schedule.attempt_count == 2 && c.schedule.last_attempt == Some(db.clock.now())));
    for (c, old) in retaken.iter().zip(&first) {
        let done = store.complete(&c.token, &format!("fb_{}", c.schedule.id)).await.unwrap();
        assert_eq!(done.status, ScheduleStatus::Completed);
        // The dead worker, back from the grave, cannot complete or fail any of them.
        let late = store.complete(&old.token, "fb_dup").await.unwrap_err();
        assert!(matches!(late, Error::StaleClaim { .. }), "{late:?}");
    }
    let published_posts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM posts WHERE status = 'published'").fetch_one(db.pool()).await.unwrap();
    assert_eq!(published_posts, 100, "each schedule's post is published");
    let published: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM schedules WHERE status = 'completed' AND platform_post_id LIKE 'fb_%'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(published, 100);
}

#[tokio::test]
async fn a_claim_skips_rows_another_transaction_holds() {
    let Some(db) = TestDb::new().await else { return };
    let sql = clientnest_postgres::sql::CLAIM_DUE;
    assert!(sql.contains("FOR UPDATE OF s SKIP LOCKED"));
    assert!(sql.contains("s.status = 'pending' AND s.next_attempt_at <= $3 AND a.is_active"));
    let w = world(&db.store).await;
    seed_due(&db, 2000, w).await;
    sqlx::query("ANALYZE schedules").execute(db.pool()).await.unwrap();
    // The claim walks the partial index of pending schedules by due time (EXPLAIN alone does
    // not run the UPDATE).
    let now = db.clock.now();
    let plan: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!("EXPLAIN {sql}")))
        .bind("explainer")
        .bind(now + Duration::minutes(1))
        .bind(now)
        .bind(50_i64)
        .fetch_all(db.pool())
        .await
        .unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("idx_schedules_claimable") && plan.contains("LockRows"), "{plan}");
    // A second, concurrent claimer skips what the first holds in an open transaction.
    let mut tx = db.pool().begin().await.unwrap();
    let held: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM schedules WHERE status = 'pending' ORDER BY next_attempt_at, id LIMIT 10 FOR UPDATE",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    let claimed = db.store.claim_due(&WorkerId::unique("other"), req(10, Duration::minutes(1))).await.unwrap();
    assert_eq!(claimed.len(), 10);
    assert!(claimed.iter().all(|c| !held.contains(&c.schedule.id.0)), "locked rows skipped, not waited for");
    tx.rollback().await.unwrap();
}

/// The platform the crash test publishes to: it records every accepted publish call per
/// schedule (with the attempt's idempotency key), and the claims of schedules it had already
/// published (which must never happen).
#[derive(Default)]
struct FakePlatform {
    published: Mutex<HashMap<ScheduleId, Vec<String>>>,
    reclaimed_after_publish: AtomicU64,
}

impl FakePlatform {
    fn publish(&self, id: ScheduleId, idempotency_key: String) -> String {
        let mut published = self.published.lock().unwrap();
        let calls = published.entry(id).or_default();
        calls.push(idempotency_key);
        format!("fb_{id}_{}", calls.len())
    }

    fn was_published(&self, id: ScheduleId) -> bool {
        self.published.lock().unwrap().contains_key(&id)
    }
}

/// What the crash test's workers did, counted.
#[derive(Default)]
struct Tally {
    crashed_before_mark: AtomicU64,
    crashed_after_mark: AtomicU64,
    crashed_after_call: AtomicU64,
    refused_by_platform: AtomicU64,
    stale: AtomicU64,
    completed: AtomicU64,
}

fn bump(n: &AtomicU64) {
    n.fetch_add(1, Ordering::Relaxed);
}

/// One worker process: loops claiming small batches until told to stop. A crash abandons the
/// rest of its batch (its claims lapse) and the process restarts under a new worker id.
async fn crash_prone_worker(
    store: Arc<PgStore>,
    platform: Arc<FakePlatform>,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
    name: String,
) {
    let lease = Duration::seconds(3);
    let policy = RetryPolicy { max_attempts: 8, base_delay: Duration::zero(), max_delay: Duration::zero() };
    let mut worker = WorkerId::unique(&name);
    while !stop.load(Ordering::Relaxed) {
        let claims = store.claim_due(&worker, req(5, lease).with_policy(policy)).await.expect("claim");
        if claims.is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            continue;
        }
        for c in claims {
            if platform.was_published(c.schedule.id) {
                bump(&platform.reclaimed_after_publish);
            }
            let roll = rand::thread_rng().gen_range(0..100);
            if roll < 2 {
                bump(&tally.crashed_before_mark);
                worker = WorkerId::unique(&name);
                break;
            }
            match store.mark_publishing(&c.token).await {
                Ok(_) => {}
                Err(Error::StaleClaim { .. }) => {
                    bump(&tally.stale);
                    continue;
                }
                Err(e) => panic!("mark: {e:?}"),
            }
            if roll < 3 {
                bump(&tally.crashed_after_mark);
                worker = WorkerId::unique(&name);
                break;
            }
            if roll < 6 {
                // A definite refusal: nothing went out.
                bump(&tally.refused_by_platform);
                match store.fail(&c.token, "rejected by the platform", policy).await {
                    Ok(_) | Err(Error::StaleClaim { .. }) => {}
                    Err(e) => panic!("fail: {e:?}"),
                }
                continue;
            }
            let platform_id = platform.publish(c.schedule.id, c.token.idempotency_key());
            if roll < 8 {
                bump(&tally.crashed_after_call);
                worker = WorkerId::unique(&name);
                break;
            }
            match store.complete(&c.token, &platform_id).await {
                Ok(_) => bump(&tally.completed),
                Err(Error::StaleClaim { .. }) => bump(&tally.stale),
                Err(e) => panic!("complete: {e:?}"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_test_eight_workers_twenty_thousand_schedules_publish_nothing_twice() {
    const WORKERS: usize = 8;
    const SCHEDULES: i32 = 20_000;
    let Some(db) = TestDb::with_pool_size(WORKERS as u32 + 4).await else { return };
    let w = world(&db.store).await;
    seed_due(&db, SCHEDULES, w).await;
    sqlx::query("ANALYZE").execute(db.pool()).await.unwrap();
    let store = Arc::new(db.store.clone());
    let platform = Arc::new(FakePlatform::default());
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..WORKERS)
        .map(|i| {
            let (store, platform, tally, stop) =
                (Arc::clone(&store), Arc::clone(&platform), Arc::clone(&tally), Arc::clone(&stop));
            tokio::spawn(crash_prone_worker(store, platform, tally, stop, format!("crashy-{i}")))
        })
        .collect();
    // Time runs fast: a second every 20 ms, so leases of 3 s lapse for slow and dead workers.
    let started = std::time::Instant::now();
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        db.clock.advance(Duration::seconds(1));
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM schedules WHERE status IN ('pending', 'processing', 'publishing')",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        if open == 0 {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(900), "{open} schedules still open");
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.expect("worker");
    }

    let rows: Vec<(Uuid, String, Option<String>)> =
        sqlx::query_as("SELECT id, status, platform_post_id FROM schedules").fetch_all(db.pool()).await.unwrap();
    assert_eq!(rows.len(), SCHEDULES as usize);
    let published = platform.published.lock().unwrap().clone();
    let mut by_status: HashMap<String, u64> = HashMap::new();
    for (id, status, platform_post_id) in &rows {
        *by_status.entry(status.clone()).or_default() += 1;
        let calls = published.get(&ScheduleId(*id)).map_or(0, Vec::len);
        assert!(calls <= 1, "schedule {id} got {calls} publish calls");
        assert!(["completed", "failed", "outcome_unknown"].contains(&status.as_str()), "{id} ended {status}");
        if calls == 1 {
            assert!(status == "completed" || status == "outcome_unknown", "published {id} ended {status}");
        }
        if status == "completed" {
            assert_eq!(calls, 1, "completed {id} without a publish call");
            assert_eq!(platform_post_id.as_deref(), Some(format!("fb_{id}_1").as_str()));
        }
    }
    assert_eq!(platform.reclaimed_after_publish.load(Ordering::Relaxed), 0, "a published schedule was claimed again");
    // The posts followed: one schedule each.
    let mismatched: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM schedules s JOIN posts p ON p.id = s.post_id WHERE NOT ( \
           (s.status = 'completed' AND p.status = 'published' AND p.published_at IS NOT NULL) \
        OR (s.status = 'failed' AND p.status = 'failed') \
        OR (s.status = 'outcome_unknown' AND p.status = 'scheduled'))",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(mismatched, 0, "posts follow their schedules");
    let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
    println!(
        "crash test: {SCHEDULES} schedules, {WORKERS} workers, {:.1}s; ended {by_status:?}; publish calls {}; \
         crashes before mark {}, after mark {}, after the call {}; platform refusals {}; stale refusals {}; \
         completed by workers {}",
        started.elapsed().as_secs_f64(),
        published.len(),
        load(&tally.crashed_before_mark),
        load(&tally.crashed_after_mark),
        load(&tally.crashed_after_call),
        load(&tally.refused_by_platform),
        load(&tally.stale),
        load(&tally.completed),
    );
    assert!(load(&tally.crashed_before_mark) > 0 && load(&tally.crashed_after_call) > 0, "crashes happened");
    assert!(by_status.get("outcome_unknown").copied().unwrap_or(0) > 0, "some outcomes were unknown");
    assert!(by_status.get("completed").copied().unwrap_or(0) > SCHEDULES as u64 / 2, "most were published");
}

/// Wait up to `ms` for a task; `true` if it finished.
async fn finishes_within<T>(task: &tokio::task::JoinHandle<T>, ms: u64) -> bool {
    let until = std::time::Instant::now() + std::time::Duration::from_millis(ms);
    while std::time::Instant::now() < until {
        if task.is_finished() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    task.is_finished()
}

/// Hold `change` (one statement on row `$1`) open in another transaction, start scheduling the
/// world's post on its account, check that it waits, commit, and return what scheduling gave.
async fn schedule_beside_open_change(
    db: &TestDb,
    change: &'static str,
    row: impl Fn(SocialAccountId, PostId) -> Uuid,
) -> (TeamId, PostId, Result<Schedule>) {
    let (user, team, account, post) = world(&db.store).await;
    let mut tx = db.pool().begin().await.unwrap();
    sqlx::query(change).bind(row(account, post)).execute(&mut *tx).await.unwrap();
    let store = db.store.clone();
    let at = db.clock.now() + Duration::hours(1);
    let input = NewSchedule {
        user_id: user,
        post_id: post,
        social_account_id: account,
        scheduled_time: at,
        timezone: "UTC".into(),
    };
    let create = tokio::spawn(async move { store.create_schedule(team, input).await });
    assert!(!finishes_within(&create, 300).await, "scheduling waits for the row another transaction changes");
    tx.commit().await.unwrap();
    (team, post, create.await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduling_waits_for_a_concurrent_account_deactivation() {
    let Some(db) = TestDb::new().await else { return };
    let change = "UPDATE social_accounts SET is_active = false WHERE id = $1";
    let (_, _, result) = schedule_beside_open_change(&db, change, |account, _| account.0).await;
    assert!(matches!(result, Err(Error::InvalidState { entity: Entity::SocialAccount, .. })), "{result:?}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM schedules").fetch_one(db.pool()).await.unwrap();
    assert_eq!(stored, 0, "nothing scheduled on the deactivated account");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduling_waits_for_a_concurrent_post_edit() {
    let Some(db) = TestDb::new().await else { return };
    // Too long for Facebook (63,206 characters).
    let change = "UPDATE posts SET content = repeat('a', 70000) WHERE id = $1";
    let (team, post, result) = schedule_beside_open_change(&db, change, |_, post| post.0).await;
    let rule = result.as_ref().err().and_then(Error::rule).map(str::to_owned);
    assert_eq!(rule.as_deref(), Some(clientnest_core::validate::rule::PLATFORM_TEXT), "{result:?}");
    let post = db.store.get_post(team, post).await.unwrap().post;
    assert_eq!((post.status, post.scheduled_at), (PostStatus::Draft, None));
}

/// Whether another connection can lock the row `id` of `table` right now (`FOR UPDATE NOWAIT`).
async fn lockable(probe: &mut sqlx::PgConnection, table: &str, id: Uuid) -> bool {
    let sql = format!("SELECT 1 FROM {table} WHERE id = $1 FOR UPDATE NOWAIT");
    sqlx::query(AssertSqlSafe(sql)).bind(id).execute(&mut *probe).await.is_ok()
}

/// A refused change (a forged claim token, an edit that no longer fits its live schedule, a
/// second live schedule of the same post and account, marking a sent response failed) rolls
/// its transaction back before it returns: the rows it locked are free for the very next
/// statement on any other connection, so a worker polling right after a refusal is not
/// skipped past the row (`SKIP LOCKED`) by a lock nobody holds any more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_change_holds_no_lock_once_it_returns() {
    let Some(db) = TestDb::with_pool_size(4).await else { return };
    let (user, team, account, post) = world(&db.store).await;
    let store = &db.store;
    let at = db.clock.now() + Duration::minutes(5);
    let input = NewSchedule {
        user_id: user,
        post_id: post,
        social_account_id: account,
        scheduled_time: at,
        timezone: "UTC".into(),
    };
    let schedule = store.create_schedule(team, input).await.unwrap();
    db.clock.advance(Duration::minutes(6));
    let claimed = store.claim_due(&WorkerId::unique("holder"), req(1, Duration::minutes(5))).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let forged = ClaimToken::new(schedule.id, AttemptId::new());
    let too_long = PostUpdate { content: Some("x".repeat(70_000)), ..PostUpdate::default() };
    let twin = NewSchedule {
        user_id: user,
        post_id: post,
        social_account_id: account,
        scheduled_time: db.clock.now() + Duration::minutes(10),
        timezone: "UTC".into(),
    };
    store.ingest_comments(team, vec![NewComment::new(account, "c-1", "Nice!", "Ann", "ann-1")]).await.unwrap();
    let comment = store.inbox(team, InboxFilter::default(), PageRequest::first(1)).await.unwrap().items[0].id;
    let reply = NewResponse { comment_id: comment, user_id: user, content: "Thanks".into(), ai_generated: false };
    let sent = store.send_response(team, reply).await.unwrap();

    let mut probe = db.pool().acquire().await.unwrap();
    let members_and_billing = MemberAndBillingRefusals::new(&db, team, user).await;
    for round in 0..20 {
        members_and_billing.probe(store, &mut probe, round).await;
        let refused = store.fail(&forged, "forged", RetryPolicy::default()).await.unwrap_err();
        assert!(matches!(refused, Error::StaleClaim { .. }), "{refused:?}");
        assert!(lockable(&mut probe, "schedules", schedule.id.0).await, "round {round}: schedule still locked");
        assert!(lockable(&mut probe, "posts", post.0).await, "round {round}: post still locked");
        let refused = store.update_post(team, post, too_long.clone()).await.unwrap_err();
        assert!(matches!(refused, Error::Validation(_)), "{refused:?}");
        assert!(lockable(&mut probe, "posts", post.0).await, "round {round}: post still locked after the edit");
        let refused = store.create_schedule(team, twin.clone()).await.unwrap_err();
        assert!(matches!(refused, Error::Conflict { .. }), "{refused:?}");
        assert!(lockable(&mut probe, "posts", post.0).await, "round {round}: post still locked after the twin");
        let refused = store.mark_response_failed(team, sent.id).await.unwrap_err();
        assert!(matches!(refused, Error::InvalidState { .. }), "{refused:?}");
        assert!(lockable(&mut probe, "responses", sent.id.0).await, "round {round}: response still locked");
        assert!(lockable(&mut probe, "comments", comment.0).await, "round {round}: comment still locked");
    }
}

/// Refusals after a row lock in the member and billing repositories: removing the team's owner
/// (`InvalidState` once its membership is locked) and a billing change whose period ends before
/// it starts (`Validation` once the record is locked).
struct MemberAndBillingRefusals {
    team: TeamId,
    owner: UserId,
    membership: Uuid,
    billing: BillingId,
    backwards: BillingUpdate,
}

impl MemberAndBillingRefusals {
    async fn new(db: &TestDb, team: TeamId, owner: UserId) -> Self {
        let store = &db.store;
        let membership = store.membership(team, owner).await.unwrap().unwrap().id.0;
        let start = db.clock.now();
        let billing = NewBilling {
            subscription_id: format!("sub-{}", Uuid::new_v4().simple()),
            plan_type: PlanType::Business,
            amount: "49.00".parse().unwrap(),
            currency: "USD".to_owned(),
            status: BillingStatus::Active,
            period_start: start,
            period_end: start + Duration::days(30),
            next_billing: start + Duration::days(30),
        };
        let billing = store.create_billing(team, billing).await.unwrap().id;
        let backwards = BillingUpdate { period_end: Some(start - Duration::days(1)), ..BillingUpdate::default() };
        Self { team, owner, membership, billing, backwards }
    }

    async fn probe(&self, store: &PgStore, probe: &mut sqlx::PgConnection, round: i32) {
        let refused = store.remove_member(self.team, self.owner).await.unwrap_err();
        assert!(matches!(refused, Error::InvalidState { .. }), "{refused:?}");
        assert!(lockable(probe, "team_members", self.membership).await, "round {round}: membership still locked");
        let refused = store.update_billing(self.team, self.billing, self.backwards.clone()).await.unwrap_err();
        assert!(matches!(refused, Error::Validation(_)), "{refused:?}");
        assert!(lockable(probe, "billing", self.billing.0).await, "round {round}: billing still locked");
    }
}
