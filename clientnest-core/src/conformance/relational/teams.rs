//! Teams and memberships: the owner membership, the membership rule, role look-ups, the owner
//! who cannot be removed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;

use super::fixtures::*;
use crate::conformance::Harness;
use crate::constraint;
use crate::error::Entity;
use crate::ids::{TeamId, UserId};
use crate::model::*;
use crate::ports::*;
use crate::validate::rule;

/// `create_team` makes the owner's `owner` membership in the same step, joined when the team
/// was created.
pub async fn teams_create_makes_owner_membership<S: UserRepository + TeamRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let owner = user(h).await;
    let mut input = NewTeam::new("Analytical Engines", owner.id, PlanType::Business);
    input.settings = serde_json::json!({ "approval": true });
    let (team, membership) = h.store.create_team(input).await.expect("create team");
    assert_eq!(team.name, "Analytical Engines");
    assert_eq!(team.owner_id, owner.id);
    assert_eq!(team.plan_type, PlanType::Business);
    assert_eq!(team.settings, serde_json::json!({ "approval": true }));
    assert_eq!(team.billing_info, serde_json::json!({}));
    assert_eq!(team.created_at, now(h));
    assert_eq!(team.updated_at, team.created_at);

    assert_eq!(membership.team_id, team.id);
    assert_eq!(membership.user_id, owner.id);
    assert_eq!(membership.role, TeamRole::Owner);
    assert_eq!(membership.status, MemberStatus::Active);
    assert_eq!(membership.joined_at, team.created_at);

    assert_eq!(h.store.get_team(team.id).await.expect("get team"), team);
    assert_eq!(h.store.membership(team.id, owner.id).await.expect("membership"), Some(membership.clone()));
    let members = h.store.list_members(team.id, all()).await.expect("members");
    assert_eq!(members.items, vec![membership]);
    let teams = h.store.teams_of_user(owner.id, all()).await.expect("teams of user");
    assert_eq!(teams.items, vec![team]);
}

/// A team needs an existing owner (`fk_teams_owner`) and a valid name; a refused team leaves no
/// membership behind.
pub async fn teams_create_rules<S: UserRepository + TeamRepository + ?Sized + 'static>(h: &Harness<S>) {
    let ghost = UserId::new();
    missing(
        h.store.create_team(NewTeam::new("Ghosts", ghost, PlanType::Free)).await,
        Entity::Team,
        Entity::User,
        constraint::FK_TEAMS_OWNER,
    );
    let owner = user(h).await;
    invalid(
        h.store.create_team(NewTeam::new(repeat('t', 101), owner.id, PlanType::Free)).await,
        "name",
        rule::MAX_LENGTH,
    );
    invalid(h.store.create_team(NewTeam::new(" ", owner.id, PlanType::Free)).await, "name", rule::REQUIRED);
    let mut nul = NewTeam::new("Nul", owner.id, PlanType::Free);
    nul.settings = serde_json::json!({ "x\0": 1 });
    invalid(h.store.create_team(nul).await, "settings", rule::NUL_BYTE);
    // Validation comes first, even when the owner is missing too.
    invalid(h.store.create_team(NewTeam::new(repeat('t', 101), ghost, PlanType::Free)).await, "name", rule::MAX_LENGTH);
    assert!(h.store.teams_of_user(owner.id, all()).await.expect("teams").items.is_empty(), "nothing was stored");
    h.store.create_team(NewTeam::new(repeat('t', 100), owner.id, PlanType::Free)).await.expect("100 characters fit");
}

/// `uq_team_members_user_team`, look-ups of memberships and roles, and the member references.
pub async fn teams_members_unique_and_lookup<S: UserRepository + TeamRepository + ?Sized + 'static>(h: &Harness<S>) {
    let (owner, team) = owned_team(h).await;
    let editor = user(h).await;
    h.time.advance(Duration::minutes(1)).await;
    let m = h.store.add_member(team.id, NewTeamMember::new(editor.id, TeamRole::Editor)).await.expect("add member");
    assert_eq!((m.team_id, m.user_id, m.role, m.status), (team.id, editor.id, TeamRole::Editor, MemberStatus::Active));
    assert_eq!(m.joined_at, now(h));

    conflict(
        h.store.add_member(team.id, NewTeamMember::new(editor.id, TeamRole::Viewer)).await,
        Entity::TeamMember,
        constraint::UQ_TEAM_MEMBERS_USER_TEAM,
    );
    conflict(
        h.store.add_member(team.id, NewTeamMember::new(owner.id, TeamRole::Admin)).await,
        Entity::TeamMember,
        constraint::UQ_TEAM_MEMBERS_USER_TEAM,
    );
    let found = h.store.membership(team.id, editor.id).await.expect("membership").expect("a member");
    assert_eq!(found.role, TeamRole::Editor, "the refused second membership changed nothing");
    assert_eq!(h.store.membership(team.id, user(h).await.id).await.expect("membership"), None);

    let members = h.store.list_members(team.id, all()).await.expect("members").items;
    let users: Vec<UserId> = members.iter().map(|m| m.user_id).collect();
    assert_eq!(users, vec![editor.id, owner.id], "members newest first by joined_at");

    missing(
        h.store.add_member(team.id, NewTeamMember::new(UserId::new(), TeamRole::Viewer)).await,
        Entity::TeamMember,
        Entity::User,
        constraint::FK_TEAM_MEMBERS_USER,
    );
    missing(
        h.store.add_member(TeamId::new(), NewTeamMember::new(editor.id, TeamRole::Viewer)).await,
        Entity::TeamMember,
        Entity::Team,
        constraint::FK_TEAM_MEMBERS_TEAM,
    );
}

