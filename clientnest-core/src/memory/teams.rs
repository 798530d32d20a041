//! Teams and memberships: a team is created with its owner's membership, the owner cannot be
//! removed, memberships are unique per (team, user).

use async_trait::async_trait;

use super::store::{MemoryStore, Tables, page_desc};
use crate::constraint::{FK_TEAM_MEMBERS_TEAM, FK_TEAM_MEMBERS_USER, FK_TEAMS_OWNER, UQ_TEAM_MEMBERS_USER_TEAM};
use crate::error::{Entity, Error, Result};
use crate::ids::{TeamId, TeamMemberId, UserId};
use crate::model::{NewTeam, NewTeamMember, Team, TeamMember, TeamMemberUpdate, TeamUpdate};
use crate::page::{Keyed, Page, PageRequest};
use crate::ports::TeamRepository;
use crate::validate;

impl Tables {
    /// A membership's id, or `NotFound` (named by the user's id).
    fn member_id(&self, team: TeamId, user: UserId) -> Result<TeamMemberId> {
        self.member_keys.get(&(team, user)).copied().ok_or_else(|| Error::not_found(Entity::TeamMember, user))
    }

    /// Store a membership and its unique key.
    fn insert_member(&mut self, m: TeamMember) {
        self.member_keys.insert((m.team_id, m.user_id), m.id);
        self.members.insert(m.id, m);
    }
}

#[async_trait]
impl TeamRepository for MemoryStore {
    async fn create_team(&self, team: NewTeam) -> Result<(Team, TeamMember)> {
        let (row, owner) = team.into_record(self.now())?;
        let mut t = self.tables();
        t.require_user(row.owner_id, Entity::Team, FK_TEAMS_OWNER)?;
        t.teams.insert(row.id, row.clone());
        t.insert_member(owner.clone());
        Ok((row, owner))
    }

    async fn get_team(&self, id: TeamId) -> Result<Team> {
        self.tables().teams.get(&id).cloned().ok_or_else(|| Error::not_found(Entity::Team, id))
    }

    async fn update_team(&self, id: TeamId, update: TeamUpdate) -> Result<Team> {
        validate::check(&update)?;
        let now = self.now();
        let mut t = self.tables();
        let team = t.teams.get_mut(&id).ok_or_else(|| Error::not_found(Entity::Team, id))?;
        update.apply(team, now);
        Ok(team.clone())
    }

    async fn delete_team(&self, id: TeamId) -> Result<()> {
        let mut t = self.tables();
        if !t.teams.contains_key(&id) {
            return Err(Error::not_found(Entity::Team, id));
        }
        t.remove_teams(&[id].into());
        Ok(())
    }

    async fn teams_of_user(&self, user: UserId, page: PageRequest) -> Result<Page<Team>> {
        page.check()?;
        let t = self.tables();
        let teams = t.members.values().filter(|m| m.user_id == user).filter_map(|m| t.teams.get(&m.team_id));
        Ok(page_desc(teams, &page, Team::cursor))
    }

    async fn add_member(&self, team: TeamId, member: NewTeamMember) -> Result<TeamMember> {
        let row = member.into_record(team, self.now())?;
        let mut t = self.tables();
        t.require_team(team, Entity::TeamMember, FK_TEAM_MEMBERS_TEAM)?;
        t.require_user(row.user_id, Entity::TeamMember, FK_TEAM_MEMBERS_USER)?;
        if t.member_keys.contains_key(&(team, row.user_id)) {
            return Err(Error::Conflict { entity: Entity::TeamMember, rule: UQ_TEAM_MEMBERS_USER_TEAM });
        }
        t.insert_member(row.clone());
        Ok(row)
    }

    async fn membership(&self, team: TeamId, user: UserId) -> Result<Option<TeamMember>> {
        let t = self.tables();
        Ok(t.member_keys.get(&(team, user)).and_then(|id| t.members.get(id)).cloned())
    }

    async fn list_members(&self, team: TeamId, page: PageRequest) -> Result<Page<TeamMember>> {
        page.check()?;
        let t = self.tables();
        Ok(page_desc(t.members.values().filter(|m| m.team_id == team), &page, TeamMember::cursor))
    }

    async fn update_member(&self, team: TeamId, user: UserId, update: TeamMemberUpdate) -> Result<TeamMember> {
        validate::check(&update)?;
        let mut t = self.tables();
        let id = t.member_id(team, user)?;
        let member = t.members.get_mut(&id).ok_or_else(|| Error::not_found(Entity::TeamMember, user))?;
        update.apply(member);
        Ok(member.clone())
    }

    async fn remove_member(&self, team: TeamId, user: UserId) -> Result<()> {
        let mut t = self.tables();
        let id = t.member_id(team, user)?;
        if let (Some(owner), Some(member)) = (t.teams.get(&team), t.members.get(&id)) {
            owner.check_removal(member)?;
        }
        t.remove_members(&[id]);
        Ok(())
    }
}
