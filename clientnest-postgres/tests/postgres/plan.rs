//! The feed's plan on a table large enough for the planner to care: 50,000 posts over 50 teams,
//! seeded through the bulk path, then analysed. The page of posts must come from
//! `idx_posts_team_status_created`. The inbox's likewise on 50,000 comments: it filters on the
//! comments' own `team_id` and reads `idx_comments_team_created` (or, for one account,
//! `idx_comments_team_account_created`), with no join to the accounts and no scan of comments.

use chrono::Duration;
use clientnest_core::prelude::*;
use clientnest_postgres::PgStore;
use serde_json::Value;
use sqlx::AssertSqlSafe;
use uuid::Uuid;

use clientnest_testkit::fixtures::new_user;

use crate::support::TestDb;

const TEAMS: usize = 50;
const POSTS_PER_TEAM: usize = 1000;

/// `POSTS_PER_TEAM` posts of a team over the last year, 70% published, some with media.
fn posts_of(user: UserId, now: chrono::DateTime<chrono::Utc>) -> Vec<ImportedPost> {
    (0..POSTS_PER_TEAM)
        .map(|i| {
            let mut post = NewPost::draft(user, format!("post {i}"));
            post.status = if i % 10 < 7 { PostStatus::Published } else { PostStatus::Draft };
            post.media = (0..i % 3)
                .map(|m| NewPostMedia::new(MediaType::Image, format!("https://cdn.example.com/{i}/{m}.jpg"), 1024))
                .collect();
            let minutes = i64::try_from(i).unwrap_or(0) * 500;
            ImportedPost { post, created_at: now - Duration::minutes(minutes) }
        })
        .collect()
}

async fn seed(store: &PgStore, now: chrono::DateTime<chrono::Utc>) -> Vec<TeamId> {
    let mut teams = Vec::new();
    for t in 0..TEAMS {
        let user = store.create_user(new_user(&format!("plan-{t}"), "Plan", "Ner")).await.unwrap();
        let (team, _) =
            store.create_team(NewTeam::new(format!("Team {t}"), user.id, PlanType::Professional)).await.unwrap();
        teams.push((team.id, user.id));
    }
    for chunk in teams.chunks(10) {
        for (team, user) in chunk {
            let n = store.import_posts(*team, posts_of(*user, now)).await.unwrap();
            assert_eq!(n, POSTS_PER_TEAM as u64);
        }
    }
    teams.into_iter().map(|(t, _)| t).collect()
}

