//! Teams (`teams`) and memberships (`team_members`): a team is created with its owner's
//! membership in one transaction; the owner cannot be removed.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clientnest_core::constraint::FK_TEAM_MEMBERS_TEAM;
use clientnest_core::ids::{TeamId, TeamMemberId, UserId};
use clientnest_core::model::{
    MemberStatus, NewTeam, NewTeamMember, Team, TeamMember, TeamMemberUpdate, TeamRole, TeamUpdate,
};
use clientnest_core::page::{Cursor, Page, PageRequest};
use clientnest_core::ports::TeamRepository;
use clientnest_core::{Entity, Error, Result, validate};
use uuid::Uuid;

use super::{choice, found, missing, owned_row};
use crate::error::map_sqlx;
use crate::store::{PgStore, commit};

/// A `teams` row.
#[derive(sqlx::FromRow)]
struct TeamRow {
    id: Uuid,
    name: String,
    owner_id: Uuid,
    plan_type: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    settings: serde_json::Value,
    billing_info: serde_json::Value,
}

impl TryFrom<TeamRow> for Team {
    type Error = Error;
    fn try_from(r: TeamRow) -> Result<Self> {
        Ok(Team {
            id: TeamId(r.id),
            name: r.name,
            owner_id: UserId(r.owner_id),
            plan_type: choice(&r.plan_type)?,
            created_at: r.created_at,
            updated_at: r.updated_at,
            settings: r.settings,
            billing_info: r.billing_info,
        })
    }
}

/// A `team_members` row.
#[derive(sqlx::FromRow)]
struct MemberRow {
    id: Uuid,
    user_id: Uuid,
    team_id: Uuid,
    role: String,
    joined_at: DateTime<Utc>,
    permissions: serde_json::Value,
    status: String,
}

impl TryFrom<MemberRow> for TeamMember {
    type Error = Error;
    fn try_from(r: MemberRow) -> Result<Self> {
        Ok(TeamMember {
            id: TeamMemberId(r.id),
            user_id: UserId(r.user_id),
            team_id: TeamId(r.team_id),
            role: choice(&r.role)?,
            joined_at: r.joined_at,
            permissions: r.permissions,
            status: choice(&r.status)?,
        })
    }
}

fn team_cursor(t: &Team) -> Cursor {
    Cursor::after(t.created_at, t.id)
}

fn member_cursor(m: &TeamMember) -> Cursor {
    Cursor::after(m.joined_at, m.id)
}

const INSERT_TEAM: &str = "INSERT INTO teams (id, name, owner_id, plan_type, created_at, updated_at, settings, \
     billing_info) VALUES ($1, $2, $3, $4, $5, $5, $6, $7) RETURNING *";

const INSERT_MEMBER: &str = "INSERT INTO team_members (id, user_id, team_id, role, joined_at, permissions, status) \
     SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM teams WHERE id = $3) RETURNING *";

const TEAMS_OF_USER: &str = "SELECT t.* FROM teams t JOIN team_members m ON m.team_id = t.id \
     WHERE m.user_id = $1 AND (t.created_at, t.id) < ($2, $3) \
     ORDER BY t.created_at DESC, t.id DESC LIMIT $4";

const LIST_MEMBERS: &str = "SELECT * FROM team_members WHERE team_id = $1 AND (joined_at, id) < ($2, $3) \
     ORDER BY joined_at DESC, id DESC LIMIT $4";

const REMOVE_MEMBER: &str = "DELETE FROM team_members m WHERE m.team_id = $1 AND m.user_id = $2 \
     AND NOT EXISTS (SELECT 1 FROM teams t WHERE t.id = $1 AND t.owner_id = $2) RETURNING m.id";

impl PgStore {
    async fn member_row(&self, team: TeamId, user: UserId) -> Result<Option<MemberRow>> {
        sqlx::query_as("SELECT * FROM team_members WHERE team_id = $1 AND user_id = $2")
            .bind(team.0)
            .bind(user.0)
            .fetch_optional(self.pool())
            .await
            .map_err(map_sqlx)
    }
}

