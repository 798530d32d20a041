//! Which backups a retention policy keeps: a pure function of the backups' times.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Utc};

/// How many backups [`Backups::prune`](super::Backups::prune) keeps: the newest backup of each
/// of the `daily` most recent UTC days that have backups, and the newest of each of the
/// `weekly` most recent ISO weeks that have backups (the two sets overlap). The newest backup
/// is always kept, even with both counts at zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetentionPolicy {
    /// Days (UTC) whose newest backup is kept. Default 7.
    pub daily: usize,
    /// ISO weeks whose newest backup is kept. Default 4.
    pub weekly: usize,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self { daily: 7, weekly: 4 }
    }
}

impl RetentionPolicy {
    /// Keep the newest backup of `daily` days and of `weekly` ISO weeks.
    pub fn new(daily: usize, weekly: usize) -> Self {
        Self { daily, weekly }
    }

    /// The same policy keeping `daily` days.
    pub fn with_daily(mut self, daily: usize) -> Self {
        self.daily = daily;
        self
    }

    /// The same policy keeping `weekly` ISO weeks.
    pub fn with_weekly(mut self, weekly: usize) -> Self {
        self.weekly = weekly;
        self
    }

    /// The times (out of `times`, in any order, duplicates allowed) whose backups this policy
    /// keeps. Every other time is to be deleted.
    pub fn retained(&self, times: &[DateTime<Utc>]) -> BTreeSet<DateTime<Utc>> {
        let mut sorted: Vec<DateTime<Utc>> = times.to_vec();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        sorted.dedup();
        let mut keep = BTreeSet::new();
        if let Some(newest) = sorted.first() {
            keep.insert(*newest);
        }
        keep_newest_per(&sorted, self.daily, |t| t.date_naive(), &mut keep);
        keep_newest_per(&sorted, self.weekly, iso_week, &mut keep);
        keep
    }
}

/// The ISO week of `t` (UTC), as its (ISO year, week number).
fn iso_week(t: &DateTime<Utc>) -> (i32, u32) {
    let w = t.iso_week();
    (w.year(), w.week())
}

/// With `newest_first` sorted newest first: keep the first (newest) time of each of the first
/// `periods` distinct periods.
fn keep_newest_per<P: PartialEq>(
    newest_first: &[DateTime<Utc>],
    periods: usize,
    period: impl Fn(&DateTime<Utc>) -> P,
    keep: &mut BTreeSet<DateTime<Utc>>,
) {
    let mut seen = 0;
    let mut last: Option<P> = None;
    for t in newest_first {
        let p = period(t);
        if last.as_ref() == Some(&p) {
            continue;
        }
        if seen == periods {
            break;
        }
        seen += 1;
        keep.insert(*t);
        last = Some(p);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    #[test]
    fn keeps_newest_per_day_for_seven_days_and_per_week_for_four_weeks() {
        // Two backups a day (02:00 and 14:00) for 60 days ending Sunday 2026-03-01.
        let end = at(2026, 3, 1, 14);
        let times: Vec<_> = (0..120).map(|i| end - Duration::hours(12 * i)).collect();
        let kept = RetentionPolicy::default().retained(&times);
        let days: Vec<_> = (0..7).map(|d| end - Duration::days(d)).collect();
        // 7 daily (14:00 of each of the last 7 days) ...
        for d in &days {
            assert!(kept.contains(d), "{d}");
            assert!(!kept.contains(&(*d - Duration::hours(12))), "the older backup of {d} is dropped");
        }
        // ... and the newest of each of the 4 most recent ISO weeks: Sundays 03-01 (in the
        // daily set), 02-22, 02-15, 02-08.
        for d in [at(2026, 2, 22, 14), at(2026, 2, 15, 14), at(2026, 2, 8, 14)] {
            assert!(kept.contains(&d), "{d}");
        }
        assert_eq!(kept.len(), 7 + 3);
    }

    #[test]
    fn days_without_backups_do_not_count() {
        // Backups every third day: the 7 most recent days *that have backups* span 3 weeks.
        let end = at(2026, 1, 31, 3);
        let times: Vec<_> = (0..30).map(|i| end - Duration::days(3 * i)).collect();
        let kept = RetentionPolicy::new(7, 0).retained(&times);
        assert_eq!(kept.len(), 7);
        assert_eq!(kept.iter().next().copied(), Some(end - Duration::days(18)));
    }

    #[test]
    fn always_keeps_the_newest_and_handles_edges() {
        let t = at(2026, 5, 5, 5);
        assert_eq!(RetentionPolicy::new(0, 0).retained(&[t - Duration::days(40), t]), BTreeSet::from([t]));
        assert!(RetentionPolicy::default().retained(&[]).is_empty());
        assert_eq!(RetentionPolicy::default().retained(&[t, t]).len(), 1);
        // Order of the input does not matter.
        let times = [t, t - Duration::days(1), t - Duration::hours(1), t - Duration::days(9)];
        let mut reversed = times;
        reversed.reverse();
        assert_eq!(RetentionPolicy::default().retained(&times), RetentionPolicy::default().retained(&reversed));
    }

    #[test]
    fn weeks_are_iso_weeks_across_a_year_end() {
        // 2026-01-01 is a Thursday in ISO week 2026-W01, which began Monday 2025-12-29.
        let a = at(2025, 12, 29, 1);
        let b = at(2026, 1, 1, 1);
        let c = at(2025, 12, 28, 1); // Sunday of 2025-W52
        let kept = RetentionPolicy::new(0, 2).retained(&[a, b, c]);
        assert_eq!(kept, BTreeSet::from([b, c]));
    }
}
