//! Read replicas against the real streaming replica of `scripts/replica` (`REPLICA_URL`): a
//! lag-tolerant read is served by the replica (its replay paused, it shows stale rows), a
//! session's own write is seen at once (the read falls back to the primary when the replica
//! has not replayed it within the wait), a replica lagging past the bound is skipped, and a
//! replica killed mid-run leaves reads working from the primary until it is back.
//!
//! These tests pause the replica's replay and stop it, which every user of the replica would
//! notice, so they run one at a time (`REPLICA_LOCK`) and resume replay when they start and end.

use std::time::{Duration, Instant};

use clientnest_core::prelude::*;
use clientnest_postgres::{PgConfig, PgStore, ReplicaState};
use clientnest_testkit::fixtures::new_user;
use clientnest_testkit::services;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use tokio::sync::Mutex;

use crate::support::TestDb;

/// One replica test at a time: they pause and stop the shared replica.
static REPLICA_LOCK: Mutex<()> = Mutex::const_new(());

/// A test's database, a store on it whose lag-tolerant reads may go to the replica, and a
/// connection to the replica for pausing and resuming its replay.
struct Replicated {
    db: TestDb,
    store: PgStore,
    replica: PgPool,
}

/// The test database seen on the replica (waiting until it has been replayed there), and a
/// store routing to it with `config`'s lag bound, wait and check interval; `None` to skip.
async fn replicated(config: PgConfig) -> Option<Replicated> {
    let replica_url = services::replica_url()?;
    let db = TestDb::new().await?;
    let name = db.url().parse::<PgConnectOptions>().unwrap().get_database().unwrap().to_owned();
    let options = replica_url
        .parse::<PgConnectOptions>()
        .expect("REPLICA_URL parses")
        .database(&name)
        .options([("search_path", db.schema.as_str())]);
    // A test that failed while replay was paused left it paused: resume it first, on a database
    // every cluster has.
    let admin = replica_url.parse::<PgConnectOptions>().expect("REPLICA_URL parses").database("postgres");
    let mut conn = admin.connect().await.expect("connect to the replica");
    sqlx::query("SELECT pg_wal_replay_resume()").execute(&mut conn).await.expect("resume replay");
    drop(conn);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match options.connect().await {
            Ok(_) => break,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the test database never appeared on the replica: {e}"),
        }
    }
    let pool = PgPoolOptions::new().max_connections(3).min_connections(0).connect_lazy_with(options);
    let replica = pool.clone();
    let store = db.store.clone().session().with_replica_pools(vec![pool], &config).await;
    wait_ready(&store).await;
    Some(Replicated { db, store, replica })
}

async fn pause(replica: &PgPool) {
    sqlx::query("SELECT pg_wal_replay_pause()").execute(replica).await.expect("pause replay");
}

async fn resume(replica: &PgPool) {
    sqlx::query("SELECT pg_wal_replay_resume()").execute(replica).await.expect("resume replay");
}

