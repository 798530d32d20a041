//! The re-seal sweep: re-encrypt every stored secret under the key ring's current (primary)
//! key, page by page, so an old key can be retired. An optional ability of a relational
//! backend, apart from [`Repositories`](super::Repositories).

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::validate::rule;

/// Most rows one [`SecretReseal::reseal_secrets`] call visits.
pub const MAX_RESEAL_PAGE: u32 = 1000;

/// The tables a sweep visits, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ResealTable {
    /// `social_accounts`: the access and refresh tokens.
    SocialAccounts,
    /// `webhooks`: the signing secret.
    Webhooks,
}

impl ResealTable {
    /// The table's name, as written in a cursor.
    pub const fn as_str(self) -> &'static str {
        match self {
            ResealTable::SocialAccounts => "social_accounts",
            ResealTable::Webhooks => "webhooks",
        }
    }

    /// The table after this one, `None` after the last.
    pub const fn next(self) -> Option<ResealTable> {
        match self {
            ResealTable::SocialAccounts => Some(ResealTable::Webhooks),
            ResealTable::Webhooks => None,
        }
    }
}

/// Where a sweep stands: a table and the last row id done in it (rows are visited in id
/// order). Its text form, `<table>` or `<table>:<uuid>` (e.g. `webhooks:0190...`), can be saved
/// and parsed back to resume the sweep in another process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResealCursor {
    table: ResealTable,
    after: Option<Uuid>,
}

impl ResealCursor {
    /// The start of a sweep: the first table, before its first row.
    pub const fn start() -> Self {
        Self { table: ResealTable::SocialAccounts, after: None }
    }

    /// A position: rows of `table` with an id greater than `after` (all rows when `None`)
    /// are still to do, and so are the tables after it.
    pub const fn at(table: ResealTable, after: Option<Uuid>) -> Self {
        Self { table, after }
    }

    /// The table the sweep is in: `social_accounts` first, then `webhooks`.
    pub const fn table(&self) -> ResealTable {
        self.table
    }

    /// The last row id done in that table (`None`: none yet).
    pub const fn after(&self) -> Option<Uuid> {
        self.after
    }

    /// The cursor after a page of `table` that visited `visited` rows (the last of id `last`)
    /// out of a `limit`: the same table after `last` when the page was full, else the next
    /// table's start, else `None` (the sweep is done). For backends.
    pub fn after_page(table: ResealTable, visited: u64, limit: u32, last: Option<Uuid>) -> Option<Self> {
        if visited >= u64::from(limit) {
            Some(Self::at(table, last))
        } else {
            table.next().map(|next| Self::at(next, None))
        }
    }
}

impl Default for ResealCursor {
    fn default() -> Self {
        Self::start()
    }
}

impl fmt::Display for ResealCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.after {
            Some(id) => write!(f, "{}:{id}", self.table.as_str()),
            None => f.write_str(self.table.as_str()),
        }
    }
}

impl FromStr for ResealCursor {
    type Err = Error;

    /// Parse the text form; anything else is [`Error::Validation`] on field `cursor`, rule
    /// `cursor`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::invalid("cursor", rule::CURSOR, "not a re-seal cursor (`<table>` or `<table>:<uuid>`)");
        let (table, after) = match s.split_once(':') {
            Some((table, id)) => (table, Some(Uuid::parse_str(id).map_err(|_| bad())?)),
            None => (s, None),
        };
        let table = [ResealTable::SocialAccounts, ResealTable::Webhooks]
            .into_iter()
            .find(|t| t.as_str() == table)
            .ok_or_else(bad)?;
        Ok(Self { table, after })
    }
}

/// What one page of a sweep did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResealProgress {
    /// Rows visited in this page, at most the page's `limit`.
    pub scanned: u64,
    /// Rows whose secrets were re-encrypted under the primary key (the others already were).
    pub resealed: u64,
    /// Rows left as they were because a secret could not be opened (a key missing from the
    /// ring, tampered data). An old key may be retired only after a whole sweep with none.
    pub unreadable: u64,
    /// Where to go on; `None` when the sweep is done.
    pub next: Option<ResealCursor>,
}

/// Re-encrypt stored secrets (OAuth tokens, webhook secrets) under the key ring's primary key.
///
/// A sweep is a loop: start at [`ResealCursor::start`] and call again with
/// [`ResealProgress::next`] until it is `None`. Each call visits at most `limit` rows of one
/// table in id order and commits what it changed, so a sweep can be stopped at any point and
/// resumed from the last cursor (in another process, from its text form). It is idempotent:
/// a row already under the primary key is left as it is, so a second sweep re-seals nothing.
/// Rows written meanwhile are sealed under the primary key anyway. No other column changes
/// (`updated_at` included).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait SecretReseal: Send + Sync {
    /// One page of the sweep from `from`: at most `limit` (1 to [`MAX_RESEAL_PAGE`]) rows.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] on field `limit`, rule `range`, when `limit` is out of range
    /// (nothing is visited); the backend's errors otherwise (the page's changes are then not
    /// committed).
    async fn reseal_secrets(&self, from: ResealCursor, limit: u32) -> Result<ResealProgress>;
}

/// Refuse a page size outside 1 to [`MAX_RESEAL_PAGE`].
pub fn check_reseal_limit(limit: u32) -> Result<()> {
    if !(1..=MAX_RESEAL_PAGE).contains(&limit) {
        return Err(Error::invalid("limit", rule::RANGE, format!("must be between 1 and {MAX_RESEAL_PAGE}")));
    }
    Ok(())
}
