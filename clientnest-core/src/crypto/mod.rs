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
//!   kept in a [`TempStore`](crate::ports::TempStore)), [`generate_webhook_secret`] (32 random
//!   bytes; secrets under [`MIN_WEBHOOK_SECRET_LEN`] bytes are refused).
//!
//! Failures to decrypt or verify are [`Error::Crypto`](crate::Error::Crypto) with a typed
//! [`CryptoFailure`](crate::CryptoFailure) reason whose message never contains secret material;
//! bad caller input is [`Error::Validation`](crate::Error::Validation).
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

mod password;
mod seal;
mod webhook;

pub use password::{
    MAX_ARGON2_LANES, MAX_ARGON2_MEMORY_KIB, MAX_ARGON2_TIME_COST, MAX_PASSWORD_LEN, hash_password, is_argon2id_phc,
    verify_password,
};
pub use seal::KeyRing;
pub use webhook::{
    MAX_WEBHOOK_TOLERANCE_SECS, MIN_WEBHOOK_SECRET_LEN, WEBHOOK_SECRET_RULE, generate_webhook_secret, sign_webhook,
    verify_webhook, verify_webhook_once,
};

/// What the tests of every part share: reading the reason or the rule out of a result.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod testing {
    use std::fmt;

    use crate::error::{CryptoFailure, Error, Result};

    /// The reason of an [`Error::Crypto`]; panics on anything else.
    pub(super) fn crypto_msg<T: fmt::Debug>(r: Result<T>) -> CryptoFailure {
        match r {
            Err(Error::Crypto(reason)) => reason,
            other => panic!("expected Error::Crypto, got {other:?}"),
        }
    }

    /// The rule of a validation error; panics on anything else.
    pub(super) fn rule<T: fmt::Debug>(r: Result<T>) -> String {
        match r {
            Err(e) => e.rule().unwrap().to_owned(),
            Ok(v) => panic!("expected a validation error, got {v:?}"),
        }
    }
}