#[async_trait]
impl TeamRepository for PgStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_team(&self, team: NewTeam) -> Result<(Team, TeamMember)> {
        validate::check(&team)?;
        let now = self.now();
        let mut tx = self.begin().await?;
        let row: TeamRow = sqlx::query_as(INSERT_TEAM)
            .bind(TeamId::new().0)
            .bind(&team.name)
            .bind(team.owner_id.0)
            .bind(team.plan_type.as_str())
            .bind(now)
            .bind(&team.settings)
            .bind(&team.billing_info)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        let member: Option<MemberRow> = sqlx::query_as(INSERT_MEMBER)
            .bind(TeamMemberId::new().0)
            .bind(row.owner_id)
            .bind(row.id)
            .bind(TeamRole::Owner.as_str())
            .bind(now)
            .bind(serde_json::json!({}))
            .bind(MemberStatus::Active.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        let member = member.ok_or_else(|| missing(Entity::TeamMember, Entity::Team, FK_TEAM_MEMBERS_TEAM))?;
        commit(tx).await?;
        Ok((row.try_into()?, member.try_into()?))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    async fn get_team(&self, id: TeamId) -> Result<Team> {
        let row: Option<TeamRow> = sqlx::query_as("SELECT * FROM teams WHERE id = $1")
            .bind(id.0)
            .fetch_optional(self.pool())
            .await
            .map_err(map_sqlx)?;
        row.ok_or_else(|| Error::not_found(Entity::Team, id))?.try_into()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    async fn update_team(&self, id: TeamId, update: TeamUpdate) -> Result<Team> {
        validate::check(&update)?;
        let now = self.now();
        let mut tx = self.begin().await?;
        let row: Option<TeamRow> = sqlx::query_as("SELECT * FROM teams WHERE id = $1 FOR UPDATE")
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        let mut team: Team = row.ok_or_else(|| Error::not_found(Entity::Team, id))?.try_into()?;
        update.apply(&mut team, now);
        let row: TeamRow = sqlx::query_as(
            "UPDATE teams SET name = $2, plan_type = $3, updated_at = $4, settings = $5, billing_info = $6 \
             WHERE id = $1 RETURNING *",
        )
        .bind(team.id.0)
        .bind(&team.name)
        .bind(team.plan_type.as_str())
        .bind(team.updated_at)
        .bind(&team.settings)
        .bind(&team.billing_info)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        commit(tx).await?;
        row.try_into()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    async fn delete_team(&self, id: TeamId) -> Result<()> {
        let done =
            sqlx::query("DELETE FROM teams WHERE id = $1").bind(id.0).execute(self.pool()).await.map_err(map_sqlx)?;
        found(done.rows_affected(), Entity::Team, id)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn teams_of_user(&self, user: UserId, page: PageRequest) -> Result<Page<Team>> {
        self.fetch_page::<TeamRow, _>(TEAMS_OF_USER, user.0, &page, Team::try_from, team_cursor).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn add_member(&self, team: TeamId, member: NewTeamMember) -> Result<TeamMember> {
        validate::check(&member)?;
        let row: Option<MemberRow> = sqlx::query_as(INSERT_MEMBER)
            .bind(TeamMemberId::new().0)
            .bind(member.user_id.0)
            .bind(team.0)
            .bind(member.role.as_str())
            .bind(self.now())
            .bind(&member.permissions)
            .bind(member.status.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(map_sqlx)?;
        row.ok_or_else(|| missing(Entity::TeamMember, Entity::Team, FK_TEAM_MEMBERS_TEAM))?.try_into()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn membership(&self, team: TeamId, user: UserId) -> Result<Option<TeamMember>> {
        self.member_row(team, user).await?.map(TeamMember::try_from).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn list_members(&self, team: TeamId, page: PageRequest) -> Result<Page<TeamMember>> {
        self.fetch_page::<MemberRow, _>(LIST_MEMBERS, team.0, &page, TeamMember::try_from, member_cursor).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn update_member(&self, team: TeamId, user: UserId, update: TeamMemberUpdate) -> Result<TeamMember> {
        validate::check(&update)?;
        let mut tx = self.begin().await?;
        let row: MemberRow = owned_row(
            &mut *tx,
            "SELECT * FROM team_members WHERE team_id = $1 AND user_id = $2 FOR UPDATE",
            team.0,
            user.0,
            Entity::TeamMember,
            user,
        )
        .await?;
        let mut member: TeamMember = row.try_into()?;
        update.apply(&mut member);
        let row: MemberRow = sqlx::query_as(
            "UPDATE team_members SET role = $2, permissions = $3, status = $4 WHERE id = $1 RETURNING *",
        )
        .bind(member.id.0)
        .bind(member.role.as_str())
        .bind(&member.permissions)
        .bind(member.status.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        commit(tx).await?;
        row.try_into()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn remove_member(&self, team: TeamId, user: UserId) -> Result<()> {
        let removed: Option<Uuid> = sqlx::query_scalar(REMOVE_MEMBER)
            .bind(team.0)
            .bind(user.0)
            .fetch_optional(self.pool())
            .await
            .map_err(map_sqlx)?;
        if removed.is_some() {
            return Ok(());
        }
        match self.member_row(team, user).await? {
            None => Err(Error::not_found(Entity::TeamMember, user)),
            Some(m) => Err(Error::InvalidState {
                entity: Entity::TeamMember,
                id: m.id.to_string(),
                reason: "the team's owner cannot be removed",
            }),
        }
    }
}
