//! Cache keys: `user:{id}`, `api:{endpoint}` with its parameters folded in, or any namespace.

use std::fmt;

use sha2::{Digest, Sha256};

use super::session::check_key;
use crate::error::Error;
use crate::ids::UserId;
use crate::validate::rule;

/// A cache key: a namespace (`user`, `api`, or your own) and an id within it.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct CacheKey {
    namespace: String,
    id: String,
}

impl CacheKey {
    /// A key in a namespace of 1 to 32 characters `[a-z0-9_]`; the id is any 1 to 1024 bytes.
    pub fn new(namespace: &str, id: impl Into<String>) -> Result<Self, Error> {
        let ok = !namespace.is_empty()
            && namespace.len() <= 32
            && namespace.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok {
            return Err(Error::invalid("namespace", rule::FORMAT, "must be 1 to 32 characters [a-z0-9_]"));
        }
        let id = id.into();
        check_key("key", &id)?;
        Ok(Self { namespace: namespace.to_owned(), id })
    }

    /// `user:{id}`, the user cache.
    pub fn user(id: UserId) -> Self {
        Self { namespace: "user".to_owned(), id: id.to_string() }
    }

    /// `api:{endpoint}` with the request's parameters folded in: the same parameters in any
    /// order give the same key (a SHA-256 of them, first 16 bytes in hex).
    pub fn api<K: AsRef<str>, V: AsRef<str>>(endpoint: &str, params: &[(K, V)]) -> Result<Self, Error> {
        check_key("endpoint", endpoint)?;
        let mut pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
        pairs.sort_unstable();
        let mut h = Sha256::new();
        for (k, v) in pairs {
            h.update((k.len() as u64).to_be_bytes());
            h.update(k.as_bytes());
            h.update((v.len() as u64).to_be_bytes());
            h.update(v.as_bytes());
        }
        let digest = h.finalize();
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        Self::new("api", format!("{endpoint}?{hex}"))
    }

    /// The namespace: 1 to 32 characters `[a-z0-9_]` (`user`, `api`, or your own).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The id within the namespace (unescaped).
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.namespace, self.id)
    }
}
