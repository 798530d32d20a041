//! One module per aggregate: its row types, its SQL and its port implementation. This module
//! holds what they share: keyset paging, decoding stored choices, and the acting-user rule
//! ([`members`]).

mod ai_usage;
mod automations;
mod billing;
mod binary;
mod comments;
mod members;
mod notifications;
mod posts;
mod rows;
mod schedules;
mod sealed;
mod social_accounts;
mod teams;
mod templates;
mod users;
mod webhooks;

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use clientnest_core::page::{Keyed, Page, PageRequest};
use clientnest_core::{Entity, Error, Result};
use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};
use uuid::Uuid;

use crate::error::corrupt;
pub(crate) use rows::{Db, choice_column, choices_column, parse_choice};

pub(crate) use comments::INBOX;
pub(crate) use posts::{CREATE as CREATE_POST, FEED};
pub(crate) use schedules::{
    CLAIM_DUE, CREATE as CREATE_SCHEDULE, CREATE_POST_WITH_SCHEDULES, NEW_POST_ACCOUNTS,
    REFERENCES as SCHEDULE_REFERENCES,
};

/// A `query_as` statement whose parameters are being bound: what the per-table binders
/// (`bind_user`, `bind_team`...) take and give back, so one binder serves a table's INSERT and
/// its UPDATE.
pub(crate) type RowQuery<'q, O> = sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>;

/// A model built from a row, each column named once: every `field` before the `;` is read as is
/// from the column of the same name; each `field: expr` after it is given by its expression
/// (ids, stored choices, renamed or converted columns).
macro_rules! from_columns {
    ($row:ident, $model:ident { $($field:ident),* ; $($other:ident: $value:expr),* $(,)? }) => {
        $model { $($field: sqlx::Row::try_get($row, stringify!($field))?,)* $($other: $value,)* }
    };
}
pub(crate) use from_columns;

/// The list statement [`PgStore::keyed_page`](crate::store::PgStore) runs over the rows of
/// `$table` whose `$owner` column is `$1` (and that pass the optional extra condition), newest
/// first: `$1` owner, `$2`/`$3` keyset bound, `$4` rows to fetch.
macro_rules! keyset_list {
    ($table:literal, $owner:literal $(, $and:literal)?) => {
        concat!(
            "SELECT * FROM ", $table, "
             WHERE ", $owner, " = $1 ", $($and,)? " AND (created_at, id) < ($2, $3)
             ORDER BY created_at DESC, id DESC
             LIMIT $4"
        )
    };
}
pub(crate) use keyset_list;

/// Where a keyset page starts and how many rows to fetch (`limit + 1`).
///
/// Every list filters `(created_at, id) < ($at, $id)` and orders `created_at DESC, id DESC`;
/// the first page starts above every storable time (the year 10000), so one statement serves
/// every page and the planner walks the index from the cursor.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Keyset {
    /// The cursor's time, or the sentinel above every row.
    pub(crate) at: DateTime<Utc>,
    /// The cursor's id, or the largest UUID.
    pub(crate) id: Uuid,
    /// `limit + 1`: the extra row tells whether a next page exists.
    pub(crate) fetch: i64,
}

