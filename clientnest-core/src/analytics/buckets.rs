//! Time buckets in a team's time zone, computed once in core for every backend.
//!
//! A backend never truncates times in SQL with its own zone rules: [`Buckets::new`] turns a
//! [`Rollup`] into the list of bucket boundaries (UTC instants), and a backend assigns each row to
//! the bucket whose `[start, next start)` holds its time (PostgreSQL: `width_bucket(time,
//! $boundaries)`). So a day in `Europe/Berlin` is a Berlin day (23 or 25 hours around DST) in
//! every backend, with identical edges.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::ids::TeamId;
use crate::model::Period;
use crate::validate::rule;

/// Most buckets one rollup may have (about 69 days of minutes, 11 years of hours).
pub const MAX_BUCKETS: usize = 100_000;

/// A bucket width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    /// One minute.
    Minute,
    /// One hour (local hours: a 30-minute-offset zone gets its own hours).
    Hour,
    /// One local calendar day (23, 24 or 25 hours).
    Day,
    /// One ISO week, Monday 00:00 local to the next Monday.
    Week,
    /// One local calendar month.
    Month,
}

impl Bucket {
    /// The local start of the bucket holding local time `t`.
    fn floor_local(self, t: NaiveDateTime) -> NaiveDateTime {
        let day = t.date();
        let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or(t);
        match self {
            Bucket::Minute => t.with_second(0).and_then(|t| t.with_nanosecond(0)).unwrap_or(t),
            Bucket::Hour => day.and_hms_opt(t.hour(), 0, 0).unwrap_or(t),
            Bucket::Day => midnight(day),
            Bucket::Week => midnight(day - Duration::days(i64::from(day.weekday().num_days_from_monday()))),
            Bucket::Month => midnight(day.with_day(1).unwrap_or(day)),
        }
    }

    /// The local start of the bucket after the one starting at local `start`.
    fn next_local(self, start: NaiveDateTime) -> NaiveDateTime {
        match self {
            Bucket::Minute => start + Duration::minutes(1),
            Bucket::Hour => start + Duration::hours(1),
            Bucket::Day => start + Duration::days(1),
            Bucket::Week => start + Duration::days(7),
            Bucket::Month => {
                let d = start.date();
                let (y, m) = if d.month() == 12 { (d.year() + 1, 1) } else { (d.year(), d.month() + 1) };
                NaiveDate::from_ymd_opt(y, m, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).unwrap_or(start)
            }
        }
    }
}

/// What a rollup covers: a team, a time range, a bucket width and the zone buckets are cut in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rollup {
    /// The team whose rows are read (ignored by reads that are not team-owned).
    pub team: TeamId,
    /// The time range. A rollup covers whole buckets: the range is widened to the start of the
    /// bucket holding `range.start` and the end of the bucket holding the last instant before
    /// `range.end`.
    pub range: Period,
    /// The bucket width.
    pub bucket: Bucket,
    /// The zone buckets are cut in (a Berlin team passes `Europe/Berlin`).
    pub zone: Tz,
}

impl Rollup {
    /// A rollup of `team` over `range` in buckets of `bucket`, in UTC.
    pub fn new(team: TeamId, range: Period, bucket: Bucket) -> Self {
        Self { team, range, bucket, zone: Tz::UTC }
    }

    /// The same rollup cut in `zone`.
    #[must_use]
    pub fn in_zone(mut self, zone: Tz) -> Self {
        self.zone = zone;
        self
    }
}

/// The UTC instant of a local time in `zone`: the earlier one when the clock repeats (DST end),
/// the first valid instant after the gap when it skips (DST start).
pub fn local_to_utc(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        LocalResult::None => {
            // Inside a skipped interval: walk forward by minutes to its end (gaps are at most a
            // few hours, and start and end on whole minutes in every tz database zone).
            let mut probe = local;
            for _ in 0..(24 * 60) {
                probe += Duration::minutes(1);
                if let LocalResult::Single(t) | LocalResult::Ambiguous(t, _) = zone.from_local_datetime(&probe) {
                    return t.with_timezone(&Utc);
                }
            }
            Utc.from_utc_datetime(&local)
        }
    }
}

/// The bucket boundaries of a rollup: `starts[i]` is the start of bucket `i`, and `end` the end of
/// the last one. Every bucket is non-empty and they touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buckets {
    starts: Vec<DateTime<Utc>>,
    end: DateTime<Utc>,
}

