//! Rows read straight from PostgreSQL's binary format, for the reads that decode many rows per
//! call (the feed, post pages): [`Columns`] finds named columns and checks their types once per
//! result, then [`Cells`] reads each value from its bytes.
//!
//! `Row::try_get` checks a value's type against the Rust type on every call, and decodes a
//! timestamp through chrono's date arithmetic and a text array through a `Vec<String>`. Here
//! the types are checked once, a `timestamptz` is its 8 bytes of microseconds since
//! 2000-01-01, and a stored choice is parsed from the row's bytes in place. A value these
//! decoders refuse is a [`sqlx::Error::ColumnDecode`] naming its column, as `try_get`'s is.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use sqlx::error::{BoxDynError, UnexpectedNullError};
use sqlx::postgres::{PgRow, PgValueFormat};
use sqlx::{Column, Row, TypeInfo};
use uuid::Uuid;

use crate::error::UnknownChoice;

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 00:00:00 UTC).
const POSTGRES_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// A column's PostgreSQL type, as the readers of [`Cells`] take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `uuid`.
    Uuid,
    /// `text`, `varchar`, `bpchar` or `name`.
    Text,
    /// `boolean`.
    Bool,
    /// `integer`.
    Int4,
    /// `bigint`.
    Int8,
    /// `timestamptz`.
    Timestamptz,
    /// `jsonb`.
    Jsonb,
    /// `text[]` or `varchar[]`.
    TextArray,
}

impl Kind {
    /// Whether a column whose type has object id `oid` holds this kind.
    fn holds(self, oid: u32) -> bool {
        match self {
            Self::Uuid => oid == 2950,
            Self::Text => matches!(oid, 25 | 1043 | 1042 | 19),
            Self::Bool => oid == 16,
            Self::Int4 => oid == 23,
            Self::Int8 => oid == 20,
            Self::Timestamptz => oid == 1184,
            Self::Jsonb => oid == 3802,
            Self::TextArray => matches!(oid, 1009 | 1015),
        }
    }
}

/// Where named columns are in a result, their types checked: found once, from any row of the
/// result, then each row is read through [`Columns::cells`].
pub(crate) struct Columns<const N: usize> {
    at: [usize; N],
    names: &'static [(&'static str, Kind); N],
}

impl<const N: usize> Columns<N> {
    /// The columns `names` in `row`'s result. A missing column, a column of another type than
    /// its [`Kind`], or a result in text format (a statement run without arguments) is an error.
    pub(crate) fn of(row: &PgRow, names: &'static [(&'static str, Kind); N]) -> sqlx::Result<Self> {
        let mut at = [0; N];
        for (slot, (name, kind)) in at.iter_mut().zip(names) {
            let column = row.try_column(*name)?;
            let ty = column.type_info();
            if !ty.oid().is_some_and(|oid| kind.holds(oid.0)) {
                return Err(decode_error(name, format!("a {kind:?} column read from a {} column", ty.name())));
            }
            *slot = column.ordinal();
        }
        if let Some(&first) = at.first()
            && row.try_get_raw(first)?.format() != PgValueFormat::Binary
        {
            return Err(sqlx::Error::Protocol("rows in text format where binary was expected".to_owned()));
        }
        Ok(Self { at, names })
    }

    /// The values of `row`, a row of the result these columns were found in.
    pub(crate) fn cells<'r>(&'r self, row: &'r PgRow) -> Cells<'r, N> {
        Cells { row, columns: self }
    }
}

/// One row's values, read by the index of their column in [`Columns`].
pub(crate) struct Cells<'r, const N: usize> {
    row: &'r PgRow,
    columns: &'r Columns<N>,
}

