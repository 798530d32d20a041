//! CSV export of rollups and raw rows, streamed: [`csv_stream`] turns any stream of
//! [`CsvRecord`]s into a stream of lines, the header first, then one line per row as it arrives
//! (nothing is collected).
//!
//! The format:
//!
//! - **RFC 4180**: fields separated by commas, lines ended by CRLF; a field holding a comma, a
//!   double quote, CR or LF is put in double quotes, its quotes doubled (the `csv` crate's
//!   encoder).
//! - **Formula injection defused**: a text field starting with `=`, `+`, `-`, `@`, a tab or CR
//!   gets a `'` in front (`=HYPERLINK(...)` is written `'=HYPERLINK(...)`), so a spreadsheet
//!   opening the file shows it as text instead of running it. Text here is whatever users and
//!   platforms typed (event types, endpoints, model names, JSON extras), so every text field is
//!   defused. Numbers the export formats itself (counts, sums, a negative gain such as `-1`)
//!   are left as they are: a spreadsheet reads them as numbers, not formulas.
//! - **Times** in RFC 3339, UTC, with microseconds: `2026-11-02T09:30:00.000000Z`.
//! - **Absent values** (`None`) as an empty field.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use clientnest_core::analytics::{DistinctUsers, csv_stream};
//! use futures::{StreamExt, stream};
//!
//! # futures::executor::block_on(async {
//! let day = Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap();
//! let rows = stream::iter([Ok(DistinctUsers { bucket: day, users: 42 })]);
//! let lines: Vec<String> = csv_stream(rows).map(|line| line.unwrap()).collect().await;
//! assert_eq!(lines, ["bucket,users\r\n", "2026-11-02T00:00:00.000000Z,42\r\n"]);
//! # });
//! ```

use std::pin::Pin;

use chrono::{DateTime, SecondsFormat, Utc};
use futures::{Stream, StreamExt};
use rust_decimal::Decimal;

use super::rollups::{
    AiBucket, BestTimeCell, CostTotal, DistinctUsers, EngagementPoint, EventCount, MetricBucket, PerformanceBucket,
    TeamEngagementPoint,
};
use super::rows::{EngagementCounter, EngagementCounts, EngagementSnapshot};
use crate::error::{Error, Result, store};

/// A type exported as one CSV line per value.
pub trait CsvRecord {
    /// The column names, in order; the header line.
    const HEADER: &'static [&'static str];

    /// The value's fields, one per column of [`HEADER`](Self::HEADER), in the same order.
    fn fields(&self) -> Vec<CsvField>;
}

/// The first characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// One field of a CSV line, as it will be written before quoting. Text is defused against
/// formula injection when it is made ([`CsvField::text`]); numbers and times are formatted
/// here, so they cannot carry a formula.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvField(String);

impl CsvField {
    /// A text field: a `'` is put in front when it starts with `=`, `+`, `-`, `@`, a tab or
    /// CR (see the [module docs](self)).
    pub fn text(s: &str) -> Self {
        if s.starts_with(FORMULA_STARTS) { Self(format!("'{s}")) } else { Self(s.to_owned()) }
    }

    /// An empty field (an absent value).
    pub fn empty() -> Self {
        Self(String::new())
    }

    /// A time, in RFC 3339 UTC with microseconds (`2026-11-02T09:30:00.000000Z`).
    pub fn time(t: DateTime<Utc>) -> Self {
        Self(t.to_rfc3339_opts(SecondsFormat::Micros, true))
    }

    /// A floating-point number, in Rust's shortest round-trip form; a non-finite one (`NaN`,
    /// `inf`, `-inf`) as text, defused.
    pub fn float(x: f64) -> Self {
        if x.is_finite() { Self(x.to_string()) } else { Self::text(&x.to_string()) }
    }

    /// The field's text as it will be written (before quoting).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! numeric_fields {
    ($($ty:ty),+) => {$(
        impl From<$ty> for CsvField {
            fn from(n: $ty) -> Self {
                Self(n.to_string())
            }
        }
    )+};
}

