//! Cryptography used by the data layer: password hashing, encryption at rest and webhook
//! signatures.
//!
//! * **Passwords** are hashed with argon2id (version 19, the `argon2` crate's default
//!   parameters) into PHC strings: [`hash_password`], [`verify_password`], [`is_argon2id_phc`].
//!   A stored hash whose parameters exceed [`MAX_ARGON2_MEMORY_KIB`], [`MAX_ARGON2_TIME_COST`]
//!   or [`MAX_ARGON2_LANES`] is refused before any hashing, so a hostile imported hash cannot
//!   exhaust memory or CPU.
//! * **Secrets at rest** (OAuth tokens, webhook secrets) are sealed with AES-256-GCM by a
//!   [`KeyRing`]: one primary key encrypts, older keys still decrypt, so keys can be rotated.
//!   A sealed value is the ASCII text `v1.<key_id>.<base64url-nopad(nonce || ciphertext+tag)>`.
//!   The associated data (AAD) binds a ciphertext to its place, e.g.
//!   `b"social_accounts.access_token:<uuid>"`, so a value copied to another row or column does
//!   not decrypt.
//! * **Webhooks** are signed with HMAC-SHA256 in a `t=<unix seconds>,v1=<hex>` header:
//!   [`sign_webhook`], [`verify_webhook`] (a tolerance of at most
//!   [`MAX_WEBHOOK_TOLERANCE_SECS`]), [`verify_webhook_once`] (the same plus a replay guard
//!   kept in a [`TempStore`]), [`generate_webhook_secret`] (32 random bytes; secrets under
//!   [`MIN_WEBHOOK_SECRET_LEN`] bytes are refused).
//!
//! Failures to decrypt or verify are [`Error::Crypto`] with a typed [`CryptoFailure`] reason
//! whose message never contains secret material; bad caller input is [`Error::Validation`].
//!
//! ```no_run
//! use clientnest_core::crypto::{KeyRing, hash_password, verify_password};
//! use clientnest_core::secret::Secret;
//!
//! let ring = KeyRing::new("2024-06", KeyRing::generate_key())?;
//! let sealed = ring.seal_secret(&Secret::new("ya29.token"), b"social_accounts.access_token:1")?;
//! let token = ring.open_secret(&sealed, b"social_accounts.access_token:1")?;
//! assert_eq!(token.expose(), "ya29.token");
//!
//! let hash = hash_password(&Secret::new("correct horse battery staple"))?;
//! assert!(verify_password(&Secret::new("correct horse battery staple"), &hash)?);
//! # Ok::<(), clientnest_core::error::Error>(())
//! ```

