//! Engagement over time: per post and per team, in the team's zone, gap-filled, with gains
//! counted from cumulative counters that drop, disappear and reappear.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::fixtures::*;
use crate::analytics::*;
use crate::conformance::Harness;
use crate::ids::{PostId, TeamId};
use crate::model::Platform;

use EngagementCounter::*;

/// An expected point: `latest` and `gained` as `(counter, value)` pairs, the rest `None`.
fn point(
    post: PostId,
    platform: Platform,
    bucket: DateTime<Utc>,
    latest: &[(EngagementCounter, i64)],
    gained: &[(EngagementCounter, i64)],
) -> EngagementPoint {
    EngagementPoint { post_id: post, platform, bucket, latest: counts(latest), gained: counts(gained) }
}

/// Berlin days across the DST change of 2026-03-29 (a 23-hour day), gains counted from the
/// values before the range, a like deleted (negative gain), impressions disappearing (carried,
/// gain 0) and reappearing, a gap-filled day, the platform filter, another team's rows unseen.
pub async fn engagement_post_days_in_zone<S: AnalyticsWriter + EngagementReader + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    let post = PostId::new();
    let (ig, fb) = (Platform::Instagram, Platform::Facebook);
    let published = at(2026, 3, 27, 8, 0);
    let sn = |platform, time, pairs: &[(EngagementCounter, i64)]| snap(team, post, platform, published, time, pairs);
    let rows = vec![
        // Before the range (Berlin 2026-03-27): the values gains start from.
        sn(ig, at(2026, 3, 27, 12, 0), &[(Likes, 5), (Impressions, 100)]),
        sn(ig, at(2026, 3, 27, 22, 30), &[(Likes, 7)]),
        // Berlin 2026-03-28 (from 03-27 23:00 UTC): likes 12, comments 2, impressions 150.
        sn(ig, at(2026, 3, 28, 10, 0), &[(Likes, 10), (Comments, 2), (Impressions, 150)]),
        sn(ig, at(2026, 3, 28, 22, 30), &[(Likes, 12)]),
        // Berlin 2026-03-29, 00:30 local (still 03-28 in UTC): a like deleted.
        sn(ig, at(2026, 3, 28, 23, 30), &[(Likes, 11)]),
        // Berlin 2026-03-30, 00:30 CEST (still 03-29 in UTC).
        sn(ig, at(2026, 3, 29, 22, 30), &[(Likes, 20)]),
        // Berlin 2026-03-31: impressions reappear, likes not reported.
        sn(ig, at(2026, 3, 31, 8, 0), &[(Impressions, 170)]),
        // Berlin 2026-04-01: nothing (gap-filled). After the range: ignored.
        sn(ig, at(2026, 4, 2, 8, 0), &[(Likes, 99)]),
        sn(fb, at(2026, 3, 28, 12, 0), &[(Likes, 3)]),
    ];
    s.append_engagement(rows).await.expect("append");
    // Another team's snapshot of the same post id and platform: never seen.
    let stranger = snap(TeamId::new(), post, ig, published, at(2026, 3, 28, 12, 0), &[(Likes, 1000)]);
    s.append_engagement(vec![stranger]).await.expect("another team");

    let days = [
        at(2026, 3, 27, 23, 0),
        at(2026, 3, 28, 23, 0),
        at(2026, 3, 29, 22, 0),
        at(2026, 3, 30, 22, 0),
        at(2026, 3, 31, 22, 0),
    ];
    let r = rollup(team, at(2026, 3, 28, 0, 0), at(2026, 4, 1, 12, 0), Bucket::Day, chrono_tz::Europe::Berlin);
    let instagram = vec![
        point(
            post,
            ig,
            days[0],
            &[(Likes, 12), (Comments, 2), (Impressions, 150)],
            &[(Likes, 5), (Comments, 2), (Impressions, 50)],
        ),
        point(
            post,
            ig,
            days[1],
            &[(Likes, 11), (Comments, 2), (Impressions, 150)],
            &[(Likes, -1), (Comments, 0), (Impressions, 0)],
        ),
        point(
            post,
            ig,
            days[2],
            &[(Likes, 20), (Comments, 2), (Impressions, 150)],
            &[(Likes, 9), (Comments, 0), (Impressions, 0)],
        ),
        point(
            post,
            ig,
            days[3],
            &[(Likes, 20), (Comments, 2), (Impressions, 170)],
            &[(Likes, 0), (Comments, 0), (Impressions, 20)],
        ),
        point(
            post,
            ig,
            days[4],
            &[(Likes, 20), (Comments, 2), (Impressions, 170)],
            &[(Likes, 0), (Comments, 0), (Impressions, 0)],
        ),
    ];
    let only_ig = s.post_engagement(r, PostSeries { post, platform: Some(ig) }).await.expect("instagram engagement");
    assert_eq!(only_ig, instagram);

    let both = s.post_engagement(r, PostSeries { post, platform: None }).await.expect("every platform");
    let mut expected: Vec<EngagementPoint> = days
        .iter()
        .enumerate()
        .map(|(i, d)| point(post, fb, *d, &[(Likes, 3)], &[(Likes, if i == 0 { 3 } else { 0 })]))
        .collect();
    expected.extend(instagram);
    assert_eq!(both, expected, "platform, then bucket");

    let unknown = s.post_engagement(r, PostSeries { post: PostId::new(), platform: None }).await.expect("no rows");
    assert!(unknown.is_empty());
    let stranger_view = rollup(TeamId::new(), r.range.start, r.range.end, Bucket::Day, chrono_tz::Europe::Berlin);
    let none = s.post_engagement(stranger_view, PostSeries { post, platform: None }).await.expect("fresh team");
    assert!(none.is_empty(), "a team sees only its own snapshots");
}