/// Check until the replica is fit to serve reads (at most 30 s).
async fn wait_ready(store: &PgStore) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let statuses = store.check_replicas().await;
        if matches!(statuses[0].state, ReplicaState::Ready { .. }) {
            return;
        }
        assert!(Instant::now() < deadline, "the replica never became ready: {statuses:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A team with an author, on the primary.
async fn team(store: &PgStore) -> (TeamId, UserId) {
    let user = store.create_user(new_user("replica", "Rep", "Lica")).await.unwrap();
    let (team, _) = store.create_team(NewTeam::new("Replicated", user.id, PlanType::Starter)).await.unwrap();
    (team.id, user.id)
}

async fn publish(store: &PgStore, team: TeamId, author: UserId, text: &str) -> PostId {
    let mut post = NewPost::draft(author, text);
    post.status = PostStatus::Published;
    store.create_post(team, post).await.unwrap().post.id
}

async fn feed_ids(store: &PgStore, team: TeamId) -> Vec<PostId> {
    store.feed(team, PageRequest::first(50)).await.unwrap().items.into_iter().map(|p| p.post.id).collect()
}

/// Routing, the lag bound and catching up, then the replica killed mid-run. The
/// read-your-writes step is the next test's.
#[tokio::test]
async fn replica_routing_then_a_replica_killed_mid_run() {
    lag_tolerant_reads_go_to_the_replica_and_sessions_read_their_writes(false).await;
    a_replica_killed_mid_run_leaves_reads_on_the_primary().await;
}

/// Routing as above, with the read-your-writes step: a session's read after its own write is
/// not served by the paused replica. (Issue 11's note: under the whole suite's load it was,
/// stale, because the session waited for the primary's *written* WAL position, which did not
/// cover its asynchronous commit yet; see the next test.)
#[tokio::test]
async fn read_your_writes_through_a_paused_replica() {
    lag_tolerant_reads_go_to_the_replica_and_sessions_read_their_writes(true).await;
}

/// Read-your-writes when the session's commits are asynchronous (`synchronous_commit = off`,
/// as the test databases have it): the commit returns with its WAL record still in the
/// primary's buffers, so the primary's *written* position (`pg_current_wal_lsn()`) does not
/// cover it yet, and a replica that has replayed all the written WAL, its replay paused there,
/// must still not serve the session's next read. Each round catches the replica up with every
/// WAL record the primary has, pauses its replay, then writes and reads through one session (a
/// write after the previous round's read-your-writes read); the read must show the write, from
/// the primary. A round only exposes a router that waits for the written position when no WAL
/// is written between the pause and the read (the WAL writer runs every 200 ms), hence several
/// rounds.
#[tokio::test]
async fn read_your_writes_when_the_commit_is_not_written_yet() {
    let _one = REPLICA_LOCK.lock().await;
    let config = PgConfig::default()
        .with_replica_lag_bound(Duration::from_secs(30))
        .with_read_your_writes_wait(Duration::from_millis(100));
    let Some(r) = replicated(config).await else { return };
    let sync: String = sqlx::query_scalar("SHOW synchronous_commit").fetch_one(r.db.pool()).await.unwrap();
    assert_eq!(sync, "off", "the premise: the test database's commits do not wait for the WAL");
    let (team, author) = team(&r.db.store).await;
    let session = r.store.session();
    for round in 0..8 {
        resume(&r.replica).await;
        caught_up(&r).await;
        pause(&r.replica).await;
        let statuses = session.check_replicas().await;
        assert!(matches!(statuses[0].state, ReplicaState::Ready { .. }), "round {round}: {statuses:?}");
        let before = session.read_stats();
        let mine = publish(&session, team, author, &format!("round {round}")).await;
        let feed = feed_ids(&session, team).await;
        assert!(
            feed.contains(&mine),
            "round {round}: the session's own post {mine:?} is missing from {feed:?}: {:?} {:?}",
            session.read_stats(),
            session.replica_statuses()
        );
        assert_eq!(session.read_stats().primary, before.primary + 1, "round {round}");
    }
    resume(&r.replica).await;
}

/// Wait (at most 5 s) until the replica has replayed every WAL record the primary has inserted
/// (`pg_current_wal_insert_lsn()`), so that it shows every commit so far.
async fn caught_up(r: &Replicated) {
    let target: i64 = sqlx::query_scalar("SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::int8")
        .fetch_one(r.db.pool())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let replay: i64 = sqlx::query_scalar("SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::int8")
            .fetch_one(&r.replica)
            .await
            .unwrap();
        // The insert position of an idle primary can sit just past a page header no record
        // reaches: then go on (the round merely exposes less).
        if replay >= target || Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn lag_tolerant_reads_go_to_the_replica_and_sessions_read_their_writes(check_read_your_writes: bool) {
    let _one = REPLICA_LOCK.lock().await;
    let config = PgConfig::default()
        .with_replica_lag_bound(Duration::from_secs(3))
        .with_read_your_writes_wait(Duration::from_millis(200));
    let Some(r) = replicated(config).await else { return };
    // The writer is another session (the test database's own store, no replicas).
    let writer = &r.db.store;
    let (team, author) = team(writer).await;
    let first = publish(writer, team, author, "replayed before the pause").await;

    // The reader never wrote: once the replica has replayed the post, its feed comes from there.
    let reader = r.store.session();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !feed_ids(&reader, team).await.contains(&first) {
        assert!(Instant::now() < deadline, "the replica never showed the post");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(reader.read_stats().replica > 0, "{:?}", reader.read_stats());
    let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()").fetch_one(&r.replica).await.unwrap();
    assert!(in_recovery, "the replica pool reaches a standby");

    // Replay paused: a post written now is on the primary only; the reader's feed is stale,
    // which only the replica can be.
    pause(&r.replica).await;
    let second = publish(writer, team, author, "written while replay is paused").await;
    let before = reader.read_stats();
    let stale = feed_ids(&reader, team).await;
    assert!(stale.contains(&first) && !stale.contains(&second), "served by the paused replica: {stale:?}");
    assert_eq!(reader.read_stats().replica, before.replica + 1);

    // Read-your-writes: the session's own write is in its next feed, though the replica cannot
    // replay it: after waiting (bounded) the read goes to the primary.
    let author_session = r.store.session();
    let third = publish(&author_session, team, author, "my own post").await;
    if check_read_your_writes {
        // (Under the whole suite's write load a background check may already find the paused
        // replica past the bound: then the read goes to the primary without waiting.)
        let ready = matches!(author_session.replica_statuses()[0].state, ReplicaState::Ready { .. });
        let started = Instant::now();
        let mine = feed_ids(&author_session, team).await;
        let waited = started.elapsed();
        assert!(
            mine.contains(&third) && mine.contains(&second),
            "{mine:?} (first {first:?}, second {second:?}, third {third:?}) {:?} {:?}",
            author_session.read_stats(),
            author_session.replica_statuses()
        );
        // Whether it waited first depends on the background check, which may mark the paused
        // replica late between the snapshot above and the read: only report it. What must hold is
        // that the read was bounded and served by the primary (below).
        if ready && waited < Duration::from_millis(150) {
            eprintln!("the replica was marked late before the read: no wait ({waited:?})");
        }
        assert!(waited < Duration::from_secs(2), "the wait is bounded: {waited:?}");
        assert_eq!(author_session.read_stats().primary, before.primary + 1);
        // ...while a session that did not write still reads the (stale) replica.
        assert!(!feed_ids(&reader, team).await.contains(&third));
    }

    // Past the lag bound the replica is skipped: reads go to the primary and are fresh.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let statuses = reader.check_replicas().await;
    assert!(matches!(statuses[0].state, ReplicaState::Lagging { .. }), "{statuses:?}");
    let fresh = feed_ids(&reader, team).await;
    assert!(fresh.contains(&second) && fresh.contains(&third), "{fresh:?}");

    // Replay resumed: the replica catches up and serves again, and the writes are there.
    resume(&r.replica).await;
    wait_ready(&reader).await;
    let before = reader.read_stats();
    let caught_up = feed_ids(&reader, team).await;
    assert!(caught_up.contains(&third), "{caught_up:?}");
    assert_eq!(reader.read_stats().replica, before.replica + 1);
}

async fn a_replica_killed_mid_run_leaves_reads_on_the_primary() {
    let _one = REPLICA_LOCK.lock().await;
    let Some(r) = replicated(PgConfig::default()).await else { return };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/replica");
    let (team, author) = team(&r.db.store).await;
    let post = publish(&r.db.store, team, author, "survives the replica").await;
    let reader = r.store.session();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !feed_ids(&reader, team).await.contains(&post) {
        assert!(Instant::now() < deadline, "the replica never showed the post");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Blocking the test's runtime while the script runs is fine: nothing else runs on it.
    let killed = std::process::Command::new(script).arg("kill").status().expect("run scripts/replica kill");
    assert!(killed.success());
    // The next read finds the replica gone, marks it down and reads the primary.
    let before = reader.read_stats();
    assert!(feed_ids(&reader, team).await.contains(&post));
    let after = reader.read_stats();
    assert_eq!(after.primary, before.primary + 1, "{after:?}");
    assert_eq!(after.fallbacks, before.fallbacks + 1, "{after:?}");
    // Reads keep working, without trying the dead replica again until a check finds it fit.
    for _ in 0..5 {
        assert!(feed_ids(&reader, team).await.contains(&post));
    }
    assert_eq!(reader.read_stats().fallbacks, after.fallbacks);
    let statuses = reader.check_replicas().await;
    assert!(matches!(statuses[0].state, ReplicaState::Down { .. }), "{statuses:?}");

    let started = std::process::Command::new(script).arg("start").stdout(std::process::Stdio::null()).status();
    assert!(started.expect("run scripts/replica start").success());
    wait_ready(&reader).await;
    let before = reader.read_stats();
    assert!(feed_ids(&reader, team).await.contains(&post));
    assert_eq!(reader.read_stats().replica, before.replica + 1);
}
