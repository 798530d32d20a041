//! Backups of PostgreSQL databases to object storage, with restores verified against a
//! manifest, restore drills and retention applied in the store.
//!
//! [`Backups::create`] runs `pg_dump --format=custom` in the snapshot of a `REPEATABLE READ`
//! transaction it holds open, streams the dump (optionally encrypted, see [`BackupKey`]) into the
//! store as a multipart upload (parts of at least 8 MiB, a bounded number in flight, no local
//! copy; aborted on any failure, also when the future is dropped), counts every table's rows in
//! the same snapshot, and then writes the manifest. A backup is complete once its manifest
//! exists; listings ignore dumps without one.
//!
//! ```text
//! {prefix}/{database}/{YYYYMMDDTHHMMSSZ}.dump            pg_dump --format=custom (or encrypted)
//! {prefix}/{database}/{YYYYMMDDTHHMMSSZ}.manifest.json   BackupManifest
//! {prefix}/{database}/{YYYYMMDDTHHMMSSZ}.drill.json      DrillRecord of the last drill
//! ```
//!
//! [`Backups::restore`] downloads a backup to a temporary file while hashing (and decrypting)
//! it, checks the SHA-256 against the manifest *before* anything is restored, creates a new
//! database, runs `pg_restore --clean --if-exists --no-owner` (with TimescaleDB's
//! `timescaledb_pre_restore()` / `timescaledb_post_restore()` around it when the backed-up
//! database had the extension) and compares every table's row count with the manifest.
//! [`Backups::drill`] does that into a scratch database that it always drops, and records the
//! outcome next to the backup. [`Backups::prune`] applies a [`RetentionPolicy`].
//!
//! Two backups of one database never overlap: each holds the session advisory lock
//! [`BACKUP_LOCK_KEY`] on that database for its whole run, and a second one fails with
//! [`BackupError::AlreadyRunning`].
//!
//! ```no_run
//! use std::sync::Arc;
//! use clientnest_s3::backup::{Backups, BackupKey, RestoreOptions, RetentionPolicy};
//! use object_store::local::LocalFileSystem;
//!
//! # async fn demo() -> Result<(), clientnest_s3::backup::BackupError> {
//! let store = Arc::new(LocalFileSystem::new_with_prefix("/var/backups/clientnest").expect("folder"));
//! let backups = Backups::new(store).with_key(BackupKey::parse("<64 hex digits>", Some("2026-01"))?);
//!
//! let manifest = backups.create("postgres://postgres@127.0.0.1/app").await?;
//! println!("{} bytes, {} rows", manifest.size_bytes, manifest.total_rows());
//!
//! let report = backups
//!     .restore(&manifest.id, "postgres://postgres@127.0.0.1/postgres", &RestoreOptions::new("app_restored"))
//!     .await?;
//! println!("{} tables verified", report.tables_checked);
//!
//! backups.drill("app", "postgres://postgres@127.0.0.1/postgres").await?;
//! backups.prune("app", &RetentionPolicy::default()).await?;
//! # Ok(()) }
//! ```

mod create;
mod crypt;
mod error;
mod key;
mod manifest;
mod pg;
mod progress;
mod restore;
mod retention;
mod upload;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use clientnest_core::clock::{SharedClock, SystemClock};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

pub use error::{BACKUP_STORE, BackupError};
pub use key::{BackupKey, MAX_KEY_ID_LEN};
pub use manifest::{
    BackupId, BackupManifest, DRILL_SUFFIX, DUMP_SUFFIX, DrillRecord, EncryptionInfo, ExtensionVersion,
    MANIFEST_SUFFIX, MANIFEST_VERSION, STAMP_FORMAT, TableRows,
};
pub use pg::{MAX_DATABASE_NAME_LEN, validate_database_name};
pub use progress::{NoProgress, Progress, Step};
pub use restore::{RestoreOptions, RestoreReport, VerifyReport};
pub use retention::RetentionPolicy;

/// The key of the session advisory lock a backup holds on the database it backs up
/// (`pg_try_advisory_lock(BACKUP_LOCK_KEY)`): the bytes `"cnbackup"` as a big-endian `i64`.
/// Advisory locks are per database, so backups of different databases do not contend.
pub const BACKUP_LOCK_KEY: i64 = i64::from_be_bytes(*b"cnbackup");

/// The smallest multipart part size accepted (8 MiB), also the default.
pub const MIN_PART_SIZE: usize = 8 * 1024 * 1024;

/// The default number of parts uploaded at once.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// The default prefix of backup objects in the store.
pub const DEFAULT_PREFIX: &str = "backups";