impl<'r, const N: usize> Cells<'r, N> {
    /// The `i`-th column's name, for errors.
    fn name(&self, i: usize) -> &'static str {
        self.columns.names[i].0
    }

    /// The `i`-th column's bytes; `None` for NULL.
    fn bytes(&self, i: usize) -> sqlx::Result<Option<&'r [u8]>> {
        // `as_bytes` fails only on NULL.
        Ok(self.row.try_get_raw(self.columns.at[i])?.as_bytes().ok())
    }

    /// The `i`-th column's bytes; NULL is an error.
    fn present(&self, i: usize) -> sqlx::Result<&'r [u8]> {
        self.bytes(i)?.ok_or_else(|| self.error(i, Box::new(UnexpectedNullError)))
    }

    /// A decode error of the `i`-th column.
    fn error(&self, i: usize, source: BoxDynError) -> sqlx::Error {
        sqlx::Error::ColumnDecode { index: self.name(i).to_owned(), source }
    }

    /// `f` applied to the `i`-th column's bytes, its error naming the column; NULL is `None`.
    fn nullable<T>(&self, i: usize, f: impl FnOnce(&'r [u8]) -> Result<T, BoxDynError>) -> sqlx::Result<Option<T>> {
        self.bytes(i)?.map(|bytes| f(bytes).map_err(|e| self.error(i, e))).transpose()
    }

    /// `f` applied to the `i`-th column's bytes, its error naming the column; NULL is an error.
    fn required<T>(&self, i: usize, f: impl FnOnce(&'r [u8]) -> Result<T, BoxDynError>) -> sqlx::Result<T> {
        f(self.present(i)?).map_err(|e| self.error(i, e))
    }

    /// A `uuid`.
    pub(crate) fn uuid(&self, i: usize) -> sqlx::Result<Uuid> {
        self.required(i, uuid)
    }

    /// A `uuid` or NULL.
    pub(crate) fn uuid_or_null(&self, i: usize) -> sqlx::Result<Option<Uuid>> {
        self.nullable(i, uuid)
    }

    /// A text value, borrowed from the row.
    fn str(&self, i: usize) -> sqlx::Result<&'r str> {
        self.required(i, text)
    }

    /// A text value.
    pub(crate) fn string(&self, i: usize) -> sqlx::Result<String> {
        self.str(i).map(str::to_owned)
    }

    /// A text value or NULL.
    pub(crate) fn string_or_null(&self, i: usize) -> sqlx::Result<Option<String>> {
        self.nullable(i, |bytes| text(bytes).map(str::to_owned))
    }

    /// A `boolean`.
    pub(crate) fn bool(&self, i: usize) -> sqlx::Result<bool> {
        self.required(i, |bytes| Ok(fixed::<1>(bytes)?[0] != 0))
    }

    /// An `integer`.
    pub(crate) fn i32(&self, i: usize) -> sqlx::Result<i32> {
        self.required(i, |bytes| Ok(i32::from_be_bytes(fixed(bytes)?)))
    }

    /// A `bigint`.
    pub(crate) fn i64(&self, i: usize) -> sqlx::Result<i64> {
        self.required(i, |bytes| Ok(i64::from_be_bytes(fixed(bytes)?)))
    }

    /// A `timestamptz`.
    pub(crate) fn time(&self, i: usize) -> sqlx::Result<DateTime<Utc>> {
        self.required(i, timestamp)
    }

    /// A `timestamptz` or NULL.
    pub(crate) fn time_or_null(&self, i: usize) -> sqlx::Result<Option<DateTime<Utc>>> {
        self.nullable(i, timestamp)
    }

    /// A `jsonb` value as `T`.
    pub(crate) fn json<T: DeserializeOwned>(&self, i: usize) -> sqlx::Result<T> {
        self.required(i, json)
    }

    /// A `jsonb` value as `T`, or NULL.
    pub(crate) fn json_or_null<T: DeserializeOwned>(&self, i: usize) -> sqlx::Result<Option<T>> {
        self.nullable(i, json)
    }

    /// A stored choice: the text value parsed into its enum.
    pub(crate) fn choice<T: FromStr>(&self, i: usize) -> sqlx::Result<T> {
        self.required(i, |bytes| choice(text(bytes)?))
    }

    /// Stored choices: each element of a text array parsed into its enum.
    pub(crate) fn choices<T: FromStr>(&self, i: usize) -> sqlx::Result<Vec<T>> {
        self.required(i, |bytes| TextArray::new(bytes)?.map(|element| choice(text(element?)?)).collect())
    }
}

