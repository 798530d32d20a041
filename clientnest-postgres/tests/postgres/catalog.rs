//! After migrating, the catalog holds the seed's 15 tables, its 11 indexes and 4 CHECKs by name,
//! every unique rule and foreign key under the core's names, and every foreign key cascades.
//! Every team-owned table has a NOT NULL `team_id`, and the children of team-owned rows
//! (comments, responses, post media) are held to their parent's team by composite foreign keys
//! (migration 0007, which backfills rows written before it).

use std::collections::BTreeSet;

use clientnest_core::constraint as c;
use clientnest_core::prelude::*;
use clientnest_postgres::map_error;
use sqlx::{AssertSqlSafe, Executor};

use crate::support::TestDb;

const TABLES: [&str; 15] = [
    "users",
    "teams",
    "team_members",
    "social_accounts",
    "posts",
    "post_media",
    "comments",
    "responses",
    "templates",
    "schedules",
    "automations",
    "webhooks",
    "ai_usage",
    "billing",
    "notifications",
];

const SEED_INDEXES: [&str; 11] = [
    "idx_posts_user_team",
    "idx_posts_status_scheduled",
    "idx_comments_account_status",
    "idx_comments_created_at",
    "idx_social_accounts_platform",
    "idx_ai_usage_team_created",
    "idx_schedules_status_time",
    "idx_notifications_user_read",
    "idx_posts_team_status_created",
    "idx_comments_sentiment_priority",
    "idx_ai_usage_feature_team_date",
];

const SEED_CHECKS: [&str; 4] = [
    "chk_users_email_format",
    "chk_ai_usage_tokens_positive",
    "chk_ai_usage_cost_positive",
    "chk_schedules_future_time",
];

const FOREIGN_KEYS: [&str; 24] = [
    c::FK_TEAMS_OWNER,
    c::FK_TEAM_MEMBERS_USER,
    c::FK_TEAM_MEMBERS_TEAM,
    c::FK_SOCIAL_ACCOUNTS_USER,
    c::FK_SOCIAL_ACCOUNTS_TEAM,
    c::FK_POSTS_USER,
    c::FK_POSTS_TEAM,
    c::FK_POST_MEDIA_POST,
    c::FK_COMMENTS_ACCOUNT,
    c::FK_RESPONSES_COMMENT,
    c::FK_RESPONSES_USER,
    c::FK_TEMPLATES_USER,
    c::FK_TEMPLATES_TEAM,
    c::FK_SCHEDULES_USER,
    c::FK_SCHEDULES_TEAM,
    c::FK_SCHEDULES_POST,
    c::FK_SCHEDULES_SOCIAL_ACCOUNT,
    c::FK_AUTOMATIONS_USER,
    c::FK_AUTOMATIONS_TEAM,
    c::FK_WEBHOOKS_USER,
    c::FK_AI_USAGE_USER,
    c::FK_AI_USAGE_TEAM,
    c::FK_BILLING_TEAM,
    c::FK_NOTIFICATIONS_USER,
];

const UNIQUE_RULES: [&str; 6] = [
    c::UQ_USERS_EMAIL,
    c::UQ_TEAM_MEMBERS_USER_TEAM,
    c::UQ_SOCIAL_ACCOUNTS_PLATFORM_ACCOUNT_TEAM,
    c::UQ_COMMENTS_ACCOUNT_PLATFORM_ID,
    c::UQ_BILLING_SUBSCRIPTION_ID,
    c::UQ_BILLING_TEAM_ACTIVE,
];

async fn names(db: &TestDb, sql: &'static str) -> BTreeSet<String> {
    sqlx::query_scalar::<_, String>(sql).fetch_all(db.pool()).await.expect("catalog query").into_iter().collect()
}

fn missing<'a>(want: &[&'a str], have: &BTreeSet<String>) -> Vec<&'a str> {
    want.iter().copied().filter(|n| !have.contains(*n)).collect()
}

