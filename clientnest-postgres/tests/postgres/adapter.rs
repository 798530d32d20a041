//! What is specific to the adapter: building a store from a `PgConfig` (search path, pool
//! settings), mapping database errors raised by raw SQL, and an unreachable server.

use std::time::Duration;

use clientnest_core::prelude::*;
use clientnest_postgres::{PgConfig, PgStore, map_error};
use sqlx::{AssertSqlSafe, Executor};

use crate::support::{TestDb, keys};

#[tokio::test]
async fn connect_with_a_config_uses_its_search_path() {
    let Some(db) = TestDb::new().await else { return };
    let config =
        PgConfig::new(db.url()).with_search_path(db.schema.clone()).with_max_connections(2).with_min_connections(0);
    let store = PgStore::connect(&config, keys()).await.expect("connect");
    let schema: String = sqlx::query_scalar("SELECT current_schema()::text").fetch_one(store.pool()).await.unwrap();
    assert_eq!(schema, db.schema);
    let hash = hash_password(&Secret::new("config test password")).unwrap();
    let user = store.create_user(NewUser::new("cfg@example.com", hash, "Con", "Fig")).await.unwrap();
    assert_eq!(db.store.get_user(user.id).await.unwrap().email, "cfg@example.com");
    assert_eq!(store.pool().options().get_max_connections(), 2);
    store.close().await;
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let config = PgConfig::new(format!("postgres://nobody:secret@127.0.0.1:{port}/none"))
        .with_acquire_timeout(Duration::from_millis(500))
        .with_min_connections(0);
    let err = PgStore::connect(&config, keys()).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert!(!format!("{config:?}").contains("secret"));
}

