//! Encryption at rest: AES-256-GCM under a [`KeyRing`] of rotatable keys.

use std::fmt;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, AeadCore, KeyInit, Payload};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use rand::rngs::OsRng;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{CryptoFailure, Error, Result, store};
use crate::secret::Secret;

/// Version tag at the start of every sealed value.
const SEALED_VERSION: &str = "v1";
/// AES-GCM nonce length (96 bits).
const NONCE_LEN: usize = 12;
/// AES-GCM authentication tag length.
const TAG_LEN: usize = 16;
/// Longest key id, in bytes (ids are ASCII `[A-Za-z0-9_-]`).
const MAX_KEY_ID_LEN: usize = 32;

/// One key of a [`KeyRing`]: its id and its 256 bits, wiped on drop.
#[derive(Clone)]
struct KeyEntry {
    id: String,
    key: Zeroizing<[u8; 32]>,
}

impl KeyEntry {
    /// Validate the id and take a copy of the key; the caller's copy is wiped.
    fn new(id: String, key: &mut [u8; 32]) -> Result<Self> {
        let entry = Self { id, key: Zeroizing::new(*key) };
        key.zeroize();
        if !is_valid_key_id(&entry.id) {
            return Err(Error::invalid(
                "key_id",
                "format",
                format!("key id must be 1 to {MAX_KEY_ID_LEN} characters of A-Z, a-z, 0-9, '_' or '-'"),
            ));
        }
        Ok(entry)
    }

    /// The AES-256-GCM cipher for this key (the `aes` crate wipes its round keys on drop).
    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(aes_gcm::Key::<Aes256Gcm>::from_slice(self.key.as_slice()))
    }
}

/// Whether `id` is 1..=32 characters of `[A-Za-z0-9_-]`.
fn is_valid_key_id(id: &str) -> bool {
    (1..=MAX_KEY_ID_LEN).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Split a sealed value into its key id and base64 body, checking the version.
fn parse_sealed(sealed: &str) -> Result<(&str, &str)> {
    let mut parts = sealed.split('.');
    let (Some(version), Some(key_id), Some(body), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::Crypto(CryptoFailure::MalformedCiphertext));
    };
    if version != SEALED_VERSION {
        return Err(Error::Crypto(CryptoFailure::UnsupportedCiphertextVersion));
    }
    if !is_valid_key_id(key_id) || body.is_empty() {
        return Err(Error::Crypto(CryptoFailure::MalformedCiphertext));
    }
    Ok((key_id, body))
}

/// AES-256-GCM keys for encryption at rest: one primary key that encrypts and any number of
/// older keys that still decrypt, each named by a key id.
///
/// Key ids are 1 to 32 characters of `[A-Za-z0-9_-]` and are written in clear into every sealed
/// value (`v1.<key_id>.<base64url(nonce || ciphertext+tag)>`), so a value can be decrypted after
/// the primary key changes and [`needs_rotation`](KeyRing::needs_rotation) can spot values to
/// re-encrypt. Every message gets a fresh random 96-bit nonce.
///
/// Key bytes are wiped from memory on drop, and `Debug` shows only the key ids.
#[derive(Clone)]
pub struct KeyRing {
    primary: KeyEntry,
    old: Vec<KeyEntry>,
}

impl KeyRing {
    /// A key ring whose primary (encrypting) key is `key`, named `key_id`.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] on field `key_id`, rule `format`, when the id is not 1 to 32
    /// characters of `[A-Za-z0-9_-]`.
    pub fn new(key_id: impl Into<String>, mut key: [u8; 32]) -> Result<Self> {
        let primary = KeyEntry::new(key_id.into(), &mut key)?;
        Ok(Self { primary, old: Vec::new() })
    }

    /// Add an older key that is used only to decrypt values sealed under `key_id`.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] on field `key_id`: rule `format` for an invalid id, rule `unique`
    /// when the id is already in the ring.
    pub fn with_old_key(mut self, key_id: impl Into<String>, mut key: [u8; 32]) -> Result<Self> {
        let entry = KeyEntry::new(key_id.into(), &mut key)?;
        if self.find_key(&entry.id).is_some() {
            return Err(Error::invalid("key_id", "unique", "key id is already in the key ring"));
        }
        self.old.push(entry);
        Ok(self)
    }

