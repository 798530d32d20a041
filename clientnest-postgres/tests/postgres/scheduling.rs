//! Scheduling on PostgreSQL under real concurrency: 8 workers over 10,000 due schedules claim
//! each exactly once; a worker that dies has its claims recovered and taken by another.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::Duration;
use clientnest_core::prelude::*;
use clientnest_postgres::PgStore;
use sqlx::AssertSqlSafe;
use uuid::Uuid;

use crate::support::TestDb;

/// A user, a team, an active account and a draft post.
async fn world(store: &PgStore) -> (UserId, TeamId, SocialAccountId, PostId) {
    let hash = hash_password(&Secret::new("scheduling test password")).unwrap();
    let email = format!("sched-{}@example.com", Uuid::new_v4().simple());
    let user = store.create_user(NewUser::new(email, hash, "Sched", "Uler")).await.unwrap();
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

/// `n` schedules due an hour ago, one millisecond apart, inserted by one statement.
async fn seed_due(db: &TestDb, n: i32, (user, team, account, post): (UserId, TeamId, SocialAccountId, PostId)) {
    let now = db.clock.now();
    sqlx::query(
        "INSERT INTO schedules (id, user_id, team_id, post_id, social_account_id, platform, scheduled_time, timezone, \
           status, retry_count, created_at, updated_at, next_attempt_at) \
         SELECT gen_random_uuid(), $1, $2, $3, $4, 'facebook', t, 'UTC', 'pending', 0, $5, $5, t \
         FROM generate_series(1, $6) AS i, LATERAL (SELECT $5 + i * interval '1 millisecond' AS t) AS due",
    )
    .bind(user.0)
    .bind(team.0)
    .bind(post.0)
    .bind(account.0)
    .bind(now - Duration::hours(2))
    .bind(n)
    .execute(db.pool())
    .await
    .unwrap();
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
                let batch = store.claim_due(&worker, 50, Duration::minutes(5)).await.unwrap();
                if batch.is_empty() {
                    break;
                }
                assert!(batch.iter().all(|s| s.locked_by.as_deref() == Some(worker.as_str())));
                mine.extend(batch.into_iter().map(|s| s.id));
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

    let taken: HashSet<ScheduleId> =
        store.claim_due(&dead, 1000, lease).await.unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(taken.len(), 100);
    assert!(store.claim_due(&alive, 1000, lease).await.unwrap().is_empty(), "held claims are not due");

    // The lease has not run out yet: nothing to recover.
    db.clock.advance(Duration::seconds(29));
    assert_eq!(store.recover_expired().await.unwrap(), 0);
    // The dead worker never renews; its lease runs out.
    db.clock.advance(Duration::seconds(1));
    assert_eq!(store.recover_expired().await.unwrap(), 100);

    let retaken = store.claim_due(&alive, 1000, lease).await.unwrap();
    assert_eq!(retaken.iter().map(|s| s.id).collect::<HashSet<_>>(), taken);
    assert!(retaken.iter().all(|s| s.retry_count == 0 && s.last_attempt == Some(db.clock.now())));
    for s in &retaken {
        let done = store.complete(s.id, &alive, &format!("fb_{}", s.id)).await.unwrap();
        assert_eq!(done.status, ScheduleStatus::Completed);
        // The dead worker, back from the grave, cannot complete or fail it.
        let late = store.complete(s.id, &dead, "fb_dup").await.unwrap_err();
        assert!(matches!(late, Error::InvalidState { .. }), "{late:?}");
    }
    let post = store.get_post(w.1, w.3).await.unwrap().post;
    assert_eq!(post.status, PostStatus::Published);
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
    let claimed = db.store.claim_due(&WorkerId::unique("other"), 10, Duration::minutes(1)).await.unwrap();
    assert_eq!(claimed.len(), 10);
    assert!(claimed.iter().all(|s| !held.contains(&s.id.0)), "locked rows skipped, not waited for");
    tx.rollback().await.unwrap();
}