/// The prefix of the scratch databases of [`Backups::drill`].
pub const DRILL_DATABASE_PREFIX: &str = "clientnest_drill_";

/// Backups of PostgreSQL databases into one object store (S3, local disk, memory: any
/// [`ObjectStore`]). Cheap to clone; configure it with the `with_*` methods.
#[derive(Clone)]
pub struct Backups {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    key: Option<BackupKey>,
    part_size: usize,
    concurrency: usize,
    pg_dump: PathBuf,
    pg_restore: PathBuf,
    temp_dir: Option<PathBuf>,
    clock: SharedClock,
    progress: Arc<dyn Progress>,
}

impl fmt::Debug for Backups {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backups")
            .field("store", &self.store.to_string())
            .field("prefix", &self.prefix.as_ref())
            .field("key_id", &self.key.as_ref().map(BackupKey::id))
            .field("part_size", &self.part_size)
            .field("concurrency", &self.concurrency)
            .field("pg_dump", &self.pg_dump)
            .field("pg_restore", &self.pg_restore)
            .field("temp_dir", &self.temp_dir)
            .finish_non_exhaustive()
    }
}

/// One backup found in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackupSummary {
    /// Which backup.
    pub id: BackupId,
    /// Size of the dump object, bytes (0 when it is missing).
    pub dump_bytes: u64,
    /// Whether its dump object exists.
    pub has_dump: bool,
    /// Whether its manifest exists (a backup is complete with both).
    pub has_manifest: bool,
    /// Whether a drill record exists.
    pub has_drill: bool,
}

impl BackupSummary {
    /// Whether both the dump and the manifest exist.
    pub fn is_complete(&self) -> bool {
        self.has_dump && self.has_manifest
    }
}

/// What [`Backups::prune`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PruneReport {
    /// Complete backups kept, oldest first.
    pub kept: Vec<BackupId>,
    /// Complete backups deleted (dump, manifest and drill record), oldest first.
    pub deleted: Vec<BackupId>,
    /// Incomplete leftovers deleted (a dump or drill record without a manifest, older than the
    /// newest complete backup).
    pub incomplete_deleted: Vec<BackupId>,
}