use std::fmt;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, AeadCore, KeyInit, Payload};
use argon2::password_hash::{PasswordHash as PhcHash, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{CryptoFailure, Error, Result};
use crate::ports::TempStore;
use crate::secret::{PasswordHash, Secret};

// ---------------------------------------------------------------------------------------------
// Passwords
// ---------------------------------------------------------------------------------------------

/// Longest password accepted by [`hash_password`], in bytes.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Largest argon2 memory cost [`verify_password`] accepts in a stored hash, in KiB (64 MiB: the
/// second recommended option of RFC 9106 section 4, three times the `argon2` crate's default of
/// 19 MiB that [`hash_password`] uses).
pub const MAX_ARGON2_MEMORY_KIB: u32 = 65_536;

/// Largest argon2 time cost (passes over memory) [`verify_password`] accepts in a stored hash
/// (the OWASP and RFC 9106 recommendations use 1 to 5; our hashes use 2).
pub const MAX_ARGON2_TIME_COST: u32 = 8;

/// Largest argon2 parallelism (lanes) [`verify_password`] accepts in a stored hash (RFC 9106
/// recommends 4; our hashes use 1). The lanes are computed one after the other here, so more
/// lanes buy an attacker nothing but cost us time.
pub const MAX_ARGON2_LANES: u32 = 8;

/// Whether argon2 parameters stay within the caps ([`MAX_ARGON2_MEMORY_KIB`],
/// [`MAX_ARGON2_TIME_COST`], [`MAX_ARGON2_LANES`]).
fn within_argon2_caps(params: &argon2::Params) -> bool {
    params.m_cost() <= MAX_ARGON2_MEMORY_KIB
        && params.t_cost() <= MAX_ARGON2_TIME_COST
        && params.p_cost() <= MAX_ARGON2_LANES
}

/// Hash a password with argon2id (default parameters, random 16-byte salt from the OS).
///
/// Returns the PHC string (`$argon2id$v=19$m=...,t=...,p=...$<salt>$<hash>`).
///
/// # Errors
///
/// [`Error::Validation`] on field `password`, rule `length`, when the password is empty or
/// longer than [`MAX_PASSWORD_LEN`] bytes; [`Error::Backend`] if hashing itself fails.
pub fn hash_password(password: &Secret) -> Result<PasswordHash> {
    let bytes = password.expose().as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_PASSWORD_LEN {
        return Err(Error::invalid(
            "password",
            "length",
            format!("password must be between 1 and {MAX_PASSWORD_LEN} bytes long"),
        ));
    }
    let salt = SaltString::generate(&mut OsRng);
    let phc = Argon2::default()
        .hash_password(bytes, &salt)
        .map_err(|e| Error::backend(format!("argon2id hashing failed: {e}")))?;
    Ok(PasswordHash::from_phc(phc.to_string()))
}

/// Check a password against a stored PHC hash, in constant time with respect to the hash.
///
/// The parameters, salt and argon2 variant are read from the hash itself, so hashes made with
/// older parameters still verify, as long as they stay within the caps
/// ([`MAX_ARGON2_MEMORY_KIB`], [`MAX_ARGON2_TIME_COST`], [`MAX_ARGON2_LANES`]), checked before
/// any hashing. Returns `Ok(false)` when the password does not match (including an empty
/// password or one longer than [`MAX_PASSWORD_LEN`] bytes, which [`hash_password`] never
/// accepts).
///
/// A user served by a cache ([`CachedUsers`](crate::cache_aside::CachedUsers)) or read back
/// from JSON carries no hash (see [`PasswordHash::is_absent`]): verifying against it fails with
/// `MalformedPasswordHash`. Check passwords against the user read from the repository.
///
/// # Errors
///
/// [`Error::Crypto`] with [`CryptoFailure::MalformedPasswordHash`] when the stored string is not
/// a PHC string with a salt and a hash; [`CryptoFailure::UnsupportedPasswordHash`] when it is a
/// PHC string that argon2 cannot verify (another algorithm, invalid parameters);
/// [`CryptoFailure::PasswordHashTooCostly`] when its parameters exceed the caps.
pub fn verify_password(password: &Secret, hash: &PasswordHash) -> Result<bool> {
    let parsed = PhcHash::new(hash.as_phc()).map_err(|_| Error::Crypto(CryptoFailure::MalformedPasswordHash))?;
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err(Error::Crypto(CryptoFailure::MalformedPasswordHash));
    }
    let params =
        argon2::Params::try_from(&parsed).map_err(|_| Error::Crypto(CryptoFailure::UnsupportedPasswordHash))?;
    if !within_argon2_caps(&params) {
        return Err(Error::Crypto(CryptoFailure::PasswordHashTooCostly));
    }
    let bytes = password.expose().as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_PASSWORD_LEN {
        return Ok(false);
    }
    match Argon2::default().verify_password(bytes, &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(_) => Err(Error::Crypto(CryptoFailure::UnsupportedPasswordHash)),
    }
}

/// Whether `s` is a well-formed argon2id PHC string: it parses as PHC, the algorithm is
/// `argon2id`, the version (if given) and parameters are valid for argon2 and within the caps
/// [`verify_password`] applies, and it carries both a salt and a hash. A hash that could not be
/// verified is never stored.
pub fn is_argon2id_phc(s: &str) -> bool {
    let Ok(parsed) = PhcHash::new(s) else {
        return false;
    };
    parsed.algorithm == argon2::ARGON2ID_IDENT
        && parsed.salt.is_some()
        && parsed.hash.is_some()
        && parsed.version.is_none_or(|v| argon2::Version::try_from(v).is_ok())
        && argon2::Params::try_from(&parsed).is_ok_and(|p| within_argon2_caps(&p))
}