/// 10000-01-01T00:00:00Z: later than any time the validators accept.
fn far_future() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(253_402_300_800, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// 1900-01-01T00:00:00Z: earlier than any time the validators accept.
fn far_past() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(-2_208_988_800, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A bound for comparisons with stored times, moved into the range PostgreSQL can take without
/// changing any comparison's outcome (stored times lie between the years 1900 and 9999).
pub(crate) fn clamp_time(t: DateTime<Utc>) -> DateTime<Utc> {
    t.clamp(far_past(), far_future())
}

impl Keyset {
    /// Check the page request and turn it into bounds.
    pub(crate) fn of(page: &PageRequest) -> Result<Self> {
        page.check()?;
        let (at, id) = match page.after {
            Some(c) => (clamp_time(c.created_at), c.id),
            None => (far_future(), Uuid::max()),
        };
        Ok(Self { at, id, fetch: i64::from(page.limit) + 1 })
    }
}

/// The most statements [`limit_written`] keeps; past it, it starts over.
const MOST_WRITTEN_LIMITS: usize = 1024;

/// The statements [`limit_written`] wrote, by the address of the statement and the limit.
type WrittenLimits = Mutex<HashMap<(usize, i64), Arc<str>>>;

/// `sql` with its row limit written in as a number: the first `placeholder` (e.g.
/// `"LIMIT $4"`) becomes `LIMIT <limit>`.
///
/// With the limit as a parameter the planner has to guess how many rows come back, so the
/// generic plan of a page looks dearer than a plan for the actual values and PostgreSQL plans
/// the statement again at every execution. Measured on the feed under pgbench (one
/// connection): 2,150 executions/s with `LIMIT $4`, 4,000-4,250/s with `LIMIT 21`, where the
/// generic plan is as cheap and is kept from the sixth execution on. The placeholder's value
/// stays bound (a parameter the statement does not use), so later parameters keep their
/// numbers. Each limit is a statement (and a cached plan) of its own; the strings are kept here
/// (the limit is an integer, never caller text).
pub(crate) fn limit_written(sql: &'static str, placeholder: &'static str, limit: i64) -> SqlStr {
    static WRITTEN: LazyLock<WrittenLimits> = LazyLock::new(Mutex::default);
    let key = (sql.as_ptr() as usize, limit);
    let mut written = WRITTEN.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(text) = written.get(&key) {
        return AssertSqlSafe(Arc::clone(text)).into_sql_str();
    }
    if written.len() >= MOST_WRITTEN_LIMITS {
        written.clear();
    }
    let text: Arc<str> = sql.replacen(placeholder, &format!("LIMIT {limit}"), 1).into();
    written.insert(key, Arc::clone(&text));
    AssertSqlSafe(text).into_sql_str()
}

impl crate::store::PgStore {
    /// One keyset page of [`Keyed`] records read through their [`Db`] row mapping, from a list
    /// statement that takes `$1` = the owner (team or user id), `$2`/`$3` = the keyset bound and
    /// `$4` = how many rows to fetch (written in: [`limit_written`]). A lag-tolerant read: on a
    /// replica when one fits (see [`PgStore`](crate::PgStore)'s routing table).
    pub(crate) async fn keyed_page<T>(&self, sql: &'static str, owner: Uuid, page: &PageRequest) -> Result<Page<T>>
    where
        T: Keyed + Send + Unpin,
        Db<T>: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
    {
        let k = Keyset::of(page)?;
        let sql = limit_written(sql, "LIMIT $4", k.fetch);
        let rows: Vec<Db<T>> = self
            .read(|pool| {
                let sql = sql.clone();
                async move { sqlx::query_as(sql).bind(owner).bind(k.at).bind(k.id).bind(k.fetch).fetch_all(&pool).await }
            })
            .await?;
        Ok(Page::from_keyed(rows.into_iter().map(Db::into_inner).collect(), page.limit))
    }
}

/// A statement with the values bound so far: what the per-table binders (`bind_post`, ...)
/// take and return, so one binder serves a table's INSERT and its UPDATE.
pub(crate) type PgQuery = sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// The record a row maps to through its [`Db`] mapping.
pub(crate) fn record<T>(row: &sqlx::postgres::PgRow) -> Result<T>
where
    Db<T>: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    <Db<T> as sqlx::FromRow<'_, sqlx::postgres::PgRow>>::from_row(row)
        .map(Db::into_inner)
        .map_err(crate::error::map_sqlx)
}

impl crate::store::PgStore {
    /// One keyset page of [`Keyed`] records from a list statement that takes `$1` = the owner
    /// (team or user id), `$2`/`$3` = the keyset bound, `$4` = how many rows to fetch (written
    /// in: [`limit_written`]), and from `$5` on the filter values `filters` binds. A lag-tolerant read, as
    /// [`keyed_page`](Self::keyed_page) (`filters` runs again when a replica fails the read).
    pub(crate) async fn filtered_page<T>(
        &self,
        sql: &'static str,
        owner: Uuid,
        page: &PageRequest,
        filters: impl Fn(PgQuery) -> PgQuery,
    ) -> Result<Page<T>>
    where
        T: Keyed,
        Db<T>: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        let k = Keyset::of(page)?;
        let filters = &filters;
        let sql = limit_written(sql, "LIMIT $4", k.fetch);
        let rows = self
            .read(|pool| {
                let query = filters(sqlx::query(sql.clone()).bind(owner).bind(k.at).bind(k.id).bind(k.fetch));
                async move { query.fetch_all(&pool).await }
            })
            .await?;
        let items = rows.iter().map(record).collect::<Result<Vec<T>>>()?;
        Ok(Page::from_keyed(items, page.limit))
    }
}

impl crate::store::PgStore {
    /// Run a `DELETE ... WHERE id = $1 AND <owner> = $2`; `NotFound` when no row matched (a
    /// missing id and another team's or user's row look the same).
    pub(crate) async fn delete_owned(
        &self,
        sql: &'static str,
        id: Uuid,
        owner: Uuid,
        entity: Entity,
        shown: impl Display,
    ) -> Result<()> {
        let done = sqlx::query(sql).bind(id).bind(owner).execute(self.exec()).await.map_err(crate::error::map_sqlx)?;
        found(done.rows_affected(), entity, shown)
    }
}

/// The row of a `SELECT ... WHERE <key> = $1 AND <owner> = $2` (e.g. `FOR UPDATE` in a
/// transaction, or on the pool); `NotFound` when none matched: a missing id and another team's
/// or user's row look the same.
pub(crate) async fn owned_row<'e, R>(
    executor: impl sqlx::PgExecutor<'e>,
    sql: &'static str,
    key: Uuid,
    owner: Uuid,
    entity: Entity,
    shown: impl Display,
) -> Result<R>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let row: Option<R> =
        sqlx::query_as(sql).bind(key).bind(owner).fetch_optional(executor).await.map_err(crate::error::map_sqlx)?;
    row.ok_or_else(|| Error::not_found(entity, shown))
}