/// Asia/Kathmandu (UTC+05:45): snapshots 30 minutes apart around 18:15 UTC fall on two
/// Kathmandu days, though they share a UTC day.
pub async fn engagement_non_whole_hour_zone<S: AnalyticsWriter + EngagementReader + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    let post = PostId::new();
    let p = Platform::TikTok;
    let published = at(2026, 11, 2, 6, 0);
    s.append_engagement(vec![
        snap(team, post, p, published, at(2026, 11, 2, 18, 0), &[(Views, 4)]),
        snap(team, post, p, published, at(2026, 11, 2, 18, 30), &[(Views, 9)]),
    ])
    .await
    .expect("append");
    let r = rollup(team, at(2026, 11, 2, 0, 0), at(2026, 11, 4, 0, 0), Bucket::Day, chrono_tz::Asia::Kathmandu);
    let got = s.post_engagement(r, PostSeries { post, platform: None }).await.expect("engagement");
    let d0 = at(2026, 11, 1, 18, 15);
    let d1 = at(2026, 11, 2, 18, 15);
    let d2 = at(2026, 11, 3, 18, 15);
    assert_eq!(
        got,
        vec![
            point(post, p, d0, &[(Views, 4)], &[(Views, 4)]),
            point(post, p, d1, &[(Views, 9)], &[(Views, 5)]),
            point(post, p, d2, &[(Views, 9)], &[(Views, 0)]),
        ]
    );
    let utc = rollup(team, at(2026, 11, 2, 0, 0), at(2026, 11, 3, 0, 0), Bucket::Day, Tz::UTC);
    let one_day = s.post_engagement(utc, PostSeries { post, platform: None }).await.expect("utc");
    assert_eq!(one_day, vec![point(post, p, at(2026, 11, 2, 0, 0), &[(Views, 9)], &[(Views, 9)])]);
}

/// Team engagement sums the posts' latest values and gains per platform and bucket, counting a
/// post only once it reported; other teams' posts are not summed.
pub async fn engagement_team_sums_over_posts<S: AnalyticsWriter + EngagementReader + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    let (a, b, c) = (PostId::new(), PostId::new(), PostId::new());
    let ig = Platform::Instagram;
    let fb = Platform::Facebook;
    let published = at(2026, 11, 1, 9, 0);
    s.append_engagement(vec![
        snap(team, a, ig, published, at(2026, 11, 1, 20, 0), &[(Likes, 2)]),
        snap(team, a, ig, published, at(2026, 11, 2, 9, 0), &[(Likes, 10)]),
        snap(team, a, ig, published, at(2026, 11, 3, 9, 0), &[(Likes, 15), (Shares, 1)]),
        snap(team, b, ig, published, at(2026, 11, 3, 10, 0), &[(Likes, 4)]),
        snap(team, b, ig, published, at(2026, 11, 4, 10, 0), &[(Likes, 6)]),
        snap(team, c, fb, published, at(2026, 11, 4, 11, 0), &[(Comments, 8)]),
    ])
    .await
    .expect("append");
    let stranger = snap(TeamId::new(), PostId::new(), ig, published, at(2026, 11, 3, 9, 0), &[(Likes, 500)]);
    s.append_engagement(vec![stranger]).await.expect("another team");

    let r = rollup(team, at(2026, 11, 2, 0, 0), at(2026, 11, 5, 0, 0), Bucket::Day, Tz::UTC);
    let got = s.team_engagement(r).await.expect("team engagement");
    let tp = |platform, day: u32, latest: &[(EngagementCounter, i64)], gained: &[(EngagementCounter, i64)]| {
        TeamEngagementPoint {
            platform,
            bucket: at(2026, 11, day, 0, 0),
            latest: counts(latest),
            gained: counts(gained),
        }
    };
    assert_eq!(
        got,
        vec![
            tp(fb, 2, &[], &[]),
            tp(fb, 3, &[], &[]),
            tp(fb, 4, &[(Comments, 8)], &[(Comments, 8)]),
            // Post a: 2 before the range, then 10, 15; post b: 4, then 6.
            tp(ig, 2, &[(Likes, 10)], &[(Likes, 8)]),
            tp(ig, 3, &[(Likes, 19), (Shares, 1)], &[(Likes, 9), (Shares, 1)]),
            tp(ig, 4, &[(Likes, 21), (Shares, 1)], &[(Likes, 2), (Shares, 0)]),
        ]
    );
}