// ---------------------------------------------------------------------------------------------
// Encryption at rest
// ---------------------------------------------------------------------------------------------

/// Version tag at the start of every sealed value.
const SEALED_VERSION: &str = "v1";
/// AES-GCM nonce length (96 bits).
const NONCE_LEN: usize = 12;
/// AES-GCM authentication tag length.
const TAG_LEN: usize = 16;
/// Longest key id.
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
            .map_err(|_| Error::backend("AES-256-GCM encryption failed"))?;
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

// ---------------------------------------------------------------------------------------------
// Webhook signatures
// ---------------------------------------------------------------------------------------------

type HmacSha256 = Hmac<Sha256>;

/// SHA-256 block size, the HMAC key block length.
const HMAC_BLOCK_LEN: usize = 64;
/// Longest signature header accepted by [`verify_webhook`].
const MAX_WEBHOOK_HEADER_LEN: usize = 4096;

/// Shortest webhook signing secret, in bytes (HMAC-SHA256 wants a key of at least its 32-byte
/// output; [`generate_webhook_secret`] draws 32 random bytes). Shorter secrets are refused when
/// a webhook is registered or rotated and when a signature is checked.
pub const MIN_WEBHOOK_SECRET_LEN: usize = 32;

/// Largest tolerance [`verify_webhook`] accepts between a delivery's timestamp and now, in
/// seconds (10 minutes: twice the common 5-minute default, enough for clock skew and retries,
/// and it bounds how long the replay guard of [`verify_webhook_once`] keeps a signature).
pub const MAX_WEBHOOK_TOLERANCE_SECS: i64 = 600;

/// Prefix of the [`TempStore`] keys of the replay guard: `webhook-replay:<hex sha256 of the MAC>`.
const REPLAY_KEY_PREFIX: &str = "webhook-replay:";

/// HMAC-SHA256 keyed with `key`, without a fallible constructor.
///
/// This is the RFC 2104 key preparation: a key longer than the block is hashed first, then the
/// key is zero-padded to the block length, which gives exactly the same MAC as
/// `Hmac::new_from_slice(key)`.
fn hmac_sha256(key: &[u8]) -> HmacSha256 {
    let mut block = Zeroizing::new([0u8; HMAC_BLOCK_LEN]);
    if key.len() > HMAC_BLOCK_LEN {
        let mut digest = <Sha256 as sha2::Digest>::digest(key);
        block[..digest.len()].copy_from_slice(&digest);
        digest.as_mut_slice().zeroize();
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    <HmacSha256 as KeyInit>::new(hmac::digest::Key::<HmacSha256>::from_slice(block.as_slice()))
}

/// The MAC over `"<timestamp>." || payload`.
fn webhook_mac(secret: &Secret, timestamp: i64, payload: &[u8]) -> HmacSha256 {
    let mut mac = hmac_sha256(secret.expose().as_bytes());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac
}

/// Lowercase hex of `bytes`.
fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Bytes of a hex string (either case), or `None` if it is not hex.
fn hex_decode(s: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.as_bytes().chunks_exact(2).map(|pair| Some((nibble(pair[0])? << 4) | nibble(pair[1])?)).collect()
}

/// A parsed `t=...,v1=...` header.
struct SignatureHeader {
    timestamp: i64,
    signatures: Vec<Vec<u8>>,
}

/// Parse a signature header: comma-separated `key=value` items, exactly one `t` (unix
/// seconds), at least one `v1` (64 hex digits); other keys are ignored.
fn parse_signature_header(header: &str) -> Option<SignatureHeader> {
    if header.len() > MAX_WEBHOOK_HEADER_LEN {
        return None;
    }
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (key, value) = item.split_once('=')?;
        match key.trim() {
            "t" => {
                if timestamp.is_some() {
                    return None;
                }
                timestamp = Some(value.trim().parse::<i64>().ok()?);
            }
            "v1" => {
                let signature = hex_decode(value.trim())?;
                if signature.len() != 32 {
                    return None;
                }
                signatures.push(signature);
            }
            _ => {}
        }
    }
    match timestamp {
        Some(timestamp) if !signatures.is_empty() => Some(SignatureHeader { timestamp, signatures }),
        _ => None,
    }
}

