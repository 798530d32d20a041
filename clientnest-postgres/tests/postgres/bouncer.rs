//! PgBouncer in `pool_mode = transaction` (`PGBOUNCER_URL`, started by `scripts/pgbouncer`;
//! Debian 12's 1.18, which knows nothing of prepared statements): the whole relational
//! conformance suite through it, with `PgStore` in PgBouncer transaction mode, each test on a
//! database of its own reached through PgBouncer by name.

use std::sync::Arc;

use clientnest_core::conformance::{Harness, TimeControl};
use clientnest_core::prelude::*;
use clientnest_postgres::{PgConfig, PgStore};
use clientnest_testkit::pg::{TestDatabase, with_database};
use clientnest_testkit::services;
use sqlx::{AssertSqlSafe, Executor, PgPool};

use crate::support::{TestDb, keys};

/// A fresh database (copied from the migrated template over the direct connection), its
/// search path set on the database itself (PgBouncer 1.18 drops the `options` startup
/// parameter, and a session `SET` does not survive transaction pooling), and the URL of the
/// same database through PgBouncer; `None` skips the test.
async fn bounced_database() -> Option<(TestDb, String)> {
    let bouncer = services::pgbouncer_url()?;
    let db = TestDb::new().await?;
    let name = db.database().name().to_owned();
    db.pool()
        .execute(AssertSqlSafe(format!("ALTER DATABASE {name} SET search_path TO {}", db.schema)))
        .await
        .expect("set the search path on the test database");
    let url = with_database(&bouncer, &name).expect("PGBOUNCER_URL is a postgres:// URL");
    Some((db, url))
}

/// A pool of at most `max` connections through PgBouncer to `url`, as
/// `PgConfig::with_pgbouncer_transaction_mode` configures it (no statement cache), which keeps
/// `database` (the test's database, dropped with its last pool) alive as long as it lives.
async fn bounced_pool(url: &str, max: u32, database: TestDatabase) -> PgPool {
    let config = PgConfig::new(url).with_pgbouncer_transaction_mode(true);
    config
        .pool_options()
        .max_connections(max)
        .min_connections(0)
        .after_connect(move |_conn, _meta| {
            let _keep = database.clone();
            Box::pin(async { Ok(()) })
        })
        .connect_with(config.connect_options().expect("valid connect options"))
        .await
        .expect("connect through PgBouncer")
}

/// The conformance harness: a store in PgBouncer transaction mode on a pool through PgBouncer.
async fn harness() -> Option<Harness<PgStore>> {
    let (db, url) = bounced_database().await?;
    let pool = bounced_pool(&url, 5, db.database().clone()).await;
    let store =
        PgStore::from_pool(pool, keys()).with_pgbouncer_transaction_mode(true).with_clock(Arc::new(db.clock.clone()));
    Some(Harness { store: Arc::new(store), time: TimeControl::Manual(db.clock.clone()) })
}

mod conformance {
    clientnest_core::relational_conformance!(super::harness);
}

/// Why the mode exists, shown on the raw driver: two client connections whose statements are
/// numbered alike (`sqlx_s_1`), one after the other on PgBouncer's same idle server
/// connection (it hands out the last one returned), collide when the statement cache is off and
/// nothing wraps them: the second fails with `42P05`. The same two calls through
/// `PgStore`'s executor in PgBouncer mode are checked by every conformance test above.
#[tokio::test]
async fn named_statements_collide_behind_transaction_pooling_without_the_mode() {
    let Some((db, url)) = bounced_database().await else { return };
    let pool = bounced_pool(&url, 2, db.database().clone()).await;
    let mut first = pool.acquire().await.unwrap();
    let mut second = pool.acquire().await.unwrap();
    let one: i32 = sqlx::query_scalar("SELECT $1::int4").bind(1).fetch_one(&mut *first).await.unwrap();
    assert_eq!(one, 1);
    let collided = sqlx::query_scalar::<_, i32>("SELECT $1::int4 + 1").bind(1).fetch_one(&mut *second).await;
    let code =
        collided.as_ref().err().and_then(|e| e.as_database_error()).and_then(|e| e.code()).map(|c| c.into_owned());
    assert_eq!(code.as_deref(), Some("42P05"), "expected a statement name collision, got {collided:?}");
}

/// `PgStore::connect` with the PgBouncer mode: eight tasks writing and reading at once
/// through PgBouncer (more tasks than the pool's connections), every call Ok, every write read
/// back.
#[tokio::test]
async fn connect_in_pgbouncer_mode_serves_concurrent_calls() {
    let Some((db, url)) = bounced_database().await else { return };
    let config = PgConfig::new(url.as_str())
        .with_pgbouncer_transaction_mode(true)
        .with_max_connections(4)
        .with_min_connections(0);
    let store = PgStore::connect(&config, keys()).await.expect("connect through PgBouncer");
    let owner = store
        .create_user(NewUser::new(
            "bouncer@example.com",
            hash_password(&Secret::new("pw 1234")).unwrap(),
            "Bo",
            "Uncer",
        ))
        .await
        .unwrap();
    let (team, _) = store.create_team(NewTeam::new("Bounced", owner.id, PlanType::Starter)).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for n in 0..20 {
                    let created =
                        store.create_post(team.id, NewPost::draft(owner.id, format!("task {task} post {n}"))).await?;
                    let read = store.get_post(team.id, created.post.id).await?;
                    assert_eq!(read.post.content, created.post.content);
                    ids.push(created.post.id);
                }
                Ok::<_, clientnest_core::Error>(ids)
            })
        })
        .collect();
    let mut written = 0;
    for task in tasks {
        written += task.await.unwrap().expect("every call through PgBouncer succeeds").len();
    }
    let listed = store.list_posts(team.id, PostFilter::default(), PageRequest::first(200)).await.unwrap();
    assert_eq!((written, listed.items.len()), (160, 160));
    store.close().await;
    drop(db);
}
