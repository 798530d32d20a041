//! A census of every row the fixture's team and user can see, to prove a refused call stored
//! nothing (not a post without its media, not a schedule that turned its post `scheduled`).

use crate::error::Result;
use crate::ids::*;
use crate::model::*;
use crate::page::{Page, PageRequest};
use crate::ports::Repositories;

use super::Fixture;

/// Ids (and for posts, status and media count) of every row the fixture reaches; the
/// fixture's user and its webhooks whole, so a refused change is seen to change nothing.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Census {
    posts: Vec<(PostId, PostStatus, usize)>,
    comments: Vec<CommentId>,
    templates: Vec<TemplateId>,
    schedules: Vec<ScheduleId>,
    billing: Vec<BillingId>,
    ai_usage: Vec<AiUsageId>,
    accounts: Vec<SocialAccountId>,
    members: Vec<TeamMemberId>,
    teams: Vec<TeamId>,
    notifications: Vec<NotificationId>,
    webhooks: Vec<Webhook>,
    user: User,
}

/// Every page of a list, in order.
async fn every_page<T>(mut list: impl AsyncFnMut(PageRequest) -> Result<Page<T>>) -> Result<Vec<T>> {
    let mut out = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let got = list(page).await?;
        out.extend(got.items);
        match got.next {
            Some(cursor) => page = PageRequest::after(PageRequest::MAX_LIMIT, cursor),
            None => return Ok(out),
        }
    }
}

/// The fixture team's posts with their status and media count.
async fn posts<S: Repositories + ?Sized>(store: &S, fx: &Fixture) -> Result<Vec<(PostId, PostStatus, usize)>> {
    let posts = every_page(async |p| store.list_posts(fx.team, PostFilter::default(), p).await).await?;
    let mut out = Vec::with_capacity(posts.len());
    for post in posts {
        let media = store.get_post(fx.team, post.id).await?.media.len();
        out.push((post.id, post.status, media));
    }
    Ok(out)
}

async fn count<S: Repositories + ?Sized>(store: &S, fx: &Fixture) -> Result<Census> {
    let (team, user) = (fx.team, fx.user);
    Ok(Census {
        posts: posts(store, fx).await?,
        comments: ids(every_page(async |p| store.inbox(team, InboxFilter::default(), p).await).await?, |c| c.id),
        templates: ids(
            every_page(async |p| store.list_templates(team, TemplateFilter::default(), p).await).await?,
            |t| t.id,
        ),
        schedules: ids(
            every_page(async |p| store.list_schedules(team, ScheduleFilter::default(), p).await).await?,
            |s| s.id,
        ),
        billing: ids(every_page(async |p| store.list_billing(team, p).await).await?, |b| b.id),
        ai_usage: ids(every_page(async |p| store.list_ai_usage(team, p).await).await?, |u| u.id),
        accounts: ids(every_page(async |p| store.list_accounts(team, p).await).await?, |a| a.id),
        members: ids(every_page(async |p| store.list_members(team, p).await).await?, |m| m.id),
        teams: ids(every_page(async |p| store.teams_of_user(user, p).await).await?, |t| t.id),
        notifications: ids(
            every_page(async |p| store.list_notifications(user, NotificationFilter::default(), p).await).await?,
            |n| n.id,
        ),
        webhooks: every_page(async |p| store.list_webhooks(user, p).await).await?,
        user: store.get_user(user).await?,
    })
}

fn ids<T, I>(rows: Vec<T>, id: impl Fn(&T) -> I) -> Vec<I> {
    rows.iter().map(id).collect()
}

/// Take the census of what the fixture's user and team hold, or the failure as text.
pub(super) async fn take<S: Repositories + ?Sized>(store: &S, fx: &Fixture) -> Result<Census, String> {
    count(store, fx).await.map_err(|e| format!("census failed: {e:?}"))
}

/// `Ok` when the census is what it was.
pub(super) async fn unchanged<S: Repositories + ?Sized>(
    store: &S,
    fx: &Fixture,
    before: &Census,
) -> Result<(), String> {
    let after = take(store, fx).await?;
    if &after == before {
        Ok(())
    } else {
        Err(format!("the call was refused but rows changed:\nbefore {before:?}\nafter  {after:?}"))
    }
}