impl Buckets {
    /// The buckets of `rollup`; refused with [`rule::RANGE`] on `range` when there would be more
    /// than [`MAX_BUCKETS`].
    pub fn new(rollup: &Rollup) -> Result<Self, Error> {
        let Rollup { range, bucket, zone, .. } = *rollup;
        let local = |t: DateTime<Utc>| t.with_timezone(&zone).naive_local();
        let mut start_local = bucket.floor_local(local(range.start));
        let mut starts = Vec::new();
        let mut last_start = local_to_utc(zone, start_local);
        loop {
            if starts.len() >= MAX_BUCKETS {
                return Err(Error::invalid(
                    "range",
                    rule::RANGE,
                    format!("a rollup may have at most {MAX_BUCKETS} buckets; use a wider bucket or a shorter range"),
                ));
            }
            starts.push(last_start);
            let next_local = bucket.next_local(start_local);
            let next = local_to_utc(zone, next_local);
            start_local = next_local;
            if next <= last_start {
                // A bucket swallowed by a DST change: skip it so buckets stay non-empty.
                continue;
            }
            last_start = next;
            if next >= range.end {
                return Ok(Self { starts, end: next });
            }
        }
    }

    /// The start of every bucket, in order.
    pub fn starts(&self) -> &[DateTime<Utc>] {
        &self.starts
    }

    /// The end of the last bucket (exclusive).
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// The start of the first bucket (inclusive): the covered range is `[first(), end())`.
    pub fn first(&self) -> DateTime<Utc> {
        self.starts[0]
    }

    /// Every boundary: the starts followed by the end (`len() + 1` instants), as a backend
    /// passes them to `width_bucket`.
    pub fn boundaries(&self) -> Vec<DateTime<Utc>> {
        let mut b = self.starts.clone();
        b.push(self.end);
        b
    }

    /// How many buckets there are (at least one).
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Always `false`: a rollup has at least one bucket.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The index of the bucket holding `t`, or `None` outside `[first(), end())`.
    pub fn index_of(&self, t: DateTime<Utc>) -> Option<usize> {
        if t < self.first() || t >= self.end {
            return None;
        }
        Some(self.starts.partition_point(|s| *s <= t) - 1)
    }

    /// Whether every boundary falls on a whole UTC hour, so hourly pre-aggregates can be
    /// regrouped into these buckets exactly.
    pub fn on_whole_hours(&self) -> bool {
        self.boundaries().iter().all(|b| b.minute() == 0 && b.second() == 0 && b.nanosecond() == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    fn rollup(start: &str, end: &str, bucket: Bucket, zone: Tz) -> Rollup {
        let range = Period::new(utc(start), utc(end)).unwrap_or_else(|_| unreachable!());
        Rollup::new(TeamId::new(), range, bucket).in_zone(zone)
    }

    #[test]
    fn berlin_days_follow_dst() {
        let b = Buckets::new(&rollup(
            "2026-03-28T12:00:00Z",
            "2026-03-30T12:00:00Z",
            Bucket::Day,
            chrono_tz::Europe::Berlin,
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            b.boundaries(),
            vec![
                utc("2026-03-27T23:00:00Z"),
                utc("2026-03-28T23:00:00Z"),
                utc("2026-03-29T22:00:00Z"),
                utc("2026-03-30T22:00:00Z")
            ]
        );
        assert_eq!(b.index_of(utc("2026-03-29T21:59:59Z")), Some(1));
        assert_eq!(b.index_of(utc("2026-03-29T22:00:00Z")), Some(2));
        assert!(b.on_whole_hours());
    }

    #[test]
    fn kathmandu_days_are_not_on_whole_hours() {
        let b = Buckets::new(&rollup(
            "2026-01-01T00:00:00Z",
            "2026-01-03T00:00:00Z",
            Bucket::Day,
            chrono_tz::Asia::Kathmandu,
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(!b.on_whole_hours());
        assert_eq!(b.first(), utc("2025-12-31T18:15:00Z"));
    }

    #[test]
    fn months_and_weeks_in_utc() {
        let b = Buckets::new(&rollup("2026-01-15T00:00:00Z", "2026-03-01T00:00:00Z", Bucket::Month, Tz::UTC))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.starts(), &[utc("2026-01-01T00:00:00Z"), utc("2026-02-01T00:00:00Z")]);
        assert_eq!(b.end(), utc("2026-03-01T00:00:00Z"));
        let w = Buckets::new(&rollup("2026-12-02T10:00:00Z", "2026-12-03T00:00:00Z", Bucket::Week, Tz::UTC))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w.starts(), &[utc("2026-11-30T00:00:00Z")]);
    }

    #[test]
    fn too_many_buckets_is_refused() {
        let err = Buckets::new(&rollup("2000-01-01T00:00:00Z", "2026-01-01T00:00:00Z", Bucket::Minute, Tz::UTC));
        assert!(matches!(err, Err(Error::Validation(_))));
    }

    #[test]
    fn a_skipped_midnight_starts_the_day_when_the_clock_resumes() {
        // Chile skips 00:00-01:00 local on 2026-09-06.
        let zone = chrono_tz::America::Santiago;
        let t = local_to_utc(
            zone,
            NaiveDate::from_ymd_opt(2026, 9, 6).and_then(|d| d.and_hms_opt(0, 0, 0)).unwrap_or_default(),
        );
        assert_eq!(t.with_timezone(&zone).naive_local().hour(), 1);
    }
}
