//! The acting-user rule under concurrency: a team-owned write locks the acting user's membership
//! and user rows `FOR SHARE`, so a membership removal or a deactivation in progress makes the
//! write wait, and the write then sees its outcome (refused after a commit, allowed after a
//! rollback). Nothing slips in between the check and the write.

use std::sync::Arc;
use std::time::Duration;

use clientnest_core::prelude::*;
use clientnest_postgres::PgStore;
use uuid::Uuid;

use clientnest_testkit::fixtures::new_user;

use crate::support::TestDb;

/// An owner with a team, and an editor of that team.
async fn team_with_editor(store: &PgStore) -> (UserId, TeamId, UserId) {
    let mut users = Vec::new();
    for name in ["Owner", "Editor"] {
        users.push(store.create_user(new_user("member", name, "Test")).await.unwrap().id);
    }
    let (team, _) = store.create_team(NewTeam::new("Members", users[0], PlanType::Business)).await.unwrap();
    store.add_member(team.id, NewTeamMember::new(users[1], TeamRole::Editor)).await.unwrap();
    (users[0], team.id, users[1])
}

/// Start `write` while `change` is applied in an open transaction; check the write is still
/// waiting, then commit (or roll back) the change and return the write's outcome.
async fn write_during<T: Send + 'static>(
    db: &TestDb,
    change: (&'static str, Uuid, Option<Uuid>),
    commit: bool,
    write: impl std::future::Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    let mut tx = db.pool().begin().await.unwrap();
    let (sql, first, second) = change;
    let mut query = sqlx::query(sql).bind(first);
    if let Some(second) = second {
        query = query.bind(second);
    }
    assert_eq!(query.execute(&mut *tx).await.unwrap().rows_affected(), 1, "the change touches one row");
    let handle = tokio::spawn(write);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!handle.is_finished(), "the write waits for the membership change in progress");
    if commit {
        tx.commit().await.unwrap();
    } else {
        tx.rollback().await.unwrap();
    }
    tokio::time::timeout(Duration::from_secs(30), handle).await.expect("the write ends").unwrap()
}

#[track_caller]
fn refused<T: std::fmt::Debug>(r: Result<T>, entity: Entity, user: UserId) {
    match r {
        Err(Error::NotAMember { entity: e, user: u }) if e == entity && u == user.to_string() => {}
        other => panic!("expected NotAMember {{ entity: {entity}, user: {user} }}, got {other:?}"),
    }
}

const REMOVE: &str = "DELETE FROM team_members WHERE team_id = $1 AND user_id = $2";
const SUSPEND: &str = "UPDATE team_members SET status = 'suspended' WHERE team_id = $1 AND user_id = $2";
const DEACTIVATE: &str = "UPDATE users SET is_active = false WHERE id = $1";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_waits_for_a_removal_in_progress_and_is_refused_after_it() {
    let Some(db) = TestDb::new().await else { return };
    let store = Arc::new(db.store.clone());
    let (_, team, editor) = team_with_editor(&store).await;

    let s = Arc::clone(&store);
    let post = async move { s.create_post(team, NewPost::draft(editor, "written while removed")).await };
    refused(write_during(&db, (REMOVE, team.0, Some(editor.0)), true, post).await, Entity::Post, editor);
    let posts = store.list_posts(team, PostFilter::default(), PageRequest::first(10)).await.unwrap();
    assert!(posts.items.is_empty(), "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_import_and_a_connect_wait_for_a_suspension_in_progress() {
    let Some(db) = TestDb::new().await else { return };
    let store = Arc::new(db.store.clone());
    let (owner, team, editor) = team_with_editor(&store).await;

    let s = Arc::clone(&store);
    let import = async move {
        let posts = [owner, editor]
            .into_iter()
            .map(|u| ImportedPost { post: NewPost::draft(u, "imported"), created_at: chrono::Utc::now() })
            .collect();
        s.import_posts(team, posts).await
    };
    refused(write_during(&db, (SUSPEND, team.0, Some(editor.0)), true, import).await, Entity::Post, editor);
    let posts = store.list_posts(team, PostFilter::default(), PageRequest::first(10)).await.unwrap();
    assert!(posts.items.is_empty(), "the import is all or nothing");

    let s = Arc::clone(&store);
    let connect = async move {
        let account = NewSocialAccount {
            user_id: owner,
            platform: Platform::Facebook,
            platform_id: "fb-members".to_owned(),
            username: "members".to_owned(),
            access_token: Secret::new("token"),
            refresh_token: None,
            token_expires: None,
            permissions: Vec::new(),
        };
        s.connect_account(team, account).await
    };
    let connected = write_during(&db, (DEACTIVATE, owner.0, None), false, connect).await;
    assert_eq!(connected.expect("allowed once the deactivation rolled back").user_id, owner);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_template_waits_for_a_deactivation_in_progress_and_is_refused_after_it() {
    let Some(db) = TestDb::new().await else { return };
    let store = Arc::new(db.store.clone());
    let (_, team, editor) = team_with_editor(&store).await;

    let s = Arc::clone(&store);
    let template = async move {
        let input = NewTemplate {
            user_id: editor,
            name: "Launch".to_owned(),
            description: String::new(),
            content: "Big news".to_owned(),
            category: "promo".to_owned(),
            hashtags: Vec::new(),
            is_public: false,
        };
        s.create_template(team, input).await
    };
    refused(write_during(&db, (DEACTIVATE, editor.0, None), true, template).await, Entity::Template, editor);
    let templates = store.list_templates(team, TemplateFilter::default(), PageRequest::first(10)).await.unwrap();
    assert!(templates.items.is_empty(), "nothing was written");
}
