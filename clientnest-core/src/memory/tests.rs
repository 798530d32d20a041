//! Smoke tests of what is specific to the in-memory store: its indexes staying in step with
//! cascades, and the one lock making claims exclusive across threads. The shared behaviour is
//! the conformance suite's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use chrono::{Duration, Utc};

use super::MemoryStore;
use crate::clock::{Clock, ManualClock};
use crate::crypto::hash_password;
use crate::error::Error;
use crate::ids::*;
use crate::model::*;
use crate::page::PageRequest;
use crate::ports::*;
use crate::secret::{PasswordHash, Secret};

fn hash() -> PasswordHash {
    static HASH: OnceLock<PasswordHash> = OnceLock::new();
    HASH.get_or_init(|| hash_password(&Secret::new("memory store tests")).expect("hashing")).clone()
}

fn account(user: UserId, platform_id: &str) -> NewSocialAccount {
    NewSocialAccount {
        user_id: user,
        platform: Platform::Facebook,
        platform_id: platform_id.to_owned(),
        username: "nest".to_owned(),
        access_token: Secret::new("token"),
        refresh_token: None,
        token_expires: None,
        permissions: Vec::new(),
    }
}

/// A store on a manual clock, with a user owning a team that has an account and a post.
async fn world() -> (MemoryStore, ManualClock, UserId, TeamId, SocialAccountId, PostId) {
    let clock = ManualClock::new(Utc::now());
    let store = MemoryStore::with_clock(Arc::new(clock.clone()));
    let user = store.create_user(NewUser::new("Owner@Example.com", hash(), "O", "W")).await.unwrap();
    let (team, _) = store.create_team(NewTeam::new("T", user.id, PlanType::Free)).await.unwrap();
    let acct = store.connect_account(team.id, account(user.id, "fb-1")).await.unwrap();
    let post = store.create_post(team.id, NewPost::draft(user.id, "hello")).await.unwrap();
    (store, clock, user.id, team.id, acct.id, post.post.id)
}

#[tokio::test]
async fn deleting_a_user_frees_every_unique_key_it_held() {
    let (store, _, user, team, acct, post) = world().await;
    store.ingest_comments(team, vec![NewComment::new(acct, "c-1", "hi", "a", "b")]).await.unwrap();
    store.delete_user(user).await.unwrap();

    assert!(matches!(store.get_team(team).await, Err(Error::NotFound { .. })));
    assert!(matches!(store.get_post(team, post).await, Err(Error::NotFound { .. })));
    assert!(store.find_user_by_email("owner@example.com").await.unwrap().is_none());
    {
        let t = store.tables();
        assert!(t.members.is_empty() && t.member_keys.is_empty());
        assert!(t.accounts.is_empty() && t.account_keys.is_empty());
        assert!(t.comments.is_empty() && t.comment_keys.is_empty());
        assert!(t.posts.is_empty() && t.media.is_empty() && t.emails.is_empty());
    }
    // The email is free again.
    store.create_user(NewUser::new("owner@example.com", hash(), "O", "W")).await.unwrap();
}

#[tokio::test]
async fn a_changed_email_moves_its_index_entry() {
    let (store, _, user, _, _, _) = world().await;
    let update = UserUpdate { email: Some("new@example.com".to_owned()), ..Default::default() };
    store.update_user(user, update).await.unwrap();
    assert!(store.find_user_by_email("owner@example.com").await.unwrap().is_none());
    assert_eq!(store.find_user_by_email("NEW@example.com").await.unwrap().map(|u| u.id), Some(user));
    store.create_user(NewUser::new("owner@example.com", hash(), "O", "W")).await.unwrap();
}

#[test]
fn threads_claim_each_due_schedule_exactly_once() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (store, clock, user, team, acct, _) = rt.block_on(world());
    let at = clock.now() + Duration::minutes(1);
    for _ in 0..40 {
        // One live schedule per post and account: a post each.
        let post = rt.block_on(store.create_post(team, NewPost::draft(user, "hello"))).unwrap().post.id;
        rt.block_on(store.create_schedule(
            team,
            NewSchedule {
                user_id: user,
                post_id: post,
                social_account_id: acct,
                scheduled_time: at,
                timezone: "UTC".to_owned(),
            },
        ))
        .unwrap();
    }
    clock.advance(Duration::minutes(2));

    let workers: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
                let worker = WorkerId::new(format!("w-{i}")).unwrap();
                let mut mine = Vec::new();
                loop {
                    let got =
                        rt.block_on(store.claim_due(&worker, ClaimRequest::new(3, Duration::minutes(5)))).unwrap();
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got.into_iter().map(|c| c.schedule.id));
                }
            })
        })
        .collect();
    let claimed: Vec<ScheduleId> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    let distinct: HashSet<_> = claimed.iter().collect();
    assert_eq!((claimed.len(), distinct.len()), (40, 40));
    let page = rt.block_on(store.list_schedules(team, ScheduleFilter::default(), PageRequest::first(50))).unwrap();
    assert!(page.items.iter().all(|s| s.status == ScheduleStatus::Processing));
}