/// Sign a webhook delivery: returns the header value `t=<timestamp>,v1=<hex>` where the hex is
/// the lowercase HMAC-SHA256, keyed with the endpoint's secret, of `"<timestamp>." || payload`.
pub fn sign_webhook(secret: &Secret, timestamp: i64, payload: &[u8]) -> String {
    let tag = webhook_mac(secret, timestamp, payload).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex_encode(&tag))
}

/// Refuse a secret shorter than [`MIN_WEBHOOK_SECRET_LEN`] bytes (field `secret_key`, rule
/// `min_length`).
pub(crate) fn check_webhook_secret_len(secret: &Secret) -> Result<()> {
    if secret.len() < MIN_WEBHOOK_SECRET_LEN {
        return Err(Error::invalid(
            "secret_key",
            WEBHOOK_SECRET_RULE,
            format!("must be at least {MIN_WEBHOOK_SECRET_LEN} bytes long"),
        ));
    }
    Ok(())
}

/// The rule name of a webhook secret shorter than [`MIN_WEBHOOK_SECRET_LEN`] bytes.
pub const WEBHOOK_SECRET_RULE: &str = "min_length";

/// Check the caller's side of a verification: the secret's length and the tolerance.
fn check_verify_input(secret: &Secret, tolerance_secs: i64) -> Result<()> {
    check_webhook_secret_len(secret)?;
    if !(0..=MAX_WEBHOOK_TOLERANCE_SECS).contains(&tolerance_secs) {
        return Err(Error::invalid(
            "tolerance_secs",
            "range",
            format!("must be between 0 and {MAX_WEBHOOK_TOLERANCE_SECS} seconds"),
        ));
    }
    Ok(())
}

