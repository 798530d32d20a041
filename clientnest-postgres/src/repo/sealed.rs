//! Records with secrets sealed at rest: social accounts (both tokens) and webhooks (the
//! signing secret). A [`Sealed<T>`] is a record whose secret fields hold their sealed text, as
//! its row stores it, so a table's row mapping and binder serve the sealed record, and
//! [`SealedRecord`] turns it into the open record and back. The re-seal sweep
//! ([`SecretReseal`]) runs on the same mapping and binder.

use async_trait::async_trait;
use clientnest_core::model::{SocialAccount, Webhook};
use clientnest_core::page::{Cursor, Keyed, Page, PageRequest};
use clientnest_core::ports::{ResealCursor, ResealProgress, ResealTable, SecretReseal, check_reseal_limit};
use clientnest_core::validate::rule;
use clientnest_core::{Error, Result};
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::{Db, RowQuery};
use crate::error::map_sqlx;
use crate::secrets::{ResealTally, Sealer};
use crate::store::{PgStore, Tx, finish};

/// A record whose secret fields hold their sealed text (never a usable secret): what its row
/// stores. Only [`SealedRecord::open`] turns it back into a record.
#[derive(Debug)]
pub(crate) struct Sealed<T>(pub(crate) T);

impl<T: Keyed> Keyed for Sealed<T> {
    fn cursor(&self) -> Cursor {
        self.0.cursor()
    }
}

/// The statement of [`SealedRecord::SWEEP`] for `$table`: `$1` the last id of the previous page
/// (NULL for the first), `$2` rows to fetch; in id order, locked `FOR UPDATE`.
macro_rules! sweep_page {
    ($table:literal) => {
        concat!(
            "SELECT * FROM ",
            $table,
            "
             WHERE $1::uuid IS NULL OR id > $1
             ORDER BY id
             LIMIT $2
             FOR UPDATE"
        )
    };
}
pub(crate) use sweep_page;

/// A record stored with sealed secrets, read through `Db<Sealed<Self>>` and written through
/// [`SealedRecord::bind`].
pub(crate) trait SealedRecord: Sized + Send + Unpin + 'static {
    /// `$1` the last id of the previous page (NULL for the first), `$2` rows to fetch: one page
    /// of the sweep, in id order, locked `FOR UPDATE` until its transaction ends.
    const SWEEP: &'static str;
    /// The table's UPDATE of every column, bound by [`SealedRecord::bind`] (found by its id).
    const SAVE: &'static str;

    /// The row's id, which every sealed value of the row is bound to.
    fn row_id(&self) -> Uuid;

    /// Seal every secret of the record for its place in its row.
    fn seal(&self, sealer: &Sealer) -> Result<Sealed<Self>>;

    /// Open every secret of a stored record (`Error::Crypto` when one cannot be).
    fn open(sealed: Sealed<Self>, sealer: &Sealer) -> Result<Self>;

    /// Re-seal under the primary key the values of a stored record that are under another key
    /// (no other field changes); whether any was. A value that cannot be opened is
    /// `Error::Crypto` and leaves the record as it was.
    fn reseal(sealed: &mut Sealed<Self>, sealer: &Sealer) -> Result<bool>;

    /// Bind every column of the sealed record, in the table's column order.
    fn bind<'q, O>(q: RowQuery<'q, O>, sealed: &'q Sealed<Self>) -> RowQuery<'q, O>;
}

impl PgStore {
    /// Records read sealed, opened.
    pub(crate) fn open_all<T: SealedRecord>(&self, rows: Vec<Db<Sealed<T>>>) -> Result<Vec<T>> {
        rows.into_iter().map(|row| T::open(row.into_inner(), self.sealer())).collect()
    }

    /// [`PgStore::keyed_page`] of sealed records, opened.
    pub(crate) async fn sealed_page<T>(&self, sql: &'static str, owner: Uuid, page: &PageRequest) -> Result<Page<T>>
    where
        T: SealedRecord + Keyed,
        Db<Sealed<T>>: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    {
        let sealed: Page<Sealed<T>> = self.keyed_page(sql, owner, page).await?;
        let items = sealed.items.into_iter().map(|s| T::open(s, self.sealer())).collect::<Result<Vec<T>>>()?;
        Ok(Page { items, next: sealed.next })
    }

    /// Write every column of `record` (sealed) over its row in `tx`, and read it back opened.
    pub(crate) async fn save_sealed<T>(&self, tx: &mut Tx, record: &T) -> Result<T>
    where
        T: SealedRecord,
        Db<Sealed<T>>: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    {
        let sealed = record.seal(self.sealer())?;
        let row: Db<Sealed<T>> =
            T::bind(sqlx::query_as(T::SAVE), &sealed).fetch_one(&mut **tx).await.map_err(map_sqlx)?;
        T::open(row.into_inner(), self.sealer())
    }
}

/// One page of the re-seal sweep in `T`'s table: up to `limit` rows with an id after `after`,
/// in id order, locked until the commit; the values not under the primary key are re-sealed
/// and written back (no other column changes).
async fn reseal_page<T>(store: &PgStore, after: Option<Uuid>, limit: u32) -> Result<ResealTally>
where
    T: SealedRecord,
    Db<Sealed<T>>: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
{
    let sealer = store.sealer();
    let mut tx = store.begin().await?;
    let outcome = async {
        let rows: Vec<Db<Sealed<T>>> =
            sqlx::query_as(T::SWEEP).bind(after).bind(i64::from(limit)).fetch_all(&mut *tx).await.map_err(map_sqlx)?;
        let mut tally = ResealTally::default();
        for row in rows {
            let mut sealed = row.into_inner();
            let id = sealed.0.row_id();
            let outcome = T::reseal(&mut sealed, sealer);
            if let Ok(true) = outcome {
                let _: Db<Sealed<T>> =
                    T::bind(sqlx::query_as(T::SAVE), &sealed).fetch_one(&mut *tx).await.map_err(map_sqlx)?;
            }
            tally.count(id, outcome)?;
        }
        Ok(tally)
    }
    .await;
    finish(tx, outcome).await
}

/// The re-seal sweep on PostgreSQL: `social_accounts` (both tokens), then `webhooks`, each page
/// one transaction (see [`crate::secrets`]).
#[async_trait]
impl SecretReseal for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(table = from.table().as_str(), limit))]
    async fn reseal_secrets(&self, from: ResealCursor, limit: u32) -> Result<ResealProgress> {
        let _write = self.write_mark();
        check_reseal_limit(limit)?;
        let tally = match from.table() {
            ResealTable::SocialAccounts => reseal_page::<SocialAccount>(self, from.after(), limit).await?,
            ResealTable::Webhooks => reseal_page::<Webhook>(self, from.after(), limit).await?,
            _ => return Err(Error::invalid("cursor", rule::CURSOR, "a table this adapter does not re-seal")),
        };
        Ok(tally.progress(from.table(), limit))
    }
}