/// A decode error of column `name`.
fn decode_error(name: &str, message: String) -> sqlx::Error {
    sqlx::Error::ColumnDecode { index: name.to_owned(), source: message.into() }
}

/// Exactly `N` bytes.
fn fixed<const N: usize>(bytes: &[u8]) -> Result<[u8; N], BoxDynError> {
    bytes.try_into().map_err(|_| format!("{} bytes where {N} were expected", bytes.len()).into())
}

fn uuid(bytes: &[u8]) -> Result<Uuid, BoxDynError> {
    Ok(Uuid::from_bytes(fixed(bytes)?))
}

fn text(bytes: &[u8]) -> Result<&str, BoxDynError> {
    Ok(std::str::from_utf8(bytes)?)
}

/// A `timestamptz`: microseconds since 2000-01-01 UTC. `infinity` and `-infinity` (the
/// extremes of `i64`) are outside what `DateTime` holds, so they are errors.
fn timestamp(bytes: &[u8]) -> Result<DateTime<Utc>, BoxDynError> {
    let micros = i64::from_be_bytes(fixed(bytes)?);
    micros
        .checked_add(POSTGRES_EPOCH_MICROS)
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(|| format!("timestamp {micros} µs from 2000-01-01 is out of range").into())
}

/// A `jsonb` value: a version byte (1), then the JSON text.
fn json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BoxDynError> {
    match bytes.split_first() {
        Some((1, body)) => Ok(serde_json::from_slice(body)?),
        Some((version, _)) => Err(format!("jsonb version {version}, where 1 was expected").into()),
        None => Err("an empty jsonb value".into()),
    }
}

fn choice<T: FromStr>(text: &str) -> Result<T, BoxDynError> {
    Ok(UnknownChoice::parse(text)?)
}

/// The elements of a one-dimensional array in binary format, each a text value's bytes; a NULL
/// element is an error. The format: the number of dimensions, a has-NULLs flag and the
/// element type (4 bytes each), then a length and a lower bound per dimension, then each
/// element as its length and its bytes.
struct TextArray<'a> {
    rest: &'a [u8],
    left: usize,
}

impl<'a> TextArray<'a> {
    fn new(bytes: &'a [u8]) -> Result<Self, BoxDynError> {
        let mut reader = Self { rest: bytes, left: 0 };
        let dimensions = reader.int()?;
        let _has_nulls = reader.int()?;
        let _element_type = reader.int()?;
        match dimensions {
            0 => Ok(reader),
            1 => {
                let len = reader.int()?;
                let _lower_bound = reader.int()?;
                reader.left = usize::try_from(len).map_err(|_| format!("an array of length {len}"))?;
                Ok(reader)
            }
            n => Err(format!("an array of {n} dimensions, where one was expected").into()),
        }
    }

    fn int(&mut self) -> Result<i32, BoxDynError> {
        let (head, rest) = self.rest.split_at_checked(4).ok_or("an array cut short")?;
        self.rest = rest;
        Ok(i32::from_be_bytes(fixed(head)?))
    }
}

