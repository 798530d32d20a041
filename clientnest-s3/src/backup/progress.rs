//! Observing a long backup or restore: steps and bytes.

use std::fmt;

/// A step of a backup, restore, verification, drill or prune, as reported to [`Progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// Checking the client tool, connecting, taking the advisory lock, exporting the snapshot.
    Prepare,
    /// Streaming `pg_dump`'s output into the store (bytes: dump bytes read from `pg_dump`).
    Dump,
    /// Counting every table's rows in the dump's snapshot.
    CountRows,
    /// Writing the manifest (the backup is complete once it exists).
    WriteManifest,
    /// Downloading (and decrypting) the dump while hashing it (bytes: stored bytes read; the
    /// total is the manifest's size).
    Download,
    /// Creating the target database.
    CreateDatabase,
    /// Running `pg_restore`.
    Restore,
    /// Counting the restored rows and comparing them with the manifest.
    VerifyRows,
    /// Dropping a scratch database.
    DropDatabase,
    /// Writing a drill record.
    WriteDrillRecord,
    /// Deleting backups that the retention policy does not keep.
    Prune,
}

impl Step {
    /// A short lowercase name (`"dump"`, `"verify rows"`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Step::Prepare => "prepare",
            Step::Dump => "dump",
            Step::CountRows => "count rows",
            Step::WriteManifest => "write manifest",
            Step::Download => "download",
            Step::CreateDatabase => "create database",
            Step::Restore => "restore",
            Step::VerifyRows => "verify rows",
            Step::DropDatabase => "drop database",
            Step::WriteDrillRecord => "write drill record",
            Step::Prune => "prune",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Receives the progress of [`Backups`](super::Backups) operations, e.g. to draw progress
/// bars. Every method has an empty default; calls come from the task running the operation and
/// must not block.
pub trait Progress: Send + Sync {
    /// `step` starts; `total_bytes` is its size when known in advance.
    fn step_started(&self, step: Step, total_bytes: Option<u64>) {
        let _ = (step, total_bytes);
    }

    /// `done` bytes of `step` are through so far (a running total, not an increment).
    fn bytes(&self, step: Step, done: u64) {
        let _ = (step, done);
    }

    /// `step` ended (successfully or not: the operation's result says which).
    fn step_finished(&self, step: Step) {
        let _ = step;
    }
}

/// Progress that goes nowhere (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}
