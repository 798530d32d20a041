//! Teams (`teams`) and memberships (`team_members`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::choices::{MemberStatus, PlanType, TeamRole};
use crate::clock::to_micros;
use crate::error::{Entity, Error};
use crate::ids::{TeamId, TeamMemberId, UserId};
use crate::validate as v;

/// Why `remove_member` refuses the team's owner.
pub const OWNER_NOT_REMOVABLE: &str = "the team's owner cannot be removed";

/// A stored team: one row of `teams`; every team-owned record is reached through it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Team {
    /// Primary key, a fresh id set at creation; never changes.
    pub id: TeamId,
    /// Name: one line of 1 to 100 characters.
    pub name: String,
    /// The owning user: an `owner` member from creation, who cannot be removed; no update changes it.
    pub owner_id: UserId,
    /// Billing plan; changed through [`TeamUpdate::plan_type`].
    pub plan_type: PlanType,
    /// Creation time (UTC, microseconds), set by the backend; never changes.
    pub created_at: DateTime<Utc>,
    /// Time of the last change (UTC); equals `created_at` until an update.
    pub updated_at: DateTime<Utc>,
    /// Team settings as JSON (`{}` by default); strings and keys hold no NUL.
    pub settings: serde_json::Value,
    /// Billing details (address, tax id...) as JSON (`{}` by default); strings and keys hold no NUL.
    pub billing_info: serde_json::Value,
}

/// A team to create; its owner becomes an `owner` member in the same step.
#[derive(Debug, Clone, Validate)]
pub struct NewTeam {
    /// Name, at most 100 characters.
    #[validate(length(max = 100), custom(function = "v::required_line"))]
    pub name: String,
    /// The owner: must exist; joins as an active `owner` member in the same step.
    pub owner_id: UserId,
    /// Billing plan the team starts on.
    pub plan_type: PlanType,
    /// Settings as JSON (default `{}`); strings and keys hold no NUL.
    #[validate(custom(function = "v::json"))]
    pub settings: serde_json::Value,
    /// Billing details as JSON (default `{}`); strings and keys hold no NUL.
    #[validate(custom(function = "v::json"))]
    pub billing_info: serde_json::Value,
}

impl NewTeam {
    /// A team with empty settings and billing details.
    pub fn new(name: impl Into<String>, owner_id: UserId, plan_type: PlanType) -> Self {
        Self {
            name: name.into(),
            owner_id,
            plan_type,
            settings: serde_json::json!({}),
            billing_info: serde_json::json!({}),
        }
    }

    /// The team to store, after validation, and its owner's membership: new ids, created at
    /// `now` (truncated to microseconds); the owner joins as an active `owner` with no extra
    /// permissions.
    pub fn into_record(self, now: DateTime<Utc>) -> Result<(Team, TeamMember), Error> {
        v::check(&self)?;
        let now = to_micros(now);
        let team = Team {
            id: TeamId::new(),
            name: self.name,
            owner_id: self.owner_id,
            plan_type: self.plan_type,
            created_at: now,
            updated_at: now,
            settings: self.settings,
            billing_info: self.billing_info,
        };
        let owner = NewTeamMember::new(team.owner_id, TeamRole::Owner).into_record(team.id, now)?;
        Ok((team, owner))
    }
}

impl Team {
    /// `Ok` when `member` may leave the team: anyone but its owner (`InvalidState`
    /// [`OWNER_NOT_REMOVABLE`], naming the membership).
    pub fn check_removal(&self, member: &TeamMember) -> Result<(), Error> {
        if member.user_id == self.owner_id {
            return Err(Error::InvalidState {
                entity: Entity::TeamMember,
                id: member.id.to_string(),
                reason: OWNER_NOT_REMOVABLE,
            });
        }
        Ok(())
    }
}