#[tokio::test]
async fn all_fifteen_tables_exist() {
    let Some(db) = TestDb::new().await else { return };
    let tables = names(
        &db,
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations'",
    )
    .await;
    let want: BTreeSet<String> = TABLES.iter().map(|t| t.to_string()).collect();
    assert_eq!(tables, want);
}

#[tokio::test]
async fn the_seeds_indexes_and_unique_rules_exist_by_name() {
    let Some(db) = TestDb::new().await else { return };
    let indexes = names(&db, "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema()").await;
    assert_eq!(missing(&SEED_INDEXES, &indexes), Vec::<&str>::new());
    assert_eq!(missing(&UNIQUE_RULES, &indexes), Vec::<&str>::new(), "unique rules are backed by named indexes");
    let feed: String = sqlx::query_scalar(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'idx_posts_team_status_created'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert!(feed.contains("(team_id, status, created_at DESC)"), "{feed}");
    let email: String = sqlx::query_scalar(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'uq_users_email'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert!(email.contains("UNIQUE") && email.contains("lower((email)::text)"), "{email}");
    let active: String = sqlx::query_scalar(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'uq_billing_team_active'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert!(active.contains("UNIQUE") && active.contains("WHERE"), "{active}");
}

#[tokio::test]
async fn the_seeds_checks_exist_by_name_and_every_choice_column_is_checked() {
    let Some(db) = TestDb::new().await else { return };
    let checks = names(
        &db,
        "SELECT con.conname::text FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace \
         WHERE n.nspname = current_schema() AND con.contype = 'c'",
    )
    .await;
    assert_eq!(missing(&SEED_CHECKS, &checks), Vec::<&str>::new());
    let choices = [
        "chk_billing_period",
        "chk_teams_plan_type",
        "chk_team_members_role",
        "chk_team_members_status",
        "chk_social_accounts_platform",
        "chk_posts_status",
        "chk_posts_platforms",
        "chk_post_media_media_type",
        "chk_comments_sentiment",
        "chk_comments_priority",
        "chk_comments_status",
        "chk_responses_status",
        "chk_ai_usage_feature_type",
        "chk_automations_trigger_type",
        "chk_automations_action_type",
        "chk_schedules_platform",
        "chk_schedules_status",
        "chk_webhooks_platform",
        "chk_billing_plan_type",
        "chk_billing_status",
        "chk_notifications_type",
        "chk_notifications_priority",
    ];
    assert_eq!(missing(&choices, &checks), Vec::<&str>::new());
    let email: String = sqlx::query_scalar(
        "SELECT pg_get_constraintdef(con.oid) FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace \
         WHERE n.nspname = current_schema() AND con.conname = 'chk_users_email_format'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert!(email.contains("~*") && email.contains("[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+"), "{email}");
}

#[tokio::test]
async fn every_foreign_key_is_named_and_cascades() {
    let Some(db) = TestDb::new().await else { return };
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT con.conname::text, con.confdeltype::text FROM pg_constraint con \
         JOIN pg_namespace n ON n.oid = con.connamespace WHERE n.nspname = current_schema() AND con.contype = 'f'",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let have: BTreeSet<String> = rows.iter().map(|(n, _)| n.clone()).collect();
    let want: BTreeSet<String> = FOREIGN_KEYS.iter().map(|n| n.to_string()).collect();
    assert_eq!(have, want);
    let not_cascading: Vec<&String> = rows.iter().filter(|(_, del)| del != "c").map(|(n, _)| n).collect();
    assert!(not_cascading.is_empty(), "without ON DELETE CASCADE: {not_cascading:?}");
}

/// Every foreign key's columns (all of them, for a composite key) are the leading columns of
/// some index, in any order, so a cascade or a parent's look-up never scans the child table.
#[tokio::test]
async fn every_foreign_key_has_an_index_leading_with_its_columns() {
    let Some(db) = TestDb::new().await else { return };
    let unindexed = names(
        &db,
        "SELECT con.conname::text FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace \
         WHERE n.nspname = current_schema() AND con.contype = 'f' AND NOT EXISTS ( \
           SELECT 1 FROM pg_index i WHERE i.indrelid = con.conrelid \
             AND con.conkey::int2[] <@ (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(con.conkey)])",
    )
    .await;
    assert!(unindexed.is_empty(), "foreign keys without an index: {unindexed:?}");
}

/// The tables that are not owned by a team: users, teams themselves, and the user-owned
/// webhooks and notifications. Every other table carries a NOT NULL `team_id`.
const NOT_TEAM_OWNED: [&str; 4] = ["users", "teams", "webhooks", "notifications"];

#[tokio::test]
async fn every_team_owned_table_has_a_not_null_team_id() {
    let Some(db) = TestDb::new().await else { return };
    let with_team = names(
        &db,
        "SELECT table_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND column_name = 'team_id' AND is_nullable = 'NO' \
           AND data_type = 'uuid'",
    )
    .await;
    let want: BTreeSet<String> = TABLES.iter().filter(|t| !NOT_TEAM_OWNED.contains(t)).map(|t| t.to_string()).collect();
    assert_eq!(with_team, want);
}

/// The children of team-owned rows reference their parent through (team_id, id), so a child
/// can never name another team than its parent's; the cascades are kept.
#[tokio::test]
async fn child_rows_reference_their_parent_with_its_team() {
    let Some(db) = TestDb::new().await else { return };
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT con.conname::text, pg_get_constraintdef(con.oid) FROM pg_constraint con \
         JOIN pg_namespace n ON n.oid = con.connamespace \
         WHERE n.nspname = current_schema() AND con.contype = 'f' AND con.conname = ANY($1) ORDER BY 1",
    )
    .bind(vec![c::FK_POST_MEDIA_POST, c::FK_COMMENTS_ACCOUNT, c::FK_RESPONSES_COMMENT])
    .fetch_all(db.pool())
    .await
    .unwrap();
    let want = [
        (
            c::FK_COMMENTS_ACCOUNT,
            "FOREIGN KEY (team_id, account_id) REFERENCES social_accounts(team_id, id) ON DELETE CASCADE",
        ),
        (c::FK_POST_MEDIA_POST, "FOREIGN KEY (team_id, post_id) REFERENCES posts(team_id, id) ON DELETE CASCADE"),
        (
            c::FK_RESPONSES_COMMENT,
            "FOREIGN KEY (team_id, comment_id) REFERENCES comments(team_id, id) ON DELETE CASCADE",
        ),
    ];
    let want: Vec<(String, String)> = want.iter().map(|(n, d)| (n.to_string(), d.to_string())).collect();
    assert_eq!(rows, want);
}

/// A child row written with another team than its parent's (raw SQL, bypassing the adapter) is
/// refused by the composite foreign key, reported under the core's rule name.
#[tokio::test]
async fn a_child_row_of_another_team_than_its_parent_is_refused() {
    let Some(db) = TestDb::new().await else { return };
    let s = &db.store;
    let hash = hash_password(&Secret::new("team rows test")).unwrap();
    let owner = s.create_user(NewUser::new("rows@example.com", hash, "Ro", "Ws")).await.unwrap();
    let (a, _) = s.create_team(NewTeam::new("A", owner.id, PlanType::Free)).await.unwrap();
    let (b, _) = s.create_team(NewTeam::new("B", owner.id, PlanType::Free)).await.unwrap();
    let connect = NewSocialAccount {
        user_id: owner.id,
        platform: Platform::Twitter,
        platform_id: "acct-1".to_owned(),
        username: "ada".to_owned(),
        access_token: Secret::new("token"),
        refresh_token: None,
        token_expires: None,
        permissions: Vec::new(),
    };
    let account = s.connect_account(a.id, connect).await.unwrap();
    let post = s.create_post(a.id, NewPost::draft(owner.id, "A's post")).await.unwrap().post;
    s.ingest_comments(a.id, vec![NewComment::new(account.id, "c1", "hi", "Grace", "g")]).await.unwrap();
    let comment = s.inbox(a.id, InboxFilter::default(), PageRequest::first(10)).await.unwrap().items.remove(0);
    assert_eq!(comment.team_id, a.id);

    let media = sqlx::query(
        "INSERT INTO post_media (id, team_id, post_id, media_type, file_url, file_size) \
         VALUES ($1, $2, $3, 'image', 'https://cdn.example.com/x.png', 1)",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(b.id.0)
    .bind(post.id.0)
    .execute(db.pool())
    .await
    .unwrap_err();
    assert_missing(map_error(media), c::FK_POST_MEDIA_POST);
    let foreign_comment = sqlx::query(
        "INSERT INTO comments (id, team_id, account_id, platform_id, content, author_name, author_id) \
         VALUES ($1, $2, $3, 'c2', 'hi', 'Grace', 'g')",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(b.id.0)
    .bind(account.id.0)
    .execute(db.pool())
    .await
    .unwrap_err();
    assert_missing(map_error(foreign_comment), c::FK_COMMENTS_ACCOUNT);
    let response = sqlx::query(
        "INSERT INTO responses (id, team_id, comment_id, user_id, content) VALUES ($1, $2, $3, $4, 'thanks')",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(b.id.0)
    .bind(comment.id.0)
    .bind(owner.id.0)
    .execute(db.pool())
    .await
    .unwrap_err();
    assert_missing(map_error(response), c::FK_RESPONSES_COMMENT);
}

fn assert_missing(e: Error, rule: &str) {
    assert!(matches!(&e, Error::MissingReference { rule: r, .. } if *r == rule), "{e:?}");
}

/// Migration 0007 on a schema holding rows written before it: every comment, response and
/// media item gets its parent's team, and the column is NOT NULL afterwards.
#[tokio::test]
async fn migration_0007_backfills_team_id_from_the_parents() {
    let Some(db) = TestDb::new().await else { return };
    let mut tx = db.pool().begin().await.unwrap();
    let schema = format!("backfill_{}", uuid::Uuid::now_v7().simple());
    tx.execute(AssertSqlSafe(format!("CREATE SCHEMA {schema}; SET LOCAL search_path TO {schema}"))).await.unwrap();
    let before: Vec<_> = clientnest_postgres::MIGRATOR.iter().filter(|m| m.version < 7).collect();
    assert_eq!(before.len(), 6);
    for m in before {
        tx.execute(AssertSqlSafe(m.sql.as_str().to_owned())).await.unwrap();
    }
    // Two teams, each with an account, a post with two media, a comment with two responses.
    let seed = r#"
INSERT INTO users (id, email, password_hash, first_name, last_name)
VALUES ('00000000-0000-7000-8000-000000000001', 'b@example.com', 'x', 'B', 'F');
INSERT INTO teams (id, name, owner_id, plan_type)
SELECT ('00000000-0000-7000-8000-00000000001' || t)::uuid, 'T' || t, '00000000-0000-7000-8000-000000000001', 'free'
FROM generate_series(1, 2) t;
INSERT INTO social_accounts (id, user_id, team_id, platform, platform_id, username, access_token_enc)
SELECT ('00000000-0000-7000-8000-00000000002' || t)::uuid, '00000000-0000-7000-8000-000000000001',
       ('00000000-0000-7000-8000-00000000001' || t)::uuid, 'twitter', 'p' || t, 'u', 'sealed'
FROM generate_series(1, 2) t;
INSERT INTO posts (id, user_id, team_id, content)
SELECT ('00000000-0000-7000-8000-00000000003' || t)::uuid, '00000000-0000-7000-8000-000000000001',
       ('00000000-0000-7000-8000-00000000001' || t)::uuid, 'hello'
FROM generate_series(1, 2) t;
INSERT INTO post_media (id, post_id, media_type, file_url, file_size, order_index)
SELECT gen_random_uuid(), ('00000000-0000-7000-8000-00000000003' || t)::uuid, 'image', 'https://x.example/a', 1, i
FROM generate_series(1, 2) t, generate_series(0, 1) i;
INSERT INTO comments (id, account_id, platform_id, content, author_name, author_id)
SELECT ('00000000-0000-7000-8000-00000000004' || t)::uuid, ('00000000-0000-7000-8000-00000000002' || t)::uuid,
       'c', 'hi', 'G', 'g'
FROM generate_series(1, 2) t;
INSERT INTO responses (id, comment_id, user_id, content)
SELECT gen_random_uuid(), ('00000000-0000-7000-8000-00000000004' || t)::uuid,
       '00000000-0000-7000-8000-000000000001', 'thanks'
FROM generate_series(1, 2) t, generate_series(1, 2) i;
"#;
    tx.execute(seed).await.unwrap();
    let m7 = clientnest_postgres::MIGRATOR.iter().find(|m| m.version == 7).expect("migration 0007");
    tx.execute(AssertSqlSafe(m7.sql.as_str().to_owned())).await.unwrap();
    let mismatched: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM post_media m JOIN posts p ON p.id = m.post_id WHERE m.team_id = p.team_id), \
                (SELECT count(*) FROM comments c JOIN social_accounts a ON a.id = c.account_id \
                   WHERE c.team_id = a.team_id), \
                (SELECT count(*) FROM responses r JOIN comments c ON c.id = r.comment_id WHERE r.team_id = c.team_id), \
                (SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() \
                   AND table_name IN ('post_media', 'comments', 'responses') AND column_name = 'team_id' \
                   AND is_nullable = 'NO')",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(mismatched, (4, 2, 4, 3), "every row backfilled with its parent's team");
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn deleting_a_user_cascades_through_the_catalog() {
    let Some(db) = TestDb::new().await else { return };
    let pool = db.pool();
    let user = uuid::Uuid::now_v7();
    let team = uuid::Uuid::now_v7();
    sqlx::query("INSERT INTO users (id, email, password_hash, first_name, last_name) VALUES ($1, 'c@example.com', 'x', 'C', 'D')")
        .bind(user)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO teams (id, name, owner_id, plan_type) VALUES ($1, 'T', $2, 'free')")
        .bind(team)
        .bind(user)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO posts (id, user_id, team_id, content) VALUES ($1, $2, $3, 'hello')")
        .bind(uuid::Uuid::now_v7())
        .bind(user)
        .bind(team)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM users WHERE id = $1").bind(user).execute(pool).await.unwrap();
    let left: (i64, i64) = sqlx::query_as("SELECT (SELECT count(*) FROM teams), (SELECT count(*) FROM posts)")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(left, (0, 0));
}

#[tokio::test]
async fn migrating_twice_is_harmless_and_records_every_migration() {
    let Some(db) = TestDb::new().await else { return };
    db.store.migrate().await.expect("second migrate is a no-op");
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(db.pool())
        .await
        .unwrap();
    // Every embedded migration is recorded, numbered 1, 2, 3... with no gap: the seed's four
    // phases, the publishing protocol, then whatever comes next.
    let embedded: Vec<i64> = clientnest_postgres::MIGRATOR.iter().map(|m| m.version).collect();
    assert_eq!(versions, embedded);
    assert!(embedded.len() >= 5, "the seed's four phases and the publishing protocol: {embedded:?}");
    assert_eq!(embedded, (1..=embedded.len() as i64).collect::<Vec<_>>(), "numbered without gaps");
}