/// A stored choice (status, role, platform...) back into its enum.
pub(crate) fn choice<T>(s: &str) -> Result<T>
where
    T: FromStr,
    T::Err: Display,
{
    s.parse::<T>().map_err(corrupt)
}

/// `NotFound` when an update or delete touched no row.
pub(crate) fn found(rows: u64, entity: Entity, id: impl Display) -> Result<()> {
    if rows == 0 { Err(Error::not_found(entity, id)) } else { Ok(()) }
}

/// A `MissingReference` error.
pub(crate) fn missing(entity: Entity, references: Entity, rule: &'static str) -> Error {
    Error::MissingReference { entity, references, rule }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "SELECT * FROM posts WHERE team_id = $1 ORDER BY id LIMIT $4 -- not LIMIT $4";

    #[test]
    fn the_limit_is_written_in_once_and_the_statement_kept() {
        let first = limit_written(PAGE, "LIMIT $4", 21);
        assert_eq!(first.as_str(), "SELECT * FROM posts WHERE team_id = $1 ORDER BY id LIMIT 21 -- not LIMIT $4");
        let again = limit_written(PAGE, "LIMIT $4", 21);
        assert!(std::ptr::eq(first.as_str(), again.as_str()), "the same limit reuses the written statement");
        assert_eq!(limit_written(PAGE, "LIMIT $4", 51).as_str(), PAGE.replacen("LIMIT $4", "LIMIT 51", 1));
    }
}