impl<'a> Iterator for TextArray<'a> {
    type Item = Result<&'a [u8], BoxDynError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let element = self.int().and_then(|len| {
            let len = usize::try_from(len).map_err(|_| "a NULL element in an array of choices")?;
            let (element, rest) = self.rest.split_at_checked(len).ok_or("an array cut short")?;
            self.rest = rest;
            Ok(element)
        });
        if element.is_err() {
            self.left = 0;
        }
        Some(element)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    /// A one-dimensional text array in binary format; `None` elements are NULL.
    fn array(elements: &[Option<&str>]) -> Vec<u8> {
        let mut out = Vec::new();
        let has_nulls = elements.iter().any(Option::is_none);
        for word in [1, i32::from(has_nulls), 25, i32::try_from(elements.len()).unwrap_or(i32::MAX), 1] {
            out.extend(word.to_be_bytes());
        }
        for element in elements {
            match element {
                Some(text) => {
                    out.extend(i32::try_from(text.len()).unwrap_or(i32::MAX).to_be_bytes());
                    out.extend(text.as_bytes());
                }
                None => out.extend((-1_i32).to_be_bytes()),
            }
        }
        out
    }

    fn elements(bytes: &[u8]) -> Result<Vec<String>, BoxDynError> {
        TextArray::new(bytes)?.map(|e| text(e?).map(str::to_owned)).collect()
    }

    #[test]
    fn timestamps_count_microseconds_from_2000() {
        let epoch = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single().unwrap_or_default();
        assert_eq!(epoch.timestamp_micros(), POSTGRES_EPOCH_MICROS);
        for micros in [0, 1, -1, 86_400_000_000, -946_684_800_000_000, 1_234_567_890_123_456, -63_000_000_000_000_000] {
            let expected = epoch + Duration::microseconds(micros);
            assert_eq!(timestamp(&micros.to_be_bytes()).ok(), Some(expected), "{micros} µs");
        }
    }

    #[test]
    fn infinite_and_short_timestamps_are_errors() {
        for micros in [i64::MAX, i64::MIN] {
            assert!(timestamp(&micros.to_be_bytes()).is_err(), "{micros}");
        }
        assert!(timestamp(&[0; 7]).is_err());
        assert!(timestamp(&[0; 9]).is_err());
    }

    #[test]
    fn text_arrays_read_in_order() {
        assert_eq!(
            elements(&array(&[Some("facebook"), Some(""), Some("x")])).ok(),
            Some(vec!["facebook".to_owned(), String::new(), "x".to_owned()])
        );
        assert_eq!(elements(&array(&[])).ok(), Some(Vec::new()));
        // An empty array as PostgreSQL sends it: no dimensions at all.
        let empty: Vec<u8> = [0_i32, 0, 25].iter().flat_map(|w| w.to_be_bytes()).collect();
        assert_eq!(elements(&empty).ok(), Some(Vec::new()));
    }

    #[test]
    fn malformed_text_arrays_are_errors() {
        assert!(elements(&array(&[Some("a"), None])).is_err(), "a NULL element");
        let full = array(&[Some("facebook"), Some("twitter")]);
        for cut in 0..full.len() {
            assert!(elements(&full[..cut]).is_err(), "cut at {cut}");
        }
        let mut two_dimensions = full.clone();
        two_dimensions[..4].copy_from_slice(&2_i32.to_be_bytes());
        assert!(elements(&two_dimensions).is_err());
        let mut negative = full;
        negative[12..16].copy_from_slice(&(-1_i32).to_be_bytes());
        assert!(elements(&negative).is_err());
        let mut bad_utf8 = array(&[Some("a")]);
        if let Some(last) = bad_utf8.last_mut() {
            *last = 0xff;
        }
        assert!(elements(&bad_utf8).is_err(), "bad UTF-8");
    }

    #[test]
    fn jsonb_needs_its_version_byte() {
        assert_eq!(json::<Vec<String>>(b"\x01[\"a\"]").ok(), Some(vec!["a".to_owned()]));
        assert!(json::<Vec<String>>(b"[\"a\"]").is_err());
        assert!(json::<Vec<String>>(b"\x02[\"a\"]").is_err());
        assert!(json::<Vec<String>>(b"").is_err());
        assert!(json::<Vec<String>>(b"\x01{}").is_err(), "another shape");
    }

    #[test]
    fn unknown_choices_name_the_value() {
        let err =
            choice::<clientnest_core::model::Platform>("myspace").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("myspace"), "{err}");
    }
}
