//! The per-test databases on a real server (`DATABASE_URL`; skipped loudly without it, a
//! failure with `CLIENTNEST_REQUIRE_SERVICES=1`): a copy has the template's tables in its
//! schema, copies are independent, and a copy goes when its pool's last handle does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::borrow::Cow;
use std::time::Duration;

use clientnest_testkit::pg::PgTemplate;
use clientnest_testkit::services;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Connection, PgConnection, SqlStr};

/// One migration of the kit's own, so its template is not any crate's.
fn migrator() -> Migrator {
    let sql = SqlStr::from_static("CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL)");
    let migration = Migration::new(1, Cow::Borrowed("notes"), MigrationType::Simple, sql, false);
    Migrator { migrations: Cow::Owned(vec![migration]), ..Migrator::DEFAULT }
}

async fn exists(url: &str, name: &str) -> bool {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let found = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    found
}

#[tokio::test]
async fn copies_are_migrated_independent_and_dropped_with_their_pool() {
    let Some(url) = services::database_url() else { return };
    let migrator = migrator();
    let template = PgTemplate::prepare(&url, &migrator, "kit").await.unwrap();
    // A second prepare finds the template built.
    let again = PgTemplate::prepare(&url, &migrator, "kit").await.unwrap();
    assert_eq!(template.name(), again.name());
    assert!(template.name().starts_with("cn_tpl_"));

    let (a, b) = (template.database(2).await.unwrap(), template.database(2).await.unwrap());
    assert_ne!(a.name(), b.name());
    let schema: String = sqlx::query_scalar("SELECT current_schema()::text").fetch_one(a.pool()).await.unwrap();
    assert_eq!(schema, "kit");
    sqlx::query("INSERT INTO notes VALUES (1, 'only in a')").execute(a.pool()).await.unwrap();
    let in_b: i64 = sqlx::query_scalar("SELECT count(*) FROM notes").fetch_one(b.pool()).await.unwrap();
    assert_eq!(in_b, 0, "copies share nothing");
    let applied: i64 =
        sqlx::query_scalar("SELECT count(*) FROM kit._sqlx_migrations").fetch_one(b.pool()).await.unwrap();
    assert_eq!(applied, 1);

    // A client of its own reaches the copy through its URL.
    let mut own = PgConnection::connect(a.url()).await.unwrap();
    let body: String = sqlx::query_scalar("SELECT body FROM kit.notes").fetch_one(&mut own).await.unwrap();
    assert_eq!(body, "only in a");
    own.close().await.unwrap();

    // The pool's last handle takes the database with it, not the `TestDatabase` value.
    let (name, pool) = (a.name().to_owned(), a.pool().clone());
    drop(a);
    assert!(exists(&url, &name).await, "a pool handle is still alive");
    drop(pool);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!exists(&url, &name).await, "{name} outlived its pool");
}

#[tokio::test]
async fn a_schema_must_be_a_plain_identifier() {
    let Some(url) = services::database_url() else { return };
    let err = PgTemplate::prepare(&url, &migrator(), "Bad; DROP").await.unwrap_err();
    assert!(matches!(err, sqlx::Error::Configuration(_)), "{err:?}");
}