/// Changes to a team; `None` leaves a field as is. The owner cannot be changed.
#[derive(Debug, Clone, Default, Validate)]
pub struct TeamUpdate {
    /// New name: one line of 1 to 100 characters; `None` keeps it.
    #[validate(length(max = 100), custom(function = "v::required_line"))]
    pub name: Option<String>,
    /// New plan; `None` keeps it.
    pub plan_type: Option<PlanType>,
    /// New settings (JSON without NUL), replacing the old ones whole; `None` keeps them.
    #[validate(custom(function = "v::json"))]
    pub settings: Option<serde_json::Value>,
    /// New billing details (JSON without NUL), replacing the old ones whole; `None` keeps them.
    #[validate(custom(function = "v::json"))]
    pub billing_info: Option<serde_json::Value>,
}

impl TeamUpdate {
    /// Apply the changes and set `updated_at` to `now`.
    pub fn apply(self, t: &mut Team, now: DateTime<Utc>) {
        if let Some(x) = self.name {
            t.name = x;
        }
        if let Some(x) = self.plan_type {
            t.plan_type = x;
        }
        if let Some(x) = self.settings {
            t.settings = x;
        }
        if let Some(x) = self.billing_info {
            t.billing_info = x;
        }
        t.updated_at = now;
    }
}

/// A stored membership: a user's role in a team (unique per user and team).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamMember {
    /// Primary key, a fresh id set when the user joins; never changes.
    pub id: TeamMemberId,
    /// The member user; one membership per user and team.
    pub user_id: UserId,
    /// The team joined; every read goes through it.
    pub team_id: TeamId,
    /// Role in the team; the owner joins as `owner`.
    pub role: TeamRole,
    /// When the user joined (UTC, microseconds), set by the backend; never changes.
    pub joined_at: DateTime<Utc>,
    /// Extra permissions as JSON (`{}` for none); strings and keys hold no NUL.
    pub permissions: serde_json::Value,
    /// Membership status (`active` by default).
    pub status: MemberStatus,
}

/// A membership to add: one user, once per team.
#[derive(Debug, Clone, Validate)]
pub struct NewTeamMember {
    /// The user to add: must exist and not be a member yet (`uq_team_members_user_team`).
    pub user_id: UserId,
    /// Role the user gets in the team.
    pub role: TeamRole,
    /// Extra permissions as JSON (default `{}`); strings and keys hold no NUL.
    #[validate(custom(function = "v::json"))]
    pub permissions: serde_json::Value,
    /// Status (default `active`).
    pub status: MemberStatus,
}

impl NewTeamMember {
    /// An active member with no extra permissions.
    pub fn new(user_id: UserId, role: TeamRole) -> Self {
        Self { user_id, role, permissions: serde_json::json!({}), status: MemberStatus::Active }
    }

    /// The membership to store in `team`, after validation: a new id, joined at `now`
    /// (truncated to microseconds).
    pub fn into_record(self, team: TeamId, now: DateTime<Utc>) -> Result<TeamMember, Error> {
        v::check(&self)?;
        Ok(TeamMember {
            id: TeamMemberId::new(),
            user_id: self.user_id,
            team_id: team,
            role: self.role,
            joined_at: to_micros(now),
            permissions: self.permissions,
            status: self.status,
        })
    }
}

/// Changes to a membership; `None` leaves a field as is.
#[derive(Debug, Clone, Default, Validate)]
pub struct TeamMemberUpdate {
    /// New role; `None` keeps it.
    pub role: Option<TeamRole>,
    /// New permissions (JSON without NUL), replacing the old ones whole; `None` keeps them.
    #[validate(custom(function = "v::json"))]
    pub permissions: Option<serde_json::Value>,
    /// New status; `None` keeps it.
    pub status: Option<MemberStatus>,
}

impl TeamMemberUpdate {
    /// Apply the changes; a membership has no `updated_at`.
    pub fn apply(self, m: &mut TeamMember) {
        if let Some(x) = self.role {
            m.role = x;
        }
        if let Some(x) = self.permissions {
            m.permissions = x;
        }
        if let Some(x) = self.status {
            m.status = x;
        }
    }
}
