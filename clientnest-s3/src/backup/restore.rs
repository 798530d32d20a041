//! Restoring a backup into a new database, verifying it, and restore drills.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Instant;

use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tracing::Instrument;

use super::crypt::{CryptError, StreamDecryptor};
use super::error::BackupError;
use super::manifest::{BackupId, BackupManifest, DrillRecord};
use super::pg::{self, Target};
use super::progress::Step;
use super::{Backups, DRILL_DATABASE_PREFIX};

/// The magic bytes that start a `pg_dump --format=custom` archive.
const PG_DUMP_MAGIC: &[u8; 5] = b"PGDMP";

/// Where and how [`Backups::restore`] restores.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RestoreOptions {
    /// The database to create and restore into (see
    /// [`validate_database_name`](super::validate_database_name)).
    pub into: String,
    /// Drop and re-create `into` when it exists. Default `false`: an existing database is
    /// refused with [`BackupError::DatabaseExists`].
    pub replace_existing: bool,
    /// Compare every table's row count with the manifest after restoring. Default `true`.
    pub check_row_counts: bool,
    /// Keep the restored database when the restore or its checks fail (to look into it).
    /// Default `false`: a database the restore created is dropped again on failure.
    pub keep_on_failure: bool,
}

impl RestoreOptions {
    /// Restore into a new database named `into`, checking row counts, dropping it on failure.
    pub fn new(into: impl Into<String>) -> Self {
        Self { into: into.into(), replace_existing: false, check_row_counts: true, keep_on_failure: false }
    }

    /// Drop and re-create the target database if it exists.
    pub fn with_replace_existing(mut self, replace: bool) -> Self {
        self.replace_existing = replace;
        self
    }

    /// Compare row counts with the manifest after restoring (on by default).
    pub fn with_row_count_check(mut self, check: bool) -> Self {
        self.check_row_counts = check;
        self
    }

    /// Keep the target database when the restore fails.
    pub fn with_keep_on_failure(mut self, keep: bool) -> Self {
        self.keep_on_failure = keep;
        self
    }
}

/// What [`Backups::restore`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RestoreReport {
    /// The backup restored.
    pub backup: BackupId,
    /// The database restored into.
    pub database: String,
    /// Bytes downloaded (the stored object's size).
    pub bytes: u64,
    /// How many tables' row counts matched the manifest (0 when not checked).
    pub tables_checked: usize,
    /// How many rows those tables hold.
    pub rows_checked: i64,
    /// Whether TimescaleDB's pre/post restore functions were run.
    pub timescaledb: bool,
    /// How long the whole restore took, milliseconds.
    pub duration_ms: u64,
}

/// What [`Backups::verify`] checked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyReport {
    /// The backup verified.
    pub backup: BackupId,
    /// Its manifest.
    pub manifest: BackupManifest,
    /// Whether the object was also decrypted end to end (encrypted backups with the key set).
    pub decrypted: bool,
}

/// What downloading a dump produced.
struct Downloaded {
    bytes: u64,
}

impl Backups {
    /// Check a backup without restoring it: the manifest is readable, the stored object's size
    /// and SHA-256 match it, and (for an encrypted backup, when the key is set) every chunk
    /// decrypts and the content is a `pg_dump` archive.
    ///
    /// # Errors
    ///
    /// [`BackupError::NotFound`], [`BackupError::Manifest`], [`BackupError::ChecksumMismatch`],
    /// [`BackupError::WrongKey`], [`BackupError::Corrupt`], [`BackupError::Store`].
    #[tracing::instrument(skip(self), fields(backup = %id), err)]
    pub async fn verify(&self, id: &BackupId) -> Result<VerifyReport, BackupError> {
        let manifest = self.manifest(id).await?;
        let decrypt = !manifest.encrypted || self.key.is_some();
        if decrypt {
            self.check_key(&manifest)?;
        }
        self.download(&manifest, None, decrypt).await?;
        Ok(VerifyReport { backup: id.clone(), decrypted: manifest.encrypted && decrypt, manifest })
    }