    /// A fresh random 256-bit key from the operating system's generator.
    pub fn generate_key() -> [u8; 32] {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        key
    }

    /// The id of the key that [`encrypt`](KeyRing::encrypt) uses.
    pub fn primary_key_id(&self) -> &str {
        &self.primary.id
    }

    /// Encrypt `plaintext` with the primary key, binding it to `aad`.
    ///
    /// Returns `v1.<primary key id>.<base64url-nopad(nonce || ciphertext+tag)>`. The same `aad`
    /// must be given to [`decrypt`](KeyRing::decrypt).
    ///
    /// # Errors
    ///
    /// [`Error::Backend`] if the cipher refuses the input (only for absurdly large inputs).
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Result<String> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = self
            .primary
            .cipher()
            .encrypt(&nonce, Payload { msg: plaintext, aad })
            .map_err(|_| Error::backend(store::LOCAL, "AES-256-GCM encryption failed"))?;
        let mut raw = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&ciphertext);
        let mut sealed =
            String::with_capacity(SEALED_VERSION.len() + self.primary.id.len() + 2 + raw.len().div_ceil(3) * 4);
        sealed.push_str(SEALED_VERSION);
        sealed.push('.');
        sealed.push_str(&self.primary.id);
        sealed.push('.');
        URL_SAFE_NO_PAD.encode_string(&raw, &mut sealed);
        Ok(sealed)
    }

    /// Decrypt a value made by [`encrypt`](KeyRing::encrypt) with any key of the ring, checking
    /// that it was sealed with the same `aad`.
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] with [`CryptoFailure::MalformedCiphertext`],
    /// [`CryptoFailure::UnsupportedCiphertextVersion`], [`CryptoFailure::UnknownKeyId`] (no key
    /// of the ring has that id) or [`CryptoFailure::AuthenticationFailed`] (wrong key, wrong AAD
    /// or tampered data).
    pub fn decrypt(&self, sealed: &str, aad: &[u8]) -> Result<Vec<u8>> {
        let (key_id, body) = parse_sealed(sealed)?;
        let entry = self.find_key(key_id).ok_or(Error::Crypto(CryptoFailure::UnknownKeyId))?;
        let raw = URL_SAFE_NO_PAD.decode(body).map_err(|_| Error::Crypto(CryptoFailure::MalformedCiphertext))?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(Error::Crypto(CryptoFailure::MalformedCiphertext));
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        entry
            .cipher()
            .decrypt(aes_gcm::aead::Nonce::<Aes256Gcm>::from_slice(nonce), Payload { msg: ciphertext, aad })
            .map_err(|_| Error::Crypto(CryptoFailure::AuthenticationFailed))
    }

    /// [`encrypt`](KeyRing::encrypt) a secret string.
    ///
    /// # Errors
    ///
    /// As [`encrypt`](KeyRing::encrypt).
    pub fn seal_secret(&self, secret: &Secret, aad: &[u8]) -> Result<String> {
        self.encrypt(secret.expose().as_bytes(), aad)
    }

    /// [`decrypt`](KeyRing::decrypt) a value made by [`seal_secret`](KeyRing::seal_secret).
    ///
    /// # Errors
    ///
    /// As [`decrypt`](KeyRing::decrypt), and [`CryptoFailure::SecretNotUtf8`] when the
    /// plaintext is not text.
    pub fn open_secret(&self, sealed: &str, aad: &[u8]) -> Result<Secret> {
        let plaintext = self.decrypt(sealed, aad)?;
        match String::from_utf8(plaintext) {
            Ok(text) => Ok(Secret::new(text)),
            Err(e) => {
                let mut bytes = e.into_bytes();
                bytes.zeroize();
                Err(Error::Crypto(CryptoFailure::SecretNotUtf8))
            }
        }
    }

    /// Whether `sealed` should be re-encrypted: true when it names a key other than the
    /// primary key, and also when it is not a well-formed `v1` sealed value at all (decrypting
    /// it will then report the problem).
    pub fn needs_rotation(&self, sealed: &str) -> bool {
        match parse_sealed(sealed) {
            Ok((key_id, _)) => key_id != self.primary.id,
            Err(_) => true,
        }
    }

    /// The key named `key_id`, primary first.
    fn find_key(&self, key_id: &str) -> Option<&KeyEntry> {
        std::iter::once(&self.primary).chain(self.old.iter()).find(|k| k.id == key_id)
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let old_ids: Vec<&str> = self.old.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("KeyRing").field("primary_key_id", &self.primary.id).field("old_key_ids", &old_ids).finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::crypto::testing::{crypto_msg, rule};

    const AAD: &[u8] = b"social_accounts.access_token:0190f1c2-0000-7000-8000-000000000001";

    fn ring(id: &str, byte: u8) -> KeyRing {
        KeyRing::new(id, [byte; 32]).unwrap()
    }

    #[test]
    fn encrypt_decrypt_roundtrip() {
        let ring = KeyRing::new("k1", KeyRing::generate_key()).unwrap();
        let sealed = ring.encrypt(b"ya29.a0Af-token", AAD).unwrap();
        assert!(sealed.starts_with("v1.k1."), "{sealed}");
        assert!(sealed.is_ascii());
        assert!(!sealed.contains("ya29"));
        assert_eq!(ring.decrypt(&sealed, AAD).unwrap(), b"ya29.a0Af-token");
        // Fresh nonce every time.
        assert_ne!(ring.encrypt(b"ya29.a0Af-token", AAD).unwrap(), sealed);
        // Empty plaintext and empty AAD work too.
        let empty = ring.encrypt(b"", b"").unwrap();
        assert_eq!(ring.decrypt(&empty, b"").unwrap(), b"");
    }

    #[test]
    fn secret_roundtrip() {
        let ring = ring("k1", 7);
        let sealed = ring.seal_secret(&Secret::new("refresh-token"), AAD).unwrap();
        assert_eq!(ring.open_secret(&sealed, AAD).unwrap().expose(), "refresh-token");
        let binary = ring.encrypt(&[0xff, 0xfe], AAD).unwrap();
        assert_eq!(crypto_msg(ring.open_secret(&binary, AAD)), CryptoFailure::SecretNotUtf8);
    }

    #[test]
    fn tampered_ciphertext_fails() {
        let ring = ring("k1", 7);
        let sealed = ring.encrypt(b"secret", AAD).unwrap();
        let body = sealed.rsplit('.').next().unwrap();
        let mut raw = URL_SAFE_NO_PAD.decode(body).unwrap();
        for i in [0, NONCE_LEN, raw.len() - 1] {
            raw[i] ^= 0x01;
            let forged = format!("v1.k1.{}", URL_SAFE_NO_PAD.encode(&raw));
            assert_eq!(crypto_msg(ring.decrypt(&forged, AAD)), CryptoFailure::AuthenticationFailed);
            raw[i] ^= 0x01;
        }
        let truncated = format!("v1.k1.{}", URL_SAFE_NO_PAD.encode(&raw[..raw.len() - 1]));
        assert_eq!(crypto_msg(ring.decrypt(&truncated, AAD)), CryptoFailure::AuthenticationFailed);
    }

    #[test]
    fn wrong_aad_fails() {
        let ring = ring("k1", 7);
        let sealed = ring.encrypt(b"secret", AAD).unwrap();
        let other_row = b"social_accounts.access_token:0190f1c2-0000-7000-8000-000000000002";
        assert_eq!(crypto_msg(ring.decrypt(&sealed, other_row)), CryptoFailure::AuthenticationFailed);
        assert_eq!(crypto_msg(ring.decrypt(&sealed, b"")), CryptoFailure::AuthenticationFailed);
    }

    #[test]
    fn unknown_key_id_and_wrong_key_fail() {
        let sealed = ring("k1", 7).encrypt(b"secret", AAD).unwrap();
        assert_eq!(crypto_msg(ring("k2", 7).decrypt(&sealed, AAD)), CryptoFailure::UnknownKeyId);
        // Same id, different key bytes.
        assert_eq!(crypto_msg(ring("k1", 8).decrypt(&sealed, AAD)), CryptoFailure::AuthenticationFailed);
    }

    #[test]
    fn malformed_sealed_values_fail() {
        let ring = ring("k1", 7);
        let cases = [
            ("", CryptoFailure::MalformedCiphertext),
            ("v1", CryptoFailure::MalformedCiphertext),
            ("v1.k1", CryptoFailure::MalformedCiphertext),
            ("v1.k1.", CryptoFailure::MalformedCiphertext),
            ("v1..AAAA", CryptoFailure::MalformedCiphertext),
            ("v1.k1.AAAA.AAAA", CryptoFailure::MalformedCiphertext),
            ("v1.k1.!!!!", CryptoFailure::MalformedCiphertext),
            ("v1.k1.AAAA=", CryptoFailure::MalformedCiphertext),
            ("v2.k1.AAAA", CryptoFailure::UnsupportedCiphertextVersion),
            ("v1.k9.AAAA", CryptoFailure::UnknownKeyId),
        ];
        for (input, expected) in cases {
            assert_eq!(crypto_msg(ring.decrypt(input, AAD)), expected, "{input:?}");
        }
        // One byte short of nonce + tag (36 base64 characters = 27 bytes).
        let short = format!("v1.k1.{}", "A".repeat(36));
        assert_eq!(crypto_msg(ring.decrypt(&short, AAD)), CryptoFailure::MalformedCiphertext);
        // Exactly nonce + tag (empty plaintext) is well-formed and fails authentication.
        let minimal = format!("v1.k1.{}", URL_SAFE_NO_PAD.encode([0u8; NONCE_LEN + TAG_LEN]));
        assert_eq!(crypto_msg(ring.decrypt(&minimal, AAD)), CryptoFailure::AuthenticationFailed);
    }

    #[test]
    fn key_rotation() {
        let old = ring("2024-01", 1);
        let sealed_old = old.encrypt(b"token", AAD).unwrap();

        let rotated = KeyRing::new("2024-06", [2; 32]).unwrap().with_old_key("2024-01", [1; 32]).unwrap();
        assert_eq!(rotated.primary_key_id(), "2024-06");
        assert_eq!(rotated.decrypt(&sealed_old, AAD).unwrap(), b"token");
        assert!(rotated.needs_rotation(&sealed_old));

        let sealed_new = rotated.encrypt(b"token", AAD).unwrap();
        assert!(sealed_new.starts_with("v1.2024-06."));
        assert!(!rotated.needs_rotation(&sealed_new));
        assert_eq!(rotated.decrypt(&sealed_new, AAD).unwrap(), b"token");
        assert_eq!(crypto_msg(old.decrypt(&sealed_new, AAD)), CryptoFailure::UnknownKeyId);

        assert!(rotated.needs_rotation("garbage"));
        assert!(!old.needs_rotation(&sealed_old));
    }

    #[test]
    fn key_ids_are_validated() {
        assert!(KeyRing::new("a", [0; 32]).is_ok());
        assert!(KeyRing::new("A-z_09".repeat(5) + "ab", [0; 32]).is_ok());
        for bad in ["", "a.b", "a b", "ключ", "a/b", &"k".repeat(33)] {
            assert_eq!(rule(KeyRing::new(bad, [0; 32])), "format", "{bad:?}");
            assert_eq!(rule(ring("k1", 1).with_old_key(bad, [0; 32])), "format", "{bad:?}");
        }
        assert_eq!(rule(ring("k1", 1).with_old_key("k1", [2; 32])), "unique");
        let two = ring("k1", 1).with_old_key("k0", [0; 32]).unwrap();
        assert_eq!(rule(two.with_old_key("k0", [3; 32])), "unique");
    }

    #[test]
    fn key_ring_debug_shows_only_ids() {
        let ring = KeyRing::new("primary", [0xAB; 32]).unwrap().with_old_key("older", [0xCD; 32]).unwrap();
        let debug = format!("{ring:?}");
        assert_eq!(debug, r#"KeyRing { primary_key_id: "primary", old_key_ids: ["older"] }"#);
        for needle in ["171", "205", "ab", "AB", "cd", "CD", "q6ur", "zc3N"] {
            assert!(!debug.contains(needle), "{needle} in {debug}");
        }
        let alt = format!("{ring:#?}");
        assert!(!alt.contains("171") && !alt.contains("205"));
    }

    #[test]
    fn key_ring_is_clone_send_sync() {
        fn assert_traits<T: Clone + Send + Sync + 'static>() {}
        assert_traits::<KeyRing>();
        let a = ring("k1", 5);
        let b = a.clone();
        let sealed = a.encrypt(b"x", AAD).unwrap();
        drop(a);
        assert_eq!(b.decrypt(&sealed, AAD).unwrap(), b"x");
    }

    #[test]
    fn generated_keys_differ() {
        assert_ne!(KeyRing::generate_key(), KeyRing::generate_key());
    }
}