numeric_fields!(u8, u64, i32, i64, Decimal);

impl From<f64> for CsvField {
    fn from(x: f64) -> Self {
        Self::float(x)
    }
}

impl From<DateTime<Utc>> for CsvField {
    fn from(t: DateTime<Utc>) -> Self {
        Self::time(t)
    }
}

impl From<&str> for CsvField {
    fn from(s: &str) -> Self {
        Self::text(s)
    }
}

impl<T: Into<CsvField>> From<Option<T>> for CsvField {
    fn from(v: Option<T>) -> Self {
        v.map_or_else(Self::empty, Into::into)
    }
}

/// Encodes lines with the `csv` crate: RFC 4180 quoting, CRLF line ends.
struct Encoder(csv::WriterBuilder);

impl Encoder {
    fn new() -> Self {
        let mut builder = csv::WriterBuilder::new();
        builder
            .has_headers(false)
            .quote_style(csv::QuoteStyle::Necessary)
            .terminator(csv::Terminator::CRLF)
            .buffer_capacity(256);
        Self(builder)
    }

    fn line<'a>(&self, fields: impl IntoIterator<Item = &'a str>) -> Result<String> {
        let fail = |e: &dyn std::fmt::Display| Error::backend(store::LOCAL, format!("csv encoding failed: {e}"));
        let mut bytes = Vec::new();
        {
            let mut writer = self.0.from_writer(&mut bytes);
            writer.write_record(fields).map_err(|e| fail(&e))?;
            writer.flush().map_err(|e| fail(&e))?;
        }
        String::from_utf8(bytes).map_err(|e| fail(&e))
    }
}

/// The CSV lines of `rows`: the header of `T` first (also for no rows), then one line per row
/// as the source yields it, each ending in CRLF. An error of the source is passed through and
/// ends the stream (a file with a hole in it would look complete).
pub fn csv_stream<S, T>(rows: S) -> impl Stream<Item = Result<String>>
where
    S: Stream<Item = Result<T>>,
    T: CsvRecord,
{
    struct State<S> {
        rows: Pin<Box<S>>,
        encoder: Encoder,
        header_sent: bool,
        done: bool,
    }
    let start = State { rows: Box::pin(rows), encoder: Encoder::new(), header_sent: false, done: false };
    futures::stream::unfold(start, |mut st| async move {
        if st.done {
            return None;
        }
        let line = if st.header_sent {
            match st.rows.next().await? {
                Ok(row) => st.encoder.line(row.fields().iter().map(CsvField::as_str)),
                Err(e) => Err(e),
            }
        } else {
            st.header_sent = true;
            st.encoder.line(T::HEADER.iter().copied())
        };
        st.done = line.is_err();
        Some((line, st))
    })
}

fn counts(c: &EngagementCounts) -> impl Iterator<Item = CsvField> + '_ {
    EngagementCounter::ALL.iter().map(|k| c.get(*k).into())
}

/// A header: the lead columns, the six counters' columns, then `gains` (the six
/// `<counter>_gained` columns) or the trailing columns given.
macro_rules! with_counters {
    ($($lead:literal),+; gains) => {
        with_counters!($($lead),+; "likes_gained", "comments_gained", "shares_gained", "views_gained",
            "reach_gained", "impressions_gained")
    };
    ($($lead:literal),+; $($tail:literal),+) => {
        &[$($lead,)+ "likes", "comments", "shares", "views", "reach", "impressions", $($tail),+]
    };
}

impl CsvRecord for EngagementPoint {
    const HEADER: &'static [&'static str] = with_counters!("post_id", "platform", "bucket"; gains);

    fn fields(&self) -> Vec<CsvField> {
        let mut out =
            vec![CsvField::text(&self.post_id.to_string()), self.platform.as_str().into(), self.bucket.into()];
        out.extend(counts(&self.latest));
        out.extend(counts(&self.gained));
        out
    }
}

