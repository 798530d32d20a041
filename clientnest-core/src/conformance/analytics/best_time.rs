//! Best time to post: the 7 x 24 grid of engagement gained in the first hours after
//! publication, by local weekday and hour of publication.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use super::fixtures::*;
use crate::analytics::*;
use crate::conformance::Harness;
use crate::ids::{PostId, TeamId};
use crate::model::Platform;
use crate::validate::rule;

use EngagementCounter::*;

/// The full grid, every cell empty except `(weekday, hour, posts, total, mean)`.
fn grid(filled: &[(u8, u8, u64, i64, f64)]) -> Vec<BestTimeCell> {
    let mut cells = Vec::with_capacity(168);
    for weekday in 0..7u8 {
        for hour in 0..24u8 {
            let hit = filled.iter().find(|c| c.0 == weekday && c.1 == hour);
            cells.push(match hit {
                Some(&(_, _, posts, total_gained, mean)) => {
                    BestTimeCell { weekday, hour, posts, total_gained, mean_gained: Some(mean) }
                }
                None => BestTimeCell { weekday, hour, posts: 0, total_gained: 0, mean_gained: None },
            });
        }
    }
    cells
}

/// The posts of the best-time tests, written for a fresh team.
async fn seed<S: AnalyticsWriter + ?Sized>(s: &S, team: TeamId) {
    let (ig, fb) = (Platform::Instagram, Platform::Facebook);
    let hours = |h: i64| Duration::hours(h);
    let mut rows = Vec::new();
    let mut post = |platform, published: DateTime<Utc>, snaps: &[(i64, &[(EngagementCounter, i64)])]| {
        let id = PostId::new();
        for (after, pairs) in snaps {
            rows.push(snap(team, id, platform, published, published + hours(*after), pairs));
        }
        id
    };
    // Monday 23:30 UTC = Tuesday 00:30 in Berlin. 40 likes at exactly 24 hours.
    let p1 = at(2026, 11, 2, 23, 30);
    post(
        ig,
        p1,
        &[(1, &[(Likes, 10)]), (20, &[(Likes, 30)]), (23, &[(Views, 5)]), (24, &[(Likes, 40)]), (30, &[(Likes, 80)])],
    );
    // A week later, Monday 23:10 UTC = Tuesday 00:10 in Berlin: the same cell.
    post(fb, at(2026, 11, 9, 23, 10), &[(2, &[(Likes, 50)])]);
    // Sunday 2026-11-01 00:00 UTC, the range's first instant: Sunday 01:00 in Berlin.
    post(ig, at(2026, 11, 1, 0, 0), &[(1, &[(Likes, 3)])]);
    // The range's end (excluded), and a post published before the range.
    post(ig, at(2026, 11, 15, 0, 0), &[(1, &[(Likes, 700)])]);
    post(ig, at(2026, 10, 20, 23, 30), &[(1, &[(Likes, 1000)])]);
    // Thursday 12:00 UTC, views only: no likes to rank.
    post(ig, at(2026, 11, 5, 12, 0), &[(1, &[(Views, 8)])]);
    // Wednesday: a snapshot corrects the publication time to 09:30 UTC (10:30 in Berlin).
    let p3 = PostId::new();
    rows.push(snap(team, p3, ig, at(2026, 11, 4, 10, 0), at(2026, 11, 4, 10, 30), &[(Likes, 7)]));
    rows.push(snap(team, p3, ig, at(2026, 11, 4, 9, 30), at(2026, 11, 4, 11, 0), &[(Likes, 9)]));
    s.append_engagement(rows).await.expect("append");
    // Another team's post in the busiest cell.
    let other = snap(TeamId::new(), PostId::new(), ig, p1, p1 + hours(1), &[(Likes, 500)]);
    s.append_engagement(vec![other]).await.expect("another team");
}

fn query(
    team: TeamId,
    window_hours: u32,
    counter: EngagementCounter,
    platform: Option<Platform>,
    zone: Tz,
) -> BestTimeQuery {
    BestTimeQuery {
        team,
        published: period(at(2026, 11, 1, 0, 0), at(2026, 11, 15, 0, 0)),
        window_hours,
        counter,
        platform,
        zone,
    }
}

/// The grid in Berlin: 168 cells, Monday 23:30 UTC lands on Tuesday 00h, a window of 24
/// hours counts the snapshot at exactly 24 hours and not the one at 30, the mean is
/// total / posts, the publication time is the earliest one reported, and the range is half-open.
pub async fn best_time_grid_in_zone<S: AnalyticsWriter + EngagementReader + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    seed(s, team).await;
    let berlin = chrono_tz::Europe::Berlin;
    let got = s.best_time_to_post(query(team, 24, Likes, None, berlin)).await.expect("best time");
    assert_eq!(got.len(), 168);
    assert_eq!(got, grid(&[(1, 0, 2, 90, 45.0), (2, 10, 1, 9, 9.0), (6, 1, 1, 3, 3.0)]));

    let utc = s.best_time_to_post(query(team, 24, Likes, None, Tz::UTC)).await.expect("in UTC");
    assert_eq!(utc, grid(&[(0, 23, 2, 90, 45.0), (2, 9, 1, 9, 9.0), (6, 0, 1, 3, 3.0)]));

    let instagram = s.best_time_to_post(query(team, 24, Likes, Some(Platform::Instagram), berlin)).await.expect("ig");
    assert_eq!(instagram, grid(&[(1, 0, 1, 40, 40.0), (2, 10, 1, 9, 9.0), (6, 1, 1, 3, 3.0)]));

    let views = s.best_time_to_post(query(team, 24, Views, None, berlin)).await.expect("views");
    assert_eq!(views, grid(&[(1, 0, 1, 5, 5.0), (3, 13, 1, 8, 8.0)]));

    let stranger = s.best_time_to_post(query(TeamId::new(), 24, Likes, None, berlin)).await.expect("fresh team");
    assert_eq!(stranger, grid(&[]));
}

/// The window counts only snapshots within N hours of publication (its end included), and a
/// window of 0 or 721 hours is refused.
pub async fn best_time_window_bounds<S: AnalyticsWriter + EngagementReader + ?Sized>(h: &Harness<S>) {
    let s = &*h.store;
    let team = TeamId::new();
    seed(s, team).await;
    let berlin = chrono_tz::Europe::Berlin;
    let one = s.best_time_to_post(query(team, 1, Likes, None, berlin)).await.expect("one hour");
    assert_eq!(one, grid(&[(1, 0, 1, 10, 10.0), (2, 10, 1, 7, 7.0), (6, 1, 1, 3, 3.0)]));
    let month = s.best_time_to_post(query(team, 720, Likes, None, berlin)).await.expect("720 hours");
    assert_eq!(month, grid(&[(1, 0, 2, 130, 65.0), (2, 10, 1, 9, 9.0), (6, 1, 1, 3, 3.0)]));
    invalid(s.best_time_to_post(query(team, 0, Likes, None, berlin)).await, "window_hours", rule::RANGE);
    invalid(s.best_time_to_post(query(team, 721, Likes, None, berlin)).await, "window_hours", rule::RANGE);
}
