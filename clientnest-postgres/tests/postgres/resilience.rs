//! Resilience: a [`ChaosProxy`] between the pool and PostgreSQL is cut while writers run.
//! Calls then fail with the retryable `Unavailable`, succeed again once the path is restored,
//! and no aggregate is ever half written (a post without all its media, a team without its
//! owner's membership).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clientnest_core::prelude::*;
use clientnest_postgres::{PgConfig, PgStore};
use clientnest_testkit::proxy::ChaosProxy;
use sqlx::postgres::PgConnectOptions;
use tokio::sync::watch;

use crate::support::{self, TestDb};

/// Media per post written through the proxy.
const MEDIA: usize = 3;

/// What the writers have seen so far.
#[derive(Debug, Default, Clone)]
struct Log {
    /// Calls that succeeded, and the posts they acknowledged.
    ok: usize,
    acknowledged: Vec<PostId>,
    /// Calls that failed, with the error's text when it was not `Unavailable`.
    failed: usize,
    not_retryable: Vec<String>,
}

/// The server's address, from a URL of it.
async fn upstream(url: &str) -> SocketAddr {
    let options: PgConnectOptions = url.parse().expect("the database URL parses");
    let host = (options.get_host(), options.get_port());
    tokio::net::lookup_host(host).await.expect("resolve the server").next().expect("an address")
}

/// `url` with its host and port replaced by the proxy's.
fn via_proxy(url: &str, proxy: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let user = authority.rsplit_once('@').map(|(user, _)| format!("{user}@")).unwrap_or_default();
    format!("{scheme}://{user}{proxy}{tail}")
}

/// A post with `MEDIA` media items.
fn post_with_media(user: UserId, n: usize) -> NewPost {
    let mut post = NewPost::draft(user, format!("resilience post {n}"));
    post.media = (0..MEDIA)
        .map(|i| NewPostMedia::new(MediaType::Image, format!("https://cdn.example.com/{n}/{i}.png"), 1024))
        .collect();
    post
}

/// Write posts (with media) and teams (with their owner's membership) until told to stop.
async fn writer(store: PgStore, team: TeamId, user: UserId, log: Arc<watch::Sender<Log>>, stop: Arc<AtomicBool>) {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let post = store.create_post(team, post_with_media(user, n)).await.map(|p| Some(p.post.id));
        let team = store.create_team(NewTeam::new(format!("Team {n}"), user, PlanType::Free)).await.map(|_| None);
        for outcome in [post, team] {
            log.send_modify(|l| match outcome {
                Ok(acknowledged) => {
                    l.ok += 1;
                    l.acknowledged.extend(acknowledged);
                }
                Err(e) => {
                    l.failed += 1;
                    if !matches!(e, Error::Unavailable { .. }) || !e.is_retryable() {
                        l.not_retryable.push(format!("{e:?}"));
                    }
                }
            });
        }
    }
}

/// A store whose pool goes through the proxy, on the test's schema and clock.
async fn store_via(db: &TestDb, url: &str, proxy: &ChaosProxy) -> PgStore {
    let config = PgConfig::new(via_proxy(url, proxy.addr()))
        .with_search_path(db.schema.clone())
        .with_max_connections(4)
        .with_min_connections(0)
        .with_acquire_timeout(Duration::from_secs(2));
    let store = PgStore::connect(&config, support::keys()).await.expect("connect through the proxy");
    store.with_clock(Arc::new(db.clock.clone()))
}

/// Every post has all its media and every team its owner's membership (raw SQL on the direct
/// pool, so nothing is hidden by the adapter).
async fn assert_no_half_written_aggregate(db: &TestDb) {
    let posts_missing_media: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM posts p WHERE (SELECT count(*) FROM post_media m WHERE m.post_id = p.id) <> $1",
    )
    .bind(i64::try_from(MEDIA).expect("small"))
    .fetch_one(db.pool())
    .await
    .expect("count posts");
    assert_eq!(posts_missing_media, 0, "a post was stored without all its media");
    let teams_without_owner: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM teams t WHERE NOT EXISTS (SELECT 1 FROM team_members m \
         WHERE m.team_id = t.id AND m.user_id = t.owner_id AND m.role = 'owner' AND m.status = 'active')",
    )
    .fetch_one(db.pool())
    .await
    .expect("count teams");
    assert_eq!(teams_without_owner, 0, "a team was stored without its owner's membership");
}

async fn wait_for(log: &watch::Sender<Log>, what: &str, done: impl Fn(&Log) -> bool) {
    let mut rx = log.subscribe();
    // A hang guard, not a timing assertion: a broken pool would otherwise block the suite.
    let waited = tokio::time::timeout(Duration::from_secs(120), rx.wait_for(|l| done(l))).await;
    assert!(waited.is_ok(), "the writers stalled waiting for: {what} ({:?})", *log.borrow());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_gives_unavailable_then_recovery_without_half_written_aggregates() {
    let Some(db) = TestDb::new().await else { return };
    let url = db.url().to_owned();
    let proxy = ChaosProxy::start(upstream(&url).await).await.expect("start the proxy");
    let store = store_via(&db, &url, &proxy).await;
    let user = db
        .store
        .create_user(NewUser::new(
            "chaos@example.com",
            hash_password(&Secret::new("pw")).expect("hash"),
            "Chaos",
            "Monkey",
        ))
        .await
        .expect("user");
    let (team, _) = db.store.create_team(NewTeam::new("Chaos", user.id, PlanType::Free)).await.expect("team");

    let log = Arc::new(watch::channel(Log::default()).0);
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|_| tokio::spawn(writer(store.clone(), team.id, user.id, Arc::clone(&log), Arc::clone(&stop))))
        .collect();
    wait_for(&log, "20 successful writes", |l| l.ok >= 20).await;

    // Cut mid-run: in-flight transactions lose their connection, new ones cannot get one.
    proxy.cut().await;
    let before_cut = log.borrow().failed;
    for n in 0..3 {
        let err = store.create_post(team.id, post_with_media(user.id, 1000 + n)).await.expect_err("the path is cut");
        assert!(matches!(err, Error::Unavailable { .. }) && err.is_retryable(), "not retryable: {err:?}");
    }
    wait_for(&log, "every writer to fail", |l| l.failed >= before_cut + 2).await;

    proxy.restore();
    for n in 0..5 {
        let created = store.create_post(team.id, post_with_media(user.id, 2000 + n)).await.expect("the path is back");
        let read = store.get_post(team.id, created.post.id).await.expect("read back through the proxy");
        assert_eq!(read, created);
    }
    let ok_after_restore = log.borrow().ok;
    wait_for(&log, "writers to succeed again", |l| l.ok >= ok_after_restore + 4).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.expect("a writer panicked");
    }

    let log = log.borrow().clone();
    eprintln!("resilience: writers saw {} successes and {} Unavailable errors", log.ok, log.failed);
    assert!(log.failed > 0, "the cut was not noticed by the writers");
    assert!(log.not_retryable.is_empty(), "errors other than Unavailable: {:#?}", log.not_retryable);
    for id in &log.acknowledged {
        let post = db.store.get_post(team.id, *id).await.expect("an acknowledged post is stored");
        assert_eq!(post.media.len(), MEDIA);
    }
    assert_no_half_written_aggregate(&db).await;
}
