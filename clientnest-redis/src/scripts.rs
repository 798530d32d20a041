//! The Lua scripts, one per multi-step operation, each in its own file under `lua/` with a
//! header naming its KEYS and ARGV. Each is hashed once, on first use; calls go out as EVALSHA
//! and fall back to loading the script when the server does not know it yet (after a restart
//! or failover).
//!
//! Every script is one `static` below, naming its file once; [`ALL`] lists them for
//! [`script_hashes`] and [`RedisKv::load_scripts`](crate::RedisKv::load_scripts). A script may
//! run after a library of local functions (`QUEUE_RESERVE = "queue_reserve.lua" after "queue_lib.lua"`):
//! the server sees the library's text followed by the script's, as one script.

use std::ops::Deref;
use std::sync::OnceLock;

use redis::Script;

/// One script of `lua/`: its file name and text, and the [`Script`] (text plus SHA-1) built on
/// first use.
#[derive(Debug)]
pub(crate) struct Lua {
    /// The file's name under `lua/`, e.g. `session_create.lua`.
    file: &'static str,
    /// The library file the script runs after, if any, e.g. `queue_lib.lua`.
    #[cfg_attr(not(test), expect(dead_code, reason = "the file tests read it"))]
    library: Option<&'static str>,
    /// The text the server runs (the library's, then the file's), embedded at build time.
    source: &'static str,
    /// The script, hashed on first use.
    script: OnceLock<Script>,
}

impl Lua {
    /// A script from its file name, its library's, and the text the server runs.
    const fn new(file: &'static str, library: Option<&'static str>, source: &'static str) -> Self {
        Self { file, library, source, script: OnceLock::new() }
    }

    /// The file's name under `lua/`.
    pub(crate) fn file(&self) -> &'static str {
        self.file
    }

    /// The library file the script runs after, if any.
    #[cfg(test)]
    fn library(&self) -> Option<&'static str> {
        self.library
    }
}

impl Deref for Lua {
    type Target = Script;

    fn deref(&self) -> &Script {
        self.script.get_or_init(|| Script::new(self.source))
    }
}

/// One `static` per script from its file under `lua/` (after its library's text, when it names
/// one), and [`ALL`] listing them.
macro_rules! scripts {
    ($($(#[$doc:meta])* $name:ident = $file:literal $(after $library:literal)?;)+) => {
        $(
            $(#[$doc])*
            pub(crate) static $name: Lua = Lua::new(
                $file,
                scripts!(@library $($library)?),
                concat!($(include_str!(concat!("../lua/", $library)),)? include_str!(concat!("../lua/", $file))),
            );
        )+

        /// Every script of the adapter.
        pub(crate) static ALL: &[&Lua] = &[$(&$name),+];
    };
    (@library $library:literal) => { Some($library) };
    (@library) => { None };
}

scripts! {
    /// Create a session unless its id is taken, and index it in its bucket.
    SESSION_CREATE = "session_create.lua";
    /// Record activity on a live session and slide its expiry.
    SESSION_TOUCH = "session_touch.lua";
    /// End one session and drop it from its bucket's index.
    SESSION_DELETE = "session_delete.lua";
    /// End listed sessions of one user and drop them from their bucket's index.
    SESSION_REVOKE = "session_revoke.lua";
    /// Release a cache load lock if the token still holds it.
    CACHE_UNLOCK = "cache_unlock.lua";
    /// Delete a cached value and advance its generation, atomically.
    CACHE_DELETE = "cache_delete.lua";
    /// Store a cached value only if its generation is still the one the loader read.
    CACHE_SET_IF_GENERATION = "cache_set_if_generation.lua";
    /// One step of the generic cell rate algorithm.
    RATE_GCRA = "rate_gcra.lua";
    /// Enqueue a job, ready now or delayed, idempotent under an idempotency key.
    QUEUE_ENQUEUE = "queue_enqueue.lua";
    /// Enqueue jobs in order, each as `QUEUE_ENQUEUE` would.
    QUEUE_ENQUEUE_BATCH = "queue_enqueue_batch.lua";
    /// Reserve the next ready job under a lease.
    QUEUE_RESERVE = "queue_reserve.lua" after "queue_lib.lua";
    /// Reserve up to a number of ready jobs, each under a lease of its own.
    QUEUE_RESERVE_BATCH = "queue_reserve_batch.lua" after "queue_lib.lua";
    /// Forget a finished job if the lease still holds it.
    QUEUE_ACK = "queue_ack.lua";
    /// Forget finished jobs, each if its lease still holds it.
    QUEUE_ACK_BATCH = "queue_ack_batch.lua";
    /// Forget a finished job if the lease still holds it, then reserve the next ready job.
    QUEUE_ACK_RESERVE = "queue_ack_reserve.lua" after "queue_lib.lua";
    /// Retry a failed job with backoff, or dead-letter it after its last attempt.
    QUEUE_FAIL = "queue_fail.lua" after "queue_lib.lua";
    /// Extend a lease (heartbeat) if it still holds the job.
    QUEUE_EXTEND = "queue_extend.lua";
    /// Make ready again the jobs whose lease expired, a bounded number per call.
    QUEUE_REQUEUE = "queue_requeue.lua" after "queue_lib.lua";
    /// List dead letters within the retention age, oldest first.
    QUEUE_DEAD_LETTERS = "queue_dead_letters.lua";
    /// Move a dead job back to ready with its attempts reset.
    QUEUE_REPLAY = "queue_replay.lua";
    /// Count a queue's jobs per state.
    QUEUE_COUNTS = "queue_counts.lua";
}

/// The SHA-1 of every script by file name, as `SCRIPT EXISTS` and `EVALSHA` know them.
pub fn script_hashes() -> Vec<(&'static str, String)> {
    ALL.iter().map(|lua| (lua.file(), lua.get_hash().to_owned())).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_script_has_a_keys_header_and_a_distinct_hash() {
        let hashes = script_hashes();
        let distinct: std::collections::HashSet<&String> = hashes.iter().map(|(_, h)| h).collect();
        assert_eq!(distinct.len(), hashes.len());
        for lua in ALL {
            let name = lua.file();
            let path = format!("{}/lua/{name}", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).expect("script file");
            assert!(text.starts_with("-- "), "{name} starts with a comment");
            assert!(text.contains("-- KEYS[1]:"), "{name} names its KEYS");
            assert!(text.contains("-- Returns:"), "{name} names its reply");
            if let Some(library) = lua.library() {
                assert!(text.contains(&format!("Runs after {library}.")), "{name} says it runs after {library}");
            }
        }
    }

    #[test]
    fn every_file_under_lua_is_a_script() {
        let dir = format!("{}/lua", env!("CARGO_MANIFEST_DIR"));
        let files: BTreeSet<String> = std::fs::read_dir(&dir)
            .expect("the lua directory")
            .map(|entry| entry.expect("a directory entry").file_name().to_string_lossy().into_owned())
            .collect();
        let used: BTreeSet<String> =
            ALL.iter().flat_map(|lua| [Some(lua.file()), lua.library()]).flatten().map(str::to_owned).collect();
        assert_eq!(files, used, "every file of lua/ is one script or a library of some");
    }
}