impl CsvRecord for TeamEngagementPoint {
    const HEADER: &'static [&'static str] = with_counters!("platform", "bucket"; gains);

    fn fields(&self) -> Vec<CsvField> {
        let mut out = vec![self.platform.as_str().into(), self.bucket.into()];
        out.extend(counts(&self.latest));
        out.extend(counts(&self.gained));
        out
    }
}

impl CsvRecord for EngagementSnapshot {
    const HEADER: &'static [&'static str] =
        with_counters!("time", "team_id", "post_id", "platform", "published_at"; "extra");

    fn fields(&self) -> Vec<CsvField> {
        let mut out = vec![
            self.time.into(),
            CsvField::text(&self.team_id.to_string()),
            CsvField::text(&self.post_id.to_string()),
            self.platform.as_str().into(),
            self.published_at.into(),
        ];
        out.extend(counts(&self.counts));
        out.push(CsvField::text(&self.extra.to_string()));
        out
    }
}

impl CsvRecord for BestTimeCell {
    const HEADER: &'static [&'static str] = &["weekday", "hour", "posts", "total_gained", "mean_gained"];

    fn fields(&self) -> Vec<CsvField> {
        vec![
            self.weekday.into(),
            self.hour.into(),
            self.posts.into(),
            self.total_gained.into(),
            self.mean_gained.into(),
        ]
    }
}

impl CsvRecord for PerformanceBucket {
    const HEADER: &'static [&'static str] =
        &["bucket", "service_name", "endpoint", "requests", "errors", "p50_us", "p95_us", "p99_us"];

    fn fields(&self) -> Vec<CsvField> {
        vec![
            self.bucket.into(),
            self.service_name.as_str().into(),
            self.endpoint.as_str().into(),
            self.requests.into(),
            self.errors.into(),
            self.p50_us.into(),
            self.p95_us.into(),
            self.p99_us.into(),
        ]
    }
}

impl CsvRecord for AiBucket {
    const HEADER: &'static [&'static str] =
        &["bucket", "feature_type", "model_used", "requests", "tokens", "cost", "success_rate", "mean_response_us"];

    fn fields(&self) -> Vec<CsvField> {
        vec![
            self.bucket.into(),
            self.feature_type.as_str().into(),
            self.model_used.as_str().into(),
            self.requests.into(),
            self.tokens.into(),
            self.cost.into(),
            self.success_rate.into(),
            self.mean_response_us.into(),
        ]
    }
}

impl CsvRecord for CostTotal {
    const HEADER: &'static [&'static str] = &["billing_period", "service_type", "currency", "amount", "entries"];

    fn fields(&self) -> Vec<CsvField> {
        vec![
            self.billing_period.as_str().into(),
            self.service_type.as_str().into(),
            self.currency.as_str().into(),
            self.amount.into(),
            self.entries.into(),
        ]
    }
}

impl CsvRecord for EventCount {
    const HEADER: &'static [&'static str] = &["bucket", "event_type", "platform", "count"];

    fn fields(&self) -> Vec<CsvField> {
        vec![
            self.bucket.into(),
            self.event_type.as_str().into(),
            self.platform.map(|p| p.as_str()).into(),
            self.count.into(),
        ]
    }
}

impl CsvRecord for DistinctUsers {
    const HEADER: &'static [&'static str] = &["bucket", "users"];

    fn fields(&self) -> Vec<CsvField> {
        vec![self.bucket.into(), self.users.into()]
    }
}

