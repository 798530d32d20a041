//! Secrets at rest: OAuth tokens and webhook secrets are sealed with the application's
//! [`KeyRing`] (AES-256-GCM) before they reach PostgreSQL, and opened on read.
//!
//! Each ciphertext is bound to its place by the associated data
//! `"<table>.<column>:<row id>"` (see [`aad`]): a value copied into another row or column does
//! not decrypt, it fails with [`Error::Crypto`](clientnest_core::Error::Crypto).

use std::sync::Arc;

use clientnest_core::Result;
use clientnest_core::crypto::KeyRing;
use clientnest_core::secret::Secret;
use uuid::Uuid;

/// A column that holds sealed secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SealedColumn {
    /// `social_accounts.access_token_enc`.
    AccessToken,
    /// `social_accounts.refresh_token_enc`.
    RefreshToken,
    /// `webhooks.secret_key_enc`.
    WebhookSecret,
}

impl SealedColumn {
    /// The logical place named in the associated data, e.g. `social_accounts.access_token`.
    pub const fn place(self) -> &'static str {
        match self {
            SealedColumn::AccessToken => "social_accounts.access_token",
            SealedColumn::RefreshToken => "social_accounts.refresh_token",
            SealedColumn::WebhookSecret => "webhooks.secret_key",
        }
    }

    /// The SQL column that stores the ciphertext.
    pub const fn column(self) -> &'static str {
        match self {
            SealedColumn::AccessToken => "access_token_enc",
            SealedColumn::RefreshToken => "refresh_token_enc",
            SealedColumn::WebhookSecret => "secret_key_enc",
        }
    }
}

/// The associated data of a sealed value: `"<place>:<row id>"`, e.g.
/// `social_accounts.access_token:0190...`.
pub fn aad(column: SealedColumn, row: Uuid) -> Vec<u8> {
    format!("{}:{row}", column.place()).into_bytes()
}

/// Seals and opens the secrets of one store.
#[derive(Clone)]
pub(crate) struct Sealer(Arc<KeyRing>);

impl Sealer {
    /// A sealer over a key ring.
    pub(crate) fn new(keys: KeyRing) -> Self {
        Self(Arc::new(keys))
    }

    /// Encrypt a secret for a column of a row.
    pub(crate) fn seal(&self, column: SealedColumn, row: Uuid, secret: &Secret) -> Result<String> {
        self.0.seal_secret(secret, &aad(column, row))
    }

    /// Decrypt a secret read from a column of a row.
    pub(crate) fn open(&self, column: SealedColumn, row: Uuid, sealed: &str) -> Result<Secret> {
        self.0.open_secret(sealed, &aad(column, row))
    }

    /// The key ring's primary key id (safe to show).
    pub(crate) fn primary_key_id(&self) -> &str {
        self.0.primary_key_id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_in_its_place() -> Result<()> {
        let sealer = Sealer::new(KeyRing::new("k1", [7u8; 32])?);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let sealed = sealer.seal(SealedColumn::AccessToken, a, &Secret::new("tok"))?;
        assert!(!sealed.contains("tok"));
        assert_eq!(sealer.open(SealedColumn::AccessToken, a, &sealed)?.expose(), "tok");
        assert!(sealer.open(SealedColumn::AccessToken, b, &sealed).is_err());
        assert!(sealer.open(SealedColumn::RefreshToken, a, &sealed).is_err());
        Ok(())
    }
}