/// Verify a header and return the delivery's timestamp and the matching MAC.
fn verify_signature(
    secret: &Secret,
    header: &str,
    payload: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(i64, [u8; 32])> {
    check_verify_input(secret, tolerance_secs)?;
    let parsed = parse_signature_header(header).ok_or(Error::Crypto(CryptoFailure::MalformedSignatureHeader))?;
    let skew = (i128::from(now) - i128::from(parsed.timestamp)).abs();
    if skew > i128::from(tolerance_secs) {
        return Err(Error::Crypto(CryptoFailure::TimestampOutsideTolerance));
    }
    let mac = webhook_mac(secret, parsed.timestamp, payload);
    // Check every candidate (no early exit) so timing does not tell which one matched.
    let matched = parsed.signatures.iter().fold(false, |found, sig| mac.clone().verify_slice(sig).is_ok() | found);
    if matched {
        Ok((parsed.timestamp, mac.finalize().into_bytes().into()))
    } else {
        Err(Error::Crypto(CryptoFailure::SignatureMismatch))
    }
}

/// Verify a webhook signature header made by [`sign_webhook`].
///
/// The header may carry several `v1=` signatures (e.g. during a secret rotation); any one
/// matching is enough. Items with other keys are ignored. The timestamp must be within
/// `tolerance_secs` of `now` (both unix seconds) in either direction. Signatures are compared in
/// constant time. This check alone does not stop a replay inside the window: receivers use
/// [`verify_webhook_once`].
///
/// # Errors
///
/// [`Error::Validation`] when `tolerance_secs` is not within 0 to
/// [`MAX_WEBHOOK_TOLERANCE_SECS`] (field `tolerance_secs`, rule `range`) or the secret is
/// shorter than [`MIN_WEBHOOK_SECRET_LEN`] bytes (field `secret_key`, rule `min_length`);
/// [`Error::Crypto`] with [`CryptoFailure::MalformedSignatureHeader`],
/// [`CryptoFailure::TimestampOutsideTolerance`] or [`CryptoFailure::SignatureMismatch`].
pub fn verify_webhook(secret: &Secret, header: &str, payload: &[u8], now: i64, tolerance_secs: i64) -> Result<()> {
    verify_signature(secret, header, payload, now, tolerance_secs).map(|_| ())
}

/// [`verify_webhook`], then refuse a signature already accepted inside its window: the first
/// verification of a delivery records it in `store` with set-if-absent
/// ([`TempStore::put_temp_if_absent`]), so of two deliveries with the same signature, even
/// concurrent ones and across processes sharing the store, exactly one is accepted.
///
/// The record's key is `webhook-replay:<hex SHA-256 of the MAC>` (no secret, no payload) and
/// it lives until the delivery's timestamp leaves the window (`timestamp + tolerance_secs -
/// now + 1` seconds, at most `2 * tolerance_secs + 1`), after which the timestamp check
/// refuses the signature anyway. A header that fails verification records nothing.
///
/// # Errors
///
/// As [`verify_webhook`]; [`Error::Crypto`] with [`CryptoFailure::SignatureReplayed`] when the
/// signature was already accepted; the store's error (e.g. [`Error::Unavailable`]) when it
/// cannot record the signature, in which case the delivery must be refused (and retried by the
/// sender).
pub async fn verify_webhook_once<T: TempStore + ?Sized>(
    store: &T,
    secret: &Secret,
    header: &str,
    payload: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<()> {
    let (timestamp, mac) = verify_signature(secret, header, payload, now, tolerance_secs)?;
    let digest = <Sha256 as sha2::Digest>::digest(mac);
    let key = format!("{REPLAY_KEY_PREFIX}{}", hex_encode(&digest));
    // Inside the window, so 1 ..= 2 * tolerance + 1 seconds.
    let remaining = i128::from(timestamp) + i128::from(tolerance_secs) - i128::from(now) + 1;
    let ttl = chrono::Duration::seconds(
        i64::try_from(remaining.clamp(1, 2 * i128::from(MAX_WEBHOOK_TOLERANCE_SECS) + 1)).unwrap_or(1),
    );
    if store.put_temp_if_absent(&key, b"seen".to_vec(), ttl).await? {
        Ok(())
    } else {
        Err(Error::Crypto(CryptoFailure::SignatureReplayed))
    }
}

/// A fresh webhook secret: `whsec_` followed by 32 random bytes in unpadded base64url
/// (49 characters in all).
pub fn generate_webhook_secret() -> Secret {
    let mut bytes = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(bytes.as_mut_slice());
    let mut secret = String::with_capacity(6 + 43);
    secret.push_str("whsec_");
    URL_SAFE_NO_PAD.encode_string(bytes.as_slice(), &mut secret);
    Secret::new(secret)
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const AAD: &[u8] = b"social_accounts.access_token:0190f1c2-0000-7000-8000-000000000001";

    fn crypto_msg<T: fmt::Debug>(r: Result<T>) -> CryptoFailure {
        match r {
            Err(Error::Crypto(reason)) => reason,
            other => panic!("expected Error::Crypto, got {other:?}"),
        }
    }

    fn rule<T: fmt::Debug>(r: Result<T>) -> String {
        match r {
            Err(e) => e.rule().unwrap().to_owned(),
            Ok(v) => panic!("expected a validation error, got {v:?}"),
        }
    }

    // ----- passwords (the only slow tests: one default-cost hash, two verifications) -----

    #[test]
    fn password_hash_roundtrip_and_wrong_password() {
        let hash = hash_password(&Secret::new("correct horse battery staple")).unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$v=19$"), "{}", hash.as_phc());
        assert!(is_argon2id_phc(hash.as_phc()));
        assert!(verify_password(&Secret::new("correct horse battery staple"), &hash).unwrap());
        assert!(!verify_password(&Secret::new("correct horse battery stapl"), &hash).unwrap());
    }

    #[test]
    fn password_length_is_validated_without_hashing() {
        assert_eq!(rule(hash_password(&Secret::new(""))), "length");
        assert_eq!(rule(hash_password(&Secret::new("x".repeat(MAX_PASSWORD_LEN + 1)))), "length");
        // Empty and oversized passwords never match, and the hash is not even computed.
        let phc = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
                   AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let hash = PasswordHash::from_phc(phc);
        assert!(!verify_password(&Secret::new(""), &hash).unwrap());
        assert!(!verify_password(&Secret::new("x".repeat(MAX_PASSWORD_LEN + 1)), &hash).unwrap());
    }

    #[test]
    fn malformed_password_hash_is_an_error() {
        let pw = Secret::new("hunter2");
        for bad in ["", "plaintext", "$argon2id$v=19$m=19456,t=2,p=1", "$$$"] {
            assert_eq!(
                crypto_msg(verify_password(&pw, &PasswordHash::from_phc(bad))),
                CryptoFailure::MalformedPasswordHash,
                "{bad}"
            );
        }
        let other_algo = "$pbkdf2-sha256$i=1000$c29tZXNhbHQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert_eq!(
            crypto_msg(verify_password(&pw, &PasswordHash::from_phc(other_algo))),
            CryptoFailure::UnsupportedPasswordHash
        );
    }

    #[test]
    fn argon2id_phc_detection() {
        let good = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
                    AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(is_argon2id_phc(good));
        assert!(!is_argon2id_phc(&good.replace("argon2id", "argon2i")));
        assert!(!is_argon2id_phc(&good.replace("v=19", "v=7")));
        assert!(!is_argon2id_phc("$argon2id$v=19$m=19456,t=2,p=1"));
        assert!(!is_argon2id_phc("$argon2id$v=19$m=1,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$AAAA"));
        assert!(!is_argon2id_phc(""));
        assert!(!is_argon2id_phc("not a hash"));
    }

    // ----- encryption at rest -----

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

    // ----- webhooks -----

    const T: i64 = 1_700_000_000;

    #[test]
    fn hmac_key_preparation_matches_rfc_4231() {
        // RFC 4231 test case 2 (short key) and test case 6 (key longer than the block).
        let mut mac = hmac_sha256(b"Jefe");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex_encode(&mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let mut mac = hmac_sha256(&[0xaa; 131]);
        mac.update(b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(
            hex_encode(&mac.finalize().into_bytes()),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        // And agrees with the crate's own key handling for every length around the block size.
        for len in [0, 1, 32, 63, 64, 65, 200] {
            let key = vec![0x5a; len];
            let mut ours = hmac_sha256(&key);
            let mut theirs = <HmacSha256 as Mac>::new_from_slice(&key).unwrap();
            ours.update(b"payload");
            theirs.update(b"payload");
            assert_eq!(ours.finalize().into_bytes(), theirs.finalize().into_bytes(), "{len}");
        }
    }

    #[test]
    fn webhook_sign_and_verify() {
        let secret = generate_webhook_secret();
        let payload = br#"{"event":"post.published","id":"42"}"#;
        let header = sign_webhook(&secret, T, payload);
        let (t, v1) = header.split_once(',').unwrap();
        assert_eq!(t, format!("t={T}"));
        let hex = v1.strip_prefix("v1=").unwrap();
        assert_eq!(hex.len(), 64);
        assert!(hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));

        verify_webhook(&secret, &header, payload, T, 300).unwrap();
        verify_webhook(&secret, &header, payload, T + 300, 300).unwrap();
        verify_webhook(&secret, &header, payload, T - 300, 300).unwrap();
        // Spaces, unknown schemes and several v1 entries (one of them right) are fine.
        let other = sign_webhook(&Secret::new("whsec_old_0123456789abcdefghijklmnopqr"), T, payload);
        let other_sig = other.split_once(",v1=").unwrap().1;
        let multi = format!("t={T}, v0=legacy, v1={other_sig}, {v1}");
        verify_webhook(&secret, &multi, payload, T, 300).unwrap();
        // Uppercase hex is accepted.
        verify_webhook(&secret, &format!("t={T},v1={}", hex.to_uppercase()), payload, T, 5).unwrap();
    }

    #[test]
    fn webhook_signature_is_deterministic_and_covers_timestamp() {
        let secret = Secret::new("whsec_test_0123456789abcdefghijklmnop");
        assert_eq!(sign_webhook(&secret, T, b"x"), sign_webhook(&secret, T, b"x"));
        let a = sign_webhook(&secret, T, b"x");
        let b = sign_webhook(&secret, T + 1, b"x");
        assert_ne!(a.split_once(',').unwrap().1, b.split_once(',').unwrap().1);
        // Moving the signature to another timestamp fails.
        let moved = format!("t={},{}", T + 1, a.split_once(',').unwrap().1);
        assert_eq!(crypto_msg(verify_webhook(&secret, &moved, b"x", T, 300)), CryptoFailure::SignatureMismatch);
    }

    #[test]
    fn webhook_tampered_payload_or_wrong_secret_fails() {
        let secret = Secret::new("whsec_test_0123456789abcdefghijklmnop");
        let header = sign_webhook(&secret, T, b"{\"amount\":1}");
        assert_eq!(
            crypto_msg(verify_webhook(&secret, &header, b"{\"amount\":9}", T, 300)),
            CryptoFailure::SignatureMismatch
        );
        assert_eq!(
            crypto_msg(verify_webhook(
                &Secret::new("whsec_other_0123456789abcdefghijklmno"),
                &header,
                b"{\"amount\":1}",
                T,
                300
            )),
            CryptoFailure::SignatureMismatch
        );
    }

    #[test]
    fn webhook_old_or_future_timestamp_fails() {
        let secret = Secret::new("whsec_test_0123456789abcdefghijklmnop");
        let header = sign_webhook(&secret, T, b"x");
        assert_eq!(
            crypto_msg(verify_webhook(&secret, &header, b"x", T + 301, 300)),
            CryptoFailure::TimestampOutsideTolerance
        );
        assert_eq!(
            crypto_msg(verify_webhook(&secret, &header, b"x", T - 301, 300)),
            CryptoFailure::TimestampOutsideTolerance
        );
        assert_eq!(rule(verify_webhook(&secret, &header, b"x", T, -1)), "range");
        // Extreme values do not overflow.
        let extreme = sign_webhook(&secret, i64::MIN, b"x");
        assert_eq!(
            crypto_msg(verify_webhook(&secret, &extreme, b"x", i64::MAX, MAX_WEBHOOK_TOLERANCE_SECS)),
            CryptoFailure::TimestampOutsideTolerance
        );
    }

    #[test]
    fn webhook_malformed_header_fails() {
        let secret = Secret::new("whsec_test_0123456789abcdefghijklmnop");
        let good = sign_webhook(&secret, T, b"x");
        let sig = good.split_once(",v1=").unwrap().1;
        let cases = [
            String::new(),
            "garbage".to_owned(),
            format!("v1={sig}"),
            format!("t={T}"),
            format!("t={T},v0={sig}"),
            format!("t=abc,v1={sig}"),
            format!("t={T},v1=zz{}", &sig[2..]),
            format!("t={T},v1={}", &sig[..62]),
            format!("t={T},v1={sig}00"),
            format!("t={T},t={T},v1={sig}"),
            format!("t={T},v1"),
            format!("t={T},v1={sig},{}", "x".repeat(MAX_WEBHOOK_HEADER_LEN)),
        ];
        for header in &cases {
            assert_eq!(
                crypto_msg(verify_webhook(&secret, header, b"x", T, 300)),
                CryptoFailure::MalformedSignatureHeader,
                "{header:?}"
            );
        }
    }

    #[test]
    fn webhook_secrets_are_random_and_fit_the_column() {
        let a = generate_webhook_secret();
        let b = generate_webhook_secret();
        assert_ne!(a, b);
        assert!(a.expose().starts_with("whsec_"));
        assert_eq!(a.len(), 49);
        assert!(a.len() < 100);
        assert!(a.expose()["whsec_".len()..].bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_eq!(URL_SAFE_NO_PAD.decode(&a.expose()[6..]).unwrap().len(), 32);
    }

    #[test]
    fn hex_helpers() {
        assert_eq!(hex_encode(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex_decode("000fA5ff"), Some(vec![0x00, 0x0f, 0xa5, 0xff]));
        assert_eq!(hex_decode(""), Some(vec![]));
        assert_eq!(hex_decode("abc"), None);
        assert_eq!(hex_decode("gg"), None);
        assert_eq!(hex_decode("é0"), None);
    }
}

/// The limits of the crypto API: argon2 parameter caps, webhook secret length, tolerance cap.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod limit_tests {
    use super::*;
    use crate::model::NewWebhook;
    use crate::model::Platform;

    const SALT_AND_HASH: &str = "c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    fn phc(params: &str) -> PasswordHash {
        PasswordHash::from_phc(format!("$argon2id$v=19${params}${SALT_AND_HASH}"))
    }

    #[test]
    fn costly_stored_hashes_are_refused_before_hashing() {
        let pw = Secret::new("hunter2");
        // Over the lane cap, the time cap and the memory cap (64 MiB + 8 KiB), one at a time.
        for params in ["m=19456,t=2,p=16", "m=64,t=100,p=1", "m=65544,t=1,p=1"] {
            let started = std::time::Instant::now();
            let result = verify_password(&pw, &phc(params));
            assert!(matches!(result, Err(Error::Crypto(CryptoFailure::PasswordHashTooCostly))), "{params}: {result:?}");
            assert!(started.elapsed() < std::time::Duration::from_millis(200), "{params}: refused before hashing");
            assert!(!is_argon2id_phc(phc(params).as_phc()), "{params}: not storable either");
        }
        // At the caps' edges (and our own defaults) the hash is verified.
        assert!(!verify_password(&pw, &phc("m=64,t=2,p=8")).unwrap());
    }

    #[test]
    fn short_webhook_secrets_are_refused() {
        let hook = |secret: &str| NewWebhook {
            platform: Platform::Facebook,
            event_type: "comment.created".to_owned(),
            endpoint_url: "https://hooks.example.com/in".to_owned(),
            secret_key: Secret::new(secret),
        };
        let short = "s".repeat(31);
        match hook(&short).check(crate::validate::HostPolicy::default()) {
            Err(Error::Validation(v)) => assert!(v.has("secret_key", WEBHOOK_SECRET_RULE), "{v}"),
            other => panic!("a 31-byte secret: {other:?}"),
        }
        hook(&"s".repeat(32)).check(crate::validate::HostPolicy::default()).unwrap();
        hook(generate_webhook_secret().expose()).check(crate::validate::HostPolicy::default()).unwrap();
        // A short secret cannot verify a delivery either.
        let header = sign_webhook(&Secret::new(short.clone()), T, b"x");
        assert!(matches!(verify_webhook(&Secret::new(short), &header, b"x", T, 300), Err(Error::Validation(_))));
    }

    const T: i64 = 1_700_000_000;

    #[test]
    fn webhook_tolerance_is_capped() {
        let secret = generate_webhook_secret();
        let header = sign_webhook(&secret, T, b"x");
        verify_webhook(&secret, &header, b"x", T, 600).unwrap();
        for tolerance in [601, 86_400, i64::MAX, -1] {
            let result = verify_webhook(&secret, &header, b"x", T, tolerance);
            assert!(matches!(result, Err(Error::Validation(_))), "{tolerance}: {result:?}");
        }
    }
}