    /// Restore backup `id` into a new database on the server of `server_url` (any database
    /// of that server the user can connect to, e.g. `postgres`), created with the name
    /// `options.into` (validated, quoted).
    ///
    /// Steps: the dump is downloaded to a temporary file while it is hashed (and decrypted);
    /// its size and SHA-256 are compared with the manifest before anything is restored; the
    /// database is created; when the manifest lists `timescaledb`, the extension is created and
    /// `timescaledb_pre_restore()` runs; `pg_restore --clean --if-exists --no-owner` restores;
    /// `timescaledb_post_restore()` runs; each table's rows are counted and compared with the
    /// manifest. A database the call created is dropped again if a later step fails (unless
    /// [`keep_on_failure`](RestoreOptions::keep_on_failure)), also when the future is dropped.
    ///
    /// # Errors
    ///
    /// [`BackupError::MissingTool`] (no `pg_restore`), [`BackupError::NotFound`],
    /// [`BackupError::KeyRequired`], [`BackupError::WrongKey`],
    /// [`BackupError::ChecksumMismatch`], [`BackupError::Corrupt`],
    /// [`BackupError::InvalidDatabaseName`], [`BackupError::DatabaseExists`],
    /// [`BackupError::ToolFailed`], [`BackupError::RowCountMismatch`],
    /// [`BackupError::Database`], [`BackupError::Store`], [`BackupError::Io`].
    #[tracing::instrument(skip(self, server_url, options), fields(backup = %id, into = %options.into), err)]
    pub async fn restore(
        &self,
        id: &BackupId,
        server_url: &str,
        options: &RestoreOptions,
    ) -> Result<RestoreReport, BackupError> {
        let started = Instant::now();
        pg::validate_database_name(&options.into)?;
        let server = Target::parse(server_url)?;
        let restore_version = pg::tool_version("pg_restore", &self.pg_restore).await?;
        tracing::debug!(version = %restore_version.text, "pg_restore found");
        let manifest = self.manifest(id).await?;
        self.check_key(&manifest)?;

        // Download and verify first: nothing is created before the checksum matched.
        let mut builder = tempfile::Builder::new();
        builder.prefix("clientnest-restore-");
        let dir = match &self.temp_dir {
            Some(parent) => builder.tempdir_in(parent),
            None => builder.tempdir(),
        }
        .map_err(BackupError::io("creating a temporary directory"))?;
        let file_path = dir.path().join("backup.dump");
        let mut file =
            tokio::fs::File::create(&file_path).await.map_err(BackupError::io("creating the temporary dump file"))?;
        let downloaded = self
            .download(&manifest, Some(&mut file), true)
            .instrument(tracing::info_span!("download", path = %manifest.dump_path))
            .await?;
        file.sync_all().await.map_err(BackupError::io("writing the temporary dump file"))?;
        drop(file);

        self.progress.step_started(Step::CreateDatabase, None);
        let mut admin = server.connect("connecting to the server to restore to").await?;
        if pg::database_exists(&mut admin, &options.into).await? {
            if !options.replace_existing {
                return Err(BackupError::DatabaseExists { name: options.into.clone() });
            }
            pg::drop_database(&mut admin, &options.into).await?;
        }
        pg::create_database(&mut admin, &options.into).await?;
        let _ = sqlx::Connection::close(admin).await;
        self.progress.step_finished(Step::CreateDatabase);
        let mut guard = DropDatabaseGuard { server: server.clone(), name: options.into.clone(), armed: true };

        let target = server.with_database(&options.into);
        let result = self.restore_into(&manifest, &target, &file_path, options).await;
        match result {
            Ok((tables_checked, rows_checked)) => {
                guard.armed = false;
                Ok(RestoreReport {
                    backup: id.clone(),
                    database: options.into.clone(),
                    bytes: downloaded.bytes,
                    tables_checked,
                    rows_checked,
                    timescaledb: manifest.has_extension("timescaledb"),
                    duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                })
            }
            Err(e) => {
                guard.armed = false;
                if !options.keep_on_failure
                    && let Err(drop_err) = self.drop_database(&server, &options.into).await
                {
                    tracing::warn!(error = %drop_err, database = %options.into, "could not drop the failed restore's database");
                }
                Err(e)
            }
        }
    }

