//! Templates: create, list by category, update, delete, atomic use counting and public templates
//! across teams.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Duration;

use super::fixtures::*;
use crate::conformance::Harness;
use crate::constraint;
use crate::error::Entity;
use crate::ids::{TeamId, TemplateId, UserId};
use crate::model::*;
use crate::ports::*;
use crate::validate::rule;

/// Create, get, list by category (newest first), update and delete a template.
pub async fn templates_crud_and_filter<S: UserRepository + TeamRepository + TemplateRepository + ?Sized + 'static>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let promo = h.store.create_template(team.id, new_template(owner.id, "promo", false)).await.expect("create");
    assert_eq!((promo.team_id, promo.user_id, promo.usage_count), (team.id, owner.id, 0));
    assert_eq!((promo.category.as_str(), promo.is_public), ("promo", false));
    assert_eq!(promo.hashtags, vec!["launch".to_owned()]);
    assert_eq!((promo.created_at, promo.updated_at), (now(h), now(h)));
    assert_eq!(h.store.get_template(team.id, promo.id).await.expect("get"), promo);
    tick(h).await;
    let support = h.store.create_template(team.id, new_template(owner.id, "support", false)).await.expect("create");
    tick(h).await;
    let promo2 = h.store.create_template(team.id, new_template(owner.id, "promo", false)).await.expect("create");

    let ids = |v: Vec<Template>| v.into_iter().map(|t| t.id).collect::<Vec<TemplateId>>();
    let everything = h.store.list_templates(team.id, TemplateFilter::default(), all()).await.expect("list");
    assert_eq!(ids(everything.items), vec![promo2.id, support.id, promo.id]);
    let only_promo = TemplateFilter { category: Some("promo".to_owned()) };
    let promos = h.store.list_templates(team.id, only_promo, all()).await.expect("list");
    assert_eq!(ids(promos.items), vec![promo2.id, promo.id]);

    h.time.advance(Duration::minutes(1)).await;
    let update = TemplateUpdate {
        name: Some("Renamed".to_owned()),
        category: Some("support".to_owned()),
        is_public: Some(true),
        ..TemplateUpdate::default()
    };
    let changed = h.store.update_template(team.id, promo.id, update).await.expect("update");
    assert_eq!((changed.name.as_str(), changed.category.as_str(), changed.is_public), ("Renamed", "support", true));
    assert_eq!((changed.content.as_str(), changed.created_at), (promo.content.as_str(), promo.created_at));
    assert_eq!(changed.updated_at, now(h));
    let bad = TemplateUpdate { category: Some(repeat('c', 51)), ..TemplateUpdate::default() };
    invalid(h.store.update_template(team.id, promo.id, bad).await, "category", rule::MAX_LENGTH);
    assert_eq!(h.store.get_template(team.id, promo.id).await.expect("get"), changed);

    h.store.delete_template(team.id, promo.id).await.expect("delete");
    not_found(h.store.get_template(team.id, promo.id).await, Entity::Template);
    not_found(h.store.delete_template(team.id, promo.id).await, Entity::Template);
    not_found(h.store.update_template(team.id, promo.id, TemplateUpdate::default()).await, Entity::Template);
    not_found(h.store.record_template_use(team.id, promo.id).await, Entity::Template);
    assert_eq!(h.store.list_templates(team.id, TemplateFilter::default(), all()).await.expect("list").items.len(), 2);
}

/// Field rules and references of a template, with nothing stored.
pub async fn templates_rules_and_references<
    S: UserRepository + TeamRepository + TemplateRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let cases: Vec<Case<NewTemplate>> = vec![
        (|t| t.name = repeat('n', 101), "name", rule::MAX_LENGTH),
        (|t| t.category = repeat('c', 51), "category", rule::MAX_LENGTH),
        (|t| t.content = String::new(), "content", rule::REQUIRED),
        (|t| t.description = "\0".to_owned(), "description", rule::NUL_BYTE),
        (|t| t.hashtags = vec![String::new()], "hashtags", rule::REQUIRED),
    ];
    for (break_it, field, broken) in cases {
        let mut input = new_template(owner.id, "promo", false);
        break_it(&mut input);
        invalid(h.store.create_template(team.id, input).await, field, broken);
    }
    missing(
        h.store.create_template(team.id, new_template(UserId::new(), "promo", false)).await,
        Entity::Template,
        Entity::User,
        constraint::FK_TEMPLATES_USER,
    );
    missing(
        h.store.create_template(TeamId::new(), new_template(owner.id, "promo", false)).await,
        Entity::Template,
        Entity::Team,
        constraint::FK_TEMPLATES_TEAM,
    );
    let listed = h.store.list_templates(team.id, TemplateFilter::default(), all()).await.expect("list");
    assert!(listed.items.is_empty(), "nothing stored");
}

/// `record_template_use` is atomic: 20 concurrent uses count 20, each call seeing its own count.
pub async fn templates_concurrent_use_counting<
    S: UserRepository + TeamRepository + TemplateRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (owner, team) = owned_team(h).await;
    let t = h.store.create_template(team.id, new_template(owner.id, "promo", false)).await.expect("create");
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = Arc::clone(&h.store);
        let (team_id, id) = (team.id, t.id);
        tasks.push(tokio::spawn(async move { store.record_template_use(team_id, id).await }));
    }
    let mut counts = BTreeSet::new();
    for task in tasks {
        counts.insert(task.await.expect("task").expect("record use"));
    }
    assert_eq!(counts, (1..=20).collect::<BTreeSet<i32>>(), "every call returns its own new count");
    assert_eq!(h.store.get_template(team.id, t.id).await.expect("get").usage_count, 20);
    assert_eq!(h.store.record_template_use(team.id, t.id).await.expect("use"), 21);
}

/// Public templates of every team are listed, newest first; private ones are not.
pub async fn templates_public_listed_across_teams<
    S: UserRepository + TeamRepository + TemplateRepository + ?Sized + 'static,
>(
    h: &Harness<S>,
) {
    let (owner_a, team_a) = owned_team(h).await;
    let (owner_b, team_b) = owned_team(h).await;
    let public_a = h.store.create_template(team_a.id, new_template(owner_a.id, "promo", true)).await.expect("create");
    tick(h).await;
    h.store.create_template(team_a.id, new_template(owner_a.id, "promo", false)).await.expect("create");
    tick(h).await;
    let public_b = h.store.create_template(team_b.id, new_template(owner_b.id, "news", true)).await.expect("create");
    tick(h).await;
    let hidden = h.store.create_template(team_b.id, new_template(owner_b.id, "news", true)).await.expect("create");
    let private = TemplateUpdate { is_public: Some(false), ..TemplateUpdate::default() };
    h.store.update_template(team_b.id, hidden.id, private).await.expect("make private");

    let store = &*h.store;
    let got: Vec<TemplateId> =
        all_pages(1, move |p| store.list_public_templates(p)).await.into_iter().map(|t| t.id).collect();
    assert_eq!(got, vec![public_b.id, public_a.id]);
}