#[tokio::test]
async fn raw_constraint_violations_map_to_the_core_errors() {
    let Some(db) = TestDb::new().await else { return };
    let pool = db.pool();
    let user = uuid::Uuid::now_v7();
    pool.execute(AssertSqlSafe(format!(
        "INSERT INTO users (id, email, password_hash, first_name, last_name) VALUES ('{user}', 'raw@example.com', 'x', 'R', 'W')"
    )))
    .await
    .unwrap();

    let dup = sqlx::query("INSERT INTO users (id, email, password_hash, first_name, last_name) VALUES ($1, 'RAW@example.com', 'x', 'R', 'W')")
        .bind(uuid::Uuid::now_v7())
        .execute(pool)
        .await
        .unwrap_err();
    let dup = map_error(dup);
    assert!(matches!(dup, Error::Conflict { entity: Entity::User, .. }), "{dup:?}");
    assert_eq!(dup.rule(), Some("uq_users_email"));

    let email = sqlx::query("INSERT INTO users (id, email, password_hash, first_name, last_name) VALUES ($1, 'not-an-email', 'x', 'R', 'W')")
        .bind(uuid::Uuid::now_v7())
        .execute(pool)
        .await
        .unwrap_err();
    let email = map_error(email);
    assert!(email.validation().is_some_and(|v| v.has("email", "chk_users_email_format")), "{email:?}");

    let orphan = sqlx::query("INSERT INTO teams (id, name, owner_id, plan_type) VALUES ($1, 'T', $2, 'free')")
        .bind(uuid::Uuid::now_v7())
        .bind(uuid::Uuid::now_v7())
        .execute(pool)
        .await
        .unwrap_err();
    let orphan = map_error(orphan);
    assert!(
        matches!(orphan, Error::MissingReference { entity: Entity::Team, references: Entity::User, .. }),
        "{orphan:?}"
    );
    assert_eq!(orphan.rule(), Some("fk_teams_owner"));

    let team = uuid::Uuid::now_v7();
    sqlx::query("INSERT INTO teams (id, name, owner_id, plan_type) VALUES ($1, 'T', $2, 'free')")
        .bind(team)
        .bind(user)
        .execute(pool)
        .await
        .unwrap();
    let tokens = sqlx::query(
        "INSERT INTO ai_usage (id, user_id, team_id, feature_type, tokens_used, cost, model_used) \
         VALUES ($1, $2, $3, 'content_generation', 0, 0, 'm')",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(user)
    .bind(team)
    .execute(pool)
    .await
    .unwrap_err();
    assert_eq!(map_error(tokens).rule(), Some("chk_ai_usage_tokens_positive"));

    let period = sqlx::query(
        "INSERT INTO billing (id, team_id, subscription_id, plan_type, amount, status, period_start, period_end, \
         next_billing) VALUES ($1, $2, 'sub', 'free', 0, 'active', now(), now() - interval '1 day', now())",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(team)
    .execute(pool)
    .await
    .unwrap_err();
    assert_eq!(map_error(period).rule(), Some("chk_billing_period"));

    let syntax = sqlx::query("SELEC 1").execute(pool).await.unwrap_err();
    assert!(matches!(map_error(syntax), Error::Backend { .. }));
}

/// The `chk_post_media_content_hash` CHECK (migration 0006) reports the core validator's rule
/// on `content_hash`; a lowercase SHA-256 hex digest and NULL pass.
#[tokio::test]
async fn a_malformed_content_hash_maps_to_the_core_rule() {
    let Some(db) = TestDb::new().await else { return };
    let hash = hash_password(&Secret::new("content hash test")).unwrap();
    let user = db.store.create_user(NewUser::new("hash@example.com", hash, "Ha", "Sh")).await.unwrap();
    let (team, _) = db.store.create_team(NewTeam::new("Hashes", user.id, PlanType::Free)).await.unwrap();
    let post = db.store.create_post(team.id, NewPost::draft(user.id, "Hashed media")).await.unwrap().post;
    let insert = |content_hash: Option<String>| {
        sqlx::query(
            "INSERT INTO post_media (id, team_id, post_id, media_type, file_url, file_size, content_hash) \
             VALUES ($1, $2, $3, 'image', 'https://cdn.example.com/h.png', 1, $4)",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(team.id.0)
        .bind(post.id.0)
        .bind(content_hash)
        .execute(db.pool())
    };
    let good = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    insert(Some(good.to_owned())).await.unwrap();
    insert(None).await.unwrap();
    let upper = map_error(insert(Some(good.to_uppercase())).await.unwrap_err());
    assert!(
        upper.validation().is_some_and(|v| v.has("content_hash", clientnest_core::validate::rule::CONTENT_HASH)),
        "{upper:?}"
    );
    assert_eq!(clientnest_core::validate::rule::CONTENT_HASH, "chk_post_media_content_hash");
}

#[tokio::test]
async fn the_store_reads_its_clock() {
    let Some(db) = TestDb::new().await else { return };
    let hash = hash_password(&Secret::new("clock test password")).unwrap();
    let user = db.store.create_user(NewUser::new("clock@example.com", hash, "Clo", "Ck")).await.unwrap();
    assert_eq!(user.created_at, db.clock.now());
    db.clock.advance(chrono::Duration::days(400));
    let updated = db
        .store
        .update_user(user.id, UserUpdate { first_name: Some("Tick".to_owned()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(updated.updated_at, db.clock.now());
    assert_eq!(updated.created_at, user.created_at);
    assert!(format!("{:?}", db.store).contains("test-key"));
}

/// A stored choice that no variant has (written past a dropped CHECK, as an older or foreign
/// writer could) fails the read as a corrupt row that names the store, the column's value and
/// no secret.
#[tokio::test]
async fn a_bad_stored_choice_is_a_corrupt_row_of_postgres() {
    let Some(db) = TestDb::new().await else { return };
    let hash = hash_password(&Secret::new("corrupt row password")).unwrap();
    let user = db.store.create_user(NewUser::new("corrupt@example.com", hash, "Cor", "Rupt")).await.unwrap();
    let (team, _) = db.store.create_team(NewTeam::new("Corrupt", user.id, PlanType::Free)).await.unwrap();
    db.pool().execute("ALTER TABLE teams DROP CONSTRAINT chk_teams_plan_type").await.unwrap();
    sqlx::query("UPDATE teams SET plan_type = 'platinum' WHERE id = $1")
        .bind(team.id.as_uuid())
        .execute(db.pool())
        .await
        .unwrap();

    let err = db.store.get_team(team.id).await.unwrap_err();
    assert!(matches!(err, Error::Backend { store: "postgres", .. }), "{err:?}");
    assert!(!err.is_retryable());
    let shown = err.to_string();
    assert!(shown.starts_with("postgres error: corrupt row: "), "{shown}");
    assert!(shown.contains("platinum"), "{shown}");
    assert!(!shown.contains("corrupt row password") && !shown.contains("$argon2"), "{shown}");
}

/// A feed page is decoded row by row as it arrives. A corrupt row in the middle of a page (a
/// media type no variant has, on the newest post's first media item, which the page's other
/// media rows follow) fails the
/// read as a corrupt row; the rest of the page is still read off the connection, so the
/// store's one connection stays and serves the next read, on the same server session.
#[tokio::test]
async fn a_corrupt_row_mid_feed_fails_the_read_and_keeps_the_connection() {
    let Some(db) = TestDb::new().await else { return };
    let name = format!("cn-feed-{}", uuid::Uuid::new_v4().simple());
    let config = PgConfig::new(db.url())
        .with_search_path(db.schema.clone())
        .with_application_name(name.clone())
        .with_max_connections(1)
        .with_min_connections(1);
    let store = PgStore::connect(&config, keys()).await.expect("connect");
    let hash = hash_password(&Secret::new("feed test password")).unwrap();
    let user = store.create_user(NewUser::new("feed@example.com", hash, "Fe", "Ed")).await.unwrap();
    let (team, _) = store.create_team(NewTeam::new("Feed", user.id, PlanType::Free)).await.unwrap();
    let mut newest = None;
    for i in 0..5 {
        let mut post = NewPost::draft(user.id, format!("post {i}"));
        post.status = PostStatus::Published;
        post.media = (0..3)
            .map(|m| NewPostMedia::new(MediaType::Image, format!("https://cdn.example.com/{i}/{m}.jpg"), 1024))
            .collect();
        let created = store.create_post(team.id, post).await.unwrap();
        newest = Some(created.media[0].id);
    }
    let session = || {
        sqlx::query_scalar::<_, i32>("SELECT pid FROM pg_stat_activity WHERE application_name = $1")
            .bind(&name)
            .fetch_all(db.pool())
    };
    let before = session().await.unwrap();
    assert_eq!(before.len(), 1, "the store's one connection");
    db.pool().execute("ALTER TABLE post_media DROP CONSTRAINT chk_post_media_media_type").await.unwrap();
    let corrupt = |kind: &'static str| {
        sqlx::query("UPDATE post_media SET media_type = $1 WHERE id = $2").bind(kind).bind(newest.map(|m| m.0))
    };
    corrupt("hologram").execute(db.pool()).await.unwrap();

    let err = store.feed(team.id, PageRequest::first(10)).await.unwrap_err();
    assert!(matches!(err, Error::Backend { store: "postgres", .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("hologram"), "{err}");

    corrupt("video").execute(db.pool()).await.unwrap();
    let page = store.feed(team.id, PageRequest::first(10)).await.unwrap();
    assert_eq!(page.items.len(), 5);
    assert!(page.items.iter().all(|p| p.media.len() == 3));
    assert_eq!(page.items.iter().flat_map(|p| &p.media).filter(|m| m.media_type == MediaType::Video).count(), 1);
    assert_eq!(session().await.unwrap(), before, "the same server session served both reads");
    store.close().await;
}

/// A store of one connection whose session the server ended (`pg_terminate_backend`): the
/// store's own connection is not given back after the failed call, so one call fails with
/// the retryable `Unavailable` and the next runs on a new connection; with
/// `test_before_acquire` the dead connection is found and replaced before any call fails.
#[tokio::test]
async fn a_connection_the_server_ended_is_replaced() {
    let Some(db) = TestDb::new().await else { return };
    for ping in [false, true] {
        let name = format!("cn-ended-{}", uuid::Uuid::new_v4().simple());
        let config = PgConfig::new(db.url())
            .with_search_path(db.schema.clone())
            .with_application_name(name.clone())
            .with_max_connections(1)
            .with_min_connections(1)
            .with_test_before_acquire(ping);
        let store = PgStore::connect(&config, keys()).await.expect("connect");
        let missing = UserId(uuid::Uuid::now_v7());
        assert!(matches!(store.get_user(missing).await, Err(Error::NotFound { .. })));
        let ended: Vec<bool> =
            sqlx::query_scalar("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1")
                .bind(&name)
                .fetch_all(db.pool())
                .await
                .unwrap();
        assert_eq!(ended, vec![true], "the store's one connection, ended (ping {ping})");
        let first = store.get_user(missing).await;
        if ping {
            assert!(matches!(first, Err(Error::NotFound { .. })), "replaced before the call: {first:?}");
        } else {
            let err = first.unwrap_err();
            assert!(err.is_retryable(), "{err:?}");
        }
        assert!(matches!(store.get_user(missing).await, Err(Error::NotFound { .. })), "a new connection (ping {ping})");
        store.close().await;
    }
}
