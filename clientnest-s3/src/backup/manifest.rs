//! What is written next to a dump: the backup's id and object names, its manifest and the
//! records of restore drills.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::BackupError;

/// The time format of backup object names: UTC, to the second (`20260314T020000Z`).
pub const STAMP_FORMAT: &str = "%Y%m%dT%H%M%SZ";
/// Suffix of dump objects.
pub const DUMP_SUFFIX: &str = ".dump";
/// Suffix of manifest objects; a dump is a complete backup only once its manifest exists.
pub const MANIFEST_SUFFIX: &str = ".manifest.json";
/// Suffix of restore drill records.
pub const DRILL_SUFFIX: &str = ".drill.json";

/// One backup: the database it was taken of and when (UTC, to the second).
///
/// Its objects are `{prefix}/{database}/{YYYYMMDDTHHMMSSZ}.dump`, `.manifest.json` and
/// `.drill.json`. Written as text it is `{database}/{YYYYMMDDTHHMMSSZ}`, which
/// [`FromStr`] reads back (as does [`Backups::parse_id`](super::Backups::parse_id), which also
/// accepts an object key).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BackupId {
    /// The database's name on its server.
    pub database: String,
    /// When the backup started, UTC, whole seconds.
    pub taken_at: DateTime<Utc>,
}

impl BackupId {
    /// The backup of `database` taken at `taken_at` (truncated to the second).
    pub fn new(database: impl Into<String>, taken_at: DateTime<Utc>) -> Self {
        let taken_at = DateTime::from_timestamp(taken_at.timestamp(), 0).unwrap_or(taken_at);
        Self { database: database.into(), taken_at }
    }

    /// `YYYYMMDDTHHMMSSZ`.
    pub fn stamp(&self) -> String {
        self.taken_at.format(STAMP_FORMAT).to_string()
    }
}

impl fmt::Display for BackupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.database, self.stamp())
    }
}

impl FromStr for BackupId {
    type Err = BackupError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BackupError::InvalidId { id: s.to_owned() };
        let (database, stamp) = s.rsplit_once('/').ok_or_else(bad)?;
        let taken_at = parse_stamp(stamp).ok_or_else(bad)?;
        if database.is_empty() {
            return Err(bad());
        }
        Ok(Self { database: database.to_owned(), taken_at })
    }
}

/// Parse `YYYYMMDDTHHMMSSZ`.
pub(crate) fn parse_stamp(stamp: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(stamp, STAMP_FORMAT).ok().map(|t| t.and_utc())
}

/// Version of the manifest format written.
pub const MANIFEST_VERSION: u32 = 1;

/// The description of a complete backup, written after its dump object completed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BackupManifest {
    /// Format version of this document ([`MANIFEST_VERSION`]).
    pub manifest_version: u32,
    /// Which backup.
    pub id: BackupId,
    /// The dump object's key in the store.
    pub dump_path: String,
    /// What the dump is: `pg_dump --format=custom`, possibly encrypted.
    pub format: String,
    /// When the backup finished (the dump completed), UTC.
    pub finished_at: DateTime<Utc>,
    /// Size of the stored object, bytes (after encryption, if any).
    pub size_bytes: u64,
    /// SHA-256 of the stored object, lowercase hex (after encryption, if any).
    pub sha256: String,
    /// Size of the dump before encryption, bytes.
    pub dump_bytes: u64,
    /// The server's `SHOW server_version`.
    pub server_version: String,
    /// The server's `server_version_num` (e.g. 150020).
    pub server_version_num: u32,
    /// What `pg_dump --version` printed.
    pub pg_dump_version: String,
    /// Installed extensions and their versions (`pg_extension`).
    pub extensions: Vec<ExtensionVersion>,
    /// Whether the object is encrypted (see `key_id` and `encryption`).
    pub encrypted: bool,
    /// The id of the key the object is encrypted with.
    pub key_id: Option<String>,
    /// The encryption scheme, when encrypted.
    pub encryption: Option<EncryptionInfo>,
    /// Exact row counts of every table, taken in the dump's snapshot.
    pub tables: Vec<TableRows>,
}

impl BackupManifest {
    /// Whether the backed-up database had the extension `name` installed.
    pub fn has_extension(&self, name: &str) -> bool {
        self.extensions.iter().any(|e| e.name == name)
    }

    /// Sum of the row counts of every table.
    pub fn total_rows(&self) -> i64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

/// An installed extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionVersion {
    /// `extname`.
    pub name: String,
    /// `extversion`.
    pub version: String,
}

/// How an encrypted backup is encrypted (the key itself is never written anywhere).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptionInfo {
    /// `AES-256-GCM STREAM-BE32`.
    pub algorithm: String,
    /// Plaintext bytes per chunk.
    pub chunk_bytes: u64,
    /// Version of the encrypted object's header.
    pub header_version: u8,
}

/// A table's exact row count.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TableRows {
    /// Its schema.
    pub schema: String,
    /// Its name.
    pub table: String,
    /// `count(*)`.
    pub rows: i64,
}

impl TableRows {
    /// `schema.table`, each part quoted when it needs to be.
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", super::pg::display_ident(&self.schema), super::pg::display_ident(&self.table))
    }
}

/// The record of one restore drill, written as `{stamp}.drill.json` next to the backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DrillRecord {
    /// The backup drilled.
    pub backup: BackupId,
    /// When the drill started, UTC.
    pub started_at: DateTime<Utc>,
    /// How long it took, milliseconds.
    pub duration_ms: u64,
    /// The scratch database it restored into (dropped afterwards).
    pub scratch_database: String,
    /// Whether the restore and every check passed.
    pub ok: bool,
    /// The error, when it failed.
    pub error: Option<String>,
    /// How many tables' row counts were compared.
    pub tables_checked: usize,
    /// How many rows were counted in the restored database.
    pub rows_checked: i64,
    /// Whether the scratch database was dropped.
    pub scratch_dropped: bool,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn ids_print_and_parse() {
        let id = BackupId::new("app-db", Utc.with_ymd_and_hms(2026, 3, 14, 2, 0, 9).unwrap());
        assert_eq!(id.to_string(), "app-db/20260314T020009Z");
        assert_eq!(id.to_string().parse::<BackupId>().unwrap(), id);
        assert!("nope".parse::<BackupId>().is_err());
        assert!("/20260314T020009Z".parse::<BackupId>().is_err());
        assert!("db/2026-03-14".parse::<BackupId>().is_err());
    }
}
