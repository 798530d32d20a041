//! The names the kit gives databases, and which of them are stale.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use sqlx::migrate::Migrator;

/// Test databases and templates of older runs than this are dropped when a process prepares
/// its template (a run of the suite takes minutes; this leaves room for slow and parallel ones).
pub const STALE_AFTER: Duration = Duration::from_secs(3600);

/// Templates: `cn_tpl_<16 hex digits of the migrations' hash>`.
pub(crate) const TEMPLATE_PREFIX: &str = "cn_tpl_";
/// A template being built: `cn_tplbuild_<hash>`; one left behind is a crashed build.
pub(crate) const BUILD_PREFIX: &str = "cn_tplbuild_";
/// Test databases: `cn_test_<unix seconds>_<32 hex digits>`.
pub(crate) const TEST_PREFIX: &str = "cn_test_";

/// The advisory lock every process takes while it builds, marks or sweeps templates.
pub(crate) const LOCK_KEY: i64 = 0x636e_7465_7374_6b69; // "cntestki"

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// What a template depends on: every migration's version, kind and checksum, and the schema.
pub(crate) fn migrations_hash(migrator: &Migrator, schema: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(schema.as_bytes());
    for m in migrator.iter() {
        hash.update(m.version.to_be_bytes());
        hash.update([u8::from(m.migration_type.is_down_migration()), u8::from(m.no_tx)]);
        hash.update(&*m.checksum);
    }
    hash.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// A fresh test database's name.
pub(crate) fn test_database_name() -> String {
    format!("{TEST_PREFIX}{}_{}", unix_now(), uuid::Uuid::new_v4().simple())
}

/// Whether a database named `name` is a test database created before `cutoff` (Unix seconds).
pub(crate) fn is_stale_test_database(name: &str, cutoff: u64) -> bool {
    let created = name.strip_prefix(TEST_PREFIX).and_then(|rest| rest.split('_').next()?.parse::<u64>().ok());
    created.is_some_and(|t| t < cutoff)
}

/// The comment a template carries: when a process last prepared it.
pub(crate) fn used_comment(at: u64) -> String {
    format!("clientnest-testkit template, last prepared at {at}")
}

/// When a template was last prepared, from its comment (`None`: not a comment of ours).
pub(crate) fn used_at(comment: &str) -> Option<u64> {
    comment.strip_prefix("clientnest-testkit template, last prepared at ")?.parse().ok()
}

/// A plain lower-case identifier (`[a-z_][a-z0-9_]*`, at most 63 bytes): safe to splice into SQL.
pub(crate) fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use sqlx::migrate::{Migration, MigrationType};

    use super::*;

    fn migrator(sql: &'static str) -> Migrator {
        let migration =
            Migration::new(1, Cow::Borrowed("core"), MigrationType::Simple, sqlx::SqlStr::from_static(sql), false);
        Migrator { migrations: Cow::Owned(vec![migration]), ..Migrator::DEFAULT }
    }

    #[test]
    fn the_hash_follows_the_migrations_and_the_schema() {
        let a = migrations_hash(&migrator("CREATE TABLE a ()"), "app");
        assert_eq!(a.len(), 16);
        assert_eq!(a, migrations_hash(&migrator("CREATE TABLE a ()"), "app"));
        assert_ne!(a, migrations_hash(&migrator("CREATE TABLE b ()"), "app"));
        assert_ne!(a, migrations_hash(&migrator("CREATE TABLE a ()"), "other"));
    }

    #[test]
    fn test_databases_age() {
        let name = test_database_name();
        assert!(is_plain_identifier(&name), "{name}");
        assert!(!is_stale_test_database(&name, unix_now() - 10));
        assert!(is_stale_test_database(&name, unix_now() + 10));
        assert!(!is_stale_test_database("cn_tpl_0123", u64::MAX));
        assert!(!is_stale_test_database("test", u64::MAX));
    }

    #[test]
    fn comments_and_identifiers() {
        assert_eq!(used_at(&used_comment(42)), Some(42));
        assert_eq!(used_at("someone else's"), None);
        assert!(is_plain_identifier("clientnest_test"));
        assert!(!is_plain_identifier("Bad"));
        assert!(!is_plain_identifier("a;drop"));
        assert!(!is_plain_identifier("1a"));
        assert!(!is_plain_identifier(""));
    }
}
