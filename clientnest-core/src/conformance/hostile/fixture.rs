//! The rows every hostile case writes under: a user, their team with a Facebook account, and a
//! second team holding one post (for the tenancy cases).

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::clock::{Clock, to_micros};
use crate::conformance::{Harness, TimeControl};
use crate::crypto::hash_password;
use crate::error::Result;
use crate::ids::{PostId, SocialAccountId, TeamId, UserId};
use crate::model::*;
use crate::ports::Repositories;
use crate::secret::{PasswordHash, Secret};

/// The rows the cases write under.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The user every user-owned row belongs to.
    pub user: UserId,
    /// The team every team-owned row belongs to.
    pub team: TeamId,
    /// An active Facebook account of the team.
    pub account: SocialAccountId,
    /// A post of another team, which no read through `team` may return.
    pub other_post: PostId,
    time: TimeControl,
}

impl Fixture {
    /// Create the rows on a backend.
    pub async fn create<S: Repositories + ?Sized>(h: &Harness<S>) -> Result<Fixture> {
        let store = &*h.store;
        let user = store.create_user(new_user()).await?.id;
        let (team, _) = store.create_team(NewTeam::new("Hostile input", user, PlanType::Business)).await?;
        let account = store.connect_account(team.id, new_account(user)).await?.id;
        let other = store.create_user(new_user()).await?.id;
        let (other_team, _) = store.create_team(NewTeam::new("Elsewhere", other, PlanType::Free)).await?;
        let other_post = store.create_post(other_team.id, NewPost::draft(other, "not yours")).await?.post.id;
        Ok(Fixture { user, team: team.id, account, other_post, time: h.time.clone() })
    }

    /// The backend's current time.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.time {
            TimeControl::Manual(clock) => clock.now(),
            TimeControl::Real => to_micros(Utc::now()),
        }
    }
}

/// One argon2id hash for the process: hashing is slow in debug builds.
pub(super) fn password_hash() -> PasswordHash {
    static HASH: OnceLock<PasswordHash> = OnceLock::new();
    HASH.get_or_init(|| match hash_password(&Secret::new("hostile input password")) {
        Ok(hash) => hash,
        Err(e) => panic!("argon2id hashing: {e}"),
    })
    .clone()
}

/// A fresh, unique email address.
pub(super) fn unique_email() -> String {
    format!("hostile-{}@example.com", Uuid::new_v4().simple())
}

/// A valid user with a fresh email.
pub(super) fn new_user() -> NewUser {
    NewUser::new(unique_email(), password_hash(), "Eve", "Mallory")
}

/// A valid Facebook account with a fresh platform id.
pub(super) fn new_account(user: UserId) -> NewSocialAccount {
    NewSocialAccount {
        user_id: user,
        platform: Platform::Facebook,
        platform_id: format!("page-{}", Uuid::new_v4().simple()),
        username: "hostile".to_owned(),
        access_token: Secret::new("access-token"),
        refresh_token: Some(Secret::new("refresh-token")),
        token_expires: None,
        permissions: vec!["publish".to_owned()],
    }
}
