//! Time buckets in a team's time zone, computed once in core for every backend.
//!
//! A backend never truncates times in SQL with its own zone rules: [`Buckets::new`] turns a
//! [`Rollup`] into the list of bucket boundaries (UTC instants), and a backend assigns each row to
//! the bucket whose `[start, next start)` holds its time (PostgreSQL: `width_bucket(time,
//! $boundaries)`). So a day in `Europe/Berlin` is a Berlin day (23 or 25 hours around DST) in
//! every backend, with identical edges.

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike, Utc,
};
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
    /// The local start of the bucket holding local time `t`; `None` past the calendar's end.
    fn floor_local(self, t: NaiveDateTime) -> Option<NaiveDateTime> {
        let day = t.date();
        let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0);
        match self {
            Bucket::Minute => t.with_second(0).and_then(|t| t.with_nanosecond(0)),
            Bucket::Hour => day.and_hms_opt(t.hour(), 0, 0),
            Bucket::Day => midnight(day),
            Bucket::Week => {
                midnight(day.checked_sub_days(chrono::Days::new(u64::from(day.weekday().num_days_from_monday())))?)
            }
            Bucket::Month => midnight(day.with_day(1)?),
        }
    }

    /// The local start of the bucket after the one starting at local `start`; `None` past the
    /// calendar's end.
    fn next_local(self, start: NaiveDateTime) -> Option<NaiveDateTime> {
        match self {
            Bucket::Minute => start.checked_add_signed(Duration::minutes(1)),
            Bucket::Hour => start.checked_add_signed(Duration::hours(1)),
            Bucket::Day => start.checked_add_signed(Duration::days(1)),
            Bucket::Week => start.checked_add_signed(Duration::days(7)),
            Bucket::Month => {
                let d = start.date();
                let (y, m) = if d.month() == 12 { (d.year().checked_add(1)?, 1) } else { (d.year(), d.month() + 1) };
                NaiveDate::from_ymd_opt(y, m, 1).and_then(|d| d.and_hms_opt(0, 0, 0))
            }
        }
    }

    /// Whether buckets are cut by the wall clock of one offset at a time (minutes and hours)
    /// rather than by the calendar (days, weeks, months).
    fn is_sub_day(self) -> bool {
        matches!(self, Bucket::Minute | Bucket::Hour)
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
                let Some(next) = probe.checked_add_signed(Duration::minutes(1)) else { break };
                probe = next;
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
    /// than [`MAX_BUCKETS`], and with [`rule::TIME_RANGE`] when a bucket would reach past the
    /// times the calendar can name.
    ///
    /// Days, weeks and months follow the local calendar: a day is 23, 24 or 25 hours, starts at
    /// the first instant of its date (after a skipped midnight, when the clock resumes), and a
    /// date the zone skips altogether has no bucket. Minutes and hours follow the wall clock of
    /// one UTC offset at a time: an offset change starts a new bucket, so a repeated hour
    /// (DST end) is two hour buckets and none is longer than its width.
    pub fn new(rollup: &Rollup) -> Result<Self, Error> {
        let Rollup { range, bucket, zone, .. } = *rollup;
        let beyond =
            || Error::invalid("range", rule::TIME_RANGE, "a bucket of this rollup would reach past the calendar's end");
        let mut steps = Steps::new(zone, bucket, range.start).ok_or_else(beyond)?;
        let mut starts = vec![steps.start];
        loop {
            let next = steps.advance().ok_or_else(beyond)?;
            if next >= range.end {
                return Ok(Self { starts, end: next });
            }
            if starts.len() >= MAX_BUCKETS {
                return Err(Error::invalid(
                    "range",
                    rule::RANGE,
                    format!("a rollup may have at most {MAX_BUCKETS} buckets; use a wider bucket or a shorter range"),
                ));
            }
            starts.push(next);
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

/// The UTC offset of `zone` at `t`.
fn offset_at(zone: Tz, t: DateTime<Utc>) -> FixedOffset {
    zone.offset_from_utc_datetime(&t.naive_utc()).fix()
}

/// The local wall time of `t` in `zone` (`None` past the calendar's end).
fn local_at(zone: Tz, t: DateTime<Utc>) -> Option<NaiveDateTime> {
    t.naive_utc().checked_add_offset(offset_at(zone, t))
}

/// The first instant in `(from, to]` where the offset of `zone` differs from the one at `from`,
/// when the offset at `to` differs (offsets change at most once within an hour, and on whole
/// seconds, in every tz database zone).
fn offset_change(zone: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let at_from = offset_at(zone, from);
    let changed = |secs: i64| DateTime::from_timestamp(secs, 0).is_none_or(|t| offset_at(zone, t) != at_from);
    let (mut lo, mut hi) = (from.timestamp(), to.timestamp());
    if hi <= lo || !changed(hi) {
        return None;
    }
    // `changed(lo)` is false and `changed(hi)` true: narrow down to the first changed second.
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if changed(mid) { hi = mid } else { lo = mid }
    }
    DateTime::from_timestamp(hi, 0)
}

/// Walks bucket starts in order.
struct Steps {
    zone: Tz,
    bucket: Bucket,
    /// The current bucket's start.
    start: DateTime<Utc>,
    /// Its local calendar start (days, weeks, months).
    local: NaiveDateTime,
}

impl Steps {
    /// At the bucket holding `t`.
    fn new(zone: Tz, bucket: Bucket, t: DateTime<Utc>) -> Option<Self> {
        let local = bucket.floor_local(local_at(zone, t)?)?;
        let start = if bucket.is_sub_day() {
            // The floor read with the offset at `t`; when the offset changed between the two,
            // the bucket starts at the change.
            let floor = local.checked_sub_offset(offset_at(zone, t))?.and_utc();
            offset_change(zone, floor, t).unwrap_or(floor)
        } else {
            local_to_utc(zone, local)
        };
        Some(Self { zone, bucket, start, local })
    }

    /// Move to the next bucket and return its start (always after the current one).
    fn advance(&mut self) -> Option<DateTime<Utc>> {
        let next = if self.bucket.is_sub_day() {
            let offset = offset_at(self.zone, self.start);
            let local = self.bucket.floor_local(self.start.naive_utc().checked_add_offset(offset)?)?;
            let end = self.bucket.next_local(local)?.checked_sub_offset(offset)?.and_utc();
            offset_change(self.zone, self.start, end - Duration::seconds(1)).unwrap_or(end)
        } else {
            // A date the zone skips altogether starts where the next one does: skip it.
            let mut next = self.start;
            for _ in 0..8 {
                self.local = self.bucket.next_local(self.local)?;
                next = local_to_utc(self.zone, self.local);
                if next > self.start {
                    break;
                }
            }
            next
        };
        if next <= self.start {
            return None;
        }
        self.start = next;
        Some(next)
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
    /// Boundaries strictly increase (no empty bucket) and no bucket is longer than `at_most`.
    fn assert_well_formed(b: &Buckets, at_most: Duration) {
        let all = b.boundaries();
        for w in all.windows(2) {
            assert!(w[0] < w[1], "an empty bucket at {}: {all:?}", w[0]);
            assert!(w[1] - w[0] <= at_most, "a bucket of {} at {}", w[1] - w[0], w[0]);
        }
        for (i, s) in b.starts().iter().enumerate() {
            assert_eq!(b.index_of(*s), Some(i), "the bucket starting at {s} holds its start");
        }
    }

    #[test]
    fn hours_over_a_skipped_hour_have_no_empty_bucket() {
        // Berlin skips 02:00-03:00 local on 2026-03-29 (01:00 UTC).
        let b = Buckets::new(&rollup(
            "2026-03-29T00:00:00Z",
            "2026-03-29T03:00:00Z",
            Bucket::Hour,
            chrono_tz::Europe::Berlin,
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            b.boundaries(),
            vec![
                utc("2026-03-29T00:00:00Z"),
                utc("2026-03-29T01:00:00Z"),
                utc("2026-03-29T02:00:00Z"),
                utc("2026-03-29T03:00:00Z")
            ]
        );
        let minutes = Buckets::new(&rollup(
            "2026-03-29T00:58:00Z",
            "2026-03-29T01:02:00Z",
            Bucket::Minute,
            chrono_tz::Europe::Berlin,
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(minutes.len(), 4);
        assert_well_formed(&minutes, Duration::minutes(1));
    }

    #[test]
    fn hours_and_minutes_over_a_repeated_hour_are_never_longer_than_their_width() {
        // Berlin repeats 02:00-03:00 local on 2026-10-25: 00:00-01:00 UTC (CEST), 01:00-02:00 (CET).
        let b = Buckets::new(&rollup(
            "2026-10-24T23:00:00Z",
            "2026-10-25T03:00:00Z",
            Bucket::Hour,
            chrono_tz::Europe::Berlin,
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.len(), 4, "{:?}", b.boundaries());
        assert_well_formed(&b, Duration::hours(1));
        // A range starting in the second 02:00 hour starts with that hour, not the first one.
        let second = Buckets::new(&rollup(
            "2026-10-25T01:30:00Z",
            "2026-10-25T02:00:00Z",
            Bucket::Hour,
            chrono_tz::Europe::Berlin,
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(second.boundaries(), vec![utc("2026-10-25T01:00:00Z"), utc("2026-10-25T02:00:00Z")]);
        let minutes = Buckets::new(&rollup(
            "2026-10-25T00:58:00Z",
            "2026-10-25T01:02:00Z",
            Bucket::Minute,
            chrono_tz::Europe::Berlin,
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(minutes.len(), 4, "{:?}", minutes.boundaries());
        assert_well_formed(&minutes, Duration::minutes(1));
        // Lord Howe moves its clocks by 30 minutes: an hour bucket ends at the change.
        let howe = Buckets::new(&rollup(
            "2026-04-04T12:00:00Z",
            "2026-04-04T18:00:00Z",
            Bucket::Hour,
            chrono_tz::Australia::Lord_Howe,
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_well_formed(&howe, Duration::hours(1));
        assert!(howe.starts().contains(&utc("2026-04-04T15:00:00Z")), "{:?}", howe.boundaries());
    }

    #[test]
    fn a_day_the_zone_skips_gives_no_empty_bucket() {
        // Samoa skipped 2011-12-30 altogether (from UTC-10 to UTC+14).
        let b = Buckets::new(&rollup(
            "2011-12-29T12:00:00Z",
            "2011-12-31T12:00:00Z",
            Bucket::Day,
            chrono_tz::Pacific::Apia,
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_well_formed(&b, Duration::hours(25));
        assert_eq!(b.len(), 3, "Dec 29, Dec 31, Jan 1: {:?}", b.boundaries());
    }

    #[test]
    fn a_repeated_midnight_makes_a_25_hour_day() {
        // Chile turns 00:00 back to 23:00 on 2026-04-05: April 4 has 25 hours.
        let b = Buckets::new(&rollup(
            "2026-04-04T12:00:00Z",
            "2026-04-05T12:00:00Z",
            Bucket::Day,
            chrono_tz::America::Santiago,
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.starts()[0], utc("2026-04-04T03:00:00Z"));
        assert_eq!(b.starts()[1] - b.starts()[0], Duration::hours(25));
        assert_eq!(b.index_of(utc("2026-04-05T03:30:00Z")), Some(0), "the second 23:30 is still April 4");
    }

    #[test]
    fn a_range_at_the_edge_of_time_is_refused_not_a_panic() {
        let max = DateTime::<Utc>::MAX_UTC;
        for bucket in [Bucket::Minute, Bucket::Hour, Bucket::Day, Bucket::Week, Bucket::Month] {
            for zone in [Tz::UTC, chrono_tz::Pacific::Kiritimati, chrono_tz::Etc::GMTPlus12] {
                let near_end = Period::new(max - Duration::minutes(30), max).unwrap_or_else(|e| panic!("{e}"));
                let got = Buckets::new(&Rollup::new(TeamId::new(), near_end, bucket).in_zone(zone));
                assert!(matches!(got, Err(Error::Validation(_))), "{bucket:?} {zone}: {got:?}");
            }
            let min = DateTime::<Utc>::MIN_UTC;
            let near_start = Period::new(min, min + Duration::minutes(30)).unwrap_or_else(|e| panic!("{e}"));
            let got = Buckets::new(&Rollup::new(TeamId::new(), near_start, bucket).in_zone(chrono_tz::Etc::GMTPlus12));
            assert!(matches!(got, Err(Error::Validation(_))), "{bucket:?}: {got:?}");
        }
    }
    #[test]
    fn edges_do_not_depend_on_where_the_range_starts() {
        let zones = [
            chrono_tz::Europe::Berlin,
            chrono_tz::America::Santiago,
            chrono_tz::Australia::Lord_Howe,
            chrono_tz::Pacific::Apia,
            chrono_tz::Asia::Kathmandu,
            chrono_tz::Pacific::Chatham,
            chrono_tz::Africa::Monrovia,
        ];
        for zone in zones {
            for (bucket, width) in [(Bucket::Hour, Duration::hours(1)), (Bucket::Day, Duration::hours(25))] {
                for (from, to) in
                    [("1971-06-01T00:00:00Z", "1973-01-01T00:00:00Z"), ("2010-06-01T00:00:00Z", "2012-06-01T00:00:00Z")]
                {
                    let all = Buckets::new(&rollup(from, to, bucket, zone)).unwrap_or_else(|e| panic!("{e}"));
                    assert_well_formed(&all, width);
                    // Starting anywhere inside the covered range gives the same edges from there on.
                    for k in [1, 7, 100, 4_000] {
                        let Some(start) = all.starts().get(k.min(all.len() - 1)) else { continue };
                        let mid = *start + (all.end() - *start) / 3 + Duration::seconds(17);
                        let later = Buckets::new(
                            &Rollup::new(
                                TeamId::new(),
                                Period::new(mid, all.end()).unwrap_or_else(|e| panic!("{e}")),
                                bucket,
                            )
                            .in_zone(zone),
                        )
                        .unwrap_or_else(|e| panic!("{e}"));
                        let i = all.index_of(mid).unwrap_or_else(|| panic!("{mid} is covered"));
                        assert_eq!(later.starts(), &all.starts()[i..], "{zone} {bucket:?} from {mid}");
                    }
                }
            }
        }
    }
}