    /// `pg_restore` into the freshly created `target`, then the checks. Returns the tables and
    /// rows checked.
    async fn restore_into(
        &self,
        manifest: &BackupManifest,
        target: &Target,
        file: &std::path::Path,
        options: &RestoreOptions,
    ) -> Result<(usize, i64), BackupError> {
        let timescale = manifest.has_extension("timescaledb");
        let mut conn = target.connect("connecting to the restored database").await?;
        if timescale {
            sqlx::raw_sql("CREATE EXTENSION IF NOT EXISTS timescaledb; SELECT timescaledb_pre_restore();")
                .execute(&mut conn)
                .await
                .map_err(BackupError::db("preparing TimescaleDB for the restore"))?;
        }

        self.progress.step_started(Step::Restore, None);
        let mut cmd = Command::new(&self.pg_restore);
        cmd.arg("--clean").arg("--if-exists").arg("--no-owner");
        target.apply(&mut cmd);
        cmd.arg(file);
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|source| BackupError::MissingTool {
            tool: "pg_restore",
            path: self.pg_restore.clone(),
            source,
        })?;
        let stderr = match child.stderr.take() {
            Some(s) => pg::read_stderr(s).await,
            None => String::new(),
        };
        let status = child
            .wait()
            .instrument(tracing::info_span!("pg_restore"))
            .await
            .map_err(BackupError::io("waiting for pg_restore"))?;
        self.progress.step_finished(Step::Restore);
        if !status.success() {
            return Err(BackupError::ToolFailed { tool: "pg_restore", status, stderr });
        }

