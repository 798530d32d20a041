//! The Lua scripts, one per multi-step operation, each in its own file under `lua/` with a
//! header naming its KEYS and ARGV. Each is hashed once; calls go out as EVALSHA and fall back
//! to loading the script when the server does not know it yet (after a restart or failover).

use std::sync::LazyLock;

use redis::Script;

/// Every script of the adapter.
#[derive(Debug)]
pub(crate) struct Scripts {
    /// `session_create.lua`.
    pub(crate) session_create: Script,
    /// `session_touch.lua`.
    pub(crate) session_touch: Script,
    /// `session_delete.lua`.
    pub(crate) session_delete: Script,
    /// `session_revoke.lua`.
    pub(crate) session_revoke: Script,
    /// `cache_unlock.lua`.
    pub(crate) cache_unlock: Script,
    /// `cache_delete.lua`.
    pub(crate) cache_delete: Script,
    /// `cache_set_if_generation.lua`.
    pub(crate) cache_set_if_generation: Script,
    /// `rate_gcra.lua`.
    pub(crate) rate_gcra: Script,
    /// `queue_enqueue.lua`.
    pub(crate) queue_enqueue: Script,
    /// `queue_reserve.lua`.
    pub(crate) queue_reserve: Script,
    /// `queue_ack.lua`.
    pub(crate) queue_ack: Script,
    /// `queue_fail.lua`.
    pub(crate) queue_fail: Script,
    /// `queue_extend.lua`.
    pub(crate) queue_extend: Script,
    /// `queue_requeue.lua`.
    pub(crate) queue_requeue: Script,
    /// `queue_dead_letters.lua`.
    pub(crate) queue_dead_letters: Script,
    /// `queue_replay.lua`.
    pub(crate) queue_replay: Script,
    /// `queue_counts.lua`.
    pub(crate) queue_counts: Script,
}

/// The scripts, hashed on first use.
pub(crate) static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    session_create: Script::new(include_str!("../lua/session_create.lua")),
    session_touch: Script::new(include_str!("../lua/session_touch.lua")),
    session_delete: Script::new(include_str!("../lua/session_delete.lua")),
    session_revoke: Script::new(include_str!("../lua/session_revoke.lua")),
    cache_unlock: Script::new(include_str!("../lua/cache_unlock.lua")),
    cache_delete: Script::new(include_str!("../lua/cache_delete.lua")),
    cache_set_if_generation: Script::new(include_str!("../lua/cache_set_if_generation.lua")),
    rate_gcra: Script::new(include_str!("../lua/rate_gcra.lua")),
    queue_enqueue: Script::new(include_str!("../lua/queue_enqueue.lua")),
    queue_reserve: Script::new(include_str!("../lua/queue_reserve.lua")),
    queue_ack: Script::new(include_str!("../lua/queue_ack.lua")),
    queue_fail: Script::new(include_str!("../lua/queue_fail.lua")),
    queue_extend: Script::new(include_str!("../lua/queue_extend.lua")),
    queue_requeue: Script::new(include_str!("../lua/queue_requeue.lua")),
    queue_dead_letters: Script::new(include_str!("../lua/queue_dead_letters.lua")),
    queue_replay: Script::new(include_str!("../lua/queue_replay.lua")),
    queue_counts: Script::new(include_str!("../lua/queue_counts.lua")),
});

/// The SHA-1 of every script by file name, as `SCRIPT EXISTS` and `EVALSHA` know them.
pub fn script_hashes() -> Vec<(&'static str, String)> {
    let s = &*SCRIPTS;
    [
        ("session_create.lua", &s.session_create),
        ("session_touch.lua", &s.session_touch),
        ("session_delete.lua", &s.session_delete),
        ("session_revoke.lua", &s.session_revoke),
        ("cache_unlock.lua", &s.cache_unlock),
        ("cache_delete.lua", &s.cache_delete),
        ("cache_set_if_generation.lua", &s.cache_set_if_generation),
        ("rate_gcra.lua", &s.rate_gcra),
        ("queue_enqueue.lua", &s.queue_enqueue),
        ("queue_reserve.lua", &s.queue_reserve),
        ("queue_ack.lua", &s.queue_ack),
        ("queue_fail.lua", &s.queue_fail),
        ("queue_extend.lua", &s.queue_extend),
        ("queue_requeue.lua", &s.queue_requeue),
        ("queue_dead_letters.lua", &s.queue_dead_letters),
        ("queue_replay.lua", &s.queue_replay),
        ("queue_counts.lua", &s.queue_counts),
    ]
    .into_iter()
    .map(|(name, script)| (name, script.get_hash().to_owned()))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_has_a_keys_header_and_a_distinct_hash() {
        let hashes = script_hashes();
        let distinct: std::collections::HashSet<&String> = hashes.iter().map(|(_, h)| h).collect();
        assert_eq!(distinct.len(), hashes.len());
        for name in hashes.iter().map(|(n, _)| n) {
            let path = format!("{}/lua/{name}", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).expect("script file");
            assert!(text.starts_with("-- "), "{name} starts with a comment");
            assert!(text.contains("-- KEYS[1]:"), "{name} names its KEYS");
            assert!(text.contains("-- Returns:"), "{name} names its reply");
        }
    }
}
