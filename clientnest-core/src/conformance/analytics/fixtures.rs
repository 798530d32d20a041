//! Fixtures of the analytics suite: fixed times, periods, rollups and precise assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Debug;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use futures::TryStreamExt;

use crate::analytics::{Bucket, EngagementCounter, EngagementCounts, EngagementReader, EngagementSnapshot, Rollup};
use crate::error::{Error, Result};
use crate::ids::{PostId, TeamId};
use crate::model::{Period, Platform};

/// A UTC instant.
pub(super) fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().expect("a valid UTC time")
}

/// `[start, end)`.
pub(super) fn period(start: DateTime<Utc>, end: DateTime<Utc>) -> Period {
    Period::new(start, end).expect("end after start")
}

/// A rollup of `team` over `[start, end)` in `bucket`s cut in `zone`.
pub(super) fn rollup(team: TeamId, start: DateTime<Utc>, end: DateTime<Utc>, bucket: Bucket, zone: Tz) -> Rollup {
    Rollup::new(team, period(start, end), bucket).in_zone(zone)
}

/// An hour picked at random between 2027 and about 2036, for rows no team owns (performance),
/// so runs on a shared database do not see each other's rows.
pub(super) fn random_hour() -> DateTime<Utc> {
    let hours = rand::random::<u32>() % 80_000;
    at(2027, 1, 1, 0, 0) + Duration::hours(i64::from(hours))
}

/// A name unique to this test run (`prefix-<uuid>`).
pub(super) fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Counters from `(counter, value)` pairs; the others `None`.
pub(super) fn counts(pairs: &[(EngagementCounter, i64)]) -> EngagementCounts {
    pairs.iter().fold(EngagementCounts::default(), |c, (k, v)| c.with(*k, *v))
}

/// A snapshot of `post` on `platform` at `time`, published at `published`, with `pairs`.
pub(super) fn snap(
    team: TeamId,
    post: PostId,
    platform: Platform,
    published: DateTime<Utc>,
    time: DateTime<Utc>,
    pairs: &[(EngagementCounter, i64)],
) -> EngagementSnapshot {
    let mut s = EngagementSnapshot::new(team, post, platform, published, time);
    s.counts = counts(pairs);
    s
}

/// Every snapshot the reader streams for `team` over `range` (and `post`).
pub(super) async fn snapshots<S: EngagementReader + ?Sized>(
    store: &S,
    team: TeamId,
    range: Period,
    post: Option<PostId>,
) -> Vec<EngagementSnapshot> {
    store.engagement_snapshots(team, range, post).try_collect().await.expect("stream snapshots")
}

/// The whole range of storable times, `[1900-01-01, 10000-01-01)`.
pub(super) fn all_time() -> Period {
    let end = NaiveDate::from_ymd_opt(10_000, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).expect("year 10000");
    period(at(1900, 1, 1, 0, 0), Utc.from_utc_datetime(&end))
}

/// Assert a `Validation` error naming `field` under `rule`.
#[track_caller]
pub(super) fn invalid<T: Debug>(r: Result<T>, field: &str, rule: &str) {
    match r {
        Err(Error::Validation(v)) if v.has(field, rule) => {}
        other => panic!("expected Validation on `{field}` ({rule}), got {other:?}"),
    }
}