        if timescale {
            sqlx::raw_sql("SELECT timescaledb_post_restore()")
                .execute(&mut conn)
                .await
                .map_err(BackupError::db("finishing TimescaleDB's restore"))?;
        }
        if !options.check_row_counts {
            return Ok((0, 0));
        }
        self.progress.step_started(Step::VerifyRows, Some(manifest.tables.len() as u64));
        let tables = pg::list_tables(&mut conn).await?;
        let counts = pg::count_rows(&mut conn, &tables)
            .instrument(tracing::info_span!("recount", tables = tables.len()))
            .await?;
        let _ = sqlx::Connection::close(conn).await;
        let actual: HashMap<(&str, &str), i64> =
            counts.iter().map(|t| ((t.schema.as_str(), t.table.as_str()), t.rows)).collect();
        let mut rows = 0;
        for (i, t) in manifest.tables.iter().enumerate() {
            let found = actual.get(&(t.schema.as_str(), t.table.as_str())).copied();
            if found != Some(t.rows) {
                return Err(BackupError::RowCountMismatch {
                    table: t.qualified_name(),
                    expected: t.rows,
                    actual: found,
                });
            }
            rows += t.rows;
            self.progress.bytes(Step::VerifyRows, i as u64 + 1);
        }
        self.progress.step_finished(Step::VerifyRows);
        tracing::info!(tables = manifest.tables.len(), rows, "row counts match the manifest");
        Ok((manifest.tables.len(), rows))
    }

    /// Restore the newest backup of `database` into a scratch database
    /// (`clientnest_drill_<random>`) on the server of `server_url`, verify it as
    /// [`restore`](Self::restore) does, always drop the scratch database
    /// (`DROP DATABASE ... WITH (FORCE)`), and write a [`DrillRecord`] next to the backup
    /// (`{stamp}.drill.json`), also when the drill failed.
    ///
    /// # Errors
    ///
    /// The restore's error when it failed (the record saying so is written first), or
    /// [`BackupError::NotFound`] when `database` has no complete backup, or the error of
    /// dropping the scratch database or of writing the record.
    pub async fn drill(&self, database: &str, server_url: &str) -> Result<DrillRecord, BackupError> {
        let id = self.latest(database).await?;
        self.drill_backup(&id, server_url).await
    }

    /// [`drill`](Self::drill) of a chosen backup.
    ///
    /// # Errors
    ///
    /// As [`drill`](Self::drill).
    #[tracing::instrument(skip(self, server_url), fields(backup = %id), err)]
    pub async fn drill_backup(&self, id: &BackupId, server_url: &str) -> Result<DrillRecord, BackupError> {
        let server = Target::parse(server_url)?;
        let mut suffix = [0u8; 6];
        rand::rngs::OsRng.fill_bytes(&mut suffix);
        let scratch = format!("{DRILL_DATABASE_PREFIX}{}", hex::encode(suffix));
        let started_at = self.clock.now();
        let started = Instant::now();
        let mut guard = DropDatabaseGuard { server: server.clone(), name: scratch.clone(), armed: true };
        let result = self.restore(id, server_url, &RestoreOptions::new(scratch.clone())).await;
        self.progress.step_started(Step::DropDatabase, None);
        let dropped = self.drop_database(&server, &scratch).await;
        guard.armed = dropped.is_err();
        self.progress.step_finished(Step::DropDatabase);
        let record = DrillRecord {
            backup: id.clone(),
            started_at,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            scratch_database: scratch,
            ok: result.is_ok() && dropped.is_ok(),
            error: match (&result, &dropped) {
                (Err(e), _) | (Ok(_), Err(e)) => Some(error_chain(e)),
                _ => None,
            },
            tables_checked: result.as_ref().map_or(0, |r| r.tables_checked),
            rows_checked: result.as_ref().map_or(0, |r| r.rows_checked),
            scratch_dropped: dropped.is_ok(),
        };
        self.progress.step_started(Step::WriteDrillRecord, None);
        let written = self.put_json(&self.drill_path(id), &record).await;
        self.progress.step_finished(Step::WriteDrillRecord);
        if record.ok {
            tracing::info!(duration_ms = record.duration_ms, tables = record.tables_checked, "drill passed");
        } else {
            tracing::error!(error = record.error.as_deref().unwrap_or(""), "drill failed");
        }
        result?;
        dropped?;
        written?;
        Ok(record)
    }

    async fn drop_database(&self, server: &Target, name: &str) -> Result<(), BackupError> {
        let mut admin = server.connect("connecting to the server to drop a database").await?;
        pg::drop_database(&mut admin, name).await?;
        let _ = sqlx::Connection::close(admin).await;
        Ok(())
    }

    /// Refuse a backup the configured key cannot decrypt, before downloading it.
    fn check_key(&self, manifest: &BackupManifest) -> Result<(), BackupError> {
        if !manifest.encrypted {
            return Ok(());
        }
        let backup_key_id = manifest.key_id.clone().unwrap_or_default();
        match &self.key {
            None => Err(BackupError::KeyRequired { path: manifest.dump_path.clone(), key_id: backup_key_id }),
            Some(key) if key.id() != backup_key_id => Err(BackupError::WrongKey {
                path: manifest.dump_path.clone(),
                backup_key_id,
                given_key_id: key.id().to_owned(),
            }),
            Some(_) => Ok(()),
        }
    }

    /// Download the dump of `manifest` while hashing it; with `decrypt`, decrypt it (when
    /// encrypted) and check it is a `pg_dump` archive; write the plaintext to `sink` if given.
    /// The size and SHA-256 are compared with the manifest before any decryption error is
    /// reported, so a changed object is a [`BackupError::ChecksumMismatch`].
    async fn download(
        &self,
        manifest: &BackupManifest,
        mut sink: Option<&mut tokio::fs::File>,
        decrypt: bool,
    ) -> Result<Downloaded, BackupError> {
        let path = object_store::path::Path::from(manifest.dump_path.as_str());
        self.progress.step_started(Step::Download, Some(manifest.size_bytes));
        let get = match self.store.get(&path).await {
            Ok(get) => get,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(BackupError::NotFound { what: format!("dump object {path}") });
            }
            Err(e) => return Err(BackupError::store(&path)(e)),
        };
        let mut stream = get.into_stream();
        let mut hasher = Sha256::new();
        let mut bytes = 0u64;
        let mut decryptor = match (manifest.encrypted && decrypt, &self.key) {
            (true, Some(key)) => Some(StreamDecryptor::new(key.clone())),
            _ => None,
        };
        let mut failure: Option<CryptError> = None;
        let mut head: Vec<u8> = Vec::with_capacity(PG_DUMP_MAGIC.len());
        let mut plain = Vec::new();
        while let Some(chunk) = stream.try_next().await.map_err(BackupError::store(&path))? {
            hasher.update(&chunk);
            bytes += chunk.len() as u64;
            self.progress.bytes(Step::Download, bytes);
            if failure.is_some() || !decrypt {
                continue;
            }
            plain.clear();
            let out: &[u8] = match decryptor.as_mut() {
                Some(dec) => match dec.push(&chunk, &mut plain) {
                    Ok(()) => &plain,
                    Err(e) => {
                        failure = Some(e);
                        continue;
                    }
                },
                None => &chunk,
            };
            write_plain(out, &mut head, sink.as_deref_mut()).await?;
        }
        if failure.is_none()
            && let Some(dec) = decryptor
        {
            plain.clear();
            match dec.finish(&mut plain) {
                Ok(()) => write_plain(&plain, &mut head, sink.as_deref_mut()).await?,
                Err(e) => failure = Some(e),
            }
        }
        if let Some(f) = sink {
            f.flush().await.map_err(BackupError::io("writing the temporary dump file"))?;
        }
        self.progress.step_finished(Step::Download);
        let actual = hex::encode(hasher.finalize());
        if actual != manifest.sha256 || bytes != manifest.size_bytes {
            return Err(BackupError::ChecksumMismatch {
                path: path.to_string(),
                expected: manifest.sha256.clone(),
                actual,
            });
        }
        if let Some(e) = failure {
            return Err(match e {
                CryptError::OtherKey(backup_key_id) => BackupError::WrongKey {
                    path: path.to_string(),
                    backup_key_id,
                    given_key_id: self.key.as_ref().map(|k| k.id().to_owned()).unwrap_or_default(),
                },
                // The object is the one that was stored, yet its first chunk does not open:
                // the key has the right id but other bytes.
                CryptError::Auth { chunk: 0 } => BackupError::WrongKey {
                    path: path.to_string(),
                    backup_key_id: manifest.key_id.clone().unwrap_or_default(),
                    given_key_id: self.key.as_ref().map(|k| k.id().to_owned()).unwrap_or_default(),
                },
                other => BackupError::Corrupt { path: path.to_string(), reason: other.to_string() },
            });
        }
        if decrypt && head.as_slice() != PG_DUMP_MAGIC {
            return Err(BackupError::Corrupt {
                path: path.to_string(),
                reason: "the content is not a pg_dump custom-format archive".into(),
            });
        }
        Ok(Downloaded { bytes })
    }
}

