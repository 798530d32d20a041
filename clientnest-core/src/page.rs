//! Keyset pagination: lists are ordered `created_at DESC, id DESC` and continue after a cursor.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::Error;
use crate::validate::rule;

/// Where a page starts: just after the row with this `(created_at, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cursor {
    /// The last row's creation time.
    pub created_at: DateTime<Utc>,
    /// The last row's id.
    pub id: Uuid,
}

impl Cursor {
    /// The cursor just after the row with this `created_at` and id; encoded to the microsecond.
    pub fn after(created_at: DateTime<Utc>, id: impl Into<Uuid>) -> Self {
        Self { created_at, id: id.into() }
    }

    /// An opaque, URL-safe token for clients.
    pub fn encode(&self) -> String {
        let mut raw = Vec::with_capacity(24);
        raw.extend_from_slice(&self.created_at.timestamp_micros().to_be_bytes());
        raw.extend_from_slice(self.id.as_bytes());
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Parse a token made by [`Cursor::encode`].
    pub fn decode(token: &str) -> Result<Self, Error> {
        let bad = || Error::invalid("cursor", rule::CURSOR, "is not a valid page cursor");
        let raw = URL_SAFE_NO_PAD.decode(token.as_bytes()).map_err(|_| bad())?;
        if raw.len() != 24 {
            return Err(bad());
        }
        let (ts, id) = raw.split_at(8);
        let micros = i64::from_be_bytes(ts.try_into().map_err(|_| bad())?);
        let created_at = DateTime::<Utc>::from_timestamp_micros(micros).ok_or_else(bad)?;
        let id = Uuid::from_slice(id).map_err(|_| bad())?;
        Ok(Self { created_at, id })
    }

    /// Whether a row at `(created_at, id)` comes after this cursor in `DESC, DESC` order.
    pub fn is_before(&self, created_at: DateTime<Utc>, id: Uuid) -> bool {
        (created_at, id) < (self.created_at, self.id)
    }
}

/// A record listed in keyset pages: its place in the `created_at DESC, id DESC` order (for a
/// membership, `joined_at`). Every backend builds the next page's cursor from this one method.
pub trait Keyed {
    /// The cursor that continues a list just after this record.
    fn cursor(&self) -> Cursor;
}

/// `impl Keyed` for records whose order is `(<time field>, id)`.
macro_rules! keyed_by {
    ($($model:ty => $time:ident),+ $(,)?) => {
        $(impl Keyed for $model {
            fn cursor(&self) -> Cursor {
                Cursor::after(self.$time, self.id)
            }
        })+
    };
}

keyed_by!(
    crate::model::Team => created_at,
    crate::model::TeamMember => joined_at,
    crate::model::SocialAccount => created_at,
    crate::model::Post => created_at,
    crate::model::Comment => created_at,
    crate::model::Template => created_at,
    crate::model::Schedule => created_at,
    crate::model::Automation => created_at,
    crate::model::Webhook => created_at,
    crate::model::AiUsage => created_at,
    crate::model::Billing => created_at,
    crate::model::Notification => created_at,
);

impl Keyed for crate::model::PostWithMedia {
    fn cursor(&self) -> Cursor {
        self.post.cursor()
    }
}

/// A page request: at most `limit` rows after `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// How many rows at most (1 to [`PageRequest::MAX_LIMIT`]).
    pub limit: u32,
    /// Continue after this cursor; `None` starts from the newest row.
    pub after: Option<Cursor>,
}

impl PageRequest {
    /// The largest page: 500 rows; [`PageRequest::check`] refuses a larger `limit` (`range`).
    pub const MAX_LIMIT: u32 = 500;
    /// The default page size (the seed's feed shows 20).
    pub const DEFAULT_LIMIT: u32 = 20;

    /// The first page of `limit` rows.
    pub fn first(limit: u32) -> Self {
        Self { limit, after: None }
    }

    /// The page after `cursor`.
    pub fn after(limit: u32, cursor: Cursor) -> Self {
        Self { limit, after: Some(cursor) }
    }

    /// Check the limit, and that the cursor's time is one a row can have (a forged cursor
    /// outside 1900..=9999 is refused the same way by every backend).
    pub fn check(&self) -> Result<(), Error> {
        if self.limit == 0 || self.limit > Self::MAX_LIMIT {
            return Err(Error::invalid("limit", rule::RANGE, "must be between 1 and 500"));
        }
        if self.after.is_some_and(|c| crate::validate::storable_time(&c.created_at).is_err()) {
            return Err(Error::invalid("cursor", rule::CURSOR, "is not a valid page cursor"));
        }
        Ok(())
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::first(Self::DEFAULT_LIMIT)
    }
}

/// One page of rows and the cursor of the next page, if there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The rows, newest first.
    pub items: Vec<T>,
    /// Pass this to get the next page; `None` on the last page.
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// Build a page from up to `limit + 1` rows fetched in order: the extra row only tells that
    /// a next page exists.
    pub fn from_overfetch(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> Cursor) -> Self {
        let limit = limit as usize;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more { rows.last().map(&key) } else { None };
        Self { items: rows, next }
    }

    /// Build a page from up to `limit + 1` [`Keyed`] rows fetched in order: the extra row only
    /// tells that a next page exists.
    pub fn from_keyed(rows: Vec<T>, limit: u32) -> Self
    where
        T: Keyed,
    {
        Self::from_overfetch(rows, limit, T::cursor)
    }

    /// Transform the rows, keeping the cursor.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next: self.next }
    }
}
