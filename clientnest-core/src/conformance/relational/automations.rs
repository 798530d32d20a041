//! Automations: typed triggers and actions stored and read back exactly, their configuration
//! rules, references and the active automations of a trigger.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;

use super::fixtures::*;
use crate::conformance::Harness;
use crate::constraint;
use crate::error::Entity;
use crate::ids::{AutomationId, TeamId, UserId};
use crate::model::*;
use crate::ports::*;
use crate::validate::rule;

/// Every trigger and action type round-trips with its configuration.
pub async fn automations_typed_round_trip<
    S: UserRepository + TeamRepository + TemplateRepository + AutomationRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let template = h.store.create_template(team.id, new_template(owner.id, "replies", false)).await.expect("template");
    let pairs = vec![
        (
            Trigger::CommentReceived {
                platforms: vec![Platform::Instagram, Platform::Facebook],
                keywords: vec!["price".to_owned(), "cost".to_owned()],
                sentiment: Some(Sentiment::Negative),
            },
            Action::AutoReply { template_id: Some(template.id), message: None, use_ai: true },
        ),
        (
            Trigger::MentionDetected { platforms: Vec::new(), keywords: vec!["clientnest".to_owned()] },
            Action::SendNotification {
                user_ids: vec![owner.id],
                priority: Priority::High,
                title: "Mentioned".to_owned(),
            },
        ),
        (
            Trigger::ScheduleTime { cron: "0 9 * * 1".to_owned(), timezone: "America/New_York".to_owned() },
            Action::CreatePost {
                template_id: template.id,
                platforms: vec![Platform::LinkedIn],
                schedule_delay_minutes: 30,
            },
        ),
        (
            Trigger::EngagementThreshold { metric: EngagementMetric::Likes, threshold: 1000, window_hours: 24 },
            Action::TagUser { user_id: owner.id },
        ),
    ];
    for (trigger, action) in pairs {
        let input = NewAutomation {
            user_id: owner.id,
            name: "Typed".to_owned(),
            description: "round trip".to_owned(),
            trigger: trigger.clone(),
            action: action.clone(),
            is_active: false,
        };
        let a = h.store.create_automation(team.id, input).await.expect("create");
        assert_eq!((a.team_id, a.user_id, a.is_active), (team.id, owner.id, false));
        assert_eq!((&a.trigger, &a.action), (&trigger, &action));
        assert_eq!((a.created_at, a.updated_at), (now(h), now(h)));
        let stored = h.store.get_automation(team.id, a.id).await.expect("get");
        assert_eq!(stored, a);
        assert_eq!(stored.trigger.kind(), trigger.kind());
        assert_eq!(stored.action.kind(), action.kind());
    }
}

/// Trigger and action configurations are checked on create and on update; refused calls store
/// nothing and change nothing.
pub async fn automations_config_rules<S: UserRepository + TeamRepository + AutomationRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let triggers = vec![
        (Trigger::MentionDetected { platforms: Vec::new(), keywords: Vec::new() }, "trigger.keywords", rule::REQUIRED),
        (
            Trigger::ScheduleTime { cron: "0 9 * * 1".to_owned(), timezone: "Moon/Base".to_owned() },
            "trigger.timezone",
            rule::TIMEZONE,
        ),
        (
            Trigger::ScheduleTime { cron: "0 9 * *".to_owned(), timezone: "UTC".to_owned() },
            "trigger.cron",
            rule::FORMAT,
        ),
        (
            Trigger::EngagementThreshold { metric: EngagementMetric::Views, threshold: 10, window_hours: 0 },
            "trigger.window_hours",
            rule::RANGE,
        ),
        (
            Trigger::CommentReceived { platforms: Vec::new(), keywords: vec![repeat('k', 201)], sentiment: None },
            "trigger",
            rule::FORMAT,
        ),
    ];
    for (trigger, field, broken) in triggers {
        let input = NewAutomation { trigger, ..new_automation(owner.id) };
        invalid(h.store.create_automation(team.id, input).await, field, broken);
    }
    let actions = vec![
        (Action::AutoReply { template_id: None, message: None, use_ai: false }, "action", rule::REQUIRED),
        (
            Action::AutoReply { template_id: None, message: Some(" ".to_owned()), use_ai: false },
            "action.message",
            rule::FORMAT,
        ),
        (
            Action::SendNotification { user_ids: Vec::new(), priority: Priority::Low, title: String::new() },
            "action.title",
            rule::FORMAT,
        ),
        (
            Action::CreatePost {
                template_id: crate::ids::TemplateId::new(),
                platforms: Vec::new(),
                schedule_delay_minutes: 0,
            },
            "action.platforms",
            rule::REQUIRED,
        ),
    ];
    for (action, field, broken) in actions {
        let input = NewAutomation { action, ..new_automation(owner.id) };
        invalid(h.store.create_automation(team.id, input).await, field, broken);
    }
    let long_name = NewAutomation { name: repeat('n', 101), ..new_automation(owner.id) };
    invalid(h.store.create_automation(team.id, long_name).await, "name", rule::MAX_LENGTH);
    assert!(h.store.list_automations(team.id, all()).await.expect("list").items.is_empty(), "nothing stored");

    let a = h.store.create_automation(team.id, new_automation(owner.id)).await.expect("create");
    let bad = AutomationUpdate {
        trigger: Some(Trigger::MentionDetected { platforms: Vec::new(), keywords: Vec::new() }),
        ..AutomationUpdate::default()
    };
    invalid(h.store.update_automation(team.id, a.id, bad).await, "trigger.keywords", rule::REQUIRED);
    let bad = AutomationUpdate {
        action: Some(Action::AutoReply { template_id: None, message: None, use_ai: false }),
        ..AutomationUpdate::default()
    };
    invalid(h.store.update_automation(team.id, a.id, bad).await, "action", rule::REQUIRED);
    assert_eq!(h.store.get_automation(team.id, a.id).await.expect("get"), a, "refused updates change nothing");
}