/// Every index named anywhere in a JSON plan.
fn index_names(plan: &Value, out: &mut Vec<String>) {
    match plan {
        Value::Object(map) => {
            for (key, value) in map {
                if key == "Index Name" {
                    out.extend(value.as_str().map(str::to_owned));
                }
                index_names(value, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| index_names(v, out)),
        _ => {}
    }
}

/// Whether a plan reads `posts` sequentially.
fn seq_scans_posts(plan: &Value) -> bool {
    seq_scans(plan, "posts")
}

/// Whether a plan reads `table` sequentially.
fn seq_scans(plan: &Value, table: &str) -> bool {
    match plan {
        Value::Object(map) => {
            (map.get("Node Type").and_then(Value::as_str) == Some("Seq Scan")
                && map.get("Relation Name").and_then(Value::as_str) == Some(table))
                || map.values().any(|v| seq_scans(v, table))
        }
        Value::Array(items) => items.iter().any(|v| seq_scans(v, table)),
        _ => false,
    }
}

/// Every relation named anywhere in a JSON plan.
fn relations(plan: &Value, out: &mut Vec<String>) {
    match plan {
        Value::Object(map) => {
            for (key, value) in map {
                if key == "Relation Name" {
                    out.extend(value.as_str().map(str::to_owned));
                }
                relations(value, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| relations(v, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_is_served_by_idx_posts_team_status_created() {
    let Some(db) = TestDb::new().await else { return };
    let now = db.clock.now();
    let teams = seed(&db.store, now).await;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM posts").fetch_one(db.pool()).await.unwrap();
    assert_eq!(total, (TEAMS * POSTS_PER_TEAM) as i64);
    sqlx::query("ANALYZE posts").execute(db.pool()).await.unwrap();
    sqlx::query("ANALYZE post_media").execute(db.pool()).await.unwrap();

    let team = teams[TEAMS / 2];
    let first = db.store.feed(team, PageRequest::first(20)).await.unwrap();
    assert_eq!(first.items.len(), 20);
    assert!(first.items.iter().all(|p| p.post.status == PostStatus::Published));
    let next = first.next.expect("more pages");

    let explain = format!("EXPLAIN (FORMAT JSON) {}", clientnest_postgres::sql::FEED);
    let far = chrono::DateTime::<chrono::Utc>::from_timestamp(253_402_300_800, 0).unwrap();
    for (at, id) in [(far, Uuid::max()), (next.created_at, next.id)] {
        let plan: Value = sqlx::query_scalar(AssertSqlSafe(explain.clone()))
            .bind(team.0)
            .bind(at)
            .bind(id)
            .bind(21_i64)
            .fetch_one(db.pool())
            .await
            .unwrap();
        let mut indexes = Vec::new();
        index_names(&plan, &mut indexes);
        assert!(indexes.iter().any(|i| i == "idx_posts_team_status_created"), "plan: {plan:#}");
        assert!(!seq_scans_posts(&plan), "plan: {plan:#}");
    }
}

const COMMENTS_PER_TEAM: usize = 1000;

/// `TEAMS` teams with one account each and `COMMENTS_PER_TEAM` comments on it, ingested through
/// the bulk path; returns each team with its account.
async fn seed_comments(store: &PgStore) -> Vec<(TeamId, SocialAccountId)> {
    let mut out = Vec::new();
    for t in 0..TEAMS {
        let user = store.create_user(new_user(&format!("inbox-{t}"), "In", "Box")).await.unwrap();
        let (team, _) =
            store.create_team(NewTeam::new(format!("Inbox {t}"), user.id, PlanType::Starter)).await.unwrap();
        let connect = NewSocialAccount {
            user_id: user.id,
            platform: Platform::Facebook,
            platform_id: format!("page-{t}"),
            username: format!("page{t}"),
            access_token: Secret::new("token"),
            refresh_token: None,
            token_expires: None,
            permissions: Vec::new(),
        };
        let account = store.connect_account(team.id, connect).await.unwrap();
        let batch = (0..COMMENTS_PER_TEAM)
            .map(|i| NewComment::new(account.id, format!("c-{i}"), format!("comment {i}"), "Grace", "g"))
            .collect();
        let report = store.ingest_comments(team.id, batch).await.unwrap();
        assert_eq!(report.inserted, COMMENTS_PER_TEAM as u64);
        out.push((team.id, account.id));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_is_served_by_idx_comments_team_created_without_a_join() {
    let Some(db) = TestDb::new().await else { return };
    let teams = seed_comments(&db.store).await;
    sqlx::query("ANALYZE comments").execute(db.pool()).await.unwrap();
    sqlx::query("ANALYZE social_accounts").execute(db.pool()).await.unwrap();
    let (team, account) = teams[TEAMS / 2];
    let first = db.store.inbox(team, InboxFilter::default(), PageRequest::first(20)).await.unwrap();
    assert_eq!(first.items.len(), 20);
    assert!(first.items.iter().all(|c| c.team_id == team));
    let next = first.next.expect("more pages");

    let explain = format!("EXPLAIN (FORMAT JSON) {}", clientnest_postgres::sql::INBOX);
    let far = chrono::DateTime::<chrono::Utc>::from_timestamp(253_402_300_800, 0).unwrap();
    for (at, id) in [(far, Uuid::max()), (next.created_at, next.id)] {
        // One account per team here, so for one account either index of the team serves.
        for (by_account, want) in [(None, "idx_comments_team_created"), (Some(account.0), "idx_comments_team_")] {
            let plan: Value = sqlx::query_scalar(AssertSqlSafe(explain.clone()))
                .bind(team.0)
                .bind(at)
                .bind(id)
                .bind(21_i64)
                .bind(None::<&str>)
                .bind(None::<&str>)
                .bind(None::<&str>)
                .bind(by_account)
                .fetch_one(db.pool())
                .await
                .unwrap();
            let mut indexes = Vec::new();
            index_names(&plan, &mut indexes);
            assert!(indexes.iter().any(|i| i.starts_with(want)), "plan: {plan:#}");
            let mut tables = Vec::new();
            relations(&plan, &mut tables);
            assert_eq!(tables, vec!["comments".to_owned()], "no join for tenancy: {plan:#}");
            assert!(!seq_scans(&plan, "comments"), "plan: {plan:#}");
        }
    }
}