impl Backups {
    /// Backups in `store` under [`DEFAULT_PREFIX`], unencrypted, with `pg_dump` and
    /// `pg_restore` from `PATH`, parts of [`MIN_PART_SIZE`], [`DEFAULT_CONCURRENCY`] parts in
    /// flight, the system clock and no progress reporting.
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self {
            store,
            prefix: Path::from(DEFAULT_PREFIX),
            key: None,
            part_size: MIN_PART_SIZE,
            concurrency: DEFAULT_CONCURRENCY,
            pg_dump: PathBuf::from("pg_dump"),
            pg_restore: PathBuf::from("pg_restore"),
            temp_dir: None,
            clock: Arc::new(SystemClock),
            progress: Arc::new(NoProgress),
        }
    }

    /// Put the backups under `prefix` (`/`-separated; empty for the store's root).
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = Path::from(prefix);
        self
    }

    /// Encrypt new backups with `key`, and decrypt backups encrypted with it.
    pub fn with_key(mut self, key: BackupKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Upload in parts of `bytes` (raised to [`MIN_PART_SIZE`] if smaller; S3 allows at most
    /// 10,000 parts, so 8 MiB parts hold up to about 78 GiB).
    pub fn with_part_size(mut self, bytes: usize) -> Self {
        self.part_size = bytes.max(MIN_PART_SIZE);
        self
    }

    /// Upload at most `parts` parts at once (at least 1).
    pub fn with_max_concurrency(mut self, parts: usize) -> Self {
        self.concurrency = parts.max(1);
        self
    }

    /// Run `pg_dump` from `program` instead of the one in `PATH`.
    pub fn with_pg_dump(mut self, program: impl Into<PathBuf>) -> Self {
        self.pg_dump = program.into();
        self
    }

    /// Run `pg_restore` from `program` instead of the one in `PATH`.
    pub fn with_pg_restore(mut self, program: impl Into<PathBuf>) -> Self {
        self.pg_restore = program.into();
        self
    }

    /// Download restores into a temporary folder under `dir` instead of the system's
    /// temporary folder (a restore needs room for the whole dump there).
    pub fn with_temp_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.temp_dir = Some(dir.into());
        self
    }

    /// Name new backups by `clock`'s time (tests use a
    /// [`ManualClock`](clientnest_core::clock::ManualClock)).
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Report steps and bytes to `progress`.
    pub fn with_progress(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = progress;
        self
    }

    /// The store the backups are in.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The id of the key new backups are encrypted with, if any.
    pub fn key_id(&self) -> Option<&str> {
        self.key.as_ref().map(BackupKey::id)
    }

    /// The dump object of `id`.
    pub fn dump_path(&self, id: &BackupId) -> Path {
        self.object(id, DUMP_SUFFIX)
    }

    /// The manifest object of `id`.
    pub fn manifest_path(&self, id: &BackupId) -> Path {
        self.object(id, MANIFEST_SUFFIX)
    }

    /// The drill record object of `id`.
    pub fn drill_path(&self, id: &BackupId) -> Path {
        self.object(id, DRILL_SUFFIX)
    }

    fn object(&self, id: &BackupId, suffix: &str) -> Path {
        self.prefix.clone().join(id.database.as_str()).join(format!("{}{suffix}", id.stamp()))
    }

    fn database_prefix(&self, database: &str) -> Path {
        self.prefix.clone().join(database)
    }

    /// Read a backup id written as `{database}/{YYYYMMDDTHHMMSSZ}`, or as the key of one of its
    /// objects (`backups/app/20260101T020000Z.dump`, with this store's prefix).
    ///
    /// # Errors
    ///
    /// [`BackupError::InvalidId`] when it is neither.
    pub fn parse_id(&self, text: &str) -> Result<BackupId, BackupError> {
        let bad = || BackupError::InvalidId { id: text.to_owned() };
        let path = Path::from(text);
        let rest: Vec<String> = match path.prefix_match(&self.prefix) {
            Some(parts) if !self.prefix.as_ref().is_empty() => parts.map(|p| decode(p.as_ref())).collect(),
            _ => path.parts().map(|p| decode(p.as_ref())).collect(),
        };
        if let [database, file] = rest.as_slice() {
            if let Some((id, _)) = parse_object_name(database, file) {
                return Ok(id);
            }
            if let Ok(id) = format!("{database}/{file}").parse::<BackupId>() {
                return Ok(id);
            }
        }
        text.parse::<BackupId>().map_err(|_| bad())
    }

    /// The manifest of `id`.
    ///
    /// # Errors
    ///
    /// [`BackupError::NotFound`] when it does not exist, [`BackupError::Manifest`] when it is
    /// not a manifest, [`BackupError::Store`] when the store fails.
    pub async fn manifest(&self, id: &BackupId) -> Result<BackupManifest, BackupError> {
        let path = self.manifest_path(id);
        let bytes = self.get_bytes(&path, || format!("backup {id}")).await?;
        serde_json::from_slice(&bytes).map_err(|source| BackupError::Manifest { path: path.to_string(), source })
    }

    /// The record of the last drill of `id`, if one was run.
    ///
    /// # Errors
    ///
    /// [`BackupError::Manifest`] when the record is not JSON of a drill record,
    /// [`BackupError::Store`] when the store fails.
    pub async fn drill_record(&self, id: &BackupId) -> Result<Option<DrillRecord>, BackupError> {
        let path = self.drill_path(id);
        match self.get_bytes(&path, String::new).await {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| BackupError::Manifest { path: path.to_string(), source }),
            Err(BackupError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn get_bytes(&self, path: &Path, what: impl FnOnce() -> String) -> Result<bytes::Bytes, BackupError> {
        let get = match self.store.get(path).await {
            Ok(get) => get,
            Err(object_store::Error::NotFound { .. }) => return Err(BackupError::NotFound { what: what() }),
            Err(e) => return Err(BackupError::store(path)(e)),
        };
        get.bytes().await.map_err(BackupError::store(path))
    }

    async fn put_json<T: serde::Serialize>(&self, path: &Path, value: &T) -> Result<(), BackupError> {
        let json = serde_json::to_vec_pretty(value)
            .map_err(|source| BackupError::Manifest { path: path.to_string(), source })?;
        self.store.put(path, PutPayload::from(json)).await.map_err(BackupError::store(path))?;
        Ok(())
    }

    /// Every backup object of `database` (or of every database), grouped by backup.
    async fn scan(&self, database: Option<&str>) -> Result<Vec<BackupSummary>, BackupError> {
        let prefix = match database {
            Some(db) => self.database_prefix(db),
            None => self.prefix.clone(),
        };
        let mut found: BTreeMap<BackupId, BackupSummary> = BTreeMap::new();
        let mut list = self.store.list(Some(&prefix));
        while let Some(meta) = list.try_next().await.map_err(BackupError::store(&prefix))? {
            let Some(parts) = meta.location.prefix_match(&self.prefix) else { continue };
            let parts: Vec<String> = parts.map(|p| decode(p.as_ref())).collect();
            let [db, file] = parts.as_slice() else { continue };
            if database.is_some_and(|d| d != db) {
                continue;
            }
            let Some((id, suffix)) = parse_object_name(db, file) else { continue };
            let entry = found.entry(id.clone()).or_insert_with(|| BackupSummary {
                id,
                dump_bytes: 0,
                has_dump: false,
                has_manifest: false,
                has_drill: false,
            });
            match suffix {
                DUMP_SUFFIX => {
                    entry.has_dump = true;
                    entry.dump_bytes = meta.size;
                }
                MANIFEST_SUFFIX => entry.has_manifest = true,
                _ => entry.has_drill = true,
            }
        }
        Ok(found.into_values().collect())
    }

    /// The complete backups (dump and manifest) of `database`, oldest first. Dumps without a
    /// manifest (a backup that failed or is still running) are not listed.
    ///
    /// # Errors
    ///
    /// [`BackupError::Store`] when listing fails.
    #[tracing::instrument(skip(self), err)]
    pub async fn list(&self, database: &str) -> Result<Vec<BackupSummary>, BackupError> {
        Ok(self.scan(Some(database)).await?.into_iter().filter(BackupSummary::is_complete).collect())
    }

    /// The complete backups of every database under the prefix, by database then oldest first.
    ///
    /// # Errors
    ///
    /// [`BackupError::Store`] when listing fails.
    #[tracing::instrument(skip(self), err)]
    pub async fn list_all(&self) -> Result<Vec<BackupSummary>, BackupError> {
        Ok(self.scan(None).await?.into_iter().filter(BackupSummary::is_complete).collect())
    }

    /// The newest complete backup of `database`.
    ///
    /// # Errors
    ///
    /// [`BackupError::NotFound`] when it has none; [`BackupError::Store`] when listing fails.
    pub async fn latest(&self, database: &str) -> Result<BackupId, BackupError> {
        self.list(database)
            .await?
            .pop()
            .map(|s| s.id)
            .ok_or_else(|| BackupError::NotFound { what: format!("no complete backup of database {database:?}") })
    }

    /// Delete the backups of `database` that `policy` does not keep (see
    /// [`RetentionPolicy::retained`]): for each, its manifest first (so it stops counting as
    /// complete), then its dump and drill record. Leftovers of failed backups older than the
    /// newest complete backup go too. The newest backup is never deleted.
    ///
    /// # Errors
    ///
    /// [`BackupError::Store`] when listing or deleting fails (what was deleted before stays
    /// deleted; running it again finishes the job).
    #[tracing::instrument(skip(self), err)]
    pub async fn prune(&self, database: &str, policy: &RetentionPolicy) -> Result<PruneReport, BackupError> {
        self.progress.step_started(Step::Prune, None);
        let all = self.scan(Some(database)).await?;
        let complete: Vec<DateTime<Utc>> = all.iter().filter(|s| s.is_complete()).map(|s| s.id.taken_at).collect();
        let keep = policy.retained(&complete);
        let newest = complete.iter().max().copied();
        let mut report = PruneReport::default();
        for s in all {
            if s.is_complete() {
                if keep.contains(&s.id.taken_at) {
                    report.kept.push(s.id);
                    continue;
                }
                self.delete_backup(&s.id).await?;
                report.deleted.push(s.id);
            } else if newest.is_some_and(|n| s.id.taken_at < n) {
                self.delete_backup(&s.id).await?;
                report.incomplete_deleted.push(s.id);
            }
        }
        tracing::info!(kept = report.kept.len(), deleted = report.deleted.len(), "pruned");
        self.progress.step_finished(Step::Prune);
        Ok(report)
    }

    /// Delete a backup's manifest, dump and drill record (missing objects are fine).
    async fn delete_backup(&self, id: &BackupId) -> Result<(), BackupError> {
        for path in [self.manifest_path(id), self.dump_path(id), self.drill_path(id)] {
            match self.store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(BackupError::store(&path)(e)),
            }
        }
        Ok(())
    }
}

/// Split `{stamp}{suffix}` into the backup id and the suffix.
fn parse_object_name(database: &str, file: &str) -> Option<(BackupId, &'static str)> {
    for suffix in [DUMP_SUFFIX, MANIFEST_SUFFIX, DRILL_SUFFIX] {
        if let Some(stamp) = file.strip_suffix(suffix) {
            let taken_at = manifest::parse_stamp(stamp)?;
            return Some((BackupId { database: database.to_owned(), taken_at }, suffix));
        }
    }
    None
}

/// Undo object_store's percent-encoding of a path part.
fn decode(part: &str) -> String {
    pg::percent_decode(part)
}