/// `fk_automations_user` and `fk_automations_team`.
pub async fn automations_references<S: UserRepository + TeamRepository + AutomationRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    missing(
        h.store.create_automation(team.id, new_automation(UserId::new())).await,
        Entity::Automation,
        Entity::User,
        constraint::FK_AUTOMATIONS_USER,
    );
    missing(
        h.store.create_automation(TeamId::new(), new_automation(owner.id)).await,
        Entity::Automation,
        Entity::Team,
        constraint::FK_AUTOMATIONS_TEAM,
    );
    assert!(h.store.list_automations(team.id, all()).await.expect("list").items.is_empty());
}

/// Updates, deletes, and `active_automations`: the team's active ones of a trigger type,
/// oldest first.
pub async fn automations_update_delete_and_active<
    S: UserRepository + TeamRepository + AutomationRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let (other_owner, other_team) = owned_team(h).await;
    let mut created = Vec::new();
    for _ in 0..4 {
        tick(h).await;
        created.push(h.store.create_automation(team.id, new_automation(owner.id)).await.expect("create"));
    }
    let timed = NewAutomation {
        trigger: Trigger::ScheduleTime { cron: "*/5 * * * *".to_owned(), timezone: "UTC".to_owned() },
        ..new_automation(owner.id)
    };
    let timed = h.store.create_automation(team.id, timed).await.expect("create");
    h.store.create_automation(other_team.id, new_automation(other_owner.id)).await.expect("create");

    h.time.advance(Duration::minutes(1)).await;
    let off =
        AutomationUpdate { is_active: Some(false), name: Some("Paused".to_owned()), ..AutomationUpdate::default() };
    let paused = h.store.update_automation(team.id, created[1].id, off).await.expect("pause");
    assert_eq!((paused.is_active, paused.name.as_str()), (false, "Paused"));
    assert_eq!((paused.created_at, paused.updated_at), (created[1].created_at, now(h)));
    h.store.delete_automation(team.id, created[3].id).await.expect("delete");
    not_found(h.store.get_automation(team.id, created[3].id).await, Entity::Automation);

    let ids = |v: Vec<Automation>| v.into_iter().map(|a| a.id).collect::<Vec<AutomationId>>();
    let active = h.store.active_automations(team.id, TriggerType::CommentReceived).await.expect("active");
    assert_eq!(ids(active), vec![created[0].id, created[2].id], "active only, oldest first, this team only");
    let active = h.store.active_automations(team.id, TriggerType::ScheduleTime).await.expect("active");
    assert_eq!(ids(active), vec![timed.id]);
    let active = h.store.active_automations(team.id, TriggerType::MentionDetected).await.expect("active");
    assert!(active.is_empty());
    let listed = h.store.list_automations(team.id, all()).await.expect("list").items;
    assert_eq!(ids(listed), vec![timed.id, created[2].id, created[1].id, created[0].id]);

    let unknown = AutomationId::new();
    not_found(h.store.get_automation(team.id, unknown).await, Entity::Automation);
    not_found(h.store.update_automation(team.id, unknown, AutomationUpdate::default()).await, Entity::Automation);
    not_found(h.store.delete_automation(team.id, unknown).await, Entity::Automation);
}
