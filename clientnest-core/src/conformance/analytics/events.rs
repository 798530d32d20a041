//! Events: counts per bucket, type and platform; distinct users per bucket, gap-filled with 0.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::fixtures::*;
use crate::analytics::*;
use crate::conformance::Harness;
use crate::ids::{TeamId, UserId};
use crate::model::Platform;

/// Counts ordered by bucket, type, platform (`None` first), empty buckets absent; distinct
/// users per day with every day present; another team's events unseen.
pub async fn events_counts_and_distinct_users<S: AnalyticsWriter + EventReader + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    let (a, b, c) = (UserId::new(), UserId::new(), UserId::new());
    let ev = |kind: &str, time: DateTime<Utc>, user: Option<UserId>, platform: Option<Platform>| {
        let mut e = Event::new(team, kind, time);
        e.user_id = user;
        e.platform = platform;
        e
    };
    let (ig, fb) = (Some(Platform::Instagram), Some(Platform::Facebook));
    s.append_events(vec![
        ev("login", at(2026, 11, 2, 8, 0), Some(a), None),
        ev("login", at(2026, 11, 2, 9, 0), Some(b), None),
        ev("login", at(2026, 11, 2, 23, 59), Some(a), None),
        ev("post_published", at(2026, 11, 2, 10, 0), Some(a), ig),
        ev("post_published", at(2026, 11, 2, 11, 0), Some(b), fb),
        ev("post_published", at(2026, 11, 2, 12, 0), None, ig),
        ev("login", at(2026, 11, 4, 0, 0), Some(c), None),
        ev("login", at(2026, 11, 5, 0, 0), Some(c), None),
    ])
    .await
    .expect("append");
    let mut stranger = Event::new(TeamId::new(), "login", at(2026, 11, 3, 8, 0));
    stranger.user_id = Some(UserId::new());
    s.append_events(vec![stranger]).await.expect("another team");

    let r = rollup(team, at(2026, 11, 2, 0, 0), at(2026, 11, 5, 0, 0), Bucket::Day, Tz::UTC);
    let count = |day: u32, kind: &str, platform: Option<Platform>, count: u64| EventCount {
        bucket: at(2026, 11, day, 0, 0),
        event_type: kind.to_owned(),
        platform,
        count,
    };
    assert_eq!(
        s.event_counts(r).await.expect("counts"),
        vec![
            count(2, "login", None, 3),
            count(2, "post_published", fb, 1),
            count(2, "post_published", ig, 2),
            count(4, "login", None, 1),
        ]
    );
    let users = |day: u32, users: u64| DistinctUsers { bucket: at(2026, 11, day, 0, 0), users };
    assert_eq!(s.distinct_users(r).await.expect("distinct users"), vec![users(2, 2), users(3, 0), users(4, 1)]);

    // In Berlin, 23:59 UTC on the 2nd is the 3rd, and 00:00 UTC on the 4th the 4th.
    let berlin = rollup(team, at(2026, 11, 2, 0, 0), at(2026, 11, 4, 0, 0), Bucket::Day, chrono_tz::Europe::Berlin);
    let local = |day: u32, users: u64| DistinctUsers { bucket: at(2026, 11, day - 1, 23, 0), users };
    assert_eq!(s.distinct_users(berlin).await.expect("berlin days"), vec![local(2, 2), local(3, 1), local(4, 1)]);
    let fresh = rollup(TeamId::new(), r.range.start, r.range.end, Bucket::Day, Tz::UTC);
    assert!(s.event_counts(fresh).await.expect("fresh team").is_empty());
    assert_eq!(s.distinct_users(fresh).await.expect("fresh team").iter().map(|d| d.users).sum::<u64>(), 0);
}
