//! Keyset pages over HTTP: `?limit=&cursor=` in, `{ "items": [...], "next_cursor": ... }` out.
//! The cursor is [`Cursor::encode`]'s opaque URL-safe token; clients pass back what they got.

use clientnest::Error;
use clientnest::page::{Cursor, Page, PageRequest};
use serde::{Deserialize, Serialize};

use super::input::param;

/// The paging part of a query string.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageQuery {
    /// Rows per page, 1 to [`PageRequest::MAX_LIMIT`] (default [`PageRequest::DEFAULT_LIMIT`]).
    pub(crate) limit: Option<String>,
    /// The `next_cursor` of the previous page; absent for the first page.
    pub(crate) cursor: Option<String>,
}

impl PageQuery {
    /// The page request. A limit that is not a number, or a cursor that does not decode, is a
    /// validation error (`limit` / `cursor`); the range of the limit is checked by the port.
    pub(crate) fn request(&self) -> Result<PageRequest, Error> {
        let limit = param::<u32>("limit", self.limit.as_deref())?.unwrap_or(PageRequest::DEFAULT_LIMIT);
        Ok(match self.cursor.as_deref() {
            Some(token) => PageRequest::after(limit, Cursor::decode(token)?),
            None => PageRequest::first(limit),
        })
    }
}

/// One page as JSON: `{"items": [...], "next_cursor": "..." or null}`.
#[derive(Debug, Serialize)]
pub(crate) struct PageBody<T> {
    /// The rows, newest first.
    pub(crate) items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub(crate) next_cursor: Option<String>,
}

impl<T> From<Page<T>> for PageBody<T> {
    fn from(page: Page<T>) -> Self {
        Self { next_cursor: page.next.map(|c| c.encode()), items: page.items }
    }
}