/// Keep the first bytes of the plaintext (to check the archive's magic) and write it out.
async fn write_plain(data: &[u8], head: &mut Vec<u8>, sink: Option<&mut tokio::fs::File>) -> Result<(), BackupError> {
    if head.len() < PG_DUMP_MAGIC.len() {
        let take = (PG_DUMP_MAGIC.len() - head.len()).min(data.len());
        head.extend_from_slice(&data[..take]);
    }
    if let Some(f) = sink {
        f.write_all(data).await.map_err(BackupError::io("writing the temporary dump file"))?;
    }
    Ok(())
}

/// An error and its sources, as one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = cause.source();
    }
    s
}

/// Drops a database the library created when it goes out of scope still armed (the restore's
/// future was dropped mid-way): the drop is spawned on the runtime.
struct DropDatabaseGuard {
    server: Target,
    name: String,
    armed: bool,
}

impl Drop for DropDatabaseGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (server, name) = (self.server.clone(), std::mem::take(&mut self.name));
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            tracing::warn!(database = %name, "restore abandoned; dropping its database");
            rt.spawn(async move {
                let dropped = async {
                    let mut conn = server.connect("connecting to drop an abandoned database").await?;
                    pg::drop_database(&mut conn, &name).await
                };
                if let Err(e) = dropped.await {
                    tracing::warn!(database = %name, error = %e, "could not drop the abandoned database");
                }
            });
        }
    }
}
