//! A map whose entries expire on the clock, as Redis keys with a TTL do.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use chrono::{DateTime, Utc};

/// One value and its deadline.
#[derive(Debug)]
struct Entry<V> {
    value: V,
    expires_at: DateTime<Utc>,
    seq: u64,
}

/// A map of entries that are dead from their deadline on (`expires_at <= now`).
///
/// Reads skip dead entries (lazy expiry); [`TtlMap::purge`] drops them, oldest deadline first,
/// in time proportional to what it drops, so writers call it to keep memory bounded.
#[derive(Debug)]
pub(super) struct TtlMap<K, V> {
    entries: HashMap<K, Entry<V>>,
    deadlines: BTreeMap<(DateTime<Utc>, u64), K>,
    next_seq: u64,
}

impl<K, V> Default for TtlMap<K, V> {
    fn default() -> Self {
        Self { entries: HashMap::new(), deadlines: BTreeMap::new(), next_seq: 0 }
    }
}

impl<K: Hash + Eq + Clone, V> TtlMap<K, V> {
    /// The value of a key whose deadline is after `now`; `None` once it has expired.
    pub(super) fn get<Q>(&self, key: &Q, now: DateTime<Utc>) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.get(key).filter(|e| e.expires_at > now).map(|e| &e.value)
    }

    /// Store a value until `expires_at`, replacing any earlier one.
    pub(super) fn insert(&mut self, key: K, value: V, expires_at: DateTime<Utc>) {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.deadlines.insert((expires_at, seq), key.clone());
        if let Some(old) = self.entries.insert(key, Entry { value, expires_at, seq }) {
            self.deadlines.remove(&(old.expires_at, old.seq));
        }
    }

    /// Remove a key; returns its value when it was live (a dead entry is dropped silently).
    pub(super) fn remove<Q>(&mut self, key: &Q, now: DateTime<Utc>) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let entry = self.entries.remove(key)?;
        self.deadlines.remove(&(entry.expires_at, entry.seq));
        (entry.expires_at > now).then_some(entry.value)
    }

    /// Drop every entry dead at `now` and return them.
    pub(super) fn purge(&mut self, now: DateTime<Utc>) -> Vec<(K, V)> {
        let mut dropped = Vec::new();
        while let Some(entry) = self.deadlines.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            if let Some(e) = self.entries.remove(&key) {
                dropped.push((key, e.value));
            }
        }
        dropped
    }

    /// How many entries are held, dead ones not yet purged included.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn entries_die_at_their_deadline_and_purge_drops_them() {
        let t0 = Utc::now();
        let mut map: TtlMap<String, u32> = TtlMap::default();
        map.insert("a".to_owned(), 1, t0 + Duration::seconds(1));
        map.insert("b".to_owned(), 2, t0 + Duration::seconds(5));
        assert_eq!(map.get("a", t0), Some(&1));
        assert_eq!(map.get("a", t0 + Duration::seconds(1)), None, "dead at its deadline");
        let dropped = map.purge(t0 + Duration::seconds(2));
        assert_eq!(dropped, vec![("a".to_owned(), 1)]);
        assert_eq!(map.len(), 1);
        assert_eq!(map.get("b", t0 + Duration::seconds(2)), Some(&2));
    }

    #[test]
    fn replacing_moves_the_deadline() {
        let t0 = Utc::now();
        let mut map: TtlMap<String, u32> = TtlMap::default();
        map.insert("a".to_owned(), 1, t0 + Duration::seconds(1));
        map.insert("a".to_owned(), 2, t0 + Duration::seconds(10));
        assert!(map.purge(t0 + Duration::seconds(5)).is_empty(), "the old deadline is gone");
        assert_eq!(map.remove("a", t0 + Duration::seconds(5)), Some(2));
        assert_eq!(map.len(), 0);
    }

    #[test]
    fn removing_a_dead_entry_returns_nothing() {
        let t0 = Utc::now();
        let mut map: TtlMap<String, u32> = TtlMap::default();
        map.insert("a".to_owned(), 1, t0 + Duration::seconds(1));
        assert_eq!(map.remove("a", t0 + Duration::seconds(3)), None);
        assert_eq!(map.len(), 0);
    }
}
