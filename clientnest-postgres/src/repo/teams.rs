//! Teams (`teams`) and memberships (`team_members`): a team is created with its owner's
//! membership in one transaction; the owner cannot be removed ([`Team::check_removal`]).

use async_trait::async_trait;
use clientnest_core::constraint::FK_TEAM_MEMBERS_TEAM;
use clientnest_core::ids::{TeamId, TeamMemberId, UserId};
use clientnest_core::model::{NewTeam, NewTeamMember, Team, TeamMember, TeamMemberUpdate, TeamUpdate};
use clientnest_core::page::{Page, PageRequest};
use clientnest_core::ports::TeamRepository;
use clientnest_core::{Entity, Error, Result, validate};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{Db, RowQuery, choice_column, found, from_columns, missing, owned_row};
use crate::error::map_sqlx;
use crate::store::{PgStore, Tx, finish};

impl sqlx::FromRow<'_, PgRow> for Db<Team> {
    fn from_row(row: &PgRow) -> sqlx::Result<Self> {
        Ok(Db(from_columns!(row, Team {
            name, created_at, updated_at, settings, billing_info;
            id: TeamId(row.try_get("id")?),
            owner_id: UserId(row.try_get("owner_id")?),
            plan_type: choice_column(row, "plan_type")?,
        })))
    }
}

impl sqlx::FromRow<'_, PgRow> for Db<TeamMember> {
    fn from_row(row: &PgRow) -> sqlx::Result<Self> {
        Ok(Db(from_columns!(row, TeamMember {
            joined_at, permissions;
            id: TeamMemberId(row.try_get("id")?),
            user_id: UserId(row.try_get("user_id")?),
            team_id: TeamId(row.try_get("team_id")?),
            role: choice_column(row, "role")?,
            status: choice_column(row, "status")?,
        })))
    }
}

/// The columns of `teams`, in the order [`bind_team`] binds them as `$1` to `$8`.
macro_rules! team_columns {
    () => {
        "id, name, owner_id, plan_type, created_at, updated_at, settings, billing_info"
    };
}

/// Bind every column of `t` as `$1` (id) to `$8` (billing info), in the order of
/// `team_columns!`.
fn bind_team<'q, O>(q: RowQuery<'q, O>, t: &'q Team) -> RowQuery<'q, O> {
    q.bind(t.id.0)
        .bind(&t.name)
        .bind(t.owner_id.0)
        .bind(t.plan_type.as_str())
        .bind(t.created_at)
        .bind(t.updated_at)
        .bind(&t.settings)
        .bind(&t.billing_info)
}

/// The columns of `team_members`, in the order [`bind_member`] binds them as `$1` to `$7`.
macro_rules! member_columns {
    () => {
        "id, user_id, team_id, role, joined_at, permissions, status"
    };
}

/// Bind every column of `m` as `$1` (id) to `$7` (status), in the order of `member_columns!`.
fn bind_member<'q, O>(q: RowQuery<'q, O>, m: &'q TeamMember) -> RowQuery<'q, O> {
    q.bind(m.id.0)
        .bind(m.user_id.0)
        .bind(m.team_id.0)
        .bind(m.role.as_str())
        .bind(m.joined_at)
        .bind(&m.permissions)
        .bind(m.status.as_str())
}

/// `$1`..`$8`: the team, as [`bind_team`] binds it.
const INSERT_TEAM: &str = concat!(
    "INSERT INTO teams (",
    team_columns!(),
    ")
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     RETURNING *"
);

/// `$1`..`$8`: the team, as [`bind_team`] binds it (the row is found by `$1`).
const SAVE_TEAM: &str = concat!(
    "UPDATE teams SET (",
    team_columns!(),
    ") = ROW($1, $2, $3, $4, $5, $6, $7, $8)
     WHERE id = $1
     RETURNING *"
);

/// `$1`..`$7`: the membership, as [`bind_member`] binds it; nothing is stored (no row) when its
/// team `$3` does not exist.
const INSERT_MEMBER: &str = concat!(
    "INSERT INTO team_members (",
    member_columns!(),
    ")
     SELECT $1, $2, $3, $4, $5, $6, $7
     WHERE EXISTS (SELECT 1 FROM teams WHERE id = $3)
     RETURNING *"
);

/// `$1`..`$7`: the membership, as [`bind_member`] binds it (the row is found by `$1`).
const SAVE_MEMBER: &str = concat!(
    "UPDATE team_members SET (",
    member_columns!(),
    ") = ROW($1, $2, $3, $4, $5, $6, $7)
     WHERE id = $1
     RETURNING *"
);

/// `$1` id.
const GET_TEAM: &str = "SELECT * FROM teams WHERE id = $1";

/// `$1` id; the row stays locked until the transaction ends.
const LOCK_TEAM: &str = "SELECT * FROM teams WHERE id = $1 FOR UPDATE";

/// `$1` team, `$2` user.
const MEMBER: &str = "SELECT * FROM team_members WHERE team_id = $1 AND user_id = $2";

/// `$1` team, `$2` user; the row stays locked until the transaction ends.
const LOCK_MEMBER: &str = "SELECT * FROM team_members WHERE team_id = $1 AND user_id = $2 FOR UPDATE";

/// `$1` membership id.
const DELETE_MEMBER: &str = "DELETE FROM team_members WHERE id = $1";

/// `$1` user, `$2`/`$3` keyset bound, `$4` rows to fetch: the teams the user is a member of.
const TEAMS_OF_USER: &str = "
    SELECT t.* FROM teams t
    JOIN team_members m ON m.team_id = t.id
    WHERE m.user_id = $1 AND (t.created_at, t.id) < ($2, $3)
    ORDER BY t.created_at DESC, t.id DESC
    LIMIT $4";

