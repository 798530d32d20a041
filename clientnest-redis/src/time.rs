//! Times as the scripts exchange them: microseconds since the Unix epoch, read from Redis `TIME`.

use chrono::{DateTime, Duration, Utc};
use clientnest_core::Error;

use crate::error::{bad_data, bad_reply};

/// A time from µs since the epoch.
pub(crate) fn from_micros(us: i64) -> Result<DateTime<Utc>, Error> {
    DateTime::<Utc>::from_timestamp_micros(us).ok_or_else(|| bad_reply("time out of range"))
}

/// A time from a decimal µs string, as the scripts store them.
pub(crate) fn parse_micros(s: &str) -> Result<DateTime<Utc>, Error> {
    from_micros(s.parse::<i64>().map_err(|_| bad_data("time is not an integer"))?)
}

/// A duration in whole µs (saturating; durations are checked to be far below that).
pub(crate) fn micros(d: Duration) -> i64 {
    d.num_microseconds().unwrap_or(i64::MAX)
}

/// A TTL in whole milliseconds, rounded up so an entry never dies before its time (at least 1).
pub(crate) fn ttl_millis(d: Duration) -> i64 {
    let us = micros(d);
    (us / 1000 + i64::from(us % 1000 != 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_round_up_to_milliseconds() {
        assert_eq!(ttl_millis(Duration::microseconds(1)), 1);
        assert_eq!(ttl_millis(Duration::milliseconds(5)), 5);
        assert_eq!(ttl_millis(Duration::microseconds(5001)), 6);
    }

    #[test]
    fn times_round_trip_through_micros() {
        let t = from_micros(1_700_000_000_123_456).expect("in range");
        assert_eq!(parse_micros("1700000000123456").expect("parses"), t);
        assert!(parse_micros("x").is_err());
    }
}