impl CsvRecord for MetricBucket {
    const HEADER: &'static [&'static str] = &["bucket", "samples", "min", "max", "sum", "last"];

    fn fields(&self) -> Vec<CsvField> {
        vec![
            self.bucket.into(),
            self.samples.into(),
            self.min.into(),
            self.max.into(),
            self.sum.into(),
            self.last.into(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use futures::FutureExt;
    use futures::stream;

    use super::*;
    use crate::analytics::rollups::{AiBucket, CostTotal};
    use crate::ids::{PostId, TeamId};
    use crate::model::{FeatureType, Platform};

    fn day() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, 9, 30, 0).single().unwrap_or_else(|| panic!("a valid time"))
    }

    fn line(fields: &[&str]) -> String {
        Encoder::new().line(fields.iter().copied()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn lines<T: CsvRecord>(rows: Vec<Result<T>>) -> Vec<Result<String>> {
        futures::executor::block_on(csv_stream(stream::iter(rows)).collect())
    }

    fn ok_lines<T: CsvRecord>(rows: Vec<T>) -> Vec<String> {
        lines(rows.into_iter().map(Ok).collect()).into_iter().map(|l| l.unwrap_or_else(|e| panic!("{e}"))).collect()
    }

    #[test]
    fn fields_are_quoted_as_rfc_4180_says() {
        assert_eq!(line(&["plain", "", "x y"]), "plain,,x y\r\n");
        assert_eq!(
            line(&["a,b", "say \"hi\"", "two\nlines", "cr\rhere"]),
            "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\rhere\"\r\n"
        );
    }

    #[test]
    fn text_that_a_spreadsheet_would_run_is_defused() {
        for (given, written) in [
            ("=1+2", "'=1+2"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("a=b", "a=b"),
            ("'quoted", "'quoted"),
        ] {
            assert_eq!(CsvField::text(given).as_str(), written, "{given:?}");
        }
        // Defused, then quoted: the quote goes inside the field's quotes.
        let f = CsvField::text("=HYPERLINK(\"http://x\",\"y\")");
        assert_eq!(line(&[f.as_str()]), "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"\r\n");
        // Numbers the export formats itself are left alone, negative ones included.
        assert_eq!(CsvField::from(-1i64).as_str(), "-1");
        assert_eq!(CsvField::from(-0.5f64).as_str(), "-0.5");
        assert_eq!(CsvField::from(f64::NEG_INFINITY).as_str(), "'-inf");
        assert_eq!(CsvField::from(Decimal::new(-125, 2)).as_str(), "-1.25");
    }

    #[test]
    fn times_are_rfc_3339_utc_with_microseconds_and_none_is_empty() {
        let t = day() + chrono::Duration::microseconds(1_234_567);
        assert_eq!(CsvField::from(t).as_str(), "2026-11-02T09:30:01.234567Z");
        assert_eq!(CsvField::from(None::<i64>).as_str(), "");
        assert_eq!(CsvField::from(Some(3u64)).as_str(), "3");
    }

    #[test]
    fn every_record_has_a_field_per_column() {
        fn check<T: CsvRecord>(row: T) {
            let fields = row.fields();
            assert_eq!(fields.len(), T::HEADER.len(), "{:?}", T::HEADER);
            let unique: std::collections::HashSet<_> = T::HEADER.iter().collect();
            assert_eq!(unique.len(), T::HEADER.len(), "column names are unique");
        }
        let counts = EngagementCounts::default().with(EngagementCounter::Likes, 3);
        let post = PostId::new();
        check(EngagementPoint {
            post_id: post,
            platform: Platform::Instagram,
            bucket: day(),
            latest: counts,
            gained: counts,
        });
        check(TeamEngagementPoint { platform: Platform::Instagram, bucket: day(), latest: counts, gained: counts });
        check(EngagementSnapshot::new(TeamId::new(), post, Platform::TikTok, day(), day()));
        check(BestTimeCell { weekday: 0, hour: 9, posts: 2, total_gained: 10, mean_gained: Some(5.0) });
        check(PerformanceBucket {
            bucket: day(),
            service_name: "api".into(),
            endpoint: "GET /posts".into(),
            requests: 3,
            errors: 1,
            p50_us: 1.0,
            p95_us: 2.0,
            p99_us: 3.0,
        });
        check(AiBucket {
            bucket: day(),
            feature_type: FeatureType::ALL[0],
            model_used: "gpt".into(),
            requests: 1,
            tokens: 10,
            cost: Decimal::new(5, 3),
            success_rate: 1.0,
            mean_response_us: 100.0,
        });
        check(CostTotal {
            billing_period: "2026-11".into(),
            service_type: "ai".into(),
            currency: "EUR".into(),
            amount: Decimal::ONE,
            entries: 1,
        });
        check(EventCount { bucket: day(), event_type: "login".into(), platform: None, count: 1 });
        check(DistinctUsers { bucket: day(), users: 1 });
        assert_eq!(EngagementPoint::HEADER[..4], ["post_id", "platform", "bucket", "likes"]);
        assert_eq!(EngagementPoint::HEADER[9..11], ["likes_gained", "comments_gained"]);
        assert_eq!(EngagementSnapshot::HEADER.last(), Some(&"extra"));
        check(MetricBucket { bucket: day(), samples: 1, min: 0.0, max: 1.0, sum: 1.0, last: 1.0 });
    }

    #[test]
    fn a_stream_is_the_header_then_one_line_per_row() {
        let rows = vec![
            EventCount { bucket: day(), event_type: "login".into(), platform: None, count: 7 },
            EventCount {
                bucket: day(),
                event_type: "=cmd|' /C calc'!A0".into(),
                platform: Some(Platform::LinkedIn),
                count: 1,
            },
        ];
        assert_eq!(
            ok_lines(rows),
            [
                "bucket,event_type,platform,count\r\n",
                "2026-11-02T09:30:00.000000Z,login,,7\r\n",
                "2026-11-02T09:30:00.000000Z,'=cmd|' /C calc'!A0,linkedin,1\r\n",
            ]
        );
        assert_eq!(ok_lines(Vec::<DistinctUsers>::new()), ["bucket,users\r\n"], "no rows: the header alone");
        let snap = EngagementSnapshot::new(TeamId::new(), PostId::new(), Platform::Instagram, day(), day())
            .with(EngagementCounter::Likes, 4)
            .with(EngagementCounter::Views, 0);
        let snap = EngagementSnapshot { extra: serde_json::json!({ "saves": 2 }), ..snap };
        let out = ok_lines(vec![snap.clone()]);
        assert_eq!(
            out[1],
            format!(
                "2026-11-02T09:30:00.000000Z,{},{},instagram,2026-11-02T09:30:00.000000Z,4,,,0,,,\"{{\"\"saves\"\":2}}\"\r\n",
                snap.team_id, snap.post_id
            )
        );
    }

    #[test]
    fn lines_come_out_as_rows_arrive() {
        let (tx, rx) = futures::channel::mpsc::unbounded::<Result<DistinctUsers>>();
        let mut out = Box::pin(csv_stream(rx));
        let mut next = || out.next().now_or_never();
        assert_eq!(next().flatten().and_then(Result::ok).as_deref(), Some("bucket,users\r\n"));
        assert!(next().is_none(), "pending: no row yet");
        let send =
            |users| tx.unbounded_send(Ok(DistinctUsers { bucket: day(), users })).unwrap_or_else(|e| panic!("{e}"));
        send(1);
        let mut next = || out.next().now_or_never();
        assert_eq!(next().flatten().and_then(Result::ok).as_deref(), Some("2026-11-02T09:30:00.000000Z,1\r\n"));
        assert!(next().is_none(), "pending again");
        send(2);
        assert_eq!(next().flatten().and_then(Result::ok).as_deref(), Some("2026-11-02T09:30:00.000000Z,2\r\n"));
        drop(tx);
        assert!(matches!(next(), Some(None)), "ends when the source ends");
    }

    #[test]
    fn an_error_of_the_source_is_passed_through_and_ends_the_stream() {
        let day_users = |users| Ok(DistinctUsers { bucket: day(), users });
        let out = lines(vec![day_users(1), Err(Error::unavailable(store::MEMORY, "gone")), day_users(2)]);
        assert_eq!(out.len(), 3, "header, one line, the error; nothing after it");
        assert!(out[0].is_ok() && out[1].is_ok());
        assert!(matches!(out[2], Err(Error::Unavailable { store: "memory", .. })));
    }
}