/// `$1` team, `$2`/`$3` keyset bound, `$4` rows to fetch.
const LIST_MEMBERS: &str = "
    SELECT * FROM team_members
    WHERE team_id = $1 AND (joined_at, id) < ($2, $3)
    ORDER BY joined_at DESC, id DESC
    LIMIT $4";

/// Insert a membership (in `tx`), or `MissingReference` when its team does not exist.
async fn insert_member(tx: &mut Tx, member: &TeamMember) -> Result<TeamMember> {
    let row: Option<Db<TeamMember>> =
        bind_member(sqlx::query_as(INSERT_MEMBER), member).fetch_optional(&mut **tx).await.map_err(map_sqlx)?;
    row.map(Db::into_inner).ok_or_else(|| missing(Entity::TeamMember, Entity::Team, FK_TEAM_MEMBERS_TEAM))
}

#[async_trait]
impl TeamRepository for PgStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_team(&self, team: NewTeam) -> Result<(Team, TeamMember)> {
        let _write = self.write_mark();
        let (team, owner) = team.into_record(self.now())?;
        let mut tx = self.begin().await?;
        let outcome = async {
            let row: Db<Team> =
                bind_team(sqlx::query_as(INSERT_TEAM), &team).fetch_one(&mut *tx).await.map_err(map_sqlx)?;
            let owner = insert_member(&mut tx, &owner).await?;
            Ok((row.into_inner(), owner))
        }
        .await;
        finish(tx, outcome).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    async fn get_team(&self, id: TeamId) -> Result<Team> {
        let row: Option<Db<Team>> =
            sqlx::query_as(GET_TEAM).bind(id.0).fetch_optional(self.exec()).await.map_err(map_sqlx)?;
        row.map(Db::into_inner).ok_or_else(|| Error::not_found(Entity::Team, id))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    async fn update_team(&self, id: TeamId, update: TeamUpdate) -> Result<Team> {
        let _write = self.write_mark();
        validate::check(&update)?;
        let now = self.now();
        let mut tx = self.begin().await?;
        let outcome = async {
            let row: Option<Db<Team>> =
                sqlx::query_as(LOCK_TEAM).bind(id.0).fetch_optional(&mut *tx).await.map_err(map_sqlx)?;
            let mut team = row.ok_or_else(|| Error::not_found(Entity::Team, id))?.into_inner();
            update.apply(&mut team, now);
            let saved: Db<Team> =
                bind_team(sqlx::query_as(SAVE_TEAM), &team).fetch_one(&mut *tx).await.map_err(map_sqlx)?;
            Ok(saved.into_inner())
        }
        .await;
        finish(tx, outcome).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(id = %id))]
    async fn delete_team(&self, id: TeamId) -> Result<()> {
        let _write = self.write_mark();
        let done =
            sqlx::query("DELETE FROM teams WHERE id = $1").bind(id.0).execute(self.exec()).await.map_err(map_sqlx)?;
        found(done.rows_affected(), Entity::Team, id)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user = %user))]
    async fn teams_of_user(&self, user: UserId, page: PageRequest) -> Result<Page<Team>> {
        self.keyed_page(TEAMS_OF_USER, user.0, &page).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn add_member(&self, team: TeamId, member: NewTeamMember) -> Result<TeamMember> {
        let _write = self.write_mark();
        let member = member.into_record(team, self.now())?;
        let row: Option<Db<TeamMember>> =
            bind_member(sqlx::query_as(INSERT_MEMBER), &member).fetch_optional(self.exec()).await.map_err(map_sqlx)?;
        row.map(Db::into_inner).ok_or_else(|| missing(Entity::TeamMember, Entity::Team, FK_TEAM_MEMBERS_TEAM))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn membership(&self, team: TeamId, user: UserId) -> Result<Option<TeamMember>> {
        let row: Option<Db<TeamMember>> =
            sqlx::query_as(MEMBER).bind(team.0).bind(user.0).fetch_optional(self.exec()).await.map_err(map_sqlx)?;
        Ok(row.map(Db::into_inner))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn list_members(&self, team: TeamId, page: PageRequest) -> Result<Page<TeamMember>> {
        self.keyed_page(LIST_MEMBERS, team.0, &page).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn update_member(&self, team: TeamId, user: UserId, update: TeamMemberUpdate) -> Result<TeamMember> {
        let _write = self.write_mark();
        validate::check(&update)?;
        let mut tx = self.begin().await?;
        let outcome = async {
            let row: Db<TeamMember> =
                owned_row(&mut *tx, LOCK_MEMBER, team.0, user.0, Entity::TeamMember, user).await?;
            let mut member = row.into_inner();
            update.apply(&mut member);
            let saved: Db<TeamMember> =
                bind_member(sqlx::query_as(SAVE_MEMBER), &member).fetch_one(&mut *tx).await.map_err(map_sqlx)?;
            Ok(saved.into_inner())
        }
        .await;
        finish(tx, outcome).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(team = %team))]
    async fn remove_member(&self, team: TeamId, user: UserId) -> Result<()> {
        let _write = self.write_mark();
        let mut tx = self.begin().await?;
        let outcome = async {
            let member: Db<TeamMember> =
                owned_row(&mut *tx, LOCK_MEMBER, team.0, user.0, Entity::TeamMember, user).await?;
            let owner: Db<Team> = sqlx::query_as(GET_TEAM).bind(team.0).fetch_one(&mut *tx).await.map_err(map_sqlx)?;
            owner.0.check_removal(&member.0)?;
            sqlx::query(DELETE_MEMBER).bind(member.0.id.0).execute(&mut *tx).await.map_err(map_sqlx)?;
            Ok(())
        }
        .await;
        finish(tx, outcome).await
    }
}
