//! The key that encrypts backups.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use super::error::BackupError;

/// Longest key id, in bytes (ids are ASCII `[A-Za-z0-9_-]`, as for
/// [`KeyRing`](clientnest_core::crypto::KeyRing)).
pub const MAX_KEY_ID_LEN: usize = 32;

/// A 256-bit AES-GCM key for client-side encryption of backups, with the id written (in clear)
/// into each encrypted backup and its manifest, so a restore with another key fails with
/// [`BackupError::WrongKey`] before any decryption is attempted.
///
/// [`KeyRing`](clientnest_core::crypto::KeyRing) does not hand out its key bytes, so backups take
/// their own key; an application may derive both from the same secret manager entry.
///
/// The bytes are wiped on drop; `Debug` shows only the id.
#[derive(Clone)]
pub struct BackupKey {
    id: String,
    bytes: Zeroizing<[u8; 32]>,
}

impl BackupKey {
    /// A key named `id` (1 to 32 characters of `[A-Za-z0-9_-]`). The caller's copy of `bytes`
    /// is wiped.
    ///
    /// # Errors
    ///
    /// [`BackupError::InvalidKey`] when the id is not acceptable.
    pub fn new(id: impl Into<String>, mut bytes: [u8; 32]) -> Result<Self, BackupError> {
        let key = Self { id: id.into(), bytes: Zeroizing::new(bytes) };
        bytes.zeroize();
        if !is_valid_key_id(&key.id) {
            return Err(BackupError::InvalidKey {
                reason: "the key id must be 1 to 32 characters of A-Z, a-z, 0-9, '_' or '-'",
            });
        }
        Ok(key)
    }

    /// A key whose id is its fingerprint (`fp-` and 16 hex digits of a SHA-256 of the key under a
    /// fixed label): two different keys get different ids, so a wrong key is recognised by its id.
    pub fn with_fingerprint_id(mut bytes: [u8; 32]) -> Self {
        let id = fingerprint(&bytes);
        let key = Self { id, bytes: Zeroizing::new(bytes) };
        bytes.zeroize();
        key
    }

    /// A fresh random key from the operating system's generator, named by its fingerprint.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(bytes.as_mut());
        Self::with_fingerprint_id(*bytes)
    }

    /// Parse a key written as 64 hex digits or as base64 (standard or URL-safe alphabet, padded
    /// or not) of 32 bytes, as in a `BACKUP_KEY` environment variable. Surrounding whitespace is
    /// ignored. With `id` `None` the key is named by its fingerprint
    /// ([`with_fingerprint_id`](Self::with_fingerprint_id)).
    ///
    /// # Errors
    ///
    /// [`BackupError::InvalidKey`] when the text is not 32 bytes in hex or base64, or the id is
    /// not acceptable. The message never contains the text.
    pub fn parse(text: &str, id: Option<&str>) -> Result<Self, BackupError> {
        let text = text.trim();
        let mut raw = Zeroizing::new(Vec::new());
        if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            *raw = hex::decode(text).map_err(|_| BackupError::InvalidKey { reason: "not valid hex" })?;
        } else {
            for engine in [&STANDARD, &URL_SAFE, &STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
                if let Ok(bytes) = engine.decode(text) {
                    *raw = bytes;
                    break;
                }
            }
        }
        let bytes: [u8; 32] = raw.as_slice().try_into().map_err(|_| BackupError::InvalidKey {
            reason: "a backup key must be 32 bytes, written as 64 hex digits or in base64",
        })?;
        match id {
            Some(id) => Self::new(id, bytes),
            None => Ok(Self::with_fingerprint_id(bytes)),
        }
    }

    /// The key's id, written into every backup it encrypts.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

impl fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackupKey").field("id", &self.id).field("bytes", &"<redacted>").finish()
    }
}

/// Whether `id` is 1..=32 characters of `[A-Za-z0-9_-]`.
pub(crate) fn is_valid_key_id(id: &str) -> bool {
    (1..=MAX_KEY_ID_LEN).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn fingerprint(bytes: &[u8; 32]) -> String {
    let mut h = Sha256::new();
    h.update(b"clientnest backup key id v1\0");
    h.update(bytes);
    let digest = h.finalize();
    format!("fp-{}", hex::encode(&digest[..8]))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parse_hex_and_base64_give_the_same_key() {
        let bytes = [7u8; 32];
        let a = BackupKey::parse(&hex::encode(bytes), None).unwrap();
        let b = BackupKey::parse(&STANDARD.encode(bytes), None).unwrap();
        let c = BackupKey::parse(&URL_SAFE_NO_PAD.encode(bytes), None).unwrap();
        assert_eq!(a.bytes(), b.bytes());
        assert_eq!(a.bytes(), c.bytes());
        assert_eq!(a.id(), b.id());
        assert!(a.id().starts_with("fp-"));
        assert_ne!(a.id(), BackupKey::with_fingerprint_id([8u8; 32]).id());
    }

    #[test]
    fn bad_keys_are_refused_without_echoing_them() {
        for text in ["", "abcd", &hex::encode([1u8; 31]), "zz".repeat(32).as_str()] {
            let err = BackupKey::parse(text, None).unwrap_err();
            assert!(matches!(err, BackupError::InvalidKey { .. }));
            if !text.is_empty() {
                assert!(!err.to_string().contains(text));
            }
        }
        assert!(BackupKey::new("bad id!", [0; 32]).is_err());
        assert!(BackupKey::new("2026-01", [0; 32]).is_ok());
    }

    #[test]
    fn debug_is_redacted() {
        let key = BackupKey::new("k1", [0xAB; 32]).unwrap();
        let shown = format!("{key:?}");
        assert!(shown.contains("k1") && shown.contains("redacted"));
        assert!(!shown.to_lowercase().contains("abab") && !shown.contains("171"));
    }
}
