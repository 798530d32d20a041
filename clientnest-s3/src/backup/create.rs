//! Taking a backup: `pg_dump` in an exported snapshot, streamed into a multipart upload, rows
//! counted in the same snapshot, then the manifest.

use std::process::Stdio;

use bytes::Bytes;
use chrono::Duration;
use object_store::ObjectStoreExt;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use tokio::io::AsyncReadExt;
use tokio::process::{ChildStdout, Command};
use tracing::Instrument;

use super::crypt::{self, StreamEncryptor};
use super::error::BackupError;
use super::manifest::{BackupId, BackupManifest, EncryptionInfo, MANIFEST_VERSION};
use super::pg::{self, Target, ToolVersion};
use super::progress::Step;
use super::upload::GuardedUpload;
use super::{BACKUP_LOCK_KEY, Backups};

/// How much of `pg_dump`'s output is read at once.
const READ_BUF: usize = 256 * 1024;

/// What streaming the dump produced.
struct Streamed {
    dump_bytes: u64,
    stored_bytes: u64,
    sha256: String,
}

impl Backups {
    /// Back up the database `database_url` points at (any PostgreSQL database, with or without
    /// TimescaleDB) and return its manifest, which was written last.
    ///
    /// The backup is named by the database and the clock's time
    /// (`{prefix}/{database}/{YYYYMMDDTHHMMSSZ}.dump`; a second later if that name is taken).
    /// A password in the URL is handed to `pg_dump` as `PGPASSWORD`, not on its command line.
    ///
    /// # Errors
    ///
    /// [`BackupError::MissingTool`] when `pg_dump` cannot be run; [`BackupError::VersionMismatch`]
    /// when it is older than the server; [`BackupError::AlreadyRunning`] when another backup of
    /// the database holds the lock; [`BackupError::ToolFailed`] when `pg_dump` fails;
    /// [`BackupError::Database`] and [`BackupError::Store`] when the server or the store fail.
    /// On any failure after the upload started, the upload is aborted and no manifest is
    /// written.
    #[tracing::instrument(skip_all, fields(database), err)]
    pub async fn create(&self, database_url: &str) -> Result<BackupManifest, BackupError> {
        let target = Target::parse(database_url)?;
        self.progress.step_started(Step::Prepare, None);
        let dump_version = pg::tool_version("pg_dump", &self.pg_dump).await?;
        let mut conn = target.connect("connecting to the database to back up").await?;
        let database: String = sqlx::query_scalar("SELECT current_database()::text")
            .fetch_one(&mut conn)
            .await
            .map_err(BackupError::db("reading the database name"))?;
        tracing::Span::current().record("database", database.as_str());
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(BACKUP_LOCK_KEY)
            .fetch_one(&mut conn)
            .await
            .map_err(BackupError::db("taking the backup lock"))?;
        if !locked {
            return Err(BackupError::AlreadyRunning { database });
        }
        let result = self.create_locked(&mut conn, &target, &database, &dump_version).await;
        if result.is_err() {
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut conn).await;
        }
        // Closing the session releases the lock too; unlock first to be explicit.
        let _ = sqlx::query("SELECT pg_advisory_unlock($1)").bind(BACKUP_LOCK_KEY).execute(&mut conn).await;
        let _ = sqlx::Connection::close(conn).await;
        result
    }

    async fn create_locked(
        &self,
        conn: &mut PgConnection,
        target: &Target,
        database: &str,
        dump_version: &ToolVersion,
    ) -> Result<BackupManifest, BackupError> {
        let (server_version, server_version_num) = pg::server_version(conn).await?;
        pg::check_versions("pg_dump", dump_version, &server_version, server_version_num)?;
        let extensions = pg::extensions(conn).await?;
        let id = self.unused_id(database).await?;

        sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *conn)
            .await
            .map_err(BackupError::db("starting the snapshot transaction"))?;
        let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
            .fetch_one(&mut *conn)
            .await
            .map_err(BackupError::db("exporting the snapshot"))?;
        let tables = pg::list_tables(conn).await?;
        self.progress.step_finished(Step::Prepare);

        let mut cmd = Command::new(&self.pg_dump);
        cmd.arg("--format=custom").arg(format!("--snapshot={snapshot}"));
        target.apply(&mut cmd);
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|source| BackupError::MissingTool {
            tool: "pg_dump",
            path: self.pg_dump.clone(),
            source,
        })?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(BackupError::Io {
                context: "starting pg_dump".into(),
                source: std::io::Error::other("pg_dump's pipes are missing"),
            });
        };
        let stderr = tokio::spawn(pg::read_stderr(stderr));

        let dump_path = self.dump_path(&id);
        let mut upload =
            GuardedUpload::start(self.store.as_ref(), &dump_path, self.part_size, self.concurrency).await?;
        self.progress.step_started(Step::Dump, None);
        let started = std::time::Instant::now();
        let streamed = self.stream_dump(stdout, &mut upload).instrument(tracing::info_span!("dump", path = %dump_path));
        let counted = async {
            self.progress.step_started(Step::CountRows, None);
            let counts = pg::count_rows(conn, &tables).await;
            self.progress.step_finished(Step::CountRows);
            counts
        }
        .instrument(tracing::info_span!("count_rows", tables = tables.len()));
        let (streamed, counts) = match tokio::try_join!(streamed, counted) {
            Ok(done) => done,
            Err(e) => {
                let _ = child.start_kill();
                upload.abort().await;
                return Err(e);
            }
        };
        let status = match child.wait().await {
            Ok(status) => status,
            Err(e) => {
                upload.abort().await;
                return Err(BackupError::io("waiting for pg_dump")(e));
            }
        };
        let stderr = stderr.await.unwrap_or_default();
        if !status.success() {
            upload.abort().await;
            return Err(BackupError::ToolFailed { tool: "pg_dump", status, stderr });
        }
        upload.finish().await?;
        self.progress.step_finished(Step::Dump);
        tracing::info!(bytes = streamed.stored_bytes, seconds = started.elapsed().as_secs_f64(), "dump stored");
        // The snapshot is no longer needed; the lock is released by the caller.
        sqlx::raw_sql("ROLLBACK")
            .execute(&mut *conn)
            .await
            .map_err(BackupError::db("ending the snapshot transaction"))?;

        let manifest = BackupManifest {
            manifest_version: MANIFEST_VERSION,
            dump_path: dump_path.to_string(),
            format: if self.key.is_some() { "pg_dump-custom+cnbk-aes256gcm" } else { "pg_dump-custom" }.to_owned(),
            finished_at: self.clock.now(),
            size_bytes: streamed.stored_bytes,
            sha256: streamed.sha256,
            dump_bytes: streamed.dump_bytes,
            server_version,
            server_version_num,
            pg_dump_version: dump_version.text.clone(),
            extensions,
            encrypted: self.key.is_some(),
            key_id: self.key.as_ref().map(|k| k.id().to_owned()),
            encryption: self.key.as_ref().map(|_| EncryptionInfo {
                algorithm: crypt::ALGORITHM.to_owned(),
                chunk_bytes: crypt::DEFAULT_CHUNK as u64,
                header_version: crypt::VERSION,
            }),
            tables: counts,
            id,
        };
        self.progress.step_started(Step::WriteManifest, None);
        self.put_json(&self.manifest_path(&manifest.id), &manifest).await?;
        self.progress.step_finished(Step::WriteManifest);
        tracing::info!(backup = %manifest.id, tables = manifest.tables.len(), "backup complete");
        Ok(manifest)
    }

    /// A backup id for `database` at the clock's time whose objects do not exist yet (a second
    /// later while they do).
    async fn unused_id(&self, database: &str) -> Result<BackupId, BackupError> {
        let mut id = BackupId::new(database, self.clock.now());
        for _ in 0..120 {
            let mut taken = false;
            for path in [self.dump_path(&id), self.manifest_path(&id)] {
                match self.store.head(&path).await {
                    Ok(_) => taken = true,
                    Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(BackupError::store(&path)(e)),
                }
            }
            if !taken {
                return Ok(id);
            }
            id = BackupId::new(database, id.taken_at + Duration::seconds(1));
        }
        Err(BackupError::Io {
            context: "naming the backup".into(),
            source: std::io::Error::other("no free backup name within two minutes of now"),
        })
    }

    /// Copy `pg_dump`'s output into the upload, encrypting it when a key is set and hashing
    /// what is stored.
    async fn stream_dump(&self, mut stdout: ChildStdout, upload: &mut GuardedUpload) -> Result<Streamed, BackupError> {
        let mut hasher = Sha256::new();
        let mut stored_bytes = 0u64;
        let mut dump_bytes = 0u64;
        let mut encryptor = match &self.key {
            Some(key) => {
                let (enc, header) = StreamEncryptor::new(key, crypt::DEFAULT_CHUNK);
                hasher.update(&header);
                stored_bytes += header.len() as u64;
                upload.write(Bytes::from(header)).await?;
                Some(enc)
            }
            None => None,
        };
        let mut buf = vec![0u8; READ_BUF];
        loop {
            let n = stdout.read(&mut buf).await.map_err(BackupError::io("reading pg_dump's output"))?;
            if n == 0 {
                break;
            }
            dump_bytes += n as u64;
            let out = match encryptor.as_mut() {
                Some(enc) => {
                    let mut sealed = Vec::new();
                    enc.push(&buf[..n], &mut sealed).map_err(|e| corrupt(e.to_string()))?;
                    Bytes::from(sealed)
                }
                None => Bytes::copy_from_slice(&buf[..n]),
            };
            if !out.is_empty() {
                hasher.update(&out);
                stored_bytes += out.len() as u64;
                upload.write(out).await?;
            }
            self.progress.bytes(Step::Dump, dump_bytes);
        }
        if let Some(enc) = encryptor {
            let mut sealed = Vec::new();
            enc.finish(&mut sealed).map_err(|e| corrupt(e.to_string()))?;
            hasher.update(&sealed);
            stored_bytes += sealed.len() as u64;
            upload.write(Bytes::from(sealed)).await?;
        }
        Ok(Streamed { dump_bytes, stored_bytes, sha256: hex::encode(hasher.finalize()) })
    }
}

fn corrupt(reason: String) -> BackupError {
    BackupError::Corrupt { path: String::new(), reason }
}