/// Changing a membership, removing members, and the owner who cannot be removed.
pub async fn teams_update_and_remove_members<S: UserRepository + TeamRepository + ?Sized + 'static>(h: &Harness<S>) {
    let (owner, team) = owned_team(h).await;
    let viewer = member(h, team.id, TeamRole::Viewer).await;
    let update = TeamMemberUpdate {
        role: Some(TeamRole::Admin),
        permissions: Some(serde_json::json!({ "billing": true })),
        status: Some(MemberStatus::Suspended),
    };
    let m = h.store.update_member(team.id, viewer.id, update).await.expect("update member");
    assert_eq!((m.role, m.status), (TeamRole::Admin, MemberStatus::Suspended));
    assert_eq!(m.permissions, serde_json::json!({ "billing": true }));
    assert_eq!(h.store.membership(team.id, viewer.id).await.expect("membership"), Some(m));

    invalid_state_any(h.store.remove_member(team.id, owner.id).await);
    let still = h.store.membership(team.id, owner.id).await.expect("membership").expect("owner stays");
    assert_eq!(still.role, TeamRole::Owner);

    h.store.remove_member(team.id, viewer.id).await.expect("remove member");
    assert_eq!(h.store.membership(team.id, viewer.id).await.expect("membership"), None);
    not_found(h.store.remove_member(team.id, viewer.id).await, Entity::TeamMember);
    not_found(h.store.update_member(team.id, viewer.id, TeamMemberUpdate::default()).await, Entity::TeamMember);
    h.store.get_user(viewer.id).await.expect("removing a member keeps the user");
    assert!(h.store.teams_of_user(viewer.id, all()).await.expect("teams").items.is_empty());
    h.store.add_member(team.id, NewTeamMember::new(viewer.id, TeamRole::Viewer)).await.expect("rejoin");
}

/// Updating a team stamps `updated_at`; unknown teams are `NotFound`; deleting a team keeps its
/// users.
pub async fn teams_update_get_delete<S: UserRepository + TeamRepository + ?Sized + 'static>(h: &Harness<S>) {
    let (owner, team) = owned_team(h).await;
    h.time.advance(Duration::minutes(2)).await;
    let update = TeamUpdate {
        name: Some("Renamed".to_owned()),
        plan_type: Some(PlanType::Enterprise),
        billing_info: Some(serde_json::json!({ "vat": "FR123" })),
        ..TeamUpdate::default()
    };
    let changed = h.store.update_team(team.id, update).await.expect("update team");
    assert_eq!((changed.name.as_str(), changed.plan_type), ("Renamed", PlanType::Enterprise));
    assert_eq!(changed.billing_info, serde_json::json!({ "vat": "FR123" }));
    assert_eq!(changed.settings, team.settings);
    assert_eq!(changed.created_at, team.created_at);
    assert_eq!(changed.updated_at, now(h));
    invalid(
        h.store.update_team(team.id, TeamUpdate { name: Some(repeat('n', 101)), ..TeamUpdate::default() }).await,
        "name",
        rule::MAX_LENGTH,
    );
    assert_eq!(h.store.get_team(team.id).await.expect("get"), changed);

    let unknown = TeamId::new();
    not_found(h.store.get_team(unknown).await, Entity::Team);
    not_found(h.store.update_team(unknown, TeamUpdate::default()).await, Entity::Team);
    not_found(h.store.delete_team(unknown).await, Entity::Team);

    h.store.delete_team(team.id).await.expect("delete team");
    not_found(h.store.get_team(team.id).await, Entity::Team);
    h.store.get_user(owner.id).await.expect("the owner stays");
}

/// `teams_of_user` lists the teams a user belongs to, owned or joined, newest first, paged.
pub async fn teams_of_user_lists_memberships<S: UserRepository + TeamRepository + ?Sized + 'static>(h: &Harness<S>) {
    let u = user(h).await;
    let mut expected = Vec::new();
    for i in 0..5 {
        tick(h).await;
        let t = if i % 2 == 0 {
            team(h, &u).await
        } else {
            let other = user(h).await;
            let t = team(h, &other).await;
            h.store.add_member(t.id, NewTeamMember::new(u.id, TeamRole::Editor)).await.expect("join");
            t
        };
        expected.push(t.id);
    }
    let stranger = user(h).await;
    team(h, &stranger).await;
    expected.reverse();
    let store = &*h.store;
    let got: Vec<TeamId> =
        all_pages(2, move |p| store.teams_of_user(u.id, p)).await.into_iter().map(|t| t.id).collect();
    assert_eq!(got, expected, "the user's teams, newest first, across pages");
}
