//! The one error type of backups, restores, drills and retention.

use std::path::PathBuf;
use std::process::ExitStatus;

/// What went wrong in a backup, restore, verification, drill or prune.
///
/// Messages never contain key material or passwords; database URLs are not part of any
/// variant. Underlying errors are kept as the [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// A PostgreSQL client tool (`pg_dump`, `pg_restore`) could not be started: not installed,
    /// not in `PATH`, or not executable.
    #[error("{tool} could not be started from {path:?} (is the PostgreSQL client installed?): {source}")]
    MissingTool {
        /// `pg_dump` or `pg_restore`.
        tool: &'static str,
        /// The program that was tried.
        path: PathBuf,
        /// The error of the attempt to start it.
        #[source]
        source: std::io::Error,
    },
    /// The client tool's major version is older than the server's: `pg_dump` refuses to dump a
    /// newer server, and its archive would not be complete.
    #[error(
        "{tool} {tool_version} is older than the server (PostgreSQL {server_version}); install a client of major version >= {server_major}"
    )]
    VersionMismatch {
        /// `pg_dump` or `pg_restore`.
        tool: &'static str,
        /// The version the tool reported (`15.20`).
        tool_version: String,
        /// The server's `server_version`.
        server_version: String,
        /// The server's major version.
        server_major: u32,
    },
    /// A client tool exited with a failure status; `stderr` holds the end of what it wrote.
    #[error("{tool} failed ({status}): {stderr}")]
    ToolFailed {
        /// `pg_dump` or `pg_restore`.
        tool: &'static str,
        /// Its exit status.
        status: ExitStatus,
        /// The last few KiB of its standard error.
        stderr: String,
    },
    /// Another backup of the same database holds the backup advisory lock
    /// ([`BACKUP_LOCK_KEY`](super::BACKUP_LOCK_KEY)); nothing was written.
    #[error("a backup of database {database:?} is already running")]
    AlreadyRunning {
        /// The database being backed up.
        database: String,
    },
    /// A PostgreSQL query or connection failed.
    #[error("PostgreSQL error while {context}: {source}")]
    Database {
        /// What was being done (`"counting rows"`, `"creating the database"`).
        context: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// An object store call failed.
    #[error("object store error on {path}: {source}")]
    Store {
        /// The object (or prefix) concerned.
        path: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },
    /// Local I/O failed (the temporary file of a restore, a tool's pipes).
    #[error("I/O error while {context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// No complete backup (a dump with its manifest) matches.
    #[error("no backup found: {what}")]
    NotFound {
        /// What was looked for (`"database app"`, `"backups/app/20260101T000000Z"`).
        what: String,
    },
    /// The stored object's SHA-256 (or size) differs from its manifest: it was changed or
    /// truncated after the backup. Detected before anything was restored.
    #[error("checksum mismatch for {path}: manifest says sha256 {expected}, stored object has {actual}")]
    ChecksumMismatch {
        /// The dump object.
        path: String,
        /// The manifest's SHA-256, hex.
        expected: String,
        /// The SHA-256 of the object as downloaded, hex.
        actual: String,
    },
    /// The backup is encrypted under another key than the one given (another key id, or the
    /// same id with other key bytes).
    #[error(
        "wrong key for {path}: the backup is encrypted with key {backup_key_id:?}, the key given is {given_key_id:?}"
    )]
    WrongKey {
        /// The dump object.
        path: String,
        /// The key id recorded in the backup.
        backup_key_id: String,
        /// The id of the key that was given.
        given_key_id: String,
    },
    /// The backup is encrypted and no key was configured
    /// ([`Backups::with_key`](super::Backups::with_key)).
    #[error("{path} is encrypted with key {key_id:?}; no backup key was given")]
    KeyRequired {
        /// The dump object.
        path: String,
        /// The key id recorded in the backup.
        key_id: String,
    },
    /// The stored object is not a readable backup although its checksum matches its manifest
    /// (a bad encryption header, an authentication failure after the first chunk, a truncated
    /// stream), or its manifest and its content disagree.
    #[error("{path} is corrupt: {reason}")]
    Corrupt {
        /// The dump object.
        path: String,
        /// What is wrong, never containing key material.
        reason: String,
    },
    /// A manifest or drill record could not be read or written as JSON.
    #[error("bad manifest {path}: {source}")]
    Manifest {
        /// The manifest object.
        path: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A database name the library would create or drop is not acceptable.
    #[error("invalid database name {name:?}: {reason}")]
    InvalidDatabaseName {
        /// The name refused.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// The target database of a restore already exists and replacing it was not asked for
    /// ([`RestoreOptions::replace_existing`](super::RestoreOptions::replace_existing)).
    #[error("database {name:?} already exists (restore into a new database, or ask to replace it)")]
    DatabaseExists {
        /// The existing database.
        name: String,
    },
    /// After a restore, a table's row count differs from the manifest (or the table is missing:
    /// `actual` is `None`).
    #[error("row count mismatch in {table}: manifest has {expected} rows, restored database has {}", actual.map_or_else(|| "no such table".to_owned(), |n| n.to_string()))]
    RowCountMismatch {
        /// The table, `schema.name` (quoted where needed).
        table: String,
        /// Rows counted in the backup's snapshot.
        expected: i64,
        /// Rows counted after the restore, `None` when the table is missing.
        actual: Option<i64>,
    },
    /// A backup key could not be parsed (wrong length, not hex or base64, bad id).
    #[error("invalid backup key: {reason}")]
    InvalidKey {
        /// Why; never contains the key.
        reason: &'static str,
    },
    /// A backup id or object key could not be parsed.
    #[error("invalid backup id {id:?}: expected <database>/<YYYYMMDDTHHMMSSZ> or a dump object key")]
    InvalidId {
        /// The text given.
        id: String,
    },
    /// A database URL could not be used.
    #[error("invalid database URL: {reason}")]
    InvalidUrl {
        /// Why; never contains the URL (it may hold a password).
        reason: String,
    },
}

impl BackupError {
    pub(crate) fn db(context: impl Into<String>) -> impl FnOnce(sqlx::Error) -> Self {
        let context = context.into();
        move |source| Self::Database { context, source }
    }

    pub(crate) fn store(path: impl std::fmt::Display) -> impl FnOnce(object_store::Error) -> Self {
        let path = path.to_string();
        move |source| Self::Store { path, source }
    }

    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }
}

/// The name under which backup failures appear in [`clientnest_core::Error`]'s `store`.
pub const BACKUP_STORE: &str = "backup";

impl From<BackupError> for clientnest_core::Error {
    /// Connection failures become [`Unavailable`](clientnest_core::Error::Unavailable)
    /// (retryable); everything else [`Backend`](clientnest_core::Error::Backend), with the
    /// backup error kept as the source.
    fn from(e: BackupError) -> Self {
        let retryable = match &e {
            BackupError::Database { source, .. } => {
                matches!(source, sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_))
            }
            BackupError::AlreadyRunning { .. } => true,
            _ => false,
        };
        if retryable {
            clientnest_core::Error::unavailable(BACKUP_STORE, e)
        } else {
            clientnest_core::Error::backend(BACKUP_STORE, e)
        }
    }
}
