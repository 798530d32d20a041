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

/// Hour buckets in a zone follow core's edges around DST: a skipped hour has no bucket, and a
/// repeated hour (two UTC hours with the same local 02:00) is two buckets.
pub async fn events_hours_across_dst_changes<S: AnalyticsWriter + EventReader + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    let berlin = chrono_tz::Europe::Berlin;
    let users: Vec<UserId> = (0..4).map(|_| UserId::new()).collect();
    let ev = |time: DateTime<Utc>, user: UserId| {
        let mut e = Event::new(team, "login", time);
        e.user_id = Some(user);
        e
    };
    s.append_events(vec![
        // 2026-03-29: 01:30 CET, then 03:10 CEST (02:00-03:00 never happens).
        ev(at(2026, 3, 29, 0, 30), users[0]),
        ev(at(2026, 3, 29, 1, 10), users[1]),
        // 2026-10-25: 02:30 CEST, then 02:30 CET an hour later.
        ev(at(2026, 10, 25, 0, 30), users[2]),
        ev(at(2026, 10, 25, 1, 30), users[3]),
    ])
    .await
    .expect("append");
    let count = |bucket: DateTime<Utc>| EventCount { bucket, event_type: "login".to_owned(), platform: None, count: 1 };

    let spring = rollup(team, at(2026, 3, 29, 0, 0), at(2026, 3, 29, 2, 0), Bucket::Hour, berlin);
    assert_eq!(
        s.event_counts(spring).await.expect("spring counts"),
        vec![count(at(2026, 3, 29, 0, 0)), count(at(2026, 3, 29, 1, 0))]
    );
    let spring_users: Vec<_> =
        s.distinct_users(spring).await.expect("spring users").into_iter().map(|d| (d.bucket, d.users)).collect();
    assert_eq!(spring_users, vec![(at(2026, 3, 29, 0, 0), 1), (at(2026, 3, 29, 1, 0), 1)]);

    let autumn = rollup(team, at(2026, 10, 25, 0, 0), at(2026, 10, 25, 2, 0), Bucket::Hour, berlin);
    assert_eq!(
        s.event_counts(autumn).await.expect("autumn counts"),
        vec![count(at(2026, 10, 25, 0, 0)), count(at(2026, 10, 25, 1, 0))]
    );
    let autumn_users: Vec<_> =
        s.distinct_users(autumn).await.expect("autumn users").into_iter().map(|d| (d.bucket, d.users)).collect();
    assert_eq!(autumn_users, vec![(at(2026, 10, 25, 0, 0), 1), (at(2026, 10, 25, 1, 0), 1)]);
}

/// Within a bucket and type, platforms are ordered by their stored name (`None` first, then
/// `linkedin` < `twitter`), not by declaration order, in every backend.
pub async fn events_order_platforms_by_stored_name<S: AnalyticsWriter + EventReader + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    let t = at(2026, 11, 2, 8, 0);
    let ev = |platform: Option<Platform>| {
        let mut e = Event::new(team, "post_published", t);
        e.platform = platform;
        e
    };
    s.append_events(vec![ev(Some(Platform::Twitter)), ev(Some(Platform::LinkedIn)), ev(None)]).await.expect("append");
    let day = rollup(team, at(2026, 11, 2, 0, 0), at(2026, 11, 3, 0, 0), Bucket::Day, Tz::UTC);
    let order: Vec<Option<Platform>> = s.event_counts(day).await.expect("counts").iter().map(|c| c.platform).collect();
    assert_eq!(order, vec![None, Some(Platform::LinkedIn), Some(Platform::Twitter)]);
}
