//! The acting-user rule: the `user_id` of a team-owned input must be an active member of the
//! team (`team_members.status = 'active'` and `users.is_active`) at write time.
//!
//! Two forms, one condition:
//! - [`active_member!`] is the SQL fragment a single-statement write puts in its
//!   `INSERT ... SELECT ... WHERE`, so the check and the write are one statement;
//! - [`require_member`] / [`require_members`] run the same condition as a query inside the
//!   caller's transaction, before a multi-statement write.
//!
//! Both lock the membership and the user row `FOR SHARE`: a concurrent `remove_member`,
//! `update_member` (status) or `update_user` (`is_active`) waits for the write's transaction to
//! end, and a write that waited on one of them sees its outcome (PostgreSQL re-checks the
//! locked row), so no write slips in after a membership ended.
//!
//! Errors follow the order of checks of every backend: the team must exist, then every user
//! (`MissingReference`), then membership (`NotAMember`).

use clientnest_core::constraint::{
    FK_AI_USAGE_TEAM, FK_AI_USAGE_USER, FK_AUTOMATIONS_TEAM, FK_AUTOMATIONS_USER, FK_POSTS_TEAM, FK_POSTS_USER,
    FK_RESPONSES_COMMENT, FK_RESPONSES_USER, FK_SCHEDULES_TEAM, FK_SCHEDULES_USER, FK_SOCIAL_ACCOUNTS_TEAM,
    FK_SOCIAL_ACCOUNTS_USER, FK_TEMPLATES_TEAM, FK_TEMPLATES_USER,
};
use clientnest_core::ids::{TeamId, UserId};
use clientnest_core::{Entity, Error, Result};
use uuid::Uuid;

use super::missing;
use crate::error::map_sqlx;

/// `EXISTS (...)`: whether the user `$user` is an active member of the team `$team` (two SQL
/// expressions, e.g. `"$3"` and `"$2"`), locking the membership and user rows `FOR SHARE`.
macro_rules! active_member {
    ($team:literal, $user:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM team_members am JOIN users au ON au.id = am.user_id WHERE am.team_id = ",
            $team,
            " AND am.user_id = ",
            $user,
            " AND am.status = 'active' AND au.is_active FOR SHARE OF am, au)"
        )
    };
}
pub(crate) use active_member;

/// A team-owned write with an acting user: the entity written and the foreign keys its
/// `MissingReference` names when the team or the user does not exist.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Acting {
    entity: Entity,
    /// What a missing team is reported as (a response reaches its team through its comment).
    team: (Entity, &'static str),
    user: &'static str,
}

impl Acting {
    /// A post (`create_post`, `import_posts`).
    pub(crate) const POST: Acting =
        Acting { entity: Entity::Post, team: (Entity::Team, FK_POSTS_TEAM), user: FK_POSTS_USER };
    /// A schedule (`create_schedule`).
    pub(crate) const SCHEDULE: Acting =
        Acting { entity: Entity::Schedule, team: (Entity::Team, FK_SCHEDULES_TEAM), user: FK_SCHEDULES_USER };
    /// A social account (`connect_account`, new or reconnected).
    pub(crate) const SOCIAL_ACCOUNT: Acting = Acting {
        entity: Entity::SocialAccount,
        team: (Entity::Team, FK_SOCIAL_ACCOUNTS_TEAM),
        user: FK_SOCIAL_ACCOUNTS_USER,
    };
    /// A template (`create_template`).
    pub(crate) const TEMPLATE: Acting =
        Acting { entity: Entity::Template, team: (Entity::Team, FK_TEMPLATES_TEAM), user: FK_TEMPLATES_USER };
    /// An automation (`create_automation`).
    pub(crate) const AUTOMATION: Acting =
        Acting { entity: Entity::Automation, team: (Entity::Team, FK_AUTOMATIONS_TEAM), user: FK_AUTOMATIONS_USER };
    /// An AI usage record (`record_ai_usage`).
    pub(crate) const AI_USAGE: Acting =
        Acting { entity: Entity::AiUsage, team: (Entity::Team, FK_AI_USAGE_TEAM), user: FK_AI_USAGE_USER };
    /// A response (`draft_response`, `send_response`); its team is its comment's.
    pub(crate) const RESPONSE: Acting =
        Acting { entity: Entity::Response, team: (Entity::Comment, FK_RESPONSES_COMMENT), user: FK_RESPONSES_USER };

    /// The `NotAMember` error of this write for `user`.
    pub(crate) fn not_a_member(self, user: impl std::fmt::Display) -> Error {
        Error::NotAMember { entity: self.entity, user: user.to_string() }
    }
}

/// `$1` team, `$2` users: whether the team exists, the users that do not exist and the users
/// that are not active members, both in input order.
const CHECK: &str = concat!(
    "SELECT EXISTS (SELECT 1 FROM teams WHERE id = $1) AS team_exists, \
       ARRAY(SELECT q.x FROM UNNEST($2::uuid[]) WITH ORDINALITY AS q(x, o) \
         WHERE NOT EXISTS (SELECT 1 FROM users WHERE id = q.x) ORDER BY q.o) AS missing_users, \
       ARRAY(SELECT q.x FROM UNNEST($2::uuid[]) WITH ORDINALITY AS q(x, o) WHERE NOT ",
    active_member!("$1", "q.x"),
    " ORDER BY q.o) AS outsiders"
);

#[derive(sqlx::FromRow)]
struct Check {
    team_exists: bool,
    missing_users: Vec<Uuid>,
    outsiders: Vec<Uuid>,
}

/// `Ok` when every user of `users` is an active member of `team`; else, in this order, the
/// `MissingReference` of a missing team, of the first missing user, or the `NotAMember` of the
/// first user (in input order) who is not an active member.
///
/// Run it on the transaction of the write it guards: the membership and user rows stay locked
/// `FOR SHARE` until that transaction ends.
pub(crate) async fn require_members<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    team: TeamId,
    users: &[UserId],
    acting: Acting,
) -> Result<()> {
    let ids: Vec<Uuid> = users.iter().map(|u| u.0).collect();
    let check: Check = sqlx::query_as(CHECK).bind(team.0).bind(&ids).fetch_one(executor).await.map_err(map_sqlx)?;
    if !check.team_exists {
        return Err(missing(acting.entity, acting.team.0, acting.team.1));
    }
    if !check.missing_users.is_empty() {
        return Err(missing(acting.entity, Entity::User, acting.user));
    }
    match check.outsiders.first() {
        Some(user) => Err(acting.not_a_member(user)),
        None => Ok(()),
    }
}

/// [`require_members`] for one user: `Ok` when `user` is an active member of `team`, else the
/// `MissingReference` of a missing team or user, or `NotAMember`. Run it on the transaction of
/// the write it guards (e.g. `require_member(&mut *tx, team, input.user_id, Acting::SCHEDULE)`).
pub(crate) async fn require_member<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    team: TeamId,
    user: UserId,
    acting: Acting,
) -> Result<()> {
    require_members(executor, team, &[user], acting).await
}

/// Why a single-statement write guarded by [`active_member!`] stored nothing: a missing team
/// or user, else `NotAMember` (also when the membership became active since the write ran).
pub(crate) async fn refusal<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    team: TeamId,
    user: UserId,
    acting: Acting,
) -> Error {
    match require_member(executor, team, user, acting).await {
        Err(e) => e,
        Ok(()) => acting.not_a_member(user),
    }
}
